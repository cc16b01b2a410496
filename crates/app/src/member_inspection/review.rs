//! The association's review of non-practicing members' inspections, on the
//! review kernel: the local (provincial) association decides (年检通过 / 退回
//! / 年检不予通过, 暂缓通过 / 暂缓退回); CICPA and city associations look. This
//! file says what the kernel cannot know: the year a queue opens on, the
//! columns beside a case, what 年检不予通过 changes, what the member is told,
//! and what a return may name.

use chrono::Days;
use cmis_domain::member_inspection::{FeeStatus, InspectionAction, InspectionState, MemberInspection};
use cmis_domain::review::Workflow;
use cmis_domain::{AssociationLevel, Hours, mask};
use cmis_store::entity::{member, member_inspection as payload, review_case as case_row};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

use super::{InspectionView, REVIEW_DAYS, settings, view_of};
use crate::error::{AppError, AppResult};
use crate::review::{self as kernel, Case, Decided, Notice, Reviewed};
use crate::scope::Permission;
use crate::{Actor, App, Tx};

type W = MemberInspection;

#[async_trait::async_trait]
impl Reviewed for MemberInspection {
    const PERMISSION: Permission = Permission::ReviewMemberInspections;
    const NOUN: &'static str = "年检申请";
    const NUMBER: &'static str = "会员编号";
    const YEARLY: bool = true;
    const BY_CITY: bool = true;

    fn days(_: InspectionState) -> u32 {
        REVIEW_DAYS
    }

    fn reason_label(action: InspectionAction) -> &'static str {
        match action {
            InspectionAction::Fail => "不予通过原因",
            InspectionAction::ResolvePass => "转为年检通过原因",
            InspectionAction::ReverseFail => "撤销原因",
            _ => "退回原因",
        }
    }

    fn reason_missing(action: InspectionAction) -> &'static str {
        match action {
            InspectionAction::Fail => "请填写不予通过原因",
            InspectionAction::ResolvePass => "请填写转为年检通过原因",
            InspectionAction::ReverseFail => "请填写撤销原因",
            _ => "请填写退回原因",
        }
    }

    /// The year open now for the actor's (provincial) association.
    async fn default_year(app: &App, actor: &Actor) -> AppResult<Option<i32>> {
        let province = match actor.association_level {
            AssociationLevel::City => {
                app.orgs().get(actor.association_id).and_then(|a| a.parent_id).unwrap_or(actor.association_id)
            }
            _ => actor.association_id,
        };
        Ok(Some(settings::current_year(app, province, app.today()).await?))
    }

    fn columns() -> &'static [&'static str] {
        &["缴费情况", "应完成学时", "已完成学时"]
    }

    async fn cells(app: &App, cases: &[Case<W>]) -> AppResult<Vec<Vec<String>>> {
        let found: std::collections::HashMap<i32, payload::Model> = payload::Entity::find()
            .filter(payload::Column::CaseId.is_in(cases.iter().map(|c| c.id)))
            .all(app.db.conn())
            .await?
            .into_iter()
            .map(|p| (p.case_id, p))
            .collect();
        cases
            .iter()
            .map(|c| {
                let p = found.get(&c.id).ok_or(AppError::NotFound("年检申请"))?;
                Ok(vec![
                    FeeStatus::parse(&p.fee_status).map_err(anyhow::Error::from)?.label().to_owned(),
                    Hours::from_hundredths(p.hours_required_x100).to_string(),
                    Hours::from_hundredths(p.hours_done_x100).to_string(),
                ])
            })
            .collect()
    }

    /// 年检不予通过 is final after the association's period (`failure_final_days`):
    /// until then the case may be reversed or turned into 年检通过, and the
    /// review case's deadline holds the last day it may; `finalise` cancels
    /// the membership once it has passed. A period of 0 is final at once.
    async fn decided(app: &App, tx: &Tx, case: &Case<W>, d: &Decided<'_, W>) -> AppResult<serde_json::Value> {
        let today = crate::clock::date_of(tx.now());
        if case.state == InspectionState::Failed && case.deadline < today {
            return Err(AppError::Refused(format!("年检不予通过已于{}生效，不能再办理", case.deadline + Days::new(1))));
        }
        if d.next == InspectionState::Returned {
            remember_flagged(app, tx, case, d.items).await?;
        }
        if d.next != InspectionState::Failed {
            return Ok(json!({}));
        }
        let s = settings::effective_on(tx, app, case.association_id, case.year.unwrap_or_default()).await?;
        if s.failure_final_days == 0 {
            finalise_one(app, tx, case).await?;
            return Ok(json!({ "membership": "cancelled" }));
        }
        let last = today + Days::new(s.failure_final_days as u64);
        case_row::ActiveModel { id: Set(case.id), deadline: Set(last), ..Default::default() }.update(tx).await?;
        Ok(json!({ "final_after": last }))
    }

    async fn notice(
        app: &App,
        tx: &Tx,
        case: &Case<W>,
        next: InspectionState,
        opinion: &str,
        sign: &str,
    ) -> AppResult<Option<Notice>> {
        let opinion = cmis_domain::text::clause(opinion);
        let year = case.year.unwrap_or_default();
        let body = match next {
            InspectionState::Passed if case.state.is_pending() => format!("您的{year}年度年检申请已审核通过。"),
            InspectionState::Passed => format!("您的{year}年度年检已转为年检通过，原因：{opinion}。"),
            InspectionState::Returned => format!(
                "您的{year}年度年检申请已被退回，退回原因：{opinion}。请在“年检申请”中点击“再次申请”，修改后重新提交。"
            ),
            InspectionState::Failed => {
                // Read again: a period of 0 made the decision final at once.
                let row = case_row::Entity::find_by_id(case.id).one(tx).await?.ok_or(AppError::NotFound("年检申请"))?;
                if row.state == InspectionState::FailedFinal.code() {
                    format!("您的{year}年度年检未予通过，原因：{opinion}。您的会籍已注销。")
                } else {
                    format!(
                        "您的{year}年度年检未予通过，原因：{opinion}。该决定于{}生效，生效后会籍注销；如有异议，请在此之前联系所属地方注协。",
                        row.deadline + Days::new(1)
                    )
                }
            }
            InspectionState::Submitted => {
                format!("您的{year}年度年检“年检不予通过”已被撤销，原因：{opinion}。您的申请将重新审核。")
            }
            InspectionState::Deferred => format!("您的{year}年度暂缓年检申请已审核通过。"),
            InspectionState::DeferralReturned => {
                format!("您的{year}年度暂缓年检申请已被退回，退回原因：{opinion}。请在“年检申请”中点击“再次申请”。")
            }
            _ => return Ok(None),
        };
        let mobile = match case.member_id {
            Some(id) => member::Entity::find_by_id(id)
                .one(tx)
                .await?
                .and_then(|m| m.mobile_enc)
                .and_then(|e| app.pii.decrypt(&e).ok()),
            None => None,
        };
        Ok(Some(Notice {
            user_id: case.applicant_user_id,
            title: format!("{year}年度年检：{}", next.label()),
            body: format!("{sign}{body}"),
            link: Some(format!("/member-inspection/{}", case.id)),
            sms_to: mobile,
        }))
    }
}

/// What the review page shows beside the case: the member's information, the
/// hours, the fee and the files; and what a return may name.
pub struct Body {
    pub view: InspectionView,
    pub id_number_masked: String,
    /// The profile's required fields and the association's materials (or, for
    /// a deferral, its reason and proof).
    pub returnable: Vec<String>,
}

/// The body of an opened case (the kernel checked scope and audited the view).
pub async fn body(app: &App, actor: &Actor, id: i32) -> AppResult<Body> {
    W::PERMISSION.require(actor)?;
    let case = kernel::load::<W, _>(app.db.conn(), app, actor, id).await?;
    let deferral = case.state.is_deferral();
    let view = view_of(app, case).await?;
    let returnable = if deferral {
        vec!["暂缓原因".into(), "暂缓证明材料".into()]
    } else {
        let s = settings::effective(app, view.association_id, view.row.year).await?;
        // What the member can change: the identity fields are the
        // association's to correct, so a return does not ask the member.
        let mut r: Vec<String> = cmis_domain::profile::FIELDS
            .iter()
            .filter(|f| f.required && !crate::member_profile::LOCKED.contains(&f.key))
            .map(|f| f.label.to_owned())
            .collect();
        r.extend(s.materials.iter().map(|m| format!("{}{}", super::MATERIAL_ITEM, m.name)));
        r
    };
    Ok(Body { id_number_masked: mask::id_number(&view.profile.id_number), view, returnable })
}

/// Makes a 年检不予通过 final: the state, the membership cancelled, a step on
/// the trail and the audit log.
async fn finalise_one(app: &App, tx: &Tx, case: &Case<W>) -> AppResult<()> {
    let id = case.member_id.ok_or(AppError::NotFound("会员"))?;
    let now = tx.now();
    case_row::ActiveModel {
        id: Set(case.id),
        state: Set(InspectionState::FailedFinal.code().to_owned()),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(tx)
    .await?;
    member::ActiveModel { id: Set(id), status: Set("cancelled".into()), ..Default::default() }.update(tx).await?;
    let unit = app.orgs().get(case.association_id).map_or_else(String::new, |a| a.name.clone());
    crate::approval::record(tx, case.subject(), "年检不予通过生效，会籍注销", &unit, "system", "").await?;
    crate::audit::append(
        tx,
        "system",
        "member_inspection_failure_final",
        &format!("{}:{}", W::KIND, case.id),
        json!({ "member_id": id, "year": case.year }),
    )
    .await?;
    Ok(())
}

/// The 年检不予通过 decisions whose period has run out (their last day was
/// before today) made final, each in its own transaction; run by the
/// housekeeping round. Returns how many.
pub async fn finalise_due(app: &App) -> AppResult<u64> {
    let today = app.today();
    let due: Vec<case_row::Model> = case_row::Entity::find()
        .filter(case_row::Column::Kind.eq(W::KIND))
        .filter(case_row::Column::State.eq(InspectionState::Failed.code()))
        .filter(case_row::Column::Deadline.lt(today))
        .all(app.db.conn())
        .await?;
    let mut n = 0;
    for r in due {
        let tx = app.write().await?;
        // Re-read in the write transaction: a reversal may have come first.
        let Some(r) = case_row::Entity::find_by_id(r.id).one(&tx).await? else { continue };
        if r.state != InspectionState::Failed.code() || r.deadline >= today {
            continue;
        }
        let case = Case::<W>::try_from(r)?;
        finalise_one(app, &tx, &case).await?;
        let year = case.year.unwrap_or_default();
        let body = format!("您的{year}年度年检“年检不予通过”决定已生效，会籍已注销。");
        let told = Notice {
            user_id: case.applicant_user_id,
            title: format!("{year}年度年检：{}", InspectionState::FailedFinal.label()),
            body: format!(
                "{}{body}",
                cmis_domain::text::signature(
                    &app.orgs().get(case.association_id).map_or_else(String::new, |a| a.name.clone())
                )
            ),
            link: Some(format!("/member-inspection/{}", case.id)),
            sms_to: None,
        };
        kernel::tell(app, &tx, case.association_id, &told).await?;
        tx.commit().await?;
        n += 1;
    }
    Ok(n)
}

/// Keeps, with a return, the values of the profile fields it names, so that
/// the resubmission can tell whether they were changed (encrypted: they may
/// be personal information).
async fn remember_flagged(app: &App, tx: &Tx, case: &Case<W>, items: &[String]) -> AppResult<()> {
    let Some(member_id) = case.member_id else { return Ok(()) };
    let m = member::Entity::find_by_id(member_id).one(tx).await?.ok_or(AppError::NotFound("会员"))?;
    let profile = crate::member_profile::profile_of(app, &m)?;
    let values: std::collections::BTreeMap<&str, String> = cmis_domain::profile::FIELDS
        .iter()
        .filter(|f| items.iter().any(|i| i == f.label))
        .map(|f| (f.key, profile.get(f.key)))
        .collect();
    let enc = (!values.is_empty())
        .then(|| serde_json::to_string(&values).map(|j| app.pii.encrypt(&j)))
        .transpose()
        .map_err(anyhow::Error::from)?;
    payload::ActiveModel { case_id: Set(case.id), flagged_enc: Set(enc), ..Default::default() }.update(tx).await?;
    Ok(())
}
