//! The review kernel: written once for every reviewed workflow. A workflow is
//! its state and decision enums and its transition (`cmis_domain::review::
//! Workflow`), plus what `Reviewed` adds here: the permission, the words, the
//! queue's extra columns, and what a decision changes beside the state and
//! tells the applicant. The kernel serves the queue (filters, overdue first,
//! pagination, total), the case with its trail, the decision (state, trail,
//! audit, message and SMS in one transaction), the batch decision (up to 200
//! cases in one transaction) and the Excel export. Every call checks the
//! permission (403) and the scope (404, as if the case did not exist).
//!
//! Cases live in `review_cases`; a workflow's own data lives in its payload
//! table keyed by the case, which the workflow's module reads and writes.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use cmis_domain::coded::Coded;
use cmis_domain::review::{Refusal, Reviewer, Workflow};
use cmis_domain::workdays;
use cmis_store::entity::review_case as row;
use sea_orm::sea_query::SimpleExpr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Select, Set,
};
use serde::Serialize;
use serde_json::json;

use crate::approval::{self, Step, Subject};
use crate::audit;
use crate::deliveries::{self, Channel, Outgoing, Purpose};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::jobs::{self, Input, JobKind, NewJob, Progress};
use crate::page::{self, Page};
use crate::scope::{self, Columns, Filed, Permission, Scope};
use crate::{Actor, App, Tx, messages};

pub const PAGE_SIZE: u64 = 20;
/// The most cases one batch decision takes.
pub const BATCH_MAX: usize = 200;
/// The most fields and materials a return may name.
const MAX_ITEMS: usize = 30;

/// What a decision tells the applicant: a message in the message centre and,
/// where there is a mobile number, an SMS. Both are written in the decision's
/// transaction.
#[derive(Debug, Clone, Default)]
pub struct Notice {
    pub user_id: Option<i32>,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub sms_to: Option<String>,
}

/// What the kernel needs of a workflow beyond its rules.
#[async_trait::async_trait]
pub trait Reviewed: Workflow {
    /// Who reviews (and looks at) this workflow's cases.
    const PERMISSION: Permission;
    /// What a case is called in messages and errors: 入会申请, 年检申请.
    const NOUN: &'static str;
    /// The label of a case's number: 业务编号, 会员编号.
    const NUMBER: &'static str;
    /// Whether cases have a year (年检年度) and a city association.
    const YEARLY: bool;
    const BY_CITY: bool;

    /// Working days the reviewer of `state` has.
    fn days(state: Self::State) -> u32;

    /// Whether a decision may be taken for many cases at once.
    fn batchable(_action: Self::Action) -> bool {
        true
    }

    /// What the reason box of a decision is called: 退回原因, 不予通过原因.
    fn reason_label(_action: Self::Action) -> &'static str {
        "原因"
    }

    /// The message beside an empty reason box.
    fn reason_missing(_action: Self::Action) -> &'static str {
        "请填写原因"
    }

    /// The year a queue shows when none is chosen.
    async fn default_year(_app: &App, _actor: &Actor) -> AppResult<Option<i32>> {
        Ok(None)
    }

    /// A keyword search beyond number and name, as a condition on the case id.
    fn keyword(_app: &App, _keyword: &str) -> Option<SimpleExpr> {
        None
    }

    /// The queue's and the export's extra columns.
    fn columns() -> &'static [&'static str] {
        &[]
    }

    /// Their cells for some cases, in the order of the cases.
    async fn cells(_app: &App, cases: &[Case<Self>]) -> AppResult<Vec<Vec<String>>> {
        Ok(vec![vec![]; cases.len()])
    }

    /// What a decision changes beside the case (a member made, a membership
    /// cancelled), in its transaction; returned as the audit event's detail.
    async fn decided(
        _app: &App,
        _tx: &Tx,
        _case: &Case<Self>,
        _action: Self::Action,
        _next: Self::State,
    ) -> AppResult<serde_json::Value> {
        Ok(json!({}))
    }

    /// What the applicant is told of the new state.
    async fn notice(
        app: &App,
        tx: &Tx,
        case: &Case<Self>,
        next: Self::State,
        opinion: &str,
        unit: &str,
    ) -> AppResult<Option<Notice>>;
}

/// One case, as the kernel reads it: the state parsed strictly.
#[derive(Debug, Clone, Serialize)]
pub struct Case<W: Workflow> {
    pub id: i32,
    pub state: W::State,
    pub year: Option<i32>,
    pub association_id: i32,
    pub city_association_id: Option<i32>,
    pub firm_id: Option<i32>,
    pub member_id: Option<i32>,
    pub applicant_user_id: Option<i32>,
    pub number: String,
    pub name: String,
    pub first_submitted_at: DateTime<Utc>,
    pub submitted_at: DateTime<Utc>,
    pub deadline: NaiveDate,
    pub decided_at: Option<DateTime<Utc>>,
    pub return_reason: Option<String>,
    pub return_items: Vec<String>,
}

impl<W: Workflow> Case<W> {
    pub fn filed(&self) -> Filed {
        Filed {
            association_id: Some(self.association_id),
            city_association_id: self.city_association_id,
            firm_id: self.firm_id,
            member_id: self.member_id,
            user_id: self.applicant_user_id,
        }
    }

    /// Working days left to decide; negative when overdue; None when nobody decides now.
    pub fn days_left(&self, today: NaiveDate) -> Option<i64> {
        W::reviewer(self.state).map(|_| workdays::left(today, self.deadline, &[]))
    }

    pub fn subject(&self) -> Subject<'static> {
        Case::<W>::subject_of(self.id)
    }

    /// The trail's subject of case `id`.
    pub fn subject_of(id: i32) -> Subject<'static> {
        Subject { kind: W::KIND, id }
    }
}

impl<W: Workflow> TryFrom<row::Model> for Case<W> {
    type Error = AppError;
    fn try_from(r: row::Model) -> AppResult<Case<W>> {
        if r.kind != W::KIND {
            return Err(AppError::NotFound("申请"));
        }
        let state = W::State::parse(&r.state).map_err(|e| anyhow::anyhow!("case {}: {e}", r.id))?;
        Ok(Case {
            id: r.id,
            state,
            year: r.year,
            association_id: r.association_id,
            city_association_id: r.city_association_id,
            firm_id: r.firm_id,
            member_id: r.member_id,
            applicant_user_id: r.applicant_user_id,
            number: r.number,
            name: r.name,
            first_submitted_at: r.first_submitted_at,
            submitted_at: r.submitted_at,
            deadline: r.deadline,
            decided_at: r.decided_at,
            return_reason: r.return_reason,
            return_items: r.return_items.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default(),
        })
    }
}

fn columns() -> Columns<row::Column> {
    Columns {
        association: Some(row::Column::AssociationId),
        city: Some(row::Column::CityAssociationId),
        firm: Some(row::Column::FirmId),
        member: Some(row::Column::MemberId),
        user: Some(row::Column::ApplicantUserId),
    }
}

/// The cases of a workflow an actor may see.
fn scoped<W: Workflow>(app: &App, actor: &Actor) -> Select<row::Entity> {
    row::Entity::find().filter(row::Column::Kind.eq(W::KIND)).filter(Scope::of(app, actor).condition(columns()))
}

/// A case by id, inside the actor's scope (404 otherwise); no permission asked.
pub async fn load<W: Reviewed, C: sea_orm::ConnectionTrait>(
    db: &C,
    app: &App,
    actor: &Actor,
    id: i32,
) -> AppResult<Case<W>> {
    in_scope(app, actor, row::Entity::find_by_id(id).one(db).await?)
}

/// The same, for changing it: the row stays locked until the transaction
/// ends (PostgreSQL; SQLite's write transaction holds the whole database), so
/// two decisions at once are taken one after the other, the second on the
/// state the first left.
pub async fn load_for_update<W: Reviewed>(tx: &Tx, app: &App, actor: &Actor, id: i32) -> AppResult<Case<W>> {
    in_scope(app, actor, row::Entity::find_by_id(id).lock_exclusive().one(tx).await?)
}

fn in_scope<W: Reviewed>(app: &App, actor: &Actor, found: Option<row::Model>) -> AppResult<Case<W>> {
    let r = found.filter(|r| r.kind == W::KIND).ok_or(AppError::NotFound(W::NOUN))?;
    let case = Case::<W>::try_from(r)?;
    Scope::of(app, actor).check(&case.filed(), W::NOUN)?;
    Ok(case)
}

/// The states that wait for `reviewer`.
fn awaiting<W: Workflow>(reviewer: Option<Reviewer>) -> Vec<W::State> {
    let mine: Vec<W::State> =
        W::State::ALL.iter().copied().filter(|s| reviewer.is_some() && W::reviewer(*s) == reviewer).collect();
    if mine.is_empty() { W::State::ALL.iter().copied().filter(|s| W::reviewer(*s).is_some()).collect() } else { mine }
}

/// Whether an actor decides some of a workflow's cases (others only look).
pub fn decides<W: Reviewed>(actor: &Actor) -> bool {
    W::PERMISSION.allows(actor)
        && scope::reviewer(actor).is_some_and(|r| W::State::ALL.iter().any(|s| W::reviewer(*s) == Some(r)))
}

/// The decisions an actor may take on a case now.
pub fn decisions<W: Reviewed>(actor: &Actor, case: &Case<W>) -> Vec<W::Action> {
    match W::reviewer(case.state) {
        Some(r) if Some(r) == scope::reviewer(actor) => W::decisions(case.state).to_vec(),
        _ => vec![],
    }
}

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

fn filtered<W: Reviewed>(
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
    let default_states = awaiting::<W>(scope::reviewer(actor));
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

/// The queue: filters, overdue first by deadline, a page at a time, with the total.
pub async fn queue<W: Reviewed>(app: &App, actor: &Actor, f: &QueueFilter) -> AppResult<Queue<W>> {
    W::PERMISSION.require(actor)?;
    let year = match f.year {
        Some(y) => Some(y),
        None if W::YEARLY => W::default_year(app, actor).await?,
        None => None,
    };
    let (q, default_states) = filtered::<W>(app, actor, f, year)?;
    let q = q.order_by_asc(row::Column::Deadline).order_by_asc(row::Column::Id);
    let p = page::fetch(app.db.conn(), q, f.page, PAGE_SIZE).await?;
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

/// How many cases wait for the actor (the home page and the menu).
pub async fn awaiting_count<W: Reviewed>(app: &App, actor: &Actor) -> AppResult<u64> {
    W::PERMISSION.require(actor)?;
    let year = if W::YEARLY { W::default_year(app, actor).await? } else { None };
    let (q, _) = filtered::<W>(app, actor, &QueueFilter::default(), year)?;
    Ok(q.count(app.db.conn()).await?)
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
    let case = load::<W, _>(app.db.conn(), app, actor, id).await?;
    audit::record(app, &actor.audit_name(), &format!("{}_viewed", W::KIND), &format!("{}:{id}", W::KIND), json!({}))
        .await?;
    let trail = approval::trail(app.db.conn(), case.subject()).await?;
    Ok(Opened { decisions: decisions(actor, &case), days_left: case.days_left(app.today()), trail, case })
}

fn refused<W: Reviewed>(e: Refusal, action: W::Action) -> AppError {
    match e {
        Refusal::ReasonRequired => FieldErrors::one("reason", W::reason_missing(action)),
        e => AppError::Refused(e.to_string()),
    }
}

/// One decision inside a transaction: state, trail, audit, what else the
/// workflow changes, and what the applicant is told.
async fn decide_in<W: Reviewed>(
    app: &App,
    tx: &Tx,
    actor: &Actor,
    case: &Case<W>,
    action: W::Action,
    reason: &str,
    items: &[String],
) -> AppResult<W::State> {
    // Only the reviewer of the case's present state decides, and only with
    // the decisions of their level; others may look.
    let mine = scope::reviewer(actor);
    let owns = W::State::ALL.iter().any(|s| W::reviewer(*s) == mine && W::decisions(*s).contains(&action));
    if !owns {
        return Err(AppError::Forbidden);
    }
    // A decision of their level on a case now with another level (or
    // finished): told as such, not forbidden.
    if W::reviewer(case.state) != mine {
        return Err(AppError::Refused(
            Refusal::NotNow { state: case.state.label(), action: action.label() }.to_string(),
        ));
    }
    let next = W::decide(case.state, action, reason).map_err(|e| refused::<W>(e, action))?;
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
    let opinion =
        if items.is_empty() { reason.to_owned() } else { format!("{reason}（需修改：{}）", items.join("、")) };
    approval::record(tx, case.subject(), W::node(action), &actor.association_name, &actor.audit_name(), &opinion)
        .await?;
    let detail = W::decided(app, tx, case, action, next).await?;
    audit::append(
        tx,
        &actor.audit_name(),
        &format!("{}_decided", W::KIND),
        &format!("{}:{}", W::KIND, case.id),
        json!({ "action": action.code(), "state": next.code(), "items": items, "effects": detail }),
    )
    .await?;
    if let Some(n) = W::notice(app, tx, case, next, &opinion, &actor.association_name).await? {
        tell(app, tx, case.association_id, &n).await?;
    }
    Ok(next)
}

/// Writes a notice in the transaction: the message, and the SMS to the outbox.
pub async fn tell(app: &App, tx: &Tx, association_id: i32, n: &Notice) -> AppResult<()> {
    if let Some(u) = n.user_id {
        messages::send(tx, u, &n.title, &n.body, n.link.as_deref()).await?;
    }
    if let Some(to) = n.sms_to.as_deref().filter(|m| !m.is_empty()) {
        deliveries::queue(
            app,
            tx,
            Outgoing {
                channel: Channel::Sms,
                purpose: Purpose::Decision,
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
/// recorded, told.
pub async fn decide<W: Reviewed>(
    app: &App,
    actor: &Actor,
    id: i32,
    action: &str,
    reason: &str,
    items: &[String],
) -> AppResult<W::State> {
    W::PERMISSION.require(actor)?;
    if scope::reviewer(actor).is_none() {
        return Err(AppError::Forbidden);
    }
    let tx = app.write().await?;
    let case = load_for_update::<W>(&tx, app, actor, id).await?;
    // The decision as the reviewer sent it, read once the case is known to be
    // theirs to see: a case out of scope tells nothing, whatever was sent.
    let action = parse_action::<W>(action)?;
    let next = decide_in::<W>(app, &tx, actor, &case, action, reason, items).await?;
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
    if ids.is_empty() {
        return Err(AppError::Refused(format!("请勾选要办理的{}", W::NOUN)));
    }
    if ids.len() > BATCH_MAX {
        return Err(AppError::Refused(format!("一次最多办理{BATCH_MAX}条")));
    }
    if W::needs_reason(action) || !W::batchable(action) {
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
    for id in ids {
        let Some(r) = found.get(id) else {
            out.skipped.push(format!("#{id}：不在本单位管辖范围"));
            continue;
        };
        let case = Case::<W>::try_from(r.clone())?;
        if !decisions(actor, &case).contains(&action) {
            out.skipped.push(format!(
                "{}：{}",
                case.number,
                Refusal::NotNow { state: case.state.label(), action: action.label() }
            ));
            continue;
        }
        decide_in::<W>(app, &tx, actor, &case, action, "", &[]).await?;
        out.decided += 1;
    }
    tx.commit().await?;
    Ok(out)
}

/// Asks for the queue's rows as an Excel workbook: a job (`jobs`), whose page
/// shows its progress and then the file, `name`.xlsx. Refused at once (403)
/// when the role may not export.
pub async fn request_export<W: Reviewed>(app: &App, actor: &Actor, f: &QueueFilter, name: &str) -> AppResult<i32> {
    W::PERMISSION.require(actor)?;
    let job = NewJob {
        kind: JobKind::ReviewExport,
        title: format!("导出{name}"),
        params: json!({ "workflow": W::KIND, "filter": f, "name": name }),
        input: Input::None,
    };
    jobs::submit(app, actor, job).await
}

/// The most rows one export holds.
pub const EXPORT_MAX: u64 = 100_000;
const EXPORT_CHUNK: u64 = 1000;

/// The queue's rows, all of them (up to `EXPORT_MAX`), as an xlsx workbook:
/// the year, number, name, associations and state, the workflow's columns,
/// and the dates. Read a thousand rows at a time, reporting progress.
/// Audited. Returns the workbook and its number of rows.
pub async fn export<W: Reviewed>(
    app: &App,
    actor: &Actor,
    f: &QueueFilter,
    progress: &Progress<'_>,
) -> AppResult<(Vec<u8>, usize)> {
    W::PERMISSION.require(actor)?;
    let year = match f.year {
        Some(y) => Some(y),
        None if W::YEARLY => W::default_year(app, actor).await?,
        None => None,
    };
    let (q, _) = filtered::<W>(app, actor, f, year)?;
    let q = q.order_by_asc(row::Column::AssociationId).order_by_asc(row::Column::Number).order_by_asc(row::Column::Id);
    let total = q.clone().count(app.db.conn()).await?.min(EXPORT_MAX);
    // The workbook is the last tenth of the work.
    let steps = total + total / 10 + 1;
    let mut cases: Vec<Case<W>> = Vec::with_capacity(total as usize);
    let mut cells: Vec<Vec<String>> = Vec::with_capacity(total as usize);
    while (cases.len() as u64) < total {
        let chunk: Vec<Case<W>> = q
            .clone()
            .offset(cases.len() as u64)
            .limit(EXPORT_CHUNK.min(total - cases.len() as u64))
            .all(app.db.conn())
            .await?
            .into_iter()
            .map(Case::try_from)
            .collect::<AppResult<_>>()?;
        if chunk.is_empty() {
            break;
        }
        cells.extend(W::cells(app, &chunk).await?);
        cases.extend(chunk);
        progress.set(cases.len() as u64, steps).await?;
    }
    let n = cases.len();
    let orgs = app.orgs.clone();
    let bytes = tokio::task::spawn_blocking(move || workbook::<W>(&orgs, year, &cases, &cells))
        .await
        .map_err(anyhow::Error::from)??;
    progress.set(steps, steps).await?;
    audit::record(
        app,
        &actor.audit_name(),
        &format!("{}_exported", W::KIND),
        W::KIND,
        json!({ "year": year, "rows": n }),
    )
    .await?;
    Ok((bytes, n))
}

/// The export's header row.
pub fn export_header<W: Reviewed>() -> Vec<String> {
    let mut h: Vec<String> = Vec::new();
    if W::YEARLY {
        h.push("年检年度".into());
    }
    h.extend([W::NUMBER.to_owned(), "姓名".into(), "地方注协".into()]);
    if W::BY_CITY {
        h.push("市注协".into());
    }
    h.push("审核状态".into());
    h.extend(W::columns().iter().map(|c| c.to_string()));
    h.extend(["提交时间".into(), "办结时间".into()]);
    h
}

fn workbook<W: Reviewed>(
    orgs: &crate::organisations::Organisations,
    year: Option<i32>,
    cases: &[Case<W>],
    cells: &[Vec<String>],
) -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let title = match year {
        Some(y) => format!("{y}年度{}", W::NOUN),
        None => W::NOUN.to_owned(),
    };
    sheet.set_name(title)?;
    let bold = Format::new().set_bold();
    for (c, h) in export_header::<W>().iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, h, &bold)?;
    }
    let when = |t: DateTime<Utc>| t.with_timezone(&crate::clock::cst()).format("%Y-%m-%d %H:%M").to_string();
    let name_of = |id: Option<i32>| id.and_then(|i| orgs.get(i)).map_or_else(String::new, |a| a.name.clone());
    for (i, (case, extra)) in cases.iter().zip(cells).enumerate() {
        let line = (i + 1) as u32;
        let mut col = 0u16;
        let mut text = |s: &str| -> anyhow::Result<()> {
            sheet.write_string(line, col, s)?;
            col += 1;
            Ok(())
        };
        if W::YEARLY {
            // The year is a number in the workbook.
            text("")?;
        }
        text(&case.number)?;
        text(&case.name)?;
        text(&name_of(Some(case.association_id)))?;
        if W::BY_CITY {
            text(&name_of(case.city_association_id))?;
        }
        text(case.state.label())?;
        for c in extra {
            text(c)?;
        }
        text(&when(case.submitted_at))?;
        text(&case.decided_at.map(when).unwrap_or_default())?;
        if W::YEARLY {
            sheet.write_number(line, 0, case.year.unwrap_or_default() as f64)?;
        }
    }
    sheet.set_column_width(1, 16)?;
    sheet.set_column_width(3, 24)?;
    Ok(book.save_to_buffer()?)
}

/// A new case, written by the workflow that receives the application.
pub struct NewCase<'a> {
    pub kind: &'static str,
    pub state: &'static str,
    pub year: Option<i32>,
    pub association_id: i32,
    pub city_association_id: Option<i32>,
    pub firm_id: Option<i32>,
    pub member_id: Option<i32>,
    pub applicant_user_id: Option<i32>,
    pub number: &'a str,
    pub name: &'a str,
    pub days: u32,
}

/// Opens a case in the caller's transaction; returns its id.
pub async fn open_case(tx: &Tx, c: NewCase<'_>) -> AppResult<i32> {
    let now = tx.now();
    let m = row::ActiveModel {
        kind: Set(c.kind.to_owned()),
        state: Set(c.state.to_owned()),
        year: Set(c.year),
        association_id: Set(c.association_id),
        city_association_id: Set(c.city_association_id),
        firm_id: Set(c.firm_id),
        member_id: Set(c.member_id),
        applicant_user_id: Set(c.applicant_user_id),
        number: Set(c.number.to_owned()),
        name: Set(c.name.to_owned()),
        first_submitted_at: Set(now),
        submitted_at: Set(now),
        deadline: Set(workdays::add(crate::clock::date_of(now), c.days, &[])),
        decided_at: Set(None),
        return_reason: Set(None),
        return_items: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    Ok(m.id)
}

/// A returned case submitted again: the new state, a new deadline, the
/// return's reason kept for the trail only. `name` and `association_id` may change.
pub async fn resubmit_case(
    tx: &Tx,
    id: i32,
    state: &'static str,
    days: u32,
    name: &str,
    association_id: i32,
) -> AppResult<()> {
    let now = tx.now();
    row::ActiveModel {
        id: Set(id),
        state: Set(state.to_owned()),
        name: Set(name.to_owned()),
        association_id: Set(association_id),
        submitted_at: Set(now),
        deadline: Set(workdays::add(crate::clock::date_of(now), days, &[])),
        decided_at: Set(None),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(tx)
    .await?;
    Ok(())
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

/// The trail of a case the caller already holds (its own pages).
pub async fn trail<W: Workflow>(app: &App, id: i32) -> AppResult<Vec<Step>> {
    Ok(approval::trail(app.db.conn(), Subject { kind: W::KIND, id }).await?)
}
