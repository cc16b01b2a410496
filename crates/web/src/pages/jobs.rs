//! 导入导出记录: an export or import runs as a job; its page shows the
//! progress (refreshed every second), then the file to download, the rows a
//! check found wrong, or what was imported. Only its owner sees a job.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use cmis_app::exam_photos::{self, PhotoPreview};
use cmis_app::jobs::{self, Job, JobKind, JobState};
use cmis_app::member_inspection::learning::{self, ImportPreview};
use cmis_app::page::Page;
use serde::Deserialize;

use crate::AppState;
use crate::error::WebResult;
use crate::shell::{Auth, Shell};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/jobs", get(list))
        .route("/jobs/{id}", get(show))
        .route("/jobs/{id}/progress", get(progress))
        .route("/jobs/{id}/download", get(download))
        .route("/jobs/{id}/import", post(import))
}

/// The bytes of a download, with its name (RFC 5987, so Chinese names survive).
pub fn attachment(name: &str, content_type: &str, bytes: impl IntoResponse) -> Response {
    let enc: String = name
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b == b'.' { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename*=UTF-8''{enc}")),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "jobs/list.html")]
struct ListPage {
    shell: Shell,
    jobs: Page<Job>,
}

impl ListPage {
    fn page_link(&self, n: u64) -> String {
        format!("/jobs?page={n}")
    }
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<u64>,
}

async fn list(State(state): State<AppState>, shell: Shell, Query(q): Query<PageQuery>) -> WebResult<Html<String>> {
    let jobs = jobs::mine(&state.app, &shell.actor, q.page.unwrap_or(1)).await?;
    Ok(Html(ListPage { shell, jobs }.render()?))
}

#[derive(Template)]
#[template(path = "jobs/progress.html")]
struct ProgressPartial {
    job: Job,
}

#[derive(Template)]
#[template(path = "jobs/show.html")]
struct ShowPage {
    shell: Shell,
    job: Job,
    progress: ProgressPartial,
    /// A check's findings.
    preview: Option<ImportPreview>,
    /// A photo check's findings.
    photos: Option<PhotoPreview>,
    /// Where to go back to.
    back: (&'static str, &'static str),
}

fn back_of(kind: JobKind) -> (&'static str, &'static str) {
    match kind {
        JobKind::ReviewExport => ("/jobs", "返回导入导出记录"),
        JobKind::LearningCheck | JobKind::LearningImport => ("/association/learning-records", "返回学时记录"),
        JobKind::ExamPhotoCheck | JobKind::ExamPhotoImport => ("/association/exam-photos", "返回全科合格证电子照片"),
        JobKind::RegulatorSync => ("/association/regulator", "返回注册会计师信息同步"),
        JobKind::CpaCheckProgress => ("/association/cpa-check-progress", "返回注册会计师年检进度"),
    }
}

async fn show(State(state): State<AppState>, shell: Shell, Path(id): Path<i32>) -> WebResult<Html<String>> {
    let job = jobs::get(&state.app, &shell.actor, id).await?;
    let preview = match (job.kind, job.state, &job.summary) {
        (JobKind::LearningCheck, JobState::Done, Some(s)) => serde_json::from_value(s.clone()).ok(),
        _ => None,
    };
    let photos = match (job.kind, job.state, &job.summary) {
        (JobKind::ExamPhotoCheck, JobState::Done, Some(s)) => serde_json::from_value(s.clone()).ok(),
        _ => None,
    };
    let page = ShowPage {
        back: back_of(job.kind),
        progress: ProgressPartial { job: job.clone() },
        job,
        preview,
        photos,
        shell,
    };
    Ok(Html(page.render()?))
}

/// The progress bar alone, for the page to poll; once the job has ended the
/// whole page is reloaded to show what it made.
async fn progress(State(state): State<AppState>, Auth(actor): Auth, Path(id): Path<i32>) -> WebResult<Response> {
    let job = jobs::get(&state.app, &actor, id).await?;
    let finished = job.finished();
    let html = Html(ProgressPartial { job }.render()?);
    Ok(if finished { ([("HX-Refresh", "true")], html).into_response() } else { html.into_response() })
}

async fn download(State(state): State<AppState>, Auth(actor): Auth, Path(id): Path<i32>) -> WebResult<Response> {
    let (name, bytes) = jobs::output(&state.app, &actor, id).await?;
    Ok(attachment(&name, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", bytes))
}

/// 确认导入, from a check: of learning records or of exam photos.
async fn import(State(state): State<AppState>, shell: Shell, Path(id): Path<i32>) -> WebResult<Response> {
    // Imports are staff's (each use case asks its own permission again).
    if !shell.actor.is_staff() {
        return Err(cmis_app::AppError::Forbidden.into());
    }
    let check = jobs::get(&state.app, &shell.actor, id).await?;
    let job = match check.kind {
        JobKind::ExamPhotoCheck => exam_photos::request_import(&state.app, &shell.actor, id).await?,
        _ => learning::request_import(&state.app, &shell.actor, id).await?,
    };
    Ok(Redirect::to(&format!("/jobs/{job}")).into_response())
}
