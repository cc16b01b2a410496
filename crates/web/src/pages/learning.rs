//! 在线学习 and 学时查询 (seed 004 chapters 1–2): choose an institute for the
//! year, its catalogue, 交费, the lesson player with its progress reports,
//! 评价, and the ledger of hours.

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use cmis_app::learning::study::{self, Catalogue, Choice, LessonState, LessonView};
use cmis_app::learning::{self, Institute, fees, ledger};
use cmis_app::scope::Permission;
use cmis_app::{AppError, FieldErrors};
use cmis_domain::Hours;
use serde::Deserialize;

use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::shell::{Auth, Shell, needs};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/learning", get(index))
        .route("/learning/choose", post(choose))
        .route("/learning/courses/{id}", get(course))
        .route("/learning/courses/{id}/pay", get(pay))
        .route("/learning/lessons/{id}", get(lesson))
        .route("/learning/lessons/{id}/progress", post(progress))
        .route("/learning/lessons/{id}/evaluate", post(evaluate))
        .route("/learning/hours", get(hours))
        .route_layer(needs(Permission::StudyOnline))
        // Institute staff watch their own lessons too: the use case decides.
        .route("/learning/lessons/{id}/material", get(material))
}

#[derive(Template)]
#[template(path = "learning/index.html")]
struct IndexPage {
    shell: Shell,
    year: i32,
    institutes: Vec<Institute>,
    catalogue: Option<Catalogue>,
    error: Option<String>,
}

async fn render_index(state: &AppState, shell: Shell, error: Option<String>) -> WebResult<Response> {
    let catalogue = study::catalogue(&state.app, &shell.actor).await?;
    let institutes = learning::institutes(&state.app).await?;
    let year = learning::year_of(&state.app);
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok((status, Html(IndexPage { shell, year, institutes, catalogue, error }.render()?)).into_response())
}

async fn index(State(state): State<AppState>, shell: Shell) -> WebResult<Response> {
    render_index(&state, shell, None).await
}

#[derive(Deserialize)]
struct ChooseForm {
    institute_id: i32,
}

async fn choose(State(state): State<AppState>, shell: Shell, Form(f): Form<ChooseForm>) -> WebResult<Response> {
    match study::choose(&state.app, &shell.actor, f.institute_id).await {
        Ok(_) => Ok(Redirect::to("/learning").into_response()),
        Err(AppError::Refused(m)) => render_index(&state, shell, Some(m)).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "learning/course.html")]
struct CoursePage {
    shell: Shell,
    card: study::CourseCard,
    institute: Institute,
    note: &'static str,
}

async fn course(State(state): State<AppState>, shell: Shell, Path(id): Path<i32>) -> WebResult<Response> {
    match study::open_course(&state.app, &shell.actor, id).await {
        Ok((card, institute)) => {
            Ok(Html(CoursePage { shell, card, institute, note: study::EVALUATE_FIRST }.render()?).into_response())
        }
        Err(AppError::Refused(m)) => render_index(&state, shell, Some(m)).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "learning/pay.html")]
struct PayPage {
    shell: Shell,
    p: fees::CoursePayment,
    svg: String,
    /// Back from the payment without its result arriving.
    waiting: bool,
}

#[derive(Deserialize, Default)]
struct PayQuery {
    check: Option<String>,
}

/// 交费, and "我已完成支付" coming back: to the course once the provider has
/// told us, or here again saying the result has not arrived.
async fn pay(
    State(state): State<AppState>,
    shell: Shell,
    Path(id): Path<i32>,
    Query(q): Query<PayQuery>,
) -> WebResult<Response> {
    match fees::start(&state.app, &shell.actor, id).await {
        Ok(p) => {
            let svg = cmis_app::qr::svg(&p.code_url)?;
            Ok(Html(PayPage { shell, p, svg, waiting: q.check.is_some() }.render()?).into_response())
        }
        Err(AppError::Refused(m)) if m == fees::NO_FEE => {
            Ok(Redirect::to(&format!("/learning/courses/{id}")).into_response())
        }
        Err(AppError::Refused(m)) => render_index(&state, shell, Some(m)).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "learning/lesson.html")]
struct LessonPage {
    shell: Shell,
    v: LessonView,
    note: &'static str,
    errors: FieldErrors,
    evaluated: bool,
}

impl LessonPage {
    fn error(&self, f: &str) -> Option<&str> {
        self.errors.get(f)
    }
    fn to_evaluate(&self) -> bool {
        self.v.row.state == LessonState::ToEvaluate
    }
}

#[derive(Deserialize, Default)]
struct LessonQuery {
    evaluated: Option<String>,
}

async fn render_lesson(
    state: &AppState,
    shell: Shell,
    id: i32,
    errors: FieldErrors,
    evaluated: bool,
) -> WebResult<Response> {
    match study::open_lesson(&state.app, &shell.actor, id).await {
        Ok(Ok(v)) => {
            let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
            let page = LessonPage { shell, v, note: study::EVALUATE_FIRST, errors, evaluated };
            Ok((status, Html(page.render()?)).into_response())
        }
        Ok(Err(c)) => Ok(Redirect::to(&format!("/learning/courses/{}/pay", c.id)).into_response()),
        Err(AppError::Refused(m)) => render_index(state, shell, Some(m)).await,
        Err(e) => Err(e.into()),
    }
}

async fn lesson(
    State(state): State<AppState>,
    shell: Shell,
    Path(id): Path<i32>,
    Query(q): Query<LessonQuery>,
) -> WebResult<Response> {
    render_lesson(&state, shell, id, FieldErrors::new(), q.evaluated.is_some()).await
}

#[derive(Deserialize)]
struct BeatForm {
    #[serde(default)]
    tab: String,
    #[serde(default)]
    position: f64,
}

/// The player's report, every few seconds: JSON for the page's script.
async fn progress(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i32>,
    Form(f): Form<BeatForm>,
) -> Response {
    let position = if f.position.is_finite() { f.position.clamp(0.0, 1e6) as i32 } else { 0 };
    match study::beat(&state.app, &actor, id, &f.tab, position).await {
        Ok(b) => axum::Json(serde_json::json!({
            "reached": b.reached, "duration": b.duration, "finished": b.finished, "state": b.state.label(),
        }))
        .into_response(),
        Err(e) => {
            let e = WebError::from(e);
            (e.status(), axum::Json(serde_json::json!({ "error": e.message() }))).into_response()
        }
    }
}

#[derive(Deserialize)]
struct EvaluateForm {
    #[serde(default)]
    rating: String,
    #[serde(default)]
    comment: String,
}

async fn evaluate(
    State(state): State<AppState>,
    shell: Shell,
    Path(id): Path<i32>,
    Form(f): Form<EvaluateForm>,
) -> WebResult<Response> {
    match study::evaluate(&state.app, &shell.actor, id, &f.rating, &f.comment).await {
        Ok(()) => Ok(Redirect::to(&format!("/learning/lessons/{id}?evaluated=1")).into_response()),
        Err(AppError::Invalid(e)) => render_lesson(&state, shell, id, e, false).await,
        Err(AppError::Refused(m)) => render_lesson(&state, shell, id, FieldErrors::one_set("rating", m), false).await,
        Err(e) => Err(e.into()),
    }
}

/// A lesson's video or document, in the ranges the player asks for.
async fn material(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i32>,
    headers: HeaderMap,
) -> WebResult<Response> {
    let (key, content_type, size) = study::material_of(&state.app, &actor, id).await?;
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).map(|r| parse_range(r, size));
    let (status, start, end) = match range {
        None => (StatusCode::OK, 0, size),
        Some(Some((s, e))) => (StatusCode::PARTIAL_CONTENT, s, e),
        Some(None) => {
            return Ok((StatusCode::RANGE_NOT_SATISFIABLE, [(header::CONTENT_RANGE, format!("bytes */{size}"))])
                .into_response());
        }
    };
    let body = Body::from_stream(study::read_material(&state.app, &key, start, end).await?);
    let mut res = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_LENGTH, end - start)
        .header(header::CACHE_CONTROL, "private, no-store")
        .header(header::CONTENT_DISPOSITION, "inline");
    if status == StatusCode::PARTIAL_CONTENT {
        res = res.header(header::CONTENT_RANGE, format!("bytes {start}-{}/{size}", end - 1));
    }
    Ok(res.body(body).map_err(anyhow::Error::from).map_err(AppError::from)?)
}

/// One `bytes=` range of a file of `size` bytes, as [start, end); None if unsatisfiable.
pub fn parse_range(header: &str, size: u64) -> Option<(u64, u64)> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || size == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (size.saturating_sub(n), size)
        }
        (s, "") => (s.parse().ok()?, size),
        (s, e) => (s.parse().ok()?, e.parse::<u64>().ok()?.saturating_add(1).min(size)),
    };
    (start < end && start < size).then_some((start, end))
}

#[derive(Template)]
#[template(path = "learning/hours.html")]
struct HoursPage {
    shell: Shell,
    year: i32,
    years: Vec<i32>,
    entries: Vec<ledger::Entry>,
    summary: ledger::Summary,
    choice: Option<Choice>,
}

#[derive(Deserialize, Default)]
struct HoursQuery {
    year: Option<i32>,
}

async fn hours(State(state): State<AppState>, shell: Shell, Query(q): Query<HoursQuery>) -> WebResult<Html<String>> {
    let this = learning::year_of(&state.app);
    let year = q.year.filter(|y| (this - 10..=this).contains(y)).unwrap_or(this);
    let entries = ledger::mine(&state.app, &shell.actor, year).await?;
    let summary = ledger::summary(&state.app, &shell.actor, year).await?;
    let choice = study::choice_of(&state.app, &shell.actor, year).await?;
    let years = (this - 4..=this).rev().collect();
    Ok(Html(HoursPage { shell, year, years, entries, summary, choice }.render()?))
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-99", 1000), Some((0, 100)));
        assert_eq!(parse_range("bytes=900-", 1000), Some((900, 1000)));
        assert_eq!(parse_range("bytes=-100", 1000), Some((900, 1000)));
        assert_eq!(parse_range("bytes=0-5000", 1000), Some((0, 1000)));
        assert_eq!(parse_range("bytes=1000-", 1000), None);
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), None);
        assert_eq!(parse_range("items=0-1", 1000), None);
    }
}
