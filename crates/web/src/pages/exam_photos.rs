//! 全科合格证电子照片: CICPA uploads the exam system's photos as a ZIP; a job
//! checks it and its page previews what will be imported.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use cmis_app::exam_photos;
use cmis_app::scope::Permission;
use cmis_app::{AppError, FieldErrors};

use crate::AppState;
use crate::error::WebResult;
use crate::shell::{Shell, needs};
use crate::upload;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/association/exam-photos",
            get(page).post(upload).layer(DefaultBodyLimit::max(exam_photos::MAX_ZIP_BYTES as usize + 64 * 1024)),
        )
        .route_layer(needs(Permission::ExamPhotos))
}

#[derive(Template)]
#[template(path = "association/exam_photos.html")]
struct PhotosPage {
    shell: Shell,
    errors: FieldErrors,
    max_mb: u64,
    max_entries: usize,
}

impl PhotosPage {
    fn error(&self, f: &str) -> Option<&str> {
        self.errors.get(f)
    }
}

fn render(shell: Shell, errors: FieldErrors) -> WebResult<Html<String>> {
    let page = PhotosPage {
        shell,
        errors,
        max_mb: exam_photos::MAX_ZIP_BYTES / 1024 / 1024,
        max_entries: exam_photos::MAX_ENTRIES,
    };
    Ok(Html(page.render()?))
}

async fn page(shell: Shell) -> WebResult<Html<String>> {
    render(shell, FieldErrors::new())
}

async fn upload(State(state): State<AppState>, shell: Shell, mut mp: Multipart) -> WebResult<Response> {
    exam_photos::may_import(&shell.actor)?;
    let file = match upload::read(&mut mp, exam_photos::MAX_ZIP_BYTES, 1).await {
        Ok(form) => form.file("file").map(|f| f.bytes.clone()).filter(|b| !b.is_empty()),
        Err(r) => {
            let m = match r.why {
                upload::Refused::TooLarge(_) => {
                    format!("压缩包不能超过{}MB，请分批导入", exam_photos::MAX_ZIP_BYTES / 1024 / 1024)
                }
                _ => "上传失败，请重新选择文件".to_owned(),
            };
            return Ok(render(shell, FieldErrors::one_set("file", m))?.into_response());
        }
    };
    let Some(zip) = file else {
        return Ok(render(shell, FieldErrors::one_set("file", "请选择要导入的ZIP压缩包"))?.into_response());
    };
    match exam_photos::request_check(&state.app, &shell.actor, zip).await {
        Ok(job) => Ok(Redirect::to(&format!("/jobs/{job}")).into_response()),
        Err(AppError::Invalid(e)) => Ok(render(shell, e)?.into_response()),
        Err(e) => Err(e.into()),
    }
}
