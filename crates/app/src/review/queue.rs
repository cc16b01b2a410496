//! The queue of a workflow's cases: filters, overdue first, pages; counts
//! for progress reports; a case opened with its trail.

use cmis_domain::coded::Coded;
use cmis_domain::review::Workflow;
use cmis_store::entity::review_case as row;
use sea_orm::{ColumnTrait, Condition, QueryFilter, QueryOrder, QuerySelect, Select};
use serde::Serialize;
use serde_json::json;

use super::{Case, PAGE_SIZE, Reviewed, awaiting, decisions, load, scoped};
use crate::approval::{self, Step};
use crate::audit;
use crate::error::{AppResult, FieldErrors};
use crate::page::{self, Page};
use crate::{Actor, App};

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct QueueFilter {
    /// A state code; None: what waits for the actor (or for anyone, for those who only look).
    pub state: Option<String>,
    pub year: Option<i32>,
    pub city: Option<i32>,
    pub overdue: bool,
    pub keyword: String,
    pub page: u64,
}

/// A queue row: the case, and the workflow's extra cells.
#[derive(Debug, Clone, Serialize)]
pub struct Row<W: Workflow> {
    pub case: Case<W>,
    pub cells: Vec<String>,
    pub days_left: Option<i64>,
}

pub struct Queue<W: Workflow> {
    pub rows: Page<Row<W>>,
    /// The year shown (yearly workflows).
    pub year: Option<i32>,
    /// The states shown when none was chosen.
    pub default_states: Vec<W::State>,
}

pub(super) fn filtered<W: Reviewed>(
    app: &App,
    actor: &Actor,
    f: &QueueFilter,
    year: Option<i32>,
) -> AppResult<(Select<row::Entity>, Vec<W::State>)> {
    let mut q = scoped::<W>(app, actor);
    if let Some(y) = year {
        if !cmis_domain::YEARS.contains(&y) {
            return Err(FieldErrors::one("year", "年度不正确"));
        }
        q = q.filter(row::Column::Year.eq(y));
    }
    let default_states = awaiting::<W>(W::reviewer_of(app, actor));
    match f.state.as_deref().filter(|s| !s.is_empty()) {
        Some("all") => {}
        Some(code) => {
            let s = W::State::parse(code).map_err(|_| FieldErrors::one("state", "请选择审核状态"))?;
            q = q.filter(row::Column::State.eq(s.code()));
        }
        None => q = q.filter(row::Column::State.is_in(default_states.iter().map(|s| s.code()))),
    }
    if let Some(c) = f.city {
        q = q.filter(row::Column::CityAssociationId.eq(c));
    }
    if f.overdue {
        let pending: Vec<&str> =
            W::State::ALL.iter().filter(|s| W::reviewer(**s).is_some()).map(|s| s.code()).collect();
        q = q.filter(row::Column::Deadline.lt(app.today())).filter(row::Column::State.is_in(pending));
    }
    let kw = f.keyword.trim();
    if !kw.is_empty() {
        let mut c = Condition::any().add(row::Column::Number.eq(kw)).add(row::Column::Name.contains(kw));
        if let Some(extra) = W::keyword(app, kw) {
            c = c.add(extra);
        }
        q = q.filter(c);
    }
    Ok((q, default_states))
}

/// The year a filter shows: the one chosen, else (yearly workflows) the open one.
pub(super) async fn year_of<W: Reviewed>(app: &App, actor: &Actor, f: &QueueFilter) -> AppResult<Option<i32>> {
    match f.year {
        Some(y) => Ok(Some(y)),
        None if W::YEARLY => W::default_year(app, actor).await,
        None => Ok(None),
    }
}

/// The queue: filters, overdue first by deadline, a page at a time, with the total.
pub async fn queue<W: Reviewed>(app: &App, actor: &Actor, f: &QueueFilter) -> AppResult<Queue<W>> {
    W::PERMISSION.require(actor)?;
    let year = year_of::<W>(app, actor, f).await?;
    let (q, default_states) = filtered::<W>(app, actor, f, year)?;
    let total = total_of::<W>(app, actor, f, year, &q).await?;
    let q = q.order_by_asc(row::Column::Deadline).order_by_asc(row::Column::Id);
    let p = page::fetch_of(app.db.conn(), q, f.page, PAGE_SIZE, total).await?;
    let (page_no, pages, total) = (p.page, p.pages, p.total);
    let cases: Vec<Case<W>> = p.items.into_iter().map(Case::try_from).collect::<AppResult<_>>()?;
    let cells = W::cells(app, &cases).await?;
    let today = app.today();
    let items = cases
        .into_iter()
        .zip(cells)
        .map(|(case, cells)| Row { days_left: case.days_left(today), case, cells })
        .collect();
    Ok(Queue { rows: Page { items, page: page_no, pages, total }, year, default_states })
}

/// The number of cases a filtered queue holds, kept for a few seconds per
/// workflow, association and filter (`Totals`).
async fn total_of<W: Reviewed>(
    app: &App,
    actor: &Actor,
    f: &QueueFilter,
    year: Option<i32>,
    q: &Select<row::Entity>,
) -> AppResult<u64> {
    // The scope of staff is their association's, a firm's its own and its
    // branches'; the key names it and the filter.
    let key = format!(
        "{}|{:?}|{}|{:?}|{:?}|{:?}|{:?}|{:?}|{}|{}",
        W::KIND,
        actor.user_type,
        actor.association_id,
        actor.firm_ids,
        actor.association_level,
        year,
        f.state,
        f.city,
        f.overdue,
        f.keyword.trim()
    );
    Ok(app.review_totals.get_or(key, || page::count(app.db.conn(), q)).await?)
}

/// How many cases wait for the actor (the home page and the menu).
pub async fn awaiting_count<W: Reviewed>(app: &App, actor: &Actor) -> AppResult<u64> {
    W::PERMISSION.require(actor)?;
    let f = QueueFilter::default();
    let year = year_of::<W>(app, actor, &f).await?;
    let (q, _) = filtered::<W>(app, actor, &f, year)?;
    total_of::<W>(app, actor, &f, year, &q).await
}

/// A case with its trail, for the detail page; opening it is audited.
pub struct Opened<W: Workflow> {
    pub case: Case<W>,
    pub trail: Vec<Step>,
    pub decisions: Vec<W::Action>,
    pub days_left: Option<i64>,
}

pub async fn open<W: Reviewed>(app: &App, actor: &Actor, id: i32) -> AppResult<Opened<W>> {
    W::PERMISSION.require(actor)?;
    let mut case = load::<W, _>(app.db.conn(), app, actor, id).await?;
    if W::opened(app, actor, &case).await? {
        case = load::<W, _>(app.db.conn(), app, actor, id).await?;
    }
    audit::record(app, &actor.audit_name(), &format!("{}_viewed", W::KIND), &format!("{}:{id}", W::KIND), json!({}))
        .await?;
    let trail = approval::trail(app.db.conn(), case.subject()).await?;
    Ok(Opened { decisions: decisions(app, actor, &case), days_left: case.days_left(app.today()), trail, case })
}

/// Counts of a workflow's cases by (city, state), in the actor's scope, for progress reports.
pub async fn counts<W: Reviewed>(
    app: &App,
    actor: &Actor,
    year: Option<i32>,
) -> AppResult<Vec<(Option<i32>, W::State, u64)>> {
    W::PERMISSION.require(actor)?;
    let mut q = scoped::<W>(app, actor);
    if let Some(y) = year {
        q = q.filter(row::Column::Year.eq(y));
    }
    let rows: Vec<(Option<i32>, String, i64)> = q
        .select_only()
        .column(row::Column::CityAssociationId)
        .column(row::Column::State)
        .column_as(row::Column::Id.count(), "n")
        .group_by(row::Column::CityAssociationId)
        .group_by(row::Column::State)
        .into_tuple()
        .all(app.db.conn())
        .await?;
    rows.into_iter().map(|(c, s, n)| Ok((c, W::State::parse(&s).map_err(anyhow::Error::from)?, n as u64))).collect()
}
