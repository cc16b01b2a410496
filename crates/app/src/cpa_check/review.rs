//! The review of CPAs' checks on the review kernel: the firm decides first
//! (退回 to the CPA; its 申请 sends a batch, `batch`), then the provincial
//! association (年检通过 / 暂缓通过 / 年检不予通过 / 退回), CPA by CPA or a
//! whole batch at once (`InspectionBatch`). This file says what the kernel
//! cannot know: the year a queue opens on, the columns beside a case, what
//! the CPA or the firm is told, what a return may name, and who decides
//! where a province lets its city associations review.

use cmis_domain::cpa_check::{CheckAction, CheckState, CpaCheck};
use cmis_domain::inspection_batch::{BatchAction, BatchState, InspectionBatch};
use cmis_domain::review::Reviewer;
use cmis_domain::{AssociationLevel, Hours};
use cmis_store::entity::{cpa, cpa_check as payload, firm};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::{CheckView, FIRM_DAYS, MATERIAL_ITEM, batch, settings, view_of};
use crate::error::{AppError, AppResult};
use crate::review::{self as kernel, Case, Decided, Notice, Reviewed};
use crate::scope::{self, Permission};
use crate::{Actor, App, Tx};

type W = CpaCheck;
/// Working days the provincial association has for a CPA in a batch.
pub const PROVINCE_DAYS: u32 = 20;

#[async_trait::async_trait]
impl Reviewed for CpaCheck {
    const PERMISSION: Permission = Permission::ReviewCpaChecks;
    const NOUN: &'static str = "年检申请";
    const NUMBER: &'static str = "注册会计师证书编号";
    const YEARLY: bool = true;
    const BY_CITY: bool = true;

    fn days(state: CheckState) -> u32 {
        if state == CheckState::ProvinceReview { PROVINCE_DAYS } else { FIRM_DAYS }
    }

    fn reviewer_of(app: &App, actor: &Actor) -> Option<Reviewer> {
        reviewer_of(app, actor)
    }

    /// Many CPAs at once are passed as their batch (审核通过 of `InspectionBatch`).
    fn batchable(_action: CheckAction) -> bool {
        false
    }

    fn reason_label(action: CheckAction) -> &'static str {
        match action {
            CheckAction::Fail => "不予通过原因",
            CheckAction::Defer => "暂缓通过原因",
            _ => "退回原因",
        }
    }

    fn reason_missing(action: CheckAction) -> &'static str {
        match action {
            CheckAction::Fail => "请填写不予通过原因",
            CheckAction::Defer => "请填写暂缓通过原因",
            _ => "请填写退回原因",
        }
    }

    async fn default_year(app: &App, actor: &Actor) -> AppResult<Option<i32>> {
        open_year(app, actor).await
    }

    fn columns() -> &'static [&'static str] {
        &["事务所", "年检批次编号", "离退休", "身份核验", "学时（已完成/应完成）"]
    }

    async fn lock_first(tx: &Tx, id: i32) -> AppResult<()> {
        batch::lock_batch_of(tx, &[id]).await
    }

    async fn decided(_app: &App, tx: &Tx, case: &Case<W>, d: &Decided<'_, W>) -> AppResult<serde_json::Value> {
        batch::cpa_decided(tx, case, d).await
    }

    async fn cells(app: &App, cases: &[Case<W>]) -> AppResult<Vec<Vec<String>>> {
        let db = app.db.conn();
        let found: std::collections::HashMap<i32, payload::Model> = payload::Entity::find()
            .filter(payload::Column::CaseId.is_in(cases.iter().map(|c| c.id)))
            .all(db)
            .await?
            .into_iter()
            .map(|p| (p.case_id, p))
            .collect();
        let firms: std::collections::HashMap<i32, String> = firm::Entity::find()
            .filter(firm::Column::Id.is_in(cases.iter().filter_map(|c| c.firm_id)))
            .all(db)
            .await?
            .into_iter()
            .map(|f| (f.id, f.name))
            .collect();
        let batches = batch::numbers_of(db, &cases.iter().map(|c| c.id).collect::<Vec<_>>()).await?;
        cases
            .iter()
            .map(|c| {
                let p = found.get(&c.id).ok_or(AppError::NotFound("年检申请"))?;
                Ok(vec![
                    c.firm_id.and_then(|f| firms.get(&f).cloned()).unwrap_or_default(),
                    batches.get(&c.id).cloned().unwrap_or_default(),
                    if p.retired { "是" } else { "否" }.to_owned(),
                    if p.identity == "in_person" { "线下人工核验" } else { "人脸认证" }.to_owned(),
                    format!(
                        "{}/{}",
                        Hours::from_hundredths(p.hours_done_x100),
                        Hours::from_hundredths(p.hours_required_x100)
                    ),
                ])
            })
            .collect()
    }

    async fn notice(
        app: &App,
        tx: &Tx,
        case: &Case<W>,
        next: CheckState,
        opinion: &str,
        sign: &str,
    ) -> AppResult<Option<Notice>> {
        let opinion = cmis_domain::text::clause(opinion);
        let year = case.year.unwrap_or_default();
        let body = match next {
            CheckState::FirmReturned | CheckState::ProvinceReturned => format!(
                "您的{year}年度年检申请已被{}，退回原因：{opinion}。请在“年检申请”中点击“再次申请”，修改后重新提交（无需再次人脸认证）。",
                next.label()
            ),
            CheckState::Passed => format!("您的{year}年度年检已通过。"),
            CheckState::Deferred => format!("您的{year}年度年检结果为暂缓通过，原因：{opinion}。"),
            CheckState::Failed => format!("您的{year}年度年检未予通过，原因：{opinion}。"),
            _ => return Ok(None),
        };
        let mobile = match payload::Entity::find_by_id(case.id).one(tx).await? {
            Some(p) => cpa::Entity::find_by_id(p.cpa_id)
                .one(tx)
                .await?
                .and_then(|c| c.mobile_enc)
                .and_then(|e| app.pii.decrypt(&e).ok()),
            None => None,
        };
        Ok(Some(Notice {
            user_id: case.applicant_user_id,
            title: format!("{year}年度年检：{}", next.label()),
            body: format!("{sign}{body}"),
            link: Some(format!("/cpa-check/view/{}", case.id)),
            sms_to: mobile,
        }))
    }
}

/// The body of an opened case (the kernel checked scope and audited the view),
/// and what a return may name: the materials of the CPA's list.
pub async fn body(app: &App, actor: &Actor, id: i32) -> AppResult<(CheckView, Vec<String>)> {
    W::PERMISSION.require(actor)?;
    let case = kernel::load::<W, _>(app.db.conn(), app, actor, id).await?;
    let view = view_of(app, &case).await?;
    let s = settings::effective(app, case.association_id, view.year).await?;
    let returnable = s.materials(view.retired).iter().map(|m| format!("{MATERIAL_ITEM}{}", m.name)).collect();
    Ok((view, returnable))
}

/// The province whose window decides an actor's year: their own, or a
/// city association's province.
async fn open_year(app: &App, actor: &Actor) -> AppResult<Option<i32>> {
    let province = match actor.association_level {
        AssociationLevel::City if actor.is_staff() => {
            app.orgs().get(actor.association_id).and_then(|a| a.parent_id).unwrap_or(actor.association_id)
        }
        _ => actor.association_id,
    };
    Ok(Some(settings::current_year(app, province, app.today()).await?))
}

/// Who decides CPAs' checks and batches: the province, and the city
/// associations it lets (委托市注协审核), which then decide as it does.
pub fn reviewer_of(app: &App, actor: &Actor) -> Option<Reviewer> {
    match scope::reviewer(actor) {
        Some(Reviewer::City) if app.orgs().get(actor.association_id).is_some_and(|a| a.reviews_cpa_checks) => {
            Some(Reviewer::Province)
        }
        r => r,
    }
}

type B = InspectionBatch;

#[async_trait::async_trait]
impl Reviewed for InspectionBatch {
    const PERMISSION: Permission = Permission::ReviewCpaBatches;
    const NOUN: &'static str = "年检批次";
    const NUMBER: &'static str = "年检批次编号";
    const YEARLY: bool = true;
    const BY_CITY: bool = true;

    fn days(_state: BatchState) -> u32 {
        PROVINCE_DAYS
    }

    fn reviewer_of(app: &App, actor: &Actor) -> Option<Reviewer> {
        reviewer_of(app, actor)
    }

    fn reason_label(_action: BatchAction) -> &'static str {
        "退回原因"
    }

    fn reason_missing(_action: BatchAction) -> &'static str {
        "请填写退回原因"
    }

    async fn default_year(app: &App, actor: &Actor) -> AppResult<Option<i32>> {
        open_year(app, actor).await
    }

    /// A reviewer who decides batches opening one submitted starts its review (审核中).
    async fn opened(app: &App, actor: &Actor, case: &Case<B>) -> AppResult<bool> {
        if case.state != BatchState::Submitted {
            return Ok(false);
        }
        batch::opened(app, actor, case.id).await
    }

    fn columns() -> &'static [&'static str] {
        &["注师人数", "待审核", "社保证明材料"]
    }

    async fn cells(app: &App, cases: &[Case<B>]) -> AppResult<Vec<Vec<String>>> {
        use cmis_store::entity::attachment;
        use sea_orm::QuerySelect;
        let db = app.db.conn();
        let ids: Vec<i32> = cases.iter().map(|c| c.id).collect();
        let rows: Vec<(Option<i32>, String, i64)> = payload::Entity::find()
            .select_only()
            .column(payload::Column::BatchId)
            .column(cmis_store::entity::review_case::Column::State)
            .column_as(payload::Column::CaseId.count(), "n")
            .join(
                sea_orm::JoinType::InnerJoin,
                payload::Entity::belongs_to(cmis_store::entity::review_case::Entity)
                    .from(payload::Column::CaseId)
                    .to(cmis_store::entity::review_case::Column::Id)
                    .into(),
            )
            .filter(payload::Column::BatchId.is_in(ids.clone()))
            .group_by(payload::Column::BatchId)
            .group_by(cmis_store::entity::review_case::Column::State)
            .into_tuple()
            .all(db)
            .await?;
        let files: Vec<(Option<i32>, i64)> = attachment::Entity::find()
            .select_only()
            .column(attachment::Column::OwnerId)
            .column_as(attachment::Column::Id.count(), "n")
            .filter(attachment::Column::OwnerType.eq(batch::OWNER))
            .filter(attachment::Column::OwnerId.is_in(ids))
            .group_by(attachment::Column::OwnerId)
            .into_tuple()
            .all(db)
            .await?;
        Ok(cases
            .iter()
            .map(|c| {
                let mine = rows.iter().filter(|(b, _, _)| *b == Some(c.id));
                let total: i64 = mine.clone().map(|(_, _, n)| n).sum();
                let waiting: i64 =
                    mine.filter(|(_, s, _)| s == CheckState::ProvinceReview.code()).map(|(_, _, n)| n).sum();
                let n = files.iter().find(|(o, _)| *o == Some(c.id)).map_or(0, |(_, n)| *n);
                vec![total.to_string(), waiting.to_string(), format!("{n}个")]
            })
            .collect())
    }

    async fn decided(app: &App, tx: &Tx, case: &Case<B>, d: &Decided<'_, B>) -> AppResult<serde_json::Value> {
        batch::batch_decided(app, tx, case, d).await
    }

    async fn notice(
        _app: &App,
        _tx: &Tx,
        case: &Case<B>,
        next: BatchState,
        opinion: &str,
        sign: &str,
    ) -> AppResult<Option<Notice>> {
        Ok(batch::batch_notice(case, next, opinion, sign))
    }
}
