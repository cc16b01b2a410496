//! The association's review of non-practicing members' inspections, on the
//! review kernel: the local (provincial) association decides (年检通过 / 退回
//! / 年检不予通过, 暂缓通过 / 暂缓退回); CICPA and city associations look. This
//! file says what the kernel cannot know: the year a queue opens on, the
//! columns beside a case, what 年检不予通过 changes, what the member is told,
//! and what a return may name.

use cmis_domain::member_inspection::{FeeStatus, InspectionAction, InspectionState, MemberInspection};
use cmis_domain::{AssociationLevel, Hours, mask};
use cmis_store::entity::{member, member_inspection as payload};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

use super::{InspectionView, REVIEW_DAYS, settings, view_of};
use crate::error::{AppError, AppResult};
use crate::review::{self as kernel, Case, Notice, Reviewed};
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
        if action == InspectionAction::Fail { "不予通过原因" } else { "退回原因" }
    }

    fn reason_missing(action: InspectionAction) -> &'static str {
        if action == InspectionAction::Fail { "请填写不予通过原因" } else { "请填写退回原因" }
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

    /// 年检不予通过: membership is cancelled.
    async fn decided(
        _app: &App,
        tx: &Tx,
        case: &Case<W>,
        _action: InspectionAction,
        next: InspectionState,
    ) -> AppResult<serde_json::Value> {
        if next != InspectionState::Failed {
            return Ok(json!({}));
        }
        let id = case.member_id.ok_or(AppError::NotFound("会员"))?;
        member::ActiveModel { id: Set(id), status: Set("cancelled".into()), ..Default::default() }.update(tx).await?;
        Ok(json!({ "membership": "cancelled" }))
    }

    async fn notice(
        app: &App,
        tx: &Tx,
        case: &Case<W>,
        next: InspectionState,
        opinion: &str,
        _unit: &str,
    ) -> AppResult<Option<Notice>> {
        let year = case.year.unwrap_or_default();
        let body = match next {
            InspectionState::Passed => format!("您的{year}年度年检申请已审核通过。"),
            InspectionState::Returned => format!(
                "您的{year}年度年检申请已被退回，退回原因：{opinion}。请在“年检申请”中点击“再次申请”，修改后重新提交。"
            ),
            InspectionState::Failed => format!("您的{year}年度年检未予通过，原因：{opinion}。"),
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
            body: format!("【中注协】{body}"),
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
        let mut r: Vec<String> =
            cmis_domain::profile::FIELDS.iter().filter(|f| f.required).map(|f| f.label.to_owned()).collect();
        r.extend(s.materials.iter().map(|m| format!("材料：{}", m.name)));
        r
    };
    Ok(Body { id_number_masked: mask::id_number(&view.profile.id_number), view, returnable })
}
