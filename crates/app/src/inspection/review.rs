//! The association's side: the review queue with filters, the detail, the
//! decisions (年检通过 / 退回 / 年检不予通过, 暂缓通过 / 暂缓退回) and batch 通过.
//! Local (provincial) associations decide; CICPA and city associations look.

use chrono::{DateTime, Utc};
use cmis_domain::inspection::{InspectionAction, InspectionState, transition};
use cmis_domain::{AssociationLevel, UserType, mask, workdays};
use cmis_store::entity::{annual_inspection as row, member, user};
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, Select, Set};
use serde::Serialize;
use serde_json::json;

use super::{InspectionView, fmt_hours, refusal, settings, state_of, subject};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::page::{self, Page};
use crate::{Actor, App, approval, audit, messages};

pub const PAGE_SIZE: u64 = 20;
pub const BATCH_MAX: usize = 200;

fn staff(actor: &Actor) -> AppResult<()> {
    if actor.user_type == UserType::AssociationStaff { Ok(()) } else { Err(AppError::Forbidden) }
}

/// Rows an actor may see: a local association its members, a city association
/// the members filed under it, CICPA everyone.
pub(crate) fn scoped(actor: &Actor, q: Select<row::Entity>) -> Select<row::Entity> {
    match actor.association_level {
        AssociationLevel::National => q,
        AssociationLevel::Provincial => q.filter(row::Column::AssociationId.eq(actor.association_id)),
        AssociationLevel::City => q.filter(row::Column::CityAssociationId.eq(actor.association_id)),
    }
}

pub(crate) fn require_scope(app: &App, actor: &Actor, r: &row::Model) -> AppResult<()> {
    staff(actor)?;
    let ok = match actor.association_level {
        AssociationLevel::National => true,
        AssociationLevel::Provincial => app.orgs.is_within(r.association_id, actor.association_id),
        AssociationLevel::City => r.city_association_id == Some(actor.association_id),
    };
    if ok { Ok(()) } else { Err(AppError::NotFound("年检申请")) }
}

/// Whether the actor decides (the local association of the member).
pub fn decides(actor: &Actor) -> bool {
    actor.user_type == UserType::AssociationStaff && actor.association_level == AssociationLevel::Provincial
}

#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    pub year: Option<i32>,
    /// None: waiting for a decision (both kinds).
    pub state: Option<InspectionState>,
    pub city: Option<i32>,
    pub overdue: bool,
    pub keyword: String,
    pub page: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueueRow {
    pub id: i32,
    pub year: i32,
    pub cert_no: String,
    pub name: String,
    pub city: String,
    pub state: InspectionState,
    pub fee: String,
    pub hours: String,
    pub submitted_at: DateTime<Utc>,
    pub days_left: Option<i64>,
}

/// The year staff see by default: the one open now for their association.
pub async fn default_year(app: &App, actor: &Actor) -> AppResult<i32> {
    let province = match actor.association_level {
        AssociationLevel::City => {
            app.orgs.get(actor.association_id).and_then(|a| a.parent_id).unwrap_or(actor.association_id)
        }
        _ => actor.association_id,
    };
    settings::current_year(app, province, app.today()).await
}

pub async fn queue(app: &App, actor: &Actor, f: &QueueFilter) -> AppResult<Page<QueueRow>> {
    staff(actor)?;
    let year = match f.year {
        Some(y) => y,
        None => default_year(app, actor).await?,
    };
    let mut q = scoped(actor, row::Entity::find()).filter(row::Column::Year.eq(year));
    q = match f.state {
        Some(s) => q.filter(row::Column::State.eq(s.code())),
        None => q.filter(
            row::Column::State.is_in([InspectionState::Submitted.code(), InspectionState::DeferralSubmitted.code()]),
        ),
    };
    if let Some(c) = f.city {
        q = q.filter(row::Column::CityAssociationId.eq(c));
    }
    let today = app.today();
    if f.overdue {
        q = q.filter(row::Column::Deadline.lt(today)).filter(
            row::Column::State.is_in([InspectionState::Submitted.code(), InspectionState::DeferralSubmitted.code()]),
        );
    }
    let kw = f.keyword.trim();
    if !kw.is_empty() {
        q = q.filter(Condition::any().add(row::Column::CertNo.eq(kw)).add(row::Column::Name.eq(kw)));
    }
    let q = q.order_by_asc(row::Column::Deadline).order_by_asc(row::Column::Id);
    let p = page::fetch(app.db.conn(), q, f.page, PAGE_SIZE).await?;
    Ok(p.map(|r| {
        let s = state_of(&r);
        QueueRow {
            id: r.id,
            year: r.year,
            city: r
                .city_association_id
                .and_then(|c| app.orgs.get(c))
                .map_or_else(String::new, |a| a.short_name.clone()),
            state: s,
            fee: cmis_domain::inspection::FeeStatus::from_code(&r.fee_status).map_or("", |f| f.label()).to_owned(),
            hours: format!("{}/{}", fmt_hours(r.hours_done), fmt_hours(r.hours_required)),
            submitted_at: r.submitted_at,
            days_left: s.is_pending().then(|| workdays::left(today, r.deadline, &[])),
            cert_no: r.cert_no,
            name: r.name,
        }
    }))
}

/// For the home page and the menu.
pub async fn awaiting_count(app: &App, actor: &Actor) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    staff(actor)?;
    let year = default_year(app, actor).await?;
    Ok(scoped(actor, row::Entity::find())
        .filter(row::Column::Year.eq(year))
        .filter(
            row::Column::State.is_in([InspectionState::Submitted.code(), InspectionState::DeferralSubmitted.code()]),
        )
        .count(app.db.conn())
        .await?)
}

pub struct Detail {
    pub view: InspectionView,
    pub id_number_masked: String,
    pub actions: Vec<InspectionAction>,
    pub days_left: Option<i64>,
    /// What a return may name: the profile's fields and the association's materials.
    pub returnable: Vec<String>,
}

pub async fn detail(app: &App, actor: &Actor, id: i32) -> AppResult<Detail> {
    let view = super::view(app, actor, id).await?;
    let state = view.row.state;
    let actions = if decides(actor) {
        match state {
            InspectionState::Submitted => {
                vec![InspectionAction::Pass, InspectionAction::Return, InspectionAction::Fail]
            }
            InspectionState::DeferralSubmitted => {
                vec![InspectionAction::ApproveDeferral, InspectionAction::ReturnDeferral]
            }
            _ => vec![],
        }
    } else {
        vec![]
    };
    let s = settings::effective(app, view.association_id, view.row.year).await?;
    let mut returnable: Vec<String> =
        cmis_domain::profile::FIELDS.iter().filter(|f| f.required).map(|f| f.label.to_owned()).collect();
    returnable.extend(s.materials.iter().map(|m| format!("材料：{}", m.name)));
    if state.is_deferral() {
        returnable = vec!["暂缓原因".into(), "暂缓证明材料".into()];
    }
    Ok(Detail {
        id_number_masked: mask::id_number(&view.profile.id_number),
        days_left: state.is_pending().then(|| workdays::left(app.today(), view.deadline, &[])),
        view,
        actions,
        returnable,
    })
}

/// One decision. The reason is required for returns and refusals; a return
/// may name what must change. The member hears of it in the message centre and by SMS.
pub async fn decide(
    app: &App,
    actor: &Actor,
    id: i32,
    action: InspectionAction,
    reason: &str,
    items: &[String],
) -> AppResult<InspectionState> {
    if !decides(actor) || action.by_member() {
        return Err(AppError::Forbidden);
    }
    let txn = app.write().await?;
    let r = row::Entity::find_by_id(id).one(&txn).await?.ok_or(AppError::NotFound("年检申请"))?;
    require_scope(app, actor, &r)?;
    let next = transition(r.year, Some(state_of(&r)), action, reason).map_err(|e| match e {
        cmis_domain::inspection::InspectionRefusal::ReasonRequired => FieldErrors::one(
            "reason",
            if action == InspectionAction::Fail { "请填写不予通过原因" } else { "请填写退回原因" },
        ),
        e => refusal(e),
    })?;
    let reason = reason.trim().to_owned();
    if let Err(e) = cmis_domain::text::check(&reason, 500, true) {
        return Err(FieldErrors::one("reason", format!("原因{e}")));
    }
    let items: Vec<String> = items.iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).take(30).collect();
    let (member_id, year) = (r.member_id, r.year);
    let mut am: row::ActiveModel = r.into();
    am.state = Set(next.code().into());
    am.decided_at = Set(Some(app.now()));
    am.updated_at = Set(app.now());
    if next.is_returned() {
        am.return_reason = Set(Some(reason.clone()));
        am.return_items = Set((!items.is_empty()).then(|| serde_json::to_string(&items).unwrap_or_default()));
    }
    am.update(&txn).await?;
    let opinion =
        if items.is_empty() { reason.clone() } else { format!("{reason}（需修改：{}）", items.join("、")) };
    approval::record(&txn, subject(id), action.node(false), &actor.association_name, &actor.audit_name(), &opinion)
        .await?;
    if next == InspectionState::Failed {
        // 年检不予通过: membership is cancelled.
        let m = member::Entity::find_by_id(member_id).one(&txn).await?.ok_or(AppError::NotFound("会员"))?;
        let mut mm: member::ActiveModel = m.into();
        mm.status = Set("cancelled".into());
        mm.update(&txn).await?;
    }
    audit::append(
        &txn,
        &actor.audit_name(),
        "inspection_decided",
        &format!("annual_inspection:{id}"),
        json!({ "action": action.code(), "state": next.code(), "items": items }),
    )
    .await?;
    let (title, body) = message_for(year, next, &opinion);
    let account = user::Entity::find().filter(user::Column::MemberId.eq(member_id)).one(&txn).await?;
    if let Some(u) = &account {
        messages::send(&txn, u.id, &title, &body, Some(&format!("/inspection/{id}"))).await?;
    }
    txn.commit().await?;
    sms(app, member_id, &body).await;
    Ok(next)
}

fn message_for(year: i32, s: InspectionState, opinion: &str) -> (String, String) {
    let title = format!("{year}年度年检：{}", s.label());
    let body = match s {
        InspectionState::Passed => format!("您的{year}年度年检申请已审核通过。"),
        InspectionState::Returned => {
            format!(
                "您的{year}年度年检申请已被退回，退回原因：{opinion}。请在“年检申请”中点击“再次申请”，修改后重新提交。"
            )
        }
        InspectionState::Failed => format!("您的{year}年度年检未予通过，原因：{opinion}。"),
        InspectionState::Deferred => format!("您的{year}年度暂缓年检申请已审核通过。"),
        InspectionState::DeferralReturned => {
            format!("您的{year}年度暂缓年检申请已被退回，退回原因：{opinion}。请在“年检申请”中点击“再次申请”。")
        }
        _ => String::new(),
    };
    (title, format!("【中注协】{body}"))
}

/// Told after the commit: an SMS never announces what did not happen.
async fn sms(app: &App, member_id: i32, text: &str) {
    let mobile = match member::Entity::find_by_id(member_id).one(app.db.conn()).await {
        Ok(Some(m)) => m.mobile_enc.and_then(|e| app.pii.decrypt(&e).ok()),
        _ => None,
    };
    if let Some(mobile) = mobile
        && let Err(e) = app.senders.sms.send_sms(&mobile, text).await
    {
        tracing::warn!(error = %e, "inspection SMS not sent");
    }
}

/// 批量通过: each selected application that waits for 年检通过 passes; the
/// others are named and left as they are.
pub async fn batch_pass(app: &App, actor: &Actor, ids: &[i32]) -> AppResult<(usize, Vec<String>)> {
    if !decides(actor) {
        return Err(AppError::Forbidden);
    }
    if ids.is_empty() {
        return Err(AppError::Refused("请勾选要通过的年检申请".into()));
    }
    if ids.len() > BATCH_MAX {
        return Err(AppError::Refused(format!("一次最多通过{BATCH_MAX}条")));
    }
    let mut passed = 0;
    let mut skipped = Vec::new();
    for id in ids {
        match decide(app, actor, *id, InspectionAction::Pass, "", &[]).await {
            Ok(_) => passed += 1,
            Err(AppError::Refused(m)) => skipped.push(format!("#{id}：{m}")),
            Err(AppError::NotFound(_)) | Err(AppError::Forbidden) => skipped.push(format!("#{id}：不在本单位管辖范围")),
            Err(e) => return Err(e),
        }
    }
    Ok((passed, skipped))
}
