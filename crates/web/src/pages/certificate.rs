//! 下载会员证 (seed 002 §5–9) and the public page a scanned QR code opens.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use cmis_app::AppError;
use cmis_app::certificate::{self, Preview, Standing};
use cmis_app::scope::Permission;

use crate::AppState;
use crate::error::WebResult;
use crate::shell::{Auth, Shell, needs};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/certificate", get(preview))
        .route("/certificate/confirm", get(confirm))
        .route("/certificate/check", get(check))
        .route("/certificate/replace", get(replace))
        .route("/certificate/photo", get(photo))
        .route("/certificate/download", get(download))
        .route_layer(needs(Permission::OwnMemberProfile))
        // What anyone checks a certificate with.
        .route("/certificate/public-key", get(public_key))
        .route("/v/{payload}", get(verify))
}

#[derive(Template)]
#[template(path = "certificate/preview.html")]
struct PreviewPage {
    shell: Shell,
    p: Preview,
    /// Which step: "preview", "confirm" (use the exam photo?), "replace", "missing", "no_photo", "ready".
    step: &'static str,
}

async fn page(state: &AppState, shell: Shell, step: &'static str) -> WebResult<Html<String>> {
    let p = certificate::preview(&state.app, &shell.actor).await?;
    let step = match step {
        "confirm" if !p.has_photo => "no_photo",
        "check" if !p.missing.is_empty() => "missing",
        "check" => "ready",
        s => s,
    };
    Ok(Html(PreviewPage { shell, p, step }.render()?))
}

async fn preview(State(state): State<AppState>, shell: Shell) -> WebResult<Html<String>> {
    page(&state, shell, "preview").await
}

async fn confirm(State(state): State<AppState>, shell: Shell) -> WebResult<Html<String>> {
    page(&state, shell, "confirm").await
}

async fn check(State(state): State<AppState>, shell: Shell) -> WebResult<Html<String>> {
    page(&state, shell, "check").await
}

async fn replace(State(state): State<AppState>, shell: Shell) -> WebResult<Html<String>> {
    page(&state, shell, "replace").await
}

async fn photo(State(state): State<AppState>, Auth(actor): Auth) -> WebResult<Response> {
    let bytes = certificate::photo(&state.app, &actor).await?;
    let ct = if bytes.starts_with(b"\x89PNG") { "image/png" } else { "image/jpeg" };
    Ok(([(header::CONTENT_TYPE, ct), (header::CACHE_CONTROL, "private, no-store")], bytes).into_response())
}

async fn download(State(state): State<AppState>, Auth(actor): Auth) -> WebResult<Response> {
    let pdf = certificate::pdf(&state.app, &actor).await?;
    let name = format!("attachment; filename=\"member-certificate-{}.pdf\"", actor.login_name);
    Ok(([(header::CONTENT_TYPE, "application/pdf".to_owned()), (header::CONTENT_DISPOSITION, name)], pdf)
        .into_response())
}

#[derive(Template)]
#[template(path = "certificate/public_key.html")]
struct KeyPage {
    key: String,
}

async fn public_key(State(state): State<AppState>) -> WebResult<Html<String>> {
    Ok(Html(KeyPage { key: state.app.signer.public_key() }.render()?))
}

#[derive(Template)]
#[template(path = "certificate/verify.html")]
struct VerifyPage {
    result: Result<Standing, String>,
}

async fn verify(State(state): State<AppState>, Path(payload): Path<String>) -> WebResult<Html<String>> {
    let result = match certificate::standing(&state.app, &payload).await {
        Ok(s) => Ok(s),
        Err(AppError::Refused(m)) => Err(m),
        Err(AppError::NotFound(_)) => Err("未查询到该会员".into()),
        Err(e) => return Err(e.into()),
    };
    Ok(Html(VerifyPage { result }.render()?))
}
