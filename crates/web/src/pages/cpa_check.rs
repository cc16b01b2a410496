//! 注册会计师年检 (seed 001 chapter 2), the CPA's pages: 注册会计师年检申请
//! (the list, 新建申请), 确认信息 (with the association's notice first),
//! 上传材料 (是否离退休, the materials, 确认申请 and its dialogs), the PC's
//! 人脸认证 QR code that turns to 申请成功 by itself, 年检申请成功, 查看,
//! 年检信息查询 / 历年年检结果查询, and 年检二维码.

use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use cmis_app::FieldErrors;
use cmis_app::attachments::{self, Attachment};
use cmis_app::cpa_check::{self, Applied, CheckView, Done, HistoryRow, Overview, face, qr};
use cmis_app::scope::Permission;
use cmis_domain::cpa_check::CheckState;
use serde::Deserialize;

use crate::AppState;
use crate::error::WebResult;
use crate::pages::member_inspection::{stage_error, stream_upload};
use crate::shell::{Auth, Shell, needs};
use crate::trail::TrailView;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cpa-check", get(list))
        .route("/cpa-check/history", get(history))
        .route("/cpa-check/results", get(results))
        .route("/cpa-check/confirm", get(confirm))
        .route("/cpa-check/materials", get(materials_page))
        .route("/cpa-check/retired", post(retired))
        .route("/cpa-check/files", post(upload).layer(DefaultBodyLimit::max(12 * 1024 * 1024)))
        .route("/cpa-check/files/{id}/delete", post(delete_file))
        .route("/cpa-check/apply", post(apply))
        .route("/cpa-check/face/{id}", get(face_page))
        .route("/cpa-check/face/{id}/status", get(face_status))
        .route("/cpa-check/done/{id}", get(done))
        .route("/cpa-check/view/{id}", get(view))
        .route("/cpa-check/qr", get(qr_page))
        .route("/cpa-check/qr.png", get(qr_png))
        .route_layer(needs(Permission::ApplyCpaCheck))
}

/// 确认信息 → 上传材料 → 人脸认证 → 完成.
pub const STEPS: [&str; 4] = ["确认信息", "上传材料", "人脸认证", "完成"];

/// The seed's words before the face check (seed 001 §2.1.6, §2.2.4).
pub const FACE_PROMPT: &str = "您将进行人脸认证操作，人脸认证支持的身份证件类型为居民身份证和港澳台居民居住证。若您不愿进行线上人脸认证或有效证件非人脸认证支持证件，请携带与本系统内注册会计师基本信息相一致的有效身份证件(身份证、军官证、护照、居民居住证、来往大陆通行证、外国人永久居留身份证)到当地注协进行线下人工核验。";

#[derive(Deserialize, Default)]
struct ListQuery {
    year: Option<String>,
    state: Option<String>,
}

#[derive(Template)]
#[template(path = "cpa_check/list.html")]
struct ListPage {
    shell: Shell,
    title: &'static str,
    action: &'static str,
    rows: Vec<HistoryRow>,
    year: String,
    state: String,
    states: Vec<(&'static str, &'static str)>,
    applying: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum List {
    Applications,
    Query,
    Results,
}

async fn list_for(state: AppState, shell: Shell, q: ListQuery, which: List) -> WebResult<Html<String>> {
    let year = crate::pages::year_of(q.year.as_deref());
    let st = q.state.as_deref().and_then(|c| CheckState::parse(c).ok());
    let rows = cpa_check::history(&state.app, &shell.actor, year, st).await?;
    let page = ListPage {
        title: match which {
            List::Applications => "注册会计师年检申请",
            List::Query => "年检信息查询",
            List::Results => "历年年检结果查询",
        },
        action: match which {
            List::Applications => "/cpa-check",
            List::Query => "/cpa-check/history",
            List::Results => "/cpa-check/results",
        },
        rows,
        year: year.map(|y| y.to_string()).unwrap_or_default(),
        state: q.state.unwrap_or_default(),
        states: CheckState::ALL.iter().map(|s| (s.code(), s.label())).collect(),
        applying: which == List::Applications,
        shell,
    };
    Ok(Html(page.render()?))
}

async fn list(State(state): State<AppState>, shell: Shell, Query(q): Query<ListQuery>) -> WebResult<Html<String>> {
    list_for(state, shell, q, List::Applications).await
}

async fn history(State(state): State<AppState>, shell: Shell, Query(q): Query<ListQuery>) -> WebResult<Html<String>> {
    list_for(state, shell, q, List::Query).await
}

async fn results(State(state): State<AppState>, shell: Shell, Query(q): Query<ListQuery>) -> WebResult<Html<String>> {
    list_for(state, shell, q, List::Results).await
}

// ---- 确认信息 ----

#[derive(Template)]
#[template(path = "cpa_check/confirm.html")]
struct ConfirmPage {
    shell: Shell,
    o: Overview,
    blockers: Vec<String>,
    regulator_url: &'static str,
    /// Come from 年检申请 / 新建申请 / 再次申请: the association's notice pops up.
    entering: bool,
}

impl ConfirmPage {
    fn step(&self) -> usize {
        1
    }
}

#[derive(Deserialize, Default)]
struct ConfirmQuery {
    new: Option<String>,
}

async fn confirm(
    State(state): State<AppState>,
    shell: Shell,
    Query(q): Query<ConfirmQuery>,
) -> WebResult<Html<String>> {
    let o = cpa_check::overview(&state.app, &shell.actor).await?;
    let entering = q.new.is_some();
    let page = ConfirmPage { blockers: o.blockers(), o, regulator_url: cpa_check::REGULATOR_URL, shell, entering };
    Ok(Html(page.render()?))
}

// ---- 上传材料 and 确认申请 ----

#[derive(Template)]
#[template(path = "cpa_check/materials.html")]
struct MaterialsPage {
    shell: Shell,
    o: Overview,
    blockers: Vec<String>,
    errors: FieldErrors,
    face_prompt: &'static str,
}

impl MaterialsPage {
    fn step(&self) -> usize {
        2
    }
    fn error(&self, key: &str) -> Option<&str> {
        self.errors.get(key)
    }
    fn files_of(&self, name: &str) -> Vec<&Attachment> {
        self.o.drafts.iter().chain(&self.o.submitted).filter(|a| a.label.as_deref() == Some(name)).collect()
    }
    fn is_draft(&self, a: &Attachment) -> bool {
        self.o.drafts.iter().any(|d| d.id == a.id)
    }
    /// Whether a face check stands before the submission.
    fn face(&self) -> bool {
        self.o.identity_needed().is_some()
    }
}

async fn render_materials(state: &AppState, shell: Shell, errors: FieldErrors) -> WebResult<Response> {
    let o = cpa_check::overview(&state.app, &shell.actor).await?;
    let page = MaterialsPage { blockers: o.blockers(), o, errors, face_prompt: FACE_PROMPT, shell };
    Ok(Html(page.render()?).into_response())
}

async fn materials_page(State(state): State<AppState>, shell: Shell) -> WebResult<Response> {
    render_materials(&state, shell, FieldErrors::new()).await
}

#[derive(Deserialize)]
struct RetiredForm {
    retired: String,
}

async fn retired(State(state): State<AppState>, shell: Shell, Form(f): Form<RetiredForm>) -> WebResult<Response> {
    cpa_check::choose_retired(&state.app, &shell.actor, f.retired == "1").await?;
    Ok(Redirect::to("/cpa-check/materials").into_response())
}

async fn upload(State(state): State<AppState>, shell: Shell, mut mp: Multipart) -> WebResult<Response> {
    cpa_check::may_upload(&shell.actor)?;
    let (app, actor) = (&state.app, &shell.actor);
    let error =
        stream_upload(&mut mp, async |label, file| cpa_check::upload_material(app, actor, label, file).await).await?;
    match error {
        None => Ok(Redirect::to("/cpa-check/materials").into_response()),
        Some(m) => render_materials(&state, shell, FieldErrors::one_set("file", m)).await,
    }
}

async fn delete_file(State(state): State<AppState>, Auth(actor): Auth, Path(id): Path<i32>) -> WebResult<Response> {
    attachments::delete(&state.app, &actor, id).await?;
    Ok(Redirect::to("/cpa-check/materials").into_response())
}

#[derive(Deserialize)]
struct ApplyForm {
    #[serde(default)]
    channel: String,
}

async fn apply(State(state): State<AppState>, shell: Shell, Form(f): Form<ApplyForm>) -> WebResult<Response> {
    let channel = if f.channel == "phone" { face::Channel::Phone } else { face::Channel::Pc };
    match cpa_check::apply(&state.app, &shell.actor, channel).await {
        Ok(Applied::Submitted(d)) => Ok(Redirect::to(&format!("/cpa-check/done/{}", d.id)).into_response()),
        Ok(Applied::Face(s)) if channel == face::Channel::Phone => {
            Ok(Redirect::to(&format!("/face/{}", s.token)).into_response())
        }
        Ok(Applied::Face(s)) => Ok(Redirect::to(&format!("/cpa-check/face/{}", s.id)).into_response()),
        Err(e) => render_materials(&state, shell, stage_error(e)?).await,
    }
}

// ---- 人脸认证 on PC: the QR code, and the page turning by itself ----

#[derive(Template)]
#[template(path = "cpa_check/face_pc.html")]
struct FacePcPage {
    shell: Shell,
    f: FaceStatus,
}

impl FacePcPage {
    fn step(&self) -> usize {
        3
    }
}

/// The card of the PC page: the QR code while the check is open, the result
/// once it has ended (with 确认申请 to try again after a failure).
#[derive(Template)]
#[template(path = "cpa_check/face_status.html")]
struct FaceStatus {
    st: face::Status,
    svg: String,
    url: String,
    csrf: String,
}

async fn face_status_of(state: &AppState, actor: &cmis_app::Actor, id: i32, csrf: String) -> WebResult<FaceStatus> {
    let (st, url) = face::pc_view(&state.app, actor, id).await?;
    let svg = if st.finished() { String::new() } else { cmis_app::qr::svg(&url)? };
    Ok(FaceStatus { st, svg, url, csrf })
}

async fn face_page(State(state): State<AppState>, shell: Shell, Path(id): Path<i32>) -> WebResult<Html<String>> {
    let f = face_status_of(&state, &shell.actor, id, shell.csrf.clone()).await?;
    Ok(Html(FacePcPage { shell, f }.render()?))
}

/// The card alone, which the PC page asks for again every two seconds until
/// the check has ended.
async fn face_status(
    State(state): State<AppState>,
    Auth(actor): Auth,
    axum::Extension(csrf): axum::Extension<crate::csrf::CsrfToken>,
    Path(id): Path<i32>,
) -> WebResult<Html<String>> {
    Ok(Html(face_status_of(&state, &actor, id, csrf.0).await?.render()?))
}

// ---- 年检申请成功, 查看 ----

#[derive(Template)]
#[template(path = "cpa_check/done.html")]
struct DonePage {
    shell: Shell,
    d: Done,
}

impl DonePage {
    fn step(&self) -> usize {
        4
    }
}

async fn done(State(state): State<AppState>, shell: Shell, Path(id): Path<i32>) -> WebResult<Html<String>> {
    let d = cpa_check::done(&state.app, &shell.actor, id).await?;
    Ok(Html(DonePage { shell, d }.render()?))
}

#[derive(Template)]
#[template(path = "cpa_check/view.html")]
pub struct ViewPage {
    pub shell: Shell,
    pub v: CheckView,
    pub trail: TrailView,
}

async fn view(State(state): State<AppState>, shell: Shell, Path(id): Path<i32>) -> WebResult<Html<String>> {
    let v = cpa_check::view(&state.app, &shell.actor, id).await?;
    let trail = TrailView { steps: v.trail.clone(), opinion_label: "审批意见" };
    Ok(Html(ViewPage { shell, v, trail }.render()?))
}

// ---- 年检二维码 ----

#[derive(Template)]
#[template(path = "cpa_check/qr.html")]
struct QrPage {
    shell: Shell,
    q: qr::CpaQr,
    svg: String,
}

async fn qr_page(State(state): State<AppState>, shell: Shell) -> WebResult<Html<String>> {
    let q = qr::of_cpa(&state.app, &shell.actor).await?;
    let svg = cmis_app::qr::svg(&q.url)?;
    Ok(Html(QrPage { shell, q, svg }.render()?))
}

async fn qr_png(State(state): State<AppState>, Auth(actor): Auth) -> WebResult<Response> {
    let q = qr::of_cpa(&state.app, &actor).await?;
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

#[derive(Template)]
#[template(path = "cpa_check/public.html")]
pub struct PublicPage {
    pub r: qr::PublicResults,
    pub public_key: String,
}
