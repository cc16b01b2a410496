//! What a member (and their reviewers) see of the applications made: 年检信息
//! 查询 (history, filtered by year and state) and one application with its
//! profile, files, hours and trail.

use chrono::{DateTime, NaiveDate, Utc};
use cmis_domain::Hours;
use cmis_domain::member_inspection::{FeeStatus, InspectionState};
use cmis_domain::profile::Profile;
use cmis_store::entity::{attachment, member, member_inspection as payload, review_case as case_row};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use super::learning::{self, Record};
use super::{OWNER, W, cases_of, own_member};
use crate::approval::Step;
use crate::attachments::{self, Attachment, DEFERRAL_PROOF};
use crate::error::{AppError, AppResult};
use crate::review::{self as kernel, Case};
use crate::{Actor, App, member_profile};

/// A row of 非执业会员年检申请 / 年检信息查询.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryRow {
    pub id: i32,
    pub year: i32,
    pub state: InspectionState,
    pub fee: FeeStatus,
    pub hours_required: Hours,
    pub hours_done: Hours,
    /// The first submission, kept when the application is submitted again.
    pub first_submitted_at: DateTime<Utc>,
    /// The latest submission.
    pub submitted_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub association: String,
}

/// The member's applications, newest year first, filtered by 年检年度 and 审核状态.
pub async fn history(
    app: &App,
    actor: &Actor,
    year: Option<i32>,
    state: Option<InspectionState>,
) -> AppResult<Vec<HistoryRow>> {
    let m = own_member(app, actor).await?;
    let db = app.db.conn();
    let mut q = cases_of(m.id);
    if let Some(y) = year {
        q = q.filter(case_row::Column::Year.eq(y));
    }
    if let Some(s) = state {
        q = q.filter(case_row::Column::State.eq(s.code()));
    }
    let cases = q.order_by_desc(case_row::Column::Year).all(db).await?;
    let payloads: std::collections::HashMap<i32, payload::Model> = payload::Entity::find()
        .filter(payload::Column::CaseId.is_in(cases.iter().map(|c| c.id)))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.case_id, p))
        .collect();
    cases
        .into_iter()
        .map(|c| {
            let p = payloads.get(&c.id).ok_or(AppError::NotFound("年检申请"))?;
            history_row(app, Case::try_from(c)?, p)
        })
        .collect()
}

fn history_row(app: &App, c: Case<W>, p: &payload::Model) -> AppResult<HistoryRow> {
    Ok(HistoryRow {
        id: c.id,
        year: p.year,
        state: c.state,
        fee: FeeStatus::parse(&p.fee_status).map_err(anyhow::Error::from)?,
        hours_required: Hours::from_hundredths(p.hours_required_x100),
        hours_done: Hours::from_hundredths(p.hours_done_x100),
        first_submitted_at: c.first_submitted_at,
        submitted_at: c.submitted_at,
        decided_at: c.decided_at,
        association: app.orgs().get(c.association_id).map_or_else(String::new, |a| a.name.clone()),
    })
}

/// 查看: personal information, inspection information, training hours, the trail.
#[derive(Debug, Clone, Serialize)]
pub struct InspectionView {
    pub row: HistoryRow,
    pub association_id: i32,
    pub cert_no: String,
    pub name: String,
    pub city: Option<String>,
    pub profile: Profile,
    pub deferral_reason: Option<String>,
    pub return_reason: Option<String>,
    pub return_items: Vec<String>,
    pub records: Vec<Record>,
    pub materials: Vec<Attachment>,
    pub proofs: Vec<Attachment>,
    pub trail: Vec<Step>,
    pub deadline: NaiveDate,
}

/// The member's own, or any in a staff member's scope (staff views go
/// through the review kernel, which audits them).
pub async fn view(app: &App, actor: &Actor, id: i32) -> AppResult<InspectionView> {
    let case = kernel::load::<W, _>(app.db.conn(), app, actor, id).await?;
    view_of(app, case).await
}

pub(crate) async fn view_of(app: &App, case: Case<W>) -> AppResult<InspectionView> {
    let db = app.db.conn();
    let p = payload::Entity::find_by_id(case.id).one(db).await?.ok_or(AppError::NotFound("年检申请"))?;
    let m = member::Entity::find_by_id(p.member_id).one(db).await?.ok_or(AppError::NotFound("会员"))?;
    let files = attachment::Entity::find()
        .filter(attachment::Column::OwnerType.eq(OWNER))
        .filter(attachment::Column::OwnerId.eq(case.id))
        .order_by_asc(attachment::Column::Id)
        .all(db)
        .await?;
    let (proofs, materials): (Vec<_>, Vec<_>) =
        files.into_iter().map(attachments::to_attachment).partition(|a| a.context == DEFERRAL_PROOF.code);
    Ok(InspectionView {
        cert_no: m.cert_no.to_string(),
        name: m.name.clone(),
        city: case.city_association_id.and_then(|c| app.orgs().get(c).map(|a| a.name.clone())),
        // As submitted; applications from before snapshots were kept show today's.
        profile: match &p.profile_enc {
            Some(enc) => serde_json::from_str(&app.pii.decrypt(enc)?).map_err(anyhow::Error::from)?,
            None => member_profile::profile_of(app, &m)?,
        },
        records: learning::records_of(db, m.id, Some(p.year)).await?,
        trail: kernel::trail::<W>(app, case.id).await?,
        deferral_reason: p.deferral_reason.clone(),
        return_reason: case.return_reason.clone(),
        return_items: case.return_items.clone(),
        deadline: case.deadline,
        association_id: case.association_id,
        materials,
        proofs,
        row: history_row(app, case, &p)?,
    })
}
