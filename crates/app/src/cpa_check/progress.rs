//! 注册会计师年检进度: a year's CPAs by where their check stands — by firm,
//! by city association (CICPA: by provincial association), in all — with
//! the chart's figures and the Excel export; and a firm's own year at a
//! glance on its home page. Counted in the database, two grouped queries a
//! report, in the actor's scope.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use cmis_domain::AssociationLevel;
use cmis_domain::cpa_check::{CheckState, CpaCheck};
use cmis_domain::review::Workflow;
use cmis_store::entity::{cpa, firm, review_case as case_row};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;
use serde_json::json;

use super::settings;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::jobs::{self, Input, JobKind, NewJob, Outcome, Running};
use crate::page::Page;
use crate::scope::{Columns, Permission, Scope};
use crate::{Actor, App, audit};

type W = CpaCheck;
pub const PAGE_SIZE: u64 = 20;

/// One unit's year: its CPAs and their checks by state.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Tally {
    pub name: String,
    /// 事务所编号, for a firm.
    pub number: String,
    /// CPAs registered by the end of the year and not cancelled.
    pub cpas: u64,
    /// Checks by state, in the order of `CheckState::ALL`.
    pub by_state: Vec<u64>,
}

fn idx(s: CheckState) -> usize {
    CheckState::ALL.iter().position(|x| *x == s).expect("a state of ALL")
}

impl Tally {
    fn named(name: String, number: String) -> Tally {
        Tally { name, number, cpas: 0, by_state: vec![0; CheckState::ALL.len()] }
    }

    pub fn of(&self, s: CheckState) -> u64 {
        self.by_state[idx(s)]
    }

    /// Applications still alive (a check the regulator ended is not counted).
    pub fn applied(&self) -> u64 {
        CheckState::ALL.iter().filter(|s| **s != CheckState::Closed).map(|s| self.of(*s)).sum()
    }

    pub fn not_applied(&self) -> u64 {
        self.cpas.saturating_sub(self.applied())
    }

    pub fn returned(&self) -> u64 {
        self.of(CheckState::FirmReturned) + self.of(CheckState::ProvinceReturned)
    }

    /// 年检通过 as a share of the CPAs, in per cent.
    pub fn passed_percent(&self) -> u64 {
        (self.of(CheckState::Passed) * 100).checked_div(self.cpas).unwrap_or(0)
    }

    fn add(&mut self, other: &Tally) {
        self.cpas += other.cpas;
        for (a, b) in self.by_state.iter_mut().zip(&other.by_state) {
            *a += b;
        }
    }

    /// The chart's bars: (label, count), what a reader of the year asks first.
    pub fn bars(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("未申请", self.not_applied()),
            ("事务所待审核", self.of(CheckState::FirmReview)),
            ("地方注协待审核", self.of(CheckState::ProvinceReview)),
            ("已退回", self.returned()),
            ("年检通过", self.of(CheckState::Passed)),
            ("暂缓通过", self.of(CheckState::Deferred)),
            ("年检不予通过", self.of(CheckState::Failed)),
        ]
    }

    /// A bar's length: its share of the longest, in per cent.
    pub fn percent(&self, n: u64) -> u64 {
        let max = self.bars().iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
        n * 100 / max
    }
}

/// The year as counted, in the actor's scope.
struct Counted {
    total: Tally,
    /// By city association, or (CICPA) by provincial association.
    units: Vec<Tally>,
    firms: Vec<Tally>,
}

fn last_day(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 12, 31).expect("a valid date")
}

/// (province, city, firm, state, checks).
type CheckCount = (i32, Option<i32>, Option<i32>, String, i64);

/// Counts the year's checks and CPAs, grouped by firm and unit, in `scope`.
async fn count(app: &App, scope: &Scope, year: i32, by_province: bool) -> AppResult<Counted> {
    let db = app.db.conn();
    let case_scope = scope.condition(Columns {
        association: Some(case_row::Column::AssociationId),
        city: Some(case_row::Column::CityAssociationId),
        firm: Some(case_row::Column::FirmId),
        ..Columns::default()
    });
    let checks: Vec<CheckCount> = case_row::Entity::find()
        .select_only()
        .column(case_row::Column::AssociationId)
        .column(case_row::Column::CityAssociationId)
        .column(case_row::Column::FirmId)
        .column(case_row::Column::State)
        .column_as(case_row::Column::Id.count(), "n")
        .filter(case_row::Column::Kind.eq(W::KIND))
        .filter(case_row::Column::Year.eq(year))
        .filter(case_scope)
        .group_by(case_row::Column::AssociationId)
        .group_by(case_row::Column::CityAssociationId)
        .group_by(case_row::Column::FirmId)
        .group_by(case_row::Column::State)
        .into_tuple()
        .all(db)
        .await?;
    let cpa_scope = scope.condition(Columns {
        association: Some(cpa::Column::AssociationId),
        city: Some(cpa::Column::CityAssociationId),
        firm: Some(cpa::Column::FirmId),
        ..Columns::default()
    });
    let people: Vec<(i32, Option<i32>, i32, i64)> = cpa::Entity::find()
        .select_only()
        .column(cpa::Column::AssociationId)
        .column(cpa::Column::CityAssociationId)
        .column(cpa::Column::FirmId)
        .column_as(cpa::Column::Id.count(), "n")
        .filter(cpa::Column::Status.ne("cancelled"))
        .filter(cpa::Column::RegisteredOn.lte(last_day(year)))
        .filter(cpa_scope)
        .group_by(cpa::Column::AssociationId)
        .group_by(cpa::Column::CityAssociationId)
        .group_by(cpa::Column::FirmId)
        .into_tuple()
        .all(db)
        .await?;
    let firm_scope = scope.condition(Columns {
        association: Some(firm::Column::AssociationId),
        city: Some(firm::Column::CityAssociationId),
        firm: Some(firm::Column::Id),
        ..Columns::default()
    });
    let names: HashMap<i32, (String, String)> = firm::Entity::find()
        .select_only()
        .column(firm::Column::Id)
        .column(firm::Column::Name)
        .column(firm::Column::FirmNo)
        .filter(firm_scope)
        .into_tuple::<(i32, String, String)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, n, no)| (id, (n, no)))
        .collect();
    let orgs = app.orgs();
    let unit_of = |association: i32, city: Option<i32>| -> String {
        let id = if by_province { Some(association) } else { city };
        id.and_then(|i| orgs.get(i)).map_or_else(|| "未指定市注协".to_owned(), |a| a.short_name.clone())
    };
    let firm_tally = |id: Option<i32>| -> Tally {
        match id.and_then(|i| names.get(&i)) {
            Some((n, no)) => Tally::named(n.clone(), no.clone()),
            None => Tally::named("（事务所不在本辖区）".into(), String::new()),
        }
    };
    let mut firms: HashMap<Option<i32>, Tally> = HashMap::new();
    let mut units: BTreeMap<String, Tally> = BTreeMap::new();
    for (association, city, f, state, n) in checks {
        let s = CheckState::parse(&state).map_err(anyhow::Error::from)?;
        let n = n as u64;
        firms.entry(f).or_insert_with(|| firm_tally(f)).by_state[idx(s)] += n;
        let u = unit_of(association, city);
        units.entry(u.clone()).or_insert_with(|| Tally::named(u, String::new())).by_state[idx(s)] += n;
    }
    for (association, city, f, n) in people {
        firms.entry(Some(f)).or_insert_with(|| firm_tally(Some(f))).cpas += n as u64;
        let u = unit_of(association, city);
        units.entry(u.clone()).or_insert_with(|| Tally::named(u, String::new())).cpas += n as u64;
    }
    let mut total = Tally::named("合计".into(), String::new());
    for u in units.values() {
        total.add(u);
    }
    let mut firms: Vec<Tally> = firms.into_values().collect();
    firms.sort_by(|a, b| a.number.cmp(&b.number).then(a.name.cmp(&b.name)));
    Ok(Counted { total, units: units.into_values().collect(), firms })
}

/// 年检进度 as the page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub year: i32,
    pub total: Tally,
    /// 市注协, or (CICPA) 地方注协.
    pub unit_label: &'static str,
    pub units: Vec<Tally>,
    pub firms: Page<Tally>,
}

#[derive(Debug, Clone, Default, serde::Deserialize, Serialize)]
pub struct ProgressFilter {
    pub year: Option<i32>,
    /// A firm's number or part of its name.
    #[serde(default)]
    pub keyword: String,
    #[serde(default)]
    pub page: u64,
}

async fn year_of(app: &App, actor: &Actor, year: Option<i32>) -> AppResult<i32> {
    match year {
        Some(y) if cmis_domain::YEARS.contains(&y) => Ok(y),
        Some(_) => Err(FieldErrors::one("year", "年度不正确")),
        None => {
            let province = match actor.association_level {
                AssociationLevel::City => {
                    app.orgs().get(actor.association_id).and_then(|a| a.parent_id).unwrap_or(actor.association_id)
                }
                _ => actor.association_id,
            };
            settings::current_year(app, province, app.today()).await
        }
    }
}

fn matches(t: &Tally, keyword: &str) -> bool {
    keyword.is_empty() || t.number == keyword || t.name.contains(keyword)
}

/// 注册会计师年检进度: staff of an association, for what is theirs; CICPA for every province.
pub async fn progress(app: &App, actor: &Actor, f: &ProgressFilter) -> AppResult<Progress> {
    Permission::InspectionProgress.require(actor)?;
    let year = year_of(app, actor, f.year).await?;
    let national = actor.association_level == AssociationLevel::National;
    let c = count(app, &Scope::of(app, actor), year, national).await?;
    let kw = f.keyword.trim();
    let firms: Vec<Tally> = c.firms.into_iter().filter(|t| matches(t, kw)).collect();
    let total = firms.len() as u64;
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page = f.page.clamp(1, pages);
    let items = firms.into_iter().skip(((page - 1) * PAGE_SIZE) as usize).take(PAGE_SIZE as usize).collect();
    Ok(Progress {
        year,
        total: c.total,
        unit_label: if national { "地方注协" } else { "市注协" },
        units: c.units,
        firms: Page { items, page, pages, total },
    })
}

/// Asks for the year's progress as an Excel workbook (by unit, and by firm): a job.
pub async fn request_export(app: &App, actor: &Actor, year: Option<i32>) -> AppResult<i32> {
    Permission::InspectionProgress.require(actor)?;
    let year = year_of(app, actor, year).await?;
    jobs::submit(
        app,
        actor,
        NewJob {
            kind: JobKind::CpaCheckProgress,
            title: format!("导出{year}年度注册会计师年检进度"),
            params: json!({ "year": year }),
            input: Input::None,
        },
    )
    .await
}

/// The job of `request_export`: counted again as its owner sees it now.
pub async fn export_job(app: &App, job: &Running<'_>) -> AppResult<Outcome> {
    let year = job.params.get("year").and_then(|y| y.as_i64()).ok_or_else(|| anyhow::anyhow!("no year"))? as i32;
    Permission::InspectionProgress.require(&job.actor)?;
    let national = job.actor.association_level == AssociationLevel::National;
    job.progress.set(1, 3).await?;
    let c = count(app, &Scope::of(app, &job.actor), year, national).await?;
    job.progress.set(2, 3).await?;
    let rows = c.firms.len();
    let unit = if national { "地方注协" } else { "市注协" };
    let bytes = tokio::task::spawn_blocking(move || workbook(year, unit, &c)).await.map_err(anyhow::Error::from)??;
    audit::record(app, &job.actor.audit_name(), "cpa_check_progress_exported", W::KIND, json!({ "year": year }))
        .await?;
    job.progress.set(3, 3).await?;
    Ok(Outcome {
        file: Some((format!("{year}年度注册会计师年检进度.xlsx"), bytes)), summary: json!({ "rows": rows })
    })
}

/// The columns of every table of the report.
pub const HEADER: [&str; 10] = [
    "注师人数",
    "已申请",
    "未申请",
    "事务所待审核",
    "地方注协待审核",
    "已退回",
    "年检通过",
    "暂缓通过",
    "年检不予通过",
    "通过率",
];

impl Tally {
    /// The cells under `HEADER`.
    pub fn cells(&self) -> [String; 10] {
        [
            self.cpas.to_string(),
            self.applied().to_string(),
            self.not_applied().to_string(),
            self.of(CheckState::FirmReview).to_string(),
            self.of(CheckState::ProvinceReview).to_string(),
            self.returned().to_string(),
            self.of(CheckState::Passed).to_string(),
            self.of(CheckState::Deferred).to_string(),
            self.of(CheckState::Failed).to_string(),
            format!("{}%", self.passed_percent()),
        ]
    }
}

fn workbook(year: i32, unit: &str, c: &Counted) -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let mut sheet_of = |name: String, first: &[&str], rows: Vec<(Vec<String>, &Tally)>| -> anyhow::Result<()> {
        let sheet = book.add_worksheet();
        sheet.set_name(name)?;
        for (i, h) in first.iter().chain(HEADER.iter()).enumerate() {
            sheet.write_string_with_format(0, i as u16, *h, &bold)?;
        }
        for (r, (lead, t)) in rows.iter().enumerate() {
            let line = (r + 1) as u32;
            for (i, v) in lead.iter().enumerate() {
                sheet.write_string(line, i as u16, v)?;
            }
            let cells = t.cells();
            for (i, v) in cells.iter().enumerate() {
                let col = (lead.len() + i) as u16;
                match v.parse::<f64>() {
                    Ok(n) => sheet.write_number(line, col, n)?,
                    Err(_) => sheet.write_string(line, col, v)?,
                };
            }
        }
        sheet.set_column_width(0, 24)?;
        Ok(())
    };
    let mut units: Vec<(Vec<String>, &Tally)> = c.units.iter().map(|t| (vec![t.name.clone()], t)).collect();
    units.push((vec!["合计".into()], &c.total));
    sheet_of(format!("按{unit}"), &[unit], units)?;
    let firms = c.firms.iter().map(|t| (vec![t.number.clone(), t.name.clone()], t)).collect();
    sheet_of(format!("{year}年度按事务所"), &["事务所编号", "事务所名称"], firms)?;
    Ok(book.save_to_buffer()?)
}

/// A firm's year at a glance (its home page): its CPAs and, a head office,
/// its branches'.
pub async fn firm_year(app: &App, actor: &Actor) -> AppResult<(i32, Tally)> {
    Permission::SendCpaBatches.require(actor)?;
    let id = actor.firm_id.ok_or(AppError::Forbidden)?;
    let f = firm::Entity::find_by_id(id).one(app.db.conn()).await?.ok_or(AppError::NotFound("会计师事务所"))?;
    let year = settings::current_year(app, f.association_id, app.today()).await?;
    let c = count(app, &Scope::of(app, actor), year, false).await?;
    let mut t = c.total;
    t.name = f.name;
    t.number = f.firm_no.to_string();
    Ok((year, t))
}
