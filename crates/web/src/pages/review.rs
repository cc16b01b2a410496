//! The review pages, once for every workflow on the review kernel: the queue
//! (filters, overdue first, batch decision), the case with its decisions and
//! trail, and the Excel export. A workflow adds its words and the body of its
//! case page (`ReviewPage`); everything else is here.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use cmis_app::page::Page;
use cmis_app::review::{self, Case, QueueFilter, Reviewed, Row};
use cmis_app::{AppError, FieldErrors};
use cmis_domain::AssociationLevel;
use cmis_domain::coded::Coded;
use serde::Deserialize;
use tower_sessions::Session;

use crate::AppState;
use crate::error::WebResult;
use crate::shell::{Shell, needs};
use crate::trail::TrailView;

/// What a workflow's review pages say, and the body of its case page.
#[async_trait::async_trait]
pub trait ReviewPage: Reviewed {
    /// Its name in the JSON API (/api/v1/reviews/{SLUG}), and by default in
    /// the address of its pages.
    const SLUG: &'static str;
    /// The address of its pages.
    fn base() -> String {
        format!("/association/{}", Self::SLUG)
    }
    const KEYWORD_HINT: &'static str;
    const EMPTY: &'static str;
    /// The state filter's first choice, shown when none is chosen.
    const WAITING: &'static str;
    /// The column naming where a case is filed (市注协 or 所在地区).
    const UNIT: &'static str;
    /// What the trail calls its opinions.
    const OPINION: &'static str = "审批意见";
    /// The column of the applicant's name (a batch's: its firm).
    const NAME: &'static str = "姓名";
    /// What the queue's rows are, in the bulk decision's question.
    const ROWS: &'static str = "申请";

    /// The queue's title, and the menu's word for it.
    fn title(shell: &Shell) -> &'static str;
    /// The case page's title.
    fn case_title(case: &Case<Self>) -> &'static str;
    /// The decision the queue takes in bulk (批量通过), for the actor's level.
    fn batch_action(shell: &Shell) -> Option<Self::Action>;
    /// Another use of the rows ticked that wait for the actor (the firm's
    /// 申请): the button's words and the page the ticks go to.
    fn send_ticked(_shell: &Shell) -> Option<(&'static str, &'static str)> {
        None
    }
    /// The tabs above the queue (事务所年检复核: 注师待审核, 注师待申请, …).
    fn tabs(_shell: &Shell) -> &'static [(&'static str, &'static str)] {
        &[]
    }
    /// Links beside 查看 in each row: (words, anchor on the case page, only
    /// on rows that wait for the actor): 附件, 退回.
    fn row_links(_shell: &Shell) -> &'static [(&'static str, &'static str, bool)] {
        &[]
    }
    /// The body of the case page (the kernel has checked scope and audited the
    /// view), and what a return may name; `page` pages a list inside it.
    async fn body(state: &AppState, shell: &Shell, case: &Case<Self>, page: u64) -> WebResult<(String, Vec<String>)>;
    /// What the applicant sent, for the JSON API, and what a return may name.
    async fn data(
        state: &AppState,
        actor: &cmis_app::Actor,
        case: &Case<Self>,
    ) -> WebResult<(serde_json::Value, Vec<String>)>;
    /// Where the case is filed, as the queue shows it.
    fn unit(state: &AppState, case: &Case<Self>) -> String;
    /// A decision that asks first, with its question (one that acts on many).
    fn confirm(_action: Self::Action) -> Option<&'static str> {
        None
    }
    /// Columns of `columns()` the actor's queue leaves out (what is the same
    /// on every row of theirs).
    fn hidden_columns(_shell: &Shell) -> &'static [&'static str] {
        &[]
    }
    /// What the page says after a decision: 已办理：….
    fn done(action: Self::Action) -> &'static str {
        action.label()
    }
}

pub fn routes<W: ReviewPage>() -> Router<AppState> {
    let base = W::base();
    Router::new()
        .route(&base, get(queue::<W>))
        .route(&format!("{base}/batch"), post(batch::<W>))
        .route(&format!("{base}/export"), post(export::<W>))
        .route(&format!("{base}/{{id}}"), get(detail::<W>))
        .route(&format!("{base}/{{id}}/decide"), post(decide::<W>))
        .route_layer(needs(W::PERMISSION))
}

use super::enc;

#[derive(Deserialize, Default)]
pub struct QueueQuery {
    year: Option<String>,
    state: Option<String>,
    city: Option<String>,
    overdue: Option<String>,
    keyword: Option<String>,
    page: Option<u64>,
}

/// What the last batch decision did, kept in the session for the page it
/// redirects to (never in the address, where anyone could write a message).
const BATCH_RESULT: &str = "review_batch";

impl QueueQuery {
    fn filter(&self) -> QueueFilter {
        QueueFilter {
            year: super::year_of(self.year.as_deref()),
            state: self.state.clone().filter(|s| !s.is_empty()),
            city: self.city.as_deref().and_then(|c| c.parse().ok()),
            overdue: self.overdue.is_some(),
            keyword: self.keyword.clone().unwrap_or_default(),
            page: self.page.unwrap_or(1),
        }
    }
}

/// A queue row as the page shows it.
pub struct Line {
    pub id: i32,
    pub year: Option<i32>,
    pub number: String,
    pub name: String,
    pub unit: String,
    pub state: &'static str,
    pub cells: Vec<String>,
    pub submitted_at: chrono::DateTime<chrono::Utc>,
    pub days_left: Option<i64>,
    /// The batch decision (or what the ticks are sent to) can be taken on it.
    pub selectable: bool,
    /// It waits for the actor.
    pub mine: bool,
}

#[derive(Template)]
#[template(path = "review/queue.html")]
struct QueuePage {
    shell: Shell,
    base: String,
    title: &'static str,
    number: &'static str,
    name: &'static str,
    rows_are: &'static str,
    unit: &'static str,
    keyword_hint: &'static str,
    empty: &'static str,
    waiting: &'static str,
    yearly: bool,
    columns: Vec<&'static str>,
    rows: Page<Line>,
    year: String,
    state: String,
    city: String,
    overdue: bool,
    keyword: String,
    states: Vec<(&'static str, &'static str)>,
    cities: Vec<(i32, String)>,
    batch: Option<(&'static str, &'static str)>,
    /// (words, page) the ticks go to, instead of a batch decision.
    send: Option<(&'static str, &'static str)>,
    tabs: &'static [(&'static str, &'static str)],
    links: &'static [(&'static str, &'static str, bool)],
    message: Option<String>,
}

impl QueuePage {
    fn batch_label(&self) -> &'static str {
        self.batch.map_or("", |(_, label)| label)
    }
    fn page_link(&self, page: u64) -> String {
        format!(
            "{}?year={}&state={}&city={}&keyword={}{}&page={page}",
            self.base,
            self.year,
            self.state,
            self.city,
            enc(&self.keyword),
            if self.overdue { "&overdue=1" } else { "" }
        )
    }
    fn overdue_row(&self, r: &Line) -> bool {
        r.days_left.is_some_and(|d| d < 0)
    }
    fn city_selected(&self, id: &i32) -> bool {
        self.city == id.to_string()
    }
}

/// The city associations a staff member may filter by.
fn cities_of(state: &AppState, shell: &Shell) -> Vec<(i32, String)> {
    if !shell.actor.is_staff() {
        // A firm's queue is its own CPAs': no association to choose.
        return vec![];
    }
    let orgs = &state.app.orgs();
    match shell.actor.association_level {
        AssociationLevel::Provincial => {
            orgs.children(shell.actor.association_id).map(|a| (a.id, a.short_name.clone())).collect()
        }
        AssociationLevel::National => {
            orgs.all().iter().filter(|a| a.level == AssociationLevel::City).map(|a| (a.id, a.name.clone())).collect()
        }
        AssociationLevel::City => vec![],
    }
}

/// The indexes of the workflow's columns the actor's queue shows.
fn shown<W: ReviewPage>(shell: &Shell) -> Vec<usize> {
    let hidden = W::hidden_columns(shell);
    W::columns().iter().enumerate().filter(|(_, c)| !hidden.contains(c)).map(|(i, _)| i).collect()
}

fn line<W: ReviewPage>(state: &AppState, r: Row<W>, batch: Option<W::Action>, shell: &Shell) -> Line {
    let keep = shown::<W>(shell);
    let cells = r.cells.into_iter().enumerate().filter(|(i, _)| keep.contains(i)).map(|(_, c)| c).collect();
    let open = review::decisions(&state.app, &shell.actor, &r.case);
    let mine = !open.is_empty();
    let selectable = match W::send_ticked(shell) {
        Some(_) => mine,
        None => batch.is_some_and(|a| open.contains(&a)),
    };
    Line {
        mine,
        unit: W::unit(state, &r.case),
        id: r.case.id,
        year: r.case.year,
        state: r.case.state.label(),
        submitted_at: r.case.submitted_at,
        number: r.case.number,
        name: r.case.name,
        cells,
        days_left: r.days_left,
        selectable,
    }
}

async fn queue<W: ReviewPage>(
    State(state): State<AppState>,
    shell: Shell,
    session: Session,
    Query(q): Query<QueueQuery>,
) -> WebResult<Html<String>> {
    let filter = q.filter();
    let found = review::queue::<W>(&state.app, &shell.actor, &filter).await?;
    let batch = W::batch_action(&shell);
    let done: Option<(usize, Vec<String>)> = session.remove(BATCH_RESULT).await.map_err(anyhow::Error::from)?;
    let message = done.map(|(n, skipped)| {
        if skipped.is_empty() {
            format!("已批量通过{n}条")
        } else {
            format!("已批量通过{n}条；未通过：{}", skipped.join("；"))
        }
    });
    // What the firm's 申请 said when it was sent back here (nothing ticked).
    let message = match message {
        Some(m) => Some(m),
        None => crate::pages::firm_review::flash(&session).await?,
    };
    let rows = found.rows.map(|r| line::<W>(&state, r, batch, &shell));
    let page = QueuePage {
        base: W::base(),
        title: W::title(&shell),
        number: W::NUMBER,
        name: W::NAME,
        rows_are: W::ROWS,
        unit: W::UNIT,
        keyword_hint: W::KEYWORD_HINT,
        empty: W::EMPTY,
        waiting: W::WAITING,
        yearly: W::YEARLY,
        columns: shown::<W>(&shell).into_iter().map(|i| W::columns()[i]).collect(),
        year: found.year.map(|y| y.to_string()).unwrap_or_default(),
        state: q.state.unwrap_or_default(),
        city: q.city.unwrap_or_default(),
        overdue: filter.overdue,
        keyword: filter.keyword,
        states: W::State::ALL.iter().map(|s| (s.code(), s.label())).collect(),
        cities: if W::BY_CITY { cities_of(&state, &shell) } else { vec![] },
        batch: batch
            .filter(|_| rows.items.iter().any(|r| r.selectable) || rows.total > 0)
            .map(|a| (a.code(), "批量通过")),
        send: W::send_ticked(&shell),
        tabs: W::tabs(&shell),
        links: W::row_links(&shell),
        message,
        rows,
        shell,
    };
    Ok(Html(page.render()?))
}

async fn batch<W: ReviewPage>(
    State(state): State<AppState>,
    shell: Shell,
    session: Session,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let ids: Vec<i32> = pairs.iter().filter(|(k, _)| k == "id").filter_map(|(_, v)| v.parse().ok()).collect();
    let (decided, skipped) = match review::batch::<W>(&state.app, &shell.actor, &ids, &get("action")).await {
        Ok(b) => (b.decided, b.skipped),
        Err(AppError::Refused(m)) => (0, vec![m]),
        Err(AppError::Invalid(f)) => (0, f.0.into_iter().map(|(_, m)| m).collect()),
        Err(e) => return Err(e.into()),
    };
    session.insert(BATCH_RESULT, (decided, skipped)).await.map_err(anyhow::Error::from)?;
    let year = get("year");
    let year = if year.is_empty() { String::new() } else { format!("?year={}", enc(&year)) };
    Ok(Redirect::to(&format!("{}{year}", W::base())).into_response())
}

/// 导出Excel: the queue as filtered, every page of it, made by a job whose
/// page shows the progress and then the file.
async fn export<W: ReviewPage>(
    State(state): State<AppState>,
    shell: Shell,
    Form(q): Form<QueueQuery>,
) -> WebResult<Response> {
    let mut filter = q.filter();
    if filter.state.is_none() {
        filter.state = Some("all".into());
    }
    let job = review::request_export::<W>(&state.app, &shell.actor, &filter, W::title(&shell)).await?;
    Ok(Redirect::to(&format!("/jobs/{job}")).into_response())
}

/// A decision as the page offers it.
pub struct Choice {
    pub code: &'static str,
    pub label: &'static str,
    /// Asks a reason: 退回原因 or 不予通过原因.
    pub reason: Option<&'static str>,
    /// May name what must change (a return).
    pub items: bool,
    /// What else it asks for, with the values last entered.
    pub inputs: Vec<(review::Input, String)>,
    /// Asked before it is taken.
    pub confirm: Option<&'static str>,
}

/// The values of decision inputs last entered in this session: a
/// confirmation batch's 会员批准文件号 is typed once, not once a case.
const LAST_INPUTS: &str = "review_inputs";

#[derive(Template)]
#[template(path = "review/detail.html")]
struct DetailPage {
    shell: Shell,
    base: String,
    title: &'static str,
    back: &'static str,
    id: i32,
    body: String,
    choices: Vec<Choice>,
    returnable: Vec<String>,
    trail: TrailView,
    errors: FieldErrors,
    done: Option<String>,
}

impl DetailPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
    fn plain(&self) -> impl Iterator<Item = &Choice> {
        self.choices.iter().filter(|c| c.reason.is_none() && c.inputs.is_empty())
    }
    fn reasoned(&self) -> impl Iterator<Item = &Choice> {
        self.choices.iter().filter(|c| c.reason.is_some() || !c.inputs.is_empty())
    }
}

async fn render_detail<W: ReviewPage>(
    state: &AppState,
    shell: Shell,
    session: &Session,
    id: i32,
    errors: FieldErrors,
    done: Option<String>,
    page: u64,
) -> WebResult<Html<String>> {
    let last: Vec<(String, String)> = session.get(LAST_INPUTS).await.map_err(anyhow::Error::from)?.unwrap_or_default();
    let value = |k: &str| last.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let opened = review::open::<W>(&state.app, &shell.actor, id).await?;
    let (body, returnable) = W::body(state, &shell, &opened.case, page).await?;
    let choices = opened
        .decisions
        .iter()
        .map(|&a| {
            let reason = W::needs_reason(a).then(|| W::reason_label(a));
            Choice {
                code: a.code(),
                label: a.label(),
                reason,
                items: W::is_returned(W::next(opened.case.state, a)),
                inputs: W::inputs(a).iter().map(|i| (*i, value(i.key))).collect(),
                confirm: W::confirm(a),
            }
        })
        .collect();
    let page = DetailPage {
        base: W::base(),
        title: W::case_title(&opened.case),
        back: W::title(&shell),
        id,
        body,
        choices,
        returnable,
        trail: TrailView { steps: opened.trail, opinion_label: W::OPINION },
        errors,
        done,
        shell,
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
    page: Option<u64>,
}

async fn detail<W: ReviewPage>(
    State(state): State<AppState>,
    shell: Shell,
    session: Session,
    Path(id): Path<i32>,
    Query(q): Query<DoneQuery>,
) -> WebResult<Html<String>> {
    let done = q.done.as_deref().and_then(|c| W::Action::parse(c).ok()).map(|a| format!("已办理：{}", W::done(a)));
    render_detail::<W>(&state, shell, &session, id, FieldErrors::new(), done, q.page.unwrap_or(1)).await
}

async fn decide<W: ReviewPage>(
    State(state): State<AppState>,
    shell: Shell,
    session: Session,
    Path(id): Path<i32>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let code = get("action");
    let items: Vec<String> = pairs.iter().filter(|(k, _)| k == "item").map(|(_, v)| v.clone()).collect();
    let wanted = W::Action::parse(&code).map(W::inputs).unwrap_or(&[]);
    // Each input once (the first sent), cut one past its limit (still
    // refused when too long): what the
    // session keeps for the next case is no larger than the form asks.
    let inputs: Vec<(String, String)> = wanted
        .iter()
        .filter_map(|i| {
            pairs.iter().find(|(k, _)| k == i.key).map(|(k, v)| (k.clone(), v.chars().take(i.max + 1).collect()))
        })
        .collect();
    match review::decide::<W>(&state.app, &shell.actor, id, &code, &get("reason"), &items, &inputs).await {
        Ok(_) => {
            if !inputs.is_empty() {
                session.insert(LAST_INPUTS, &inputs).await.map_err(anyhow::Error::from)?;
            }
            Ok(Redirect::to(&format!("{}/{id}?done={code}", W::base())).into_response())
        }
        Err(AppError::Invalid(errors)) => {
            let errors = super::reason_errors(errors, &code);
            Ok(render_detail::<W>(&state, shell, &session, id, errors, None, 1).await?.into_response())
        }
        Err(e) => Err(e.into()),
    }
}
