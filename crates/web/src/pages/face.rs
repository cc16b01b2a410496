//! The phone's side of 人脸认证 (seed 001 §2.1.6, §2.2.5): the page a PC's QR
//! code (or the phone's own 开始人脸认证) opens, by an unguessable token and
//! without a login: the agreement (勾选协议, 同意并继续), the 注意事项, the
//! hand-off to the provider, and the page the provider sends the phone back
//! to. And, when configured, the development provider: its API and the page
//! that passes or fails a check.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use cmis_app::cpa_check::face;
use cmis_app::face::{SIGNATURE_HEADER, dev};
use serde::Deserialize;
use tower_sessions::Session;

use crate::AppState;
use crate::csrf::CsrfToken;
use crate::error::{WebError, WebResult};
use crate::shell::SESSION_USER;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/face/{token}", get(agree_page).post(agree))
        .route("/face/{token}/tips", get(tips))
        .route("/face/{token}/go", get(go))
        .route("/face/{token}/back", get(back))
        .route("/dev/face/api/start", post(dev_start))
        .route("/dev/face/api/result", post(dev_result))
        .route("/dev/face/h5/{biz}", get(dev_page).post(dev_finish))
}

#[derive(Template)]
#[template(path = "face/agree.html")]
struct AgreePage {
    v: face::PhoneView,
    token: String,
    csrf: String,
    error: Option<String>,
}

async fn agree_page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(token): Path<String>,
) -> WebResult<Html<String>> {
    let v = face::phone_view(&state.app, &token).await?;
    Ok(Html(AgreePage { v, token, csrf: csrf.0, error: None }.render()?))
}

#[derive(Deserialize)]
struct AgreeForm {
    agree: Option<String>,
}

async fn agree(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(token): Path<String>,
    Form(f): Form<AgreeForm>,
) -> WebResult<Response> {
    if f.agree.is_none() {
        let v = face::phone_view(&state.app, &token).await?;
        let error = Some("请阅读并勾选《人脸认证服务协议》".to_owned());
        return Ok(Html(AgreePage { v, token, csrf: csrf.0, error }.render()?).into_response());
    }
    Ok(Redirect::to(&format!("/face/{token}/tips")).into_response())
}

#[derive(Template)]
#[template(path = "face/tips.html")]
struct TipsPage {
    token: String,
}

async fn tips(State(state): State<AppState>, Path(token): Path<String>) -> WebResult<Html<String>> {
    face::phone_view(&state.app, &token).await?;
    Ok(Html(TipsPage { token }.render()?))
}

/// 开始认证: to the provider's page (a link, not a form: the page may be on
/// the provider's own address, where a form's redirect may not go).
async fn go(State(state): State<AppState>, Path(token): Path<String>) -> WebResult<Response> {
    let url = face::handoff(&state.app, &token).await?;
    Ok(Redirect::to(&url).into_response())
}

#[derive(Template)]
#[template(path = "face/back.html")]
struct BackPage {
    st: face::Status,
    token: String,
    /// The phone is logged in as the CPA whose check it is: it may go on to
    /// 年检申请成功; anyone else's phone only learns that the check ended.
    own: bool,
}

async fn back(State(state): State<AppState>, session: Session, Path(token): Path<String>) -> WebResult<Html<String>> {
    let st = face::back(&state.app, &token).await?;
    let uid: Option<i32> = session.get(SESSION_USER).await.ok().flatten();
    let own = match uid {
        Some(uid) => face::belongs_to(&state.app, &token, uid).await?,
        None => false,
    };
    Ok(Html(BackPage { st, token, own }.render()?))
}

// ---- the development provider ----

fn signature(h: &HeaderMap) -> String {
    h.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
}

fn signed((body, sig): dev::Signed) -> Response {
    ([("content-type", "application/json".to_owned()), (SIGNATURE_HEADER, sig)], body).into_response()
}

async fn dev_start(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> WebResult<Response> {
    match dev::start(&state.app, &body, &signature(&headers)).await {
        Ok(s) => Ok(signed(s)),
        Err(cmis_app::AppError::Unauthenticated) => Ok((StatusCode::UNAUTHORIZED, "BAD SIGNATURE").into_response()),
        Err(e) => Err(e.into()),
    }
}

async fn dev_result(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> WebResult<Response> {
    match dev::result(&state.app, &body, &signature(&headers)).await {
        Ok(s) => Ok(signed(s)),
        Err(cmis_app::AppError::Unauthenticated) => Ok((StatusCode::UNAUTHORIZED, "BAD SIGNATURE").into_response()),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "dev/face.html")]
struct DevPage {
    c: cmis_store::entity::dev_face_check::Model,
    csrf: String,
}

async fn dev_page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    Path(biz): Path<String>,
) -> WebResult<Html<String>> {
    let c = dev::check(&state.app, &biz).await.map_err(|_| WebError::NotFound)?;
    Ok(Html(DevPage { c, csrf: csrf.0 }.render()?))
}

#[derive(Deserialize)]
struct DevForm {
    outcome: String,
    lose: Option<String>,
    frame: Option<String>,
}

async fn dev_finish(
    State(state): State<AppState>,
    Path(biz): Path<String>,
    Form(f): Form<DevForm>,
) -> WebResult<Response> {
    let o = dev::Outcome { pass: f.outcome == "pass", notify: f.lose.is_none(), frame: f.frame.is_some() };
    let back = dev::finish(&state.app, &biz, o, state.app.now()).await.map_err(|_| WebError::NotFound)?;
    Ok(Redirect::to(&back).into_response())
}
