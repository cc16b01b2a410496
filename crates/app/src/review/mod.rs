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

mod cases;
mod decide;
mod export;
mod queue;
mod totals;

pub use cases::{NewCase, open_case, resubmit_case, trail};
pub use decide::{Batch, batch, decide, tell, tell_for};
pub use export::{EXPORT_MAX, export, export_header, request_export};
pub use queue::{Opened, Queue, QueueFilter, Row, awaiting_count, counts, open, queue};
pub(crate) use totals::changed;
pub use totals::{KEPT_FOR, Totals};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use cmis_domain::coded::Coded;
use cmis_domain::review::{Reviewer, Workflow};
use cmis_domain::workdays;
use cmis_store::entity::review_case as row;
use sea_orm::sea_query::SimpleExpr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Select};
use serde::Serialize;
use serde_json::json;

use crate::approval::Subject;
use crate::error::{AppError, AppResult};
use crate::scope::{self, Columns, Filed, Permission, Scope};
use crate::{Actor, App, Tx};

pub const PAGE_SIZE: u64 = 20;
/// The most cases one batch decision takes.
pub const BATCH_MAX: usize = 200;
/// The most fields and materials a return may name.
pub(super) const MAX_ITEMS: usize = 30;

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

    /// The level an actor decides at in this workflow: their own, unless the
    /// workflow lets a province delegate its part to city associations.
    fn reviewer_of(_app: &App, actor: &Actor) -> Option<Reviewer> {
        scope::reviewer(actor)
    }

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

    /// What a decision asks for beside the reason, entered once and kept for
    /// the next case (会员批准文件号 and 会员批准日期 of CICPA's confirmation).
    fn inputs(_action: Self::Action) -> &'static [Input] {
        &[]
    }

    /// Locks, before the case itself, the rows a decision on case `id` will
    /// change beside it (the batch a CPA is in), so that every path takes
    /// them in one order and two at once wait rather than deadlock.
    async fn lock_first(_tx: &Tx, _id: i32) -> AppResult<()> {
        Ok(())
    }

    /// Opening a case for review may change it (a firm's batch opened by a
    /// reviewer is 审核中 and can no longer be withdrawn); true when it did,
    /// so the page shows the case and trail as they are now.
    async fn opened(_app: &App, _actor: &Actor, _case: &Case<Self>) -> AppResult<bool> {
        Ok(false)
    }

    /// What a decision changes beside the case (a member made, a membership
    /// cancelled), in its transaction; returned as the audit event's detail.
    /// An error undoes the whole decision.
    async fn decided(_app: &App, _tx: &Tx, _case: &Case<Self>, _d: &Decided<'_, Self>) -> AppResult<serde_json::Value> {
        Ok(json!({}))
    }

    /// What the applicant is told of the new state; `sign` is the acting
    /// association's signature (【广东省注协】), which begins the text.
    async fn notice(
        app: &App,
        tx: &Tx,
        case: &Case<Self>,
        next: Self::State,
        opinion: &str,
        sign: &str,
    ) -> AppResult<Option<Notice>>;
}

/// No date a decision records is before the profession's association was
/// founded (1988).
const EARLIEST_YEAR: i32 = 1988;

/// A value a decision asks for beside its reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Input {
    pub key: &'static str,
    pub label: &'static str,
    /// A date (YYYY-MM-DD, not after today) rather than text.
    pub date: bool,
    /// The longest text.
    pub max: usize,
    pub hint: &'static str,
}

/// The values given for a decision's inputs, checked: every input present,
/// text within its length, dates real and not in the future.
#[derive(Debug, Clone, Default)]
pub struct Inputs(Vec<(String, String)>);

impl Inputs {
    pub fn get(&self, key: &str) -> &str {
        self.0.iter().find(|(k, _)| k == key).map_or("", |(_, v)| v.as_str())
    }

    pub fn date(&self, key: &str) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(self.get(key), "%Y-%m-%d").ok()
    }

    /// Checks what was sent against what `wanted` asks for.
    pub fn check(wanted: &[Input], given: &[(String, String)], today: NaiveDate) -> AppResult<Inputs> {
        let mut errors = crate::FieldErrors::new();
        let mut out = Vec::new();
        for i in wanted {
            let v = given.iter().find(|(k, _)| k == i.key).map_or("", |(_, v)| v.trim());
            if v.is_empty() {
                errors.add(i.key, format!("请填写{}", i.label));
            } else if i.date {
                match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
                    Ok(d) if d > today => errors.add(i.key, format!("{}不能晚于今天", i.label)),
                    Ok(d) if d.year() < EARLIEST_YEAR => errors.add(i.key, format!("{}不正确", i.label)),
                    Ok(d) => out.push((i.key.to_owned(), d.to_string())),
                    Err(_) => errors.add(i.key, format!("{}格式应如2026-03-15", i.label)),
                }
            } else if let Err(e) = cmis_domain::text::check(v, i.max, false) {
                errors.add(i.key, format!("{}{e}", i.label));
            } else {
                out.push((i.key.to_owned(), v.to_owned()));
            }
        }
        errors.into_result()?;
        Ok(Inputs(out))
    }
}

/// A decision as the workflow's `decided` sees it.
pub struct Decided<'a, W: Workflow> {
    pub actor: &'a Actor,
    pub action: W::Action,
    pub next: W::State,
    /// What a return names to change.
    pub items: &'a [String],
    /// The opinion as the trail records it (the reason, with what a return names).
    pub opinion: &'a str,
    pub inputs: &'a Inputs,
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
            institute_id: None,
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
        institute: None,
    }
}

/// The cases of a workflow an actor may see.
pub(super) fn scoped<W: Workflow>(app: &App, actor: &Actor) -> Select<row::Entity> {
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
pub(super) fn awaiting<W: Workflow>(reviewer: Option<Reviewer>) -> Vec<W::State> {
    let mine: Vec<W::State> =
        W::State::ALL.iter().copied().filter(|s| reviewer.is_some() && W::reviewer(*s) == reviewer).collect();
    if mine.is_empty() { W::State::ALL.iter().copied().filter(|s| W::reviewer(*s).is_some()).collect() } else { mine }
}

/// Whether an actor decides some of a workflow's cases (others only look).
pub fn decides<W: Reviewed>(app: &App, actor: &Actor) -> bool {
    W::PERMISSION.allows(actor)
        && W::reviewer_of(app, actor).is_some_and(|r| W::State::ALL.iter().any(|s| W::reviewer(*s) == Some(r)))
}

/// Whether `reviewer` decides cases in `state`: the one it waits for, or the
/// one that may still change it.
pub(super) fn holds<W: Workflow>(state: W::State, reviewer: Option<Reviewer>) -> bool {
    reviewer.is_some() && (W::reviewer(state) == reviewer || W::revisable(state) == reviewer)
}

/// The decisions an actor may take on a case now.
pub fn decisions<W: Reviewed>(app: &App, actor: &Actor, case: &Case<W>) -> Vec<W::Action> {
    if holds::<W>(case.state, W::reviewer_of(app, actor)) { W::decisions(case.state).to_vec() } else { vec![] }
}
