//! 事务所年检复核 (seed 001 chapter 3), the firm's pages beside its queue
//! 注师待审核 (the review kernel's, `cpa_check_staff`): the 申请 dialog
//! (年检信息: 上传附件, * 社保证明材料, 点击上传 / 关闭 / 申请), 注师待申请
//! with 提醒, 已提交省注协 with 查看 and 撤回, 已退回 with the reason and
//! 再次申请-修改附件, and 年检信息查询 with the trail, 附件 and 二维码.

use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use cmis_app::cpa_check::batch::{
    self, BatchFilter, BatchRow, BatchView, Dialog, FirmCpa, FirmCpaFilter, NotApplied, NotAppliedFilter, Preview,
    Selection,
};
use cmis_app::cpa_check::qr;
use cmis_app::page::Page;
use cmis_app::scope::Permission;
use cmis_app::{AppError, FieldErrors, attachments};
use cmis_domain::cpa_check::CheckState;
use serde::Deserialize;
use tower_sessions::Session;

use crate::AppState;
use crate::error::WebResult;
use crate::pages::member_inspection::stream_upload;
use crate::shell::{Auth, Shell, needs};
use crate::trail::TrailView;

/// 事务所年检复核's tabs (seed 001 §3.1.2–3.1.5).
pub const TABS: &[(&str, &str)] = &[
    ("注师待审核", "/firm/cpa-checks"),
    ("注师待申请", "/firm/cpa-review/not-applied"),
    ("已提交省注协", "/firm/cpa-batches"),
    ("已退回", "/firm/cpa-batches/returned"),
];

/// A firm's requests carry at most this much beside a file (5 MB and the form).
const UPLOAD_LIMIT: usize = 6 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/firm/cpa-batches/new", get(new_page))
        .route("/firm/cpa-batches/files", post(upload).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)))
        .route("/firm/cpa-batches/files/{id}/delete", post(delete_file))
        .route("/firm/cpa-batches", get(sent_page).post(send))
        .route("/firm/cpa-batches/returned", get(returned_page))
        .route("/firm/cpa-batches/{id}", get(batch_page))
        .route("/firm/cpa-batches/{id}/withdraw", post(withdraw))
        .route("/firm/cpa-batches/{id}/resubmit", get(resubmit_page).post(resubmit))
        .route("/firm/cpa-batches/{id}/files", post(upload_again).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)))
        .route("/firm/cpa-review/not-applied", get(not_applied_page))
        .route("/firm/cpa-review/remind", post(remind))
        .route("/firm/cpa-status", get(status_page))
        .route("/firm/cpa-qr/{cpa_no}", get(qr_page))
        .route("/firm/cpa-qr/{cpa_no}/png", get(qr_png))
        .route_layer(needs(Permission::SendCpaBatches))
}

/// What a page says once after a redirect, kept in the session (never in
/// the address, where anyone could write a message).
const FLASH: &str = "firm_review_flash";

pub(crate) async fn flash(session: &Session) -> WebResult<Option<String>> {
    Ok(session.remove(FLASH).await.map_err(anyhow::Error::from)?)
}

async fn set_flash(session: &Session, m: String) -> WebResult<()> {
    session.insert(FLASH, m).await.map_err(anyhow::Error::from)?;
    Ok(())
}

// ---- 申请: the 年检信息 dialog ----

/// The selection as the address or the form carries it: `id=…&id=…` or `all=1`.
fn selection_of(pairs: &[(String, String)]) -> Selection {
    if pairs.iter().any(|(k, v)| k == "all" && v == "1") {
        return Selection::AllWaiting;
    }
    Selection::Ticked(pairs.iter().filter(|(k, _)| k == "id").filter_map(|(_, v)| v.parse().ok()).collect())
}

/// The selection written back into an address.
fn query_of(s: &Selection) -> String {
    match s {
        Selection::AllWaiting => "all=1".into(),
        Selection::Ticked(ids) => ids.iter().map(|i| format!("id={i}")).collect::<Vec<_>>().join("&"),
    }
}

#[derive(Template)]
#[template(path = "firm/new_batch.html")]
struct NewPage {
    shell: Shell,
    d: Dialog,
    preview: Preview,
    all: bool,
    ids: Vec<i32>,
    query: String,
    errors: FieldErrors,
}

impl NewPage {
    fn error(&self, key: &str) -> Option<&str> {
        self.errors.get(key)
    }
}

async fn render_new(state: &AppState, shell: Shell, selection: Selection, errors: FieldErrors) -> WebResult<Response> {
    let d = batch::dialog(&state.app, &shell.actor).await?;
    let preview = batch::preview(&state.app, &shell.actor, &selection).await?;
    let query = query_of(&selection);
    let (all, ids) = match selection {
        Selection::AllWaiting => (true, vec![]),
        Selection::Ticked(ids) => (false, ids),
    };
    Ok(Html(NewPage { shell, d, preview, all, ids, query, errors }.render()?).into_response())
}

async fn new_page(
    State(state): State<AppState>,
    shell: Shell,
    session: Session,
    Query(q): Query<Vec<(String, String)>>,
) -> WebResult<Response> {
    let selection = selection_of(&q);
    if selection == Selection::Ticked(vec![]) {
        set_flash(&session, "请勾选要申请的注册会计师".into()).await?;
        return Ok(Redirect::to("/firm/cpa-checks").into_response());
    }
    render_new(&state, shell, selection, FieldErrors::new()).await
}

async fn upload(
    State(state): State<AppState>,
    shell: Shell,
    Query(q): Query<Vec<(String, String)>>,
    mut mp: Multipart,
) -> WebResult<Response> {
    batch::may_upload(&shell.actor)?;
    let selection = selection_of(&q);
    let (app, actor) = (&state.app, &shell.actor);
    match stream_upload(&mut mp, async |label, file| batch::upload(app, actor, label, file).await).await? {
        None => Ok(Redirect::to(&format!("/firm/cpa-batches/new?{}", query_of(&selection))).into_response()),
        Some(m) => render_new(&state, shell, selection, FieldErrors::one_set("file", m)).await,
    }
}

#[derive(Deserialize)]
struct BackTo {
    /// Where the page was: the dialog (with its selection) or a batch's 再次申请.
    #[serde(default)]
    back: String,
}

/// Where a draft's 删除 returns: one of the two pages that show drafts.
fn back_of(back: &str) -> String {
    let batch_again = back
        .strip_prefix("/firm/cpa-batches/")
        .and_then(|r| r.strip_suffix("/resubmit"))
        .is_some_and(|id| id.parse::<i32>().is_ok());
    let dialog = back.strip_prefix("/firm/cpa-batches/new?").is_some_and(|q| {
        q.split('&').all(|p| p == "all=1" || p.strip_prefix("id=").is_some_and(|v| v.parse::<i32>().is_ok()))
    });
    if batch_again || dialog { back.to_owned() } else { "/firm/cpa-checks".to_owned() }
}

async fn delete_file(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i32>,
    Form(f): Form<BackTo>,
) -> WebResult<Response> {
    attachments::delete(&state.app, &actor, id).await?;
    Ok(Redirect::to(&back_of(&f.back)).into_response())
}

/// 申请: the batch is sent; the list of sent batches shows it.
async fn send(
    State(state): State<AppState>,
    shell: Shell,
    session: Session,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let selection = selection_of(&pairs);
    match batch::send(&state.app, &shell.actor, &selection).await {
        Ok(s) => {
            set_flash(&session, format!("已提交年检批次{}，共{}名注册会计师", s.batch_no, s.cpas)).await?;
            Ok(Redirect::to("/firm/cpa-batches").into_response())
        }
        Err(AppError::Invalid(e)) => render_new(&state, shell, selection, e).await,
        Err(AppError::Refused(m)) => render_new(&state, shell, selection, FieldErrors::one_set("form", m)).await,
        Err(e) => Err(e.into()),
    }
}

// ---- 已提交省注协 and 已退回 ----

#[derive(Deserialize, Default)]
struct ListQuery {
    year: Option<String>,
    page: Option<u64>,
}

#[derive(Template)]
#[template(path = "firm/batches.html")]
struct BatchesPage {
    shell: Shell,
    returned: bool,
    base: &'static str,
    rows: Page<BatchRow>,
    year: String,
    message: Option<String>,
}

impl BatchesPage {
    fn page_link(&self, page: u64) -> String {
        format!("{}?year={}&page={page}", self.base, self.year)
    }
    /// 序号, counted over the pages.
    fn serial(&self, i: &usize) -> u64 {
        (self.rows.page - 1) * batch::PAGE_SIZE + *i as u64 + 1
    }
}

async fn list(state: &AppState, shell: Shell, session: &Session, q: ListQuery, returned: bool) -> WebResult<Response> {
    let year = crate::pages::year_of(q.year.as_deref());
    let f = BatchFilter { year, returned, page: q.page.unwrap_or(1) };
    let rows = batch::batches(&state.app, &shell.actor, &f).await?;
    let page = BatchesPage {
        returned,
        base: if returned { "/firm/cpa-batches/returned" } else { "/firm/cpa-batches" },
        rows,
        year: year.map(|y| y.to_string()).unwrap_or_default(),
        message: flash(session).await?,
        shell,
    };
    Ok(Html(page.render()?).into_response())
}

async fn sent_page(
    State(state): State<AppState>,
    shell: Shell,
    session: Session,
    Query(q): Query<ListQuery>,
) -> WebResult<Response> {
    list(&state, shell, &session, q, false).await
}

async fn returned_page(
    State(state): State<AppState>,
    shell: Shell,
    session: Session,
    Query(q): Query<ListQuery>,
) -> WebResult<Response> {
    list(&state, shell, &session, q, true).await
}

#[derive(Deserialize, Default)]
struct PageQuery {
    page: Option<u64>,
}

#[derive(Template)]
#[template(path = "firm/batch.html")]
struct BatchPage {
    shell: Shell,
    v: BatchView,
    trail: TrailView,
    message: Option<String>,
}

impl BatchPage {
    fn page_link(&self, page: u64) -> String {
        format!("/firm/cpa-batches/{}?page={page}", self.v.id)
    }
}

/// 查看: the batch's CPAs and materials.
async fn batch_page(
    State(state): State<AppState>,
    shell: Shell,
    session: Session,
    Path(id): Path<i32>,
    Query(q): Query<PageQuery>,
) -> WebResult<Response> {
    let v = batch::view(&state.app, &shell.actor, id, q.page.unwrap_or(1)).await?;
    let trail = TrailView { steps: v.trail.clone(), opinion_label: "审批意见" };
    Ok(Html(BatchPage { shell, v, trail, message: flash(&session).await? }.render()?).into_response())
}

/// 撤回: only while the association has not started on it.
async fn withdraw(
    State(state): State<AppState>,
    shell: Shell,
    session: Session,
    Path(id): Path<i32>,
) -> WebResult<Response> {
    let m = match batch::withdraw(&state.app, &shell.actor, id).await {
        Ok(()) => "已撤回该批次，批次中的注册会计师已回到“注师待审核”".to_owned(),
        Err(AppError::Refused(m)) => m,
        Err(e) => return Err(e.into()),
    };
    set_flash(&session, m).await?;
    Ok(Redirect::to(&format!("/firm/cpa-batches/{id}")).into_response())
}

#[derive(Template)]
#[template(path = "firm/resubmit.html")]
struct ResubmitPage {
    shell: Shell,
    v: BatchView,
    d: Dialog,
    errors: FieldErrors,
}

impl ResubmitPage {
    fn error(&self, key: &str) -> Option<&str> {
        self.errors.get(key)
    }
}

async fn render_resubmit(state: &AppState, shell: Shell, id: i32, errors: FieldErrors) -> WebResult<Response> {
    let v = batch::view(&state.app, &shell.actor, id, 1).await?;
    let d = batch::dialog(&state.app, &shell.actor).await?;
    Ok(Html(ResubmitPage { shell, v, d, errors }.render()?).into_response())
}

/// 再次申请-修改附件: the reason, the files sent (each may be removed), new ones.
async fn resubmit_page(State(state): State<AppState>, shell: Shell, Path(id): Path<i32>) -> WebResult<Response> {
    render_resubmit(&state, shell, id, FieldErrors::new()).await
}

async fn upload_again(
    State(state): State<AppState>,
    shell: Shell,
    Path(id): Path<i32>,
    mut mp: Multipart,
) -> WebResult<Response> {
    batch::may_upload(&shell.actor)?;
    // The batch is looked at first: someone else's number uploads nothing.
    batch::view(&state.app, &shell.actor, id, 1).await?;
    let (app, actor) = (&state.app, &shell.actor);
    match stream_upload(&mut mp, async |label, file| batch::upload(app, actor, label, file).await).await? {
        None => Ok(Redirect::to(&format!("/firm/cpa-batches/{id}/resubmit")).into_response()),
        Some(m) => render_resubmit(&state, shell, id, FieldErrors::one_set("file", m)).await,
    }
}

/// 确定: sent again under its number.
async fn resubmit(
    State(state): State<AppState>,
    shell: Shell,
    session: Session,
    Path(id): Path<i32>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let remove: Vec<i32> = pairs.iter().filter(|(k, _)| k == "remove").filter_map(|(_, v)| v.parse().ok()).collect();
    match batch::resubmit(&state.app, &shell.actor, id, &remove).await {
        Ok(()) => {
            set_flash(&session, "已再次申请，该批次已重新提交省注协".into()).await?;
            Ok(Redirect::to(&format!("/firm/cpa-batches/{id}")).into_response())
        }
        Err(AppError::Invalid(e)) => render_resubmit(&state, shell, id, e).await,
        Err(AppError::Refused(m)) => render_resubmit(&state, shell, id, FieldErrors::one_set("form", m)).await,
        Err(e) => Err(e.into()),
    }
}

// ---- 注师待申请 and 提醒 ----

#[derive(Deserialize, Default)]
struct NotAppliedQuery {
    which: Option<String>,
    keyword: Option<String>,
    page: Option<u64>,
}

#[derive(Template)]
#[template(path = "firm/not_applied.html")]
struct NotAppliedPage {
    shell: Shell,
    year: i32,
    rows: Page<NotApplied>,
    which: String,
    keyword: String,
    message: Option<String>,
}

impl NotAppliedPage {
    fn page_link(&self, page: u64) -> String {
        format!(
            "/firm/cpa-review/not-applied?which={}&keyword={}&page={page}",
            self.which,
            crate::pages::enc(&self.keyword)
        )
    }
}

async fn not_applied_page(
    State(state): State<AppState>,
    shell: Shell,
    session: Session,
    Query(q): Query<NotAppliedQuery>,
) -> WebResult<Response> {
    let which = match q.which.as_deref() {
        Some(w @ ("none" | "returned")) => w.to_owned(),
        _ => String::new(),
    };
    let f = NotAppliedFilter { keyword: q.keyword.clone().unwrap_or_default(), which, page: q.page.unwrap_or(1) };
    let (year, rows) = batch::not_applied(&state.app, &shell.actor, &f).await?;
    let page =
        NotAppliedPage { year, rows, which: f.which, keyword: f.keyword, message: flash(&session).await?, shell };
    Ok(Html(page.render()?).into_response())
}

async fn remind(
    State(state): State<AppState>,
    shell: Shell,
    session: Session,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let ids: Vec<i32> = pairs.iter().filter(|(k, _)| k == "id").filter_map(|(_, v)| v.parse().ok()).collect();
    let m = match batch::remind(&state.app, &shell.actor, &ids).await {
        Ok(r) if r.skipped.is_empty() => format!("已提醒{}人（站内消息及短信）", r.sent),
        Ok(r) => format!("已提醒{}人；未提醒：{}", r.sent, r.skipped.join("；")),
        Err(AppError::Refused(m)) => m,
        Err(e) => return Err(e.into()),
    };
    set_flash(&session, m).await?;
    Ok(Redirect::to("/firm/cpa-review/not-applied").into_response())
}

// ---- 年检信息查询 ----

#[derive(Deserialize, Default)]
struct StatusQuery {
    year: Option<String>,
    state: Option<String>,
    keyword: Option<String>,
    page: Option<u64>,
}

#[derive(Template)]
#[template(path = "firm/cpa_status.html")]
struct StatusPage {
    shell: Shell,
    year: i32,
    rows: Page<FirmCpa>,
    state: String,
    keyword: String,
    states: Vec<(&'static str, &'static str)>,
}

impl StatusPage {
    fn page_link(&self, page: u64) -> String {
        format!(
            "/firm/cpa-status?year={}&state={}&keyword={}&page={page}",
            self.year,
            self.state,
            crate::pages::enc(&self.keyword)
        )
    }
}

async fn status_page(State(state): State<AppState>, shell: Shell, Query(q): Query<StatusQuery>) -> WebResult<Response> {
    let f = FirmCpaFilter {
        year: crate::pages::year_of(q.year.as_deref()),
        state: q.state.clone().unwrap_or_default(),
        keyword: q.keyword.clone().unwrap_or_default(),
        page: q.page.unwrap_or(1),
    };
    let (year, rows) = batch::firm_cpas_page(&state.app, &shell.actor, &f).await?;
    let page = StatusPage {
        year,
        rows,
        state: f.state,
        keyword: f.keyword,
        states: CheckState::ALL.iter().map(|s| (s.code(), s.label())).collect(),
        shell,
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Template)]
#[template(path = "firm/cpa_qr.html")]
struct QrPage {
    shell: Shell,
    q: qr::CpaQr,
    svg: String,
}

/// 二维码 of one of the firm's CPAs, to view and download.
async fn qr_page(State(state): State<AppState>, shell: Shell, Path(cpa_no): Path<String>) -> WebResult<Response> {
    let q = qr::of(&state.app, &shell.actor, &cpa_no).await?;
    let svg = cmis_app::qr::svg(&q.url)?;
    Ok(Html(QrPage { shell, q, svg }.render()?).into_response())
}

async fn qr_png(State(state): State<AppState>, Auth(actor): Auth, Path(cpa_no): Path<String>) -> WebResult<Response> {
    let q = qr::of(&state.app, &actor, &cpa_no).await?;
    let png = cmis_app::qr::png(&q.url, 10)?;
    let disposition = format!("attachment; filename=\"nianjian-qr-{}.png\"", q.cpa_no);
    Ok((
        [
            (header::CONTENT_TYPE, "image/png".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        png,
    )
        .into_response())
}
