//! 会员照片: the local association uploads and approves the photo a member
//! brought in person (seed 002 §9).

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use cmis_app::attachments::PHOTO;
use cmis_app::certificate::{self, PhotoSubject};
use cmis_app::scope::Permission;
use cmis_app::{AppError, FieldErrors};
use serde::Deserialize;

use crate::AppState;
use crate::error::WebResult;
use crate::shell::{Auth, Shell, needs};
use crate::upload;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/association/member-photo", get(page).post(upload).layer(DefaultBodyLimit::max(3 * 1024 * 1024)))
        .route("/association/member-photo/image", get(image))
        .route_layer(needs(Permission::MemberPhotos))
}

#[derive(Template)]
#[template(path = "association/member_photo.html")]
struct PhotoPage {
    shell: Shell,
    cert_no: String,
    subject: Option<PhotoSubject>,
    errors: FieldErrors,
    done: bool,
}

impl PhotoPage {
    fn error(&self, f: &str) -> Option<&str> {
        self.errors.get(f)
    }
}

#[derive(Deserialize, Default)]
struct Find {
    cert_no: Option<String>,
    done: Option<String>,
}

async fn render(
    state: &AppState,
    shell: Shell,
    cert_no: String,
    errors: FieldErrors,
    done: bool,
) -> WebResult<Html<String>> {
    if !shell.actor.is_staff() {
        return Err(AppError::Forbidden.into());
    }
    let (subject, errors) = if cert_no.trim().is_empty() {
        (None, errors)
    } else {
        match certificate::photo_subject(&state.app, &shell.actor, &cert_no).await {
            Ok(s) => (Some(s), errors),
            Err(AppError::Invalid(e)) => (None, e),
            Err(e) => return Err(e.into()),
        }
    };
    Ok(Html(PhotoPage { shell, cert_no, subject, errors, done }.render()?))
}

async fn page(State(state): State<AppState>, shell: Shell, Query(q): Query<Find>) -> WebResult<Html<String>> {
    render(&state, shell, q.cert_no.unwrap_or_default(), FieldErrors::new(), q.done.is_some()).await
}

async fn upload(State(state): State<AppState>, shell: Shell, mut multipart: Multipart) -> WebResult<Response> {
    certificate::may_approve_photo(&shell.actor)?;
    let (form, refused) = match upload::read(&mut multipart, PHOTO.max_bytes, 1).await {
        Ok(form) => (form, None),
        Err(r) => (r.form, Some(r.why)),
    };
    let cert_no = form.field("cert_no").unwrap_or_default().to_owned();
    let photo = form.file("photo").map(|f| f.bytes.clone()).filter(|b| !b.is_empty());
    let Some(photo) = photo.filter(|_| refused.is_none()) else {
        let m = match refused {
            Some(upload::Refused::TooLarge(_)) => "照片不能超过2MB，请重新选择",
            Some(_) => "上传失败，请重新选择照片",
            None => "请选择照片",
        };
        return Ok(render(&state, shell, cert_no, FieldErrors::one_set("photo", m), false).await?.into_response());
    };
    match certificate::approve_photo(&state.app, &shell.actor, &cert_no, photo).await {
        Ok(()) => Ok(render(&state, shell, cert_no, FieldErrors::new(), true).await?.into_response()),
        Err(AppError::Invalid(e)) => Ok(render(&state, shell, cert_no, e, false).await?.into_response()),
        Err(e) => Err(e.into()),
    }
}

async fn image(State(state): State<AppState>, Auth(actor): Auth, Query(q): Query<Find>) -> WebResult<Response> {
    let bytes = certificate::member_photo(&state.app, &actor, q.cert_no.as_deref().unwrap_or_default()).await?;
    let ct = if bytes.starts_with(b"\x89PNG") { "image/png" } else { "image/jpeg" };
    Ok(([(header::CONTENT_TYPE, ct), (header::CACHE_CONTROL, "private, no-store")], bytes).into_response())
}
