//! 年检进度: counts by state and by city for a year, and the list as Excel.

use chrono::{FixedOffset, NaiveDate};
use cmis_domain::AssociationLevel;
use cmis_domain::inspection::{FeeStatus, InspectionState};
use cmis_store::entity::{annual_inspection as row, member};
use rust_xlsxwriter::{Format, Workbook};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;

use super::review::{default_year, scoped};
use super::{fmt_hours, state_of};
use crate::error::{AppError, AppResult};
use crate::{Actor, App, audit};

#[derive(Debug, Clone, Serialize)]
pub struct CityCount {
    pub city: String,
    /// In the order of `InspectionState::ALL`.
    pub counts: Vec<u64>,
    pub total: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub year: i32,
    /// Members who take part this year (admitted by 31 Dec, not cancelled).
    pub members: u64,
    /// Applications by state, in the order of `InspectionState::ALL`.
    pub by_state: Vec<(InspectionState, u64)>,
    pub applied: u64,
    pub by_city: Vec<CityCount>,
}

impl Progress {
    pub fn not_applied(&self) -> u64 {
        self.members.saturating_sub(self.applied)
    }
    /// Share of the largest bar, for the chart.
    pub fn percent(&self, n: u64) -> u64 {
        let max = self.by_state.iter().map(|(_, n)| *n).max().unwrap_or(0).max(self.not_applied()).max(1);
        n * 100 / max
    }
}

fn staff(actor: &Actor) -> AppResult<()> {
    if actor.is_staff() { Ok(()) } else { Err(AppError::Forbidden) }
}

pub async fn progress(app: &App, actor: &Actor, year: Option<i32>) -> AppResult<Progress> {
    staff(actor)?;
    let year = match year {
        Some(y) => y,
        None => default_year(app, actor).await?,
    };
    let db = app.db.conn();
    let rows: Vec<(Option<i32>, String, i64)> = scoped(actor, row::Entity::find())
        .filter(row::Column::Year.eq(year))
        .select_only()
        .column(row::Column::CityAssociationId)
        .column(row::Column::State)
        .column_as(row::Column::Id.count(), "n")
        .group_by(row::Column::CityAssociationId)
        .group_by(row::Column::State)
        .into_tuple()
        .all(db)
        .await?;
    let idx = |code: &str| InspectionState::ALL.iter().position(|s| s.code() == code);
    let mut by_state = vec![0u64; InspectionState::ALL.len()];
    let mut cities: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    for (city, state, n) in &rows {
        let Some(i) = idx(state) else { continue };
        by_state[i] += *n as u64;
        let name =
            city.and_then(|c| app.orgs.get(c)).map_or_else(|| "未指定市注协".to_owned(), |a| a.short_name.clone());
        cities.entry(name).or_insert_with(|| vec![0; InspectionState::ALL.len()])[i] += *n as u64;
    }
    let end = NaiveDate::from_ymd_opt(year, 12, 31).expect("valid date");
    let mut mq = member::Entity::find()
        .filter(member::Column::AdmittedOn.lte(end))
        .filter(member::Column::Status.ne("cancelled"));
    mq = match actor.association_level {
        AssociationLevel::National => mq,
        AssociationLevel::Provincial => mq.filter(member::Column::AssociationId.eq(actor.association_id)),
        AssociationLevel::City => mq.filter(member::Column::CityAssociationId.eq(actor.association_id)),
    };
    let members = mq.count(db).await?;
    let applied = by_state.iter().sum();
    Ok(Progress {
        year,
        members,
        applied,
        by_state: InspectionState::ALL.into_iter().zip(by_state).collect(),
        by_city: cities
            .into_iter()
            .map(|(city, counts)| CityCount { total: counts.iter().sum(), city, counts })
            .collect(),
    })
}

pub const EXPORT_HEADER: [&str; 11] = [
    "年检年度",
    "会员编号",
    "姓名",
    "地方注协",
    "市注协",
    "审核状态",
    "缴费情况",
    "应完成学时",
    "已完成学时",
    "提交时间",
    "办结时间",
];

/// The year's list in the actor's scope as an xlsx workbook (audited).
pub async fn export(app: &App, actor: &Actor, year: i32, state: Option<InspectionState>) -> AppResult<Vec<u8>> {
    staff(actor)?;
    let mut q = scoped(actor, row::Entity::find()).filter(row::Column::Year.eq(year));
    if let Some(s) = state {
        q = q.filter(row::Column::State.eq(s.code()));
    }
    let rows = q.order_by_asc(row::Column::AssociationId).order_by_asc(row::Column::CertNo).all(app.db.conn()).await?;
    let n = rows.len();
    let cst = FixedOffset::east_opt(8 * 3600).expect("valid offset");
    let bytes = tokio::task::spawn_blocking({
        let orgs = app.orgs.clone();
        move || -> anyhow::Result<Vec<u8>> {
            let mut book = Workbook::new();
            let sheet = book.add_worksheet();
            sheet.set_name(format!("{year}年度年检"))?;
            let bold = Format::new().set_bold();
            for (c, h) in EXPORT_HEADER.iter().enumerate() {
                sheet.write_string_with_format(0, c as u16, *h, &bold)?;
            }
            for (i, r) in rows.iter().enumerate() {
                let line = (i + 1) as u32;
                let name_of =
                    |id: Option<i32>| id.and_then(|i| orgs.get(i)).map_or_else(String::new, |a| a.name.clone());
                sheet.write_number(line, 0, r.year as f64)?;
                sheet.write_string(line, 1, &r.cert_no)?;
                sheet.write_string(line, 2, &r.name)?;
                sheet.write_string(line, 3, name_of(Some(r.association_id)))?;
                sheet.write_string(line, 4, name_of(r.city_association_id))?;
                sheet.write_string(line, 5, state_of(r).label())?;
                sheet.write_string(line, 6, FeeStatus::from_code(&r.fee_status).map_or("", |f| f.label()))?;
                sheet.write_string(line, 7, fmt_hours(r.hours_required))?;
                sheet.write_string(line, 8, fmt_hours(r.hours_done))?;
                sheet.write_string(line, 9, r.submitted_at.with_timezone(&cst).format("%Y-%m-%d %H:%M").to_string())?;
                let decided = r.decided_at.map(|d| d.with_timezone(&cst).format("%Y-%m-%d %H:%M").to_string());
                sheet.write_string(line, 10, decided.unwrap_or_default())?;
            }
            sheet.set_column_width(1, 14)?;
            sheet.set_column_width(3, 24)?;
            sheet.set_column_width(5, 16)?;
            sheet.set_column_width(9, 17)?;
            sheet.set_column_width(10, 17)?;
            Ok(book.save_to_buffer()?)
        }
    })
    .await
    .map_err(anyhow::Error::from)??;
    audit::record(
        app,
        &actor.audit_name(),
        "inspection_exported",
        "annual_inspections",
        serde_json::json!({ "year": year, "rows": n }),
    )
    .await?;
    Ok(bytes)
}
