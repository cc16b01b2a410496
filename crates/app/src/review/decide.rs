//! A decision, and the same decision for many cases at once, each in one
//! transaction with its trail, audit and what the applicant is told.

use std::collections::HashMap;

use cmis_domain::coded::Coded;
use cmis_domain::review::Refusal;
use cmis_domain::workdays;
use cmis_store::entity::review_case as row;
use sea_orm::{ActiveModelTrait, ColumnTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::Serialize;
use serde_json::json;

use super::{BATCH_MAX, Case, Decided, Inputs, MAX_ITEMS, Notice, Reviewed, decisions, holds, load_for_update, scoped};
use crate::approval::{self};
use crate::audit;
use crate::deliveries::{self, Channel, Outgoing, Purpose};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::{Actor, App, Tx, messages};

fn refused<W: Reviewed>(e: Refusal, action: W::Action) -> AppError {
    match e {
        Refusal::ReasonRequired => FieldErrors::one("reason", W::reason_missing(action)),
        e => AppError::Refused(e.to_string()),
    }
}

/// One decision inside a transaction: state, trail, audit, what else the
/// workflow changes, and what the applicant is told.
#[allow(clippy::too_many_arguments)]
async fn decide_in<W: Reviewed>(
    app: &App,
    tx: &Tx,
    actor: &Actor,
    case: &Case<W>,
    action: W::Action,
    reason: &str,
    items: &[String],
    inputs: &[(String, String)],
) -> AppResult<W::State> {
    // Only the reviewer of the case's present state decides, and only with
    // the decisions of their level; others may look.
    let mine = W::reviewer_of(app, actor);
    let owns = W::State::ALL.iter().any(|s| holds::<W>(*s, mine) && W::decisions(*s).contains(&action));
    if !owns {
        return Err(AppError::Forbidden);
    }
    // A decision of their level on a case now with another level (or
    // finished): told as such, not forbidden.
    if !holds::<W>(case.state, mine) {
        return Err(AppError::Refused(
            Refusal::NotNow { state: case.state.label(), action: action.label() }.to_string(),
        ));
    }
    let next = W::decide(case.state, action, reason).map_err(|e| refused::<W>(e, action))?;
    let inputs = Inputs::check(W::inputs(action), inputs, crate::clock::date_of(tx.now()))?;
    let reason = reason.trim();
    if let Err(e) = cmis_domain::text::check(reason, 500, true) {
        return Err(FieldErrors::one("reason", format!("原因{e}")));
    }
    let items: Vec<String> = items.iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
    if items.len() > MAX_ITEMS {
        return Err(FieldErrors::one("items", format!("需修改项最多{MAX_ITEMS}项")));
    }
    if let Some(e) = items.iter().find_map(|i| cmis_domain::text::check(i, 100, false).err()) {
        return Err(FieldErrors::one("items", format!("需修改项{e}")));
    }
    let now = tx.now();
    let mut am = row::ActiveModel {
        id: Set(case.id),
        state: Set(next.code().to_owned()),
        decided_at: Set(Some(now)),
        updated_at: Set(now),
        ..Default::default()
    };
    if W::is_returned(next) {
        am.return_reason = Set(Some(reason.to_owned()));
        am.return_items = Set((!items.is_empty()).then(|| json!(items).to_string()));
    }
    if W::reviewer(next).is_some() {
        am.deadline = Set(workdays::add(crate::clock::date_of(now), W::days(next), &[]));
    }
    am.update(tx).await?;
    let opinion = if items.is_empty() {
        reason.to_owned()
    } else {
        format!("{}（需修改：{}）", cmis_domain::text::clause(reason), items.join("、"))
    };
    approval::record(tx, case.subject(), W::node(action), actor.acting_unit(), &actor.audit_name(), &opinion).await?;
    let detail =
        W::decided(app, tx, case, &Decided { actor, action, next, items: &items, inputs: &inputs, opinion: &opinion })
            .await?;
    audit::append(
        tx,
        &actor.audit_name(),
        &format!("{}_decided", W::KIND),
        &format!("{}:{}", W::KIND, case.id),
        json!({ "action": action.code(), "state": next.code(), "items": items, "effects": detail }),
    )
    .await?;
    let sign = cmis_domain::text::signature(actor.acting_unit());
    if let Some(n) = W::notice(app, tx, case, next, &opinion, &sign).await? {
        tell(app, tx, case.association_id, &n).await?;
    }
    Ok(next)
}

/// Writes a notice in the transaction: the message, and the SMS to the outbox.
pub async fn tell(app: &App, tx: &Tx, association_id: i32, n: &Notice) -> AppResult<()> {
    tell_for(app, tx, association_id, n, Purpose::Decision).await
}

/// The same, for another purpose than a decision.
pub async fn tell_for(app: &App, tx: &Tx, association_id: i32, n: &Notice, purpose: Purpose) -> AppResult<()> {
    if let Some(u) = n.user_id {
        messages::send(tx, u, &n.title, &n.body, n.link.as_deref()).await?;
    }
    if let Some(to) = n.sms_to.as_deref().filter(|m| !m.is_empty()) {
        deliveries::queue(
            app,
            tx,
            Outgoing {
                channel: Channel::Sms,
                purpose,
                to,
                subject: &n.title,
                body: &n.body,
                association_id: Some(association_id),
            },
        )
        .await?;
    }
    Ok(())
}

/// One decision: re-read and locked in the write transaction, checked,
/// recorded, told. `inputs` are the values the decision asks for beyond the
/// reason (`Reviewed::inputs`), as the form sent them.
pub async fn decide<W: Reviewed>(
    app: &App,
    actor: &Actor,
    id: i32,
    action: &str,
    reason: &str,
    items: &[String],
    inputs: &[(String, String)],
) -> AppResult<W::State> {
    W::PERMISSION.require(actor)?;
    if W::reviewer_of(app, actor).is_none() {
        return Err(AppError::Forbidden);
    }
    let tx = app.write().await?;
    W::lock_first(&tx, id).await?;
    let case = load_for_update::<W>(&tx, app, actor, id).await?;
    // The decision as the reviewer sent it, read once the case is known to be
    // theirs to see: a case out of scope tells nothing, whatever was sent.
    let action = parse_action::<W>(action)?;
    let next = decide_in::<W>(app, &tx, actor, &case, action, reason, items, inputs).await?;
    tx.commit().await?;
    Ok(next)
}

fn parse_action<W: Reviewed>(code: &str) -> AppResult<W::Action> {
    W::Action::parse(code).map_err(|_| FieldErrors::one("action", "未知的操作"))
}

/// What a batch decision did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Batch {
    pub decided: usize,
    /// The cases left as they were, and why.
    pub skipped: Vec<String>,
}

/// The same decision for up to 200 cases, in one transaction: the cases that
/// cannot take it are named and left as they are.
pub async fn batch<W: Reviewed>(app: &App, actor: &Actor, ids: &[i32], action: &str) -> AppResult<Batch> {
    W::PERMISSION.require(actor)?;
    let action = parse_action::<W>(action)?;
    // Each case once, in the order first ticked: a repeated id is one
    // decision, not one per repetition (two hundred copies of one id were
    // two hundred trail steps, messages and SMS).
    if ids.len() > BATCH_MAX {
        return Err(AppError::Refused(format!("一次最多办理{BATCH_MAX}条")));
    }
    let mut seen = std::collections::HashSet::new();
    let ids: Vec<i32> = ids.iter().copied().filter(|id| seen.insert(*id)).collect();
    if ids.is_empty() {
        return Err(AppError::Refused(format!("请勾选要办理的{}", W::NOUN)));
    }
    if W::needs_reason(action) || !W::batchable(action) || !W::inputs(action).is_empty() {
        return Err(AppError::Refused(format!("“{}”须逐条办理，不能批量办理", action.label())));
    }
    let tx = app.write().await?;
    let found: HashMap<i32, row::Model> = scoped::<W>(app, actor)
        .filter(row::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(row::Column::Id)
        .lock_exclusive()
        .all(&tx)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let mut out = Batch::default();
    for id in &ids {
        let Some(r) = found.get(id) else {
            out.skipped.push(format!("#{id}：不在本单位管辖范围"));
            continue;
        };
        let case = Case::<W>::try_from(r.clone())?;
        if !decisions(app, actor, &case).contains(&action) {
            out.skipped.push(format!(
                "{}：{}",
                case.number,
                Refusal::NotNow { state: case.state.label(), action: action.label() }
            ));
            continue;
        }
        decide_in::<W>(app, &tx, actor, &case, action, "", &[], &[]).await?;
        out.decided += 1;
    }
    tx.commit().await?;
    Ok(out)
}
