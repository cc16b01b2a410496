//! Upload, list, download and delete attachments. Workflows embed the upload
//! box (templates/attachments/box.html) with their context and owner.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use cmis_app::AppError;
use cmis_app::attachments::{self, Attachment, Limits, Owner};
use serde::Deserialize;

use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::shell::Auth;
use crate::upload;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/attachments", get(list).post(upload).layer(DefaultBodyLimit::max(60 * 1024 * 1024)))
        .route("/attachments/{id}", get(download))
        .route("/attachments/{id}/delete", post(delete))
}

#[derive(Template)]
#[template(path = "attachments/box.html")]
pub struct AttachmentBox {
    pub context: String,
    pub hint: String,
    pub items: Vec<Attachment>,
    pub error: Option<String>,
}

#[derive(Deserialize)]
struct BoxQuery {
    #[serde(default)]
    context: String,
}

/// The box takes unlabelled files; the lists of named materials (a CPA's, a
/// firm's batch) have upload forms of their own that name each file.
fn limits_of(code: &str) -> WebResult<Limits> {
    match attachments::limits(code) {
        Some(l) if l.code == attachments::FIRM_BATCH.code || l.code == attachments::CPA_MATERIALS.code => {
            Err(cmis_app::AppError::Forbidden.into())
        }
        Some(l) => Ok(l),
        None => Err(WebError::BadRequest("未知的附件类别".into())),
    }
}

const DRAFT: Owner<'static> = Owner { kind: "draft", id: None };

async fn render_box(state: &AppState, auth: &Auth, limits: Limits, error: Option<String>) -> WebResult<Html<String>> {
    let items = attachments::list(&state.app, &auth.0, limits, DRAFT).await?;
    Ok(Html(AttachmentBox { context: limits.code.to_owned(), hint: limits.hint(), items, error }.render()?))
}

async fn list(State(state): State<AppState>, auth: Auth, Query(q): Query<BoxQuery>) -> WebResult<Html<String>> {
    let limits = limits_of(&q.context)?;
    attachments::may_upload(&auth.0, limits)?;
    render_box(&state, &auth, limits, None).await
}

/// Files arrive as multipart `file` fields; each is checked on its own, and
/// the box re-renders with the first refusal beside it. Who may upload in the
/// context is asked before the body is read.
async fn upload(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<BoxQuery>,
    mut multipart: Multipart,
) -> WebResult<Html<String>> {
    let limits = limits_of(&q.context)?;
    attachments::may_upload(&auth.0, limits)?;
    // Each file is streamed to storage as it arrives, checked chunk by chunk.
    let mut error = None;
    let mut file_name = String::new();
    loop {
        match upload::next_part(&mut multipart, &mut file_name).await {
            Ok(upload::Part::File(file)) => {
                let stored =
                    attachments::upload_stream(&state.app, &auth.0, limits, DRAFT, None, file, Default::default());
                match stored.await {
                    Ok(_) => {}
                    Err(AppError::Invalid(e)) => {
                        error = e.0.first().map(|(_, m)| m.clone());
                        break;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(upload::Part::Text(..) | upload::Part::Empty) => {}
            Ok(upload::Part::End) => break,
            Err(_) => {
                error = Some(format!("上传失败：文件过大或连接中断。{}", limits.hint()));
                break;
            }
        }
    }
    render_box(&state, &auth, limits, error).await
}

#[derive(Deserialize)]
struct DownloadQuery {
    inline: Option<String>,
}

/// `?inline=1` shows a PDF or image in the page that embeds it (review pages).
async fn download(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i32>,
    Query(q): Query<DownloadQuery>,
) -> WebResult<Response> {
    let (a, bytes) = attachments::download(&state.app, &auth.0, id).await?;
    let how = if q.inline.is_some() { "inline" } else { "attachment" };
    let disposition = format!("{how}; filename*=UTF-8''{}", percent(&a.file_name));
    Ok((
        [
            (header::CONTENT_TYPE, a.content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i32>,
    Query(q): Query<BoxQuery>,
) -> WebResult<Html<String>> {
    // The file first: another's is 404 whatever the rest of the request says.
    let error = match attachments::delete(&state.app, &auth.0, id).await {
        Ok(()) => None,
        Err(AppError::Refused(m)) => Some(m),
        Err(e) => return Err(e.into()),
    };
    render_box(&state, &auth, limits_of(&q.context)?, error).await
}

pub(crate) fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
