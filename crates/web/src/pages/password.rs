//! 忘记密码: 验证账号 → 绑定公众号 / 验证身份 → 重置密码 (seed 000 appendix).

use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use cmis_app::password_reset::{self, Fact, Recovery};
use cmis_app::{AppError, FieldErrors};
use cmis_domain::UserType;
use serde::Deserialize;
use tower_sessions::Session;

use super::ClientAddr;
use super::portal::{CaptchaPartial, new_captcha};
use crate::AppState;
use crate::csrf::CsrfToken;
use crate::error::WebResult;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/password/forgot", get(account_page).post(account))
        .route("/password/verify", get(verify_page))
        .route("/password/sms", post(send_sms))
        .route("/password/bound", post(send_bound))
        .route("/password/code", post(check_code))
        .route("/password/other", post(check_other))
        .route("/password/reset", get(reset_page).post(reset))
}

/// The recovery token of this browser's recovery in progress.
const RECOVERY: &str = "recovery_token";

/// The seed's three steps, shown above each page.
pub const STEPS: [&str; 3] = ["验证账号", "绑定公众号", "重置密码"];

#[derive(Template)]
#[template(path = "password/account.html")]
struct AccountPage {
    csrf: String,
    captcha: CaptchaPartial,
    user_type: String,
    login_name: String,
    errors: FieldErrors,
}

impl AccountPage {
    fn error(&self, f: &str) -> Option<&str> {
        self.errors.get(f)
    }
}

async fn account_page(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Extension(csrf): Extension<CsrfToken>,
) -> WebResult<Html<String>> {
    let page = AccountPage {
        csrf: csrf.0,
        captcha: new_captcha(&state, &addr).await?,
        user_type: String::new(),
        login_name: String::new(),
        errors: FieldErrors::new(),
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
struct AccountForm {
    user_type: String,
    login_name: String,
    #[serde(default)]
    captcha_id: String,
    #[serde(default)]
    captcha: String,
}

async fn account(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Extension(csrf): Extension<CsrfToken>,
    session: Session,
    Form(f): Form<AccountForm>,
) -> WebResult<Response> {
    let started =
        password_reset::start(&state.app, UserType::from_code(&f.user_type), &f.login_name, &f.captcha_id, &f.captcha)
            .await;
    match started {
        Ok(token) => {
            session.insert(RECOVERY, token).await?;
            Ok(Redirect::to("/password/verify").into_response())
        }
        Err(AppError::Invalid(errors)) => {
            let page = AccountPage {
                csrf: csrf.0,
                captcha: new_captcha(&state, &addr).await?,
                user_type: f.user_type,
                login_name: f.login_name.chars().take(cmis_app::auth::MAX_LOGIN_NAME).collect(),
                errors,
            };
            Ok(Html(page.render()?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "password/verify.html")]
struct VerifyPage {
    csrf: String,
    recovery: Recovery,
    facts: Vec<(&'static str, &'static str)>,
    mobile: String,
    sent: Option<String>,
    errors: FieldErrors,
    form_error: Option<String>,
    /// The notification account's QR code (an SVG), for an account not bound.
    follow_qr: String,
}

impl VerifyPage {
    fn error(&self, f: &str) -> Option<&str> {
        self.errors.get(f)
    }
}

/// The recovery this browser has in progress, if it is still open.
async fn current(state: &AppState, session: &Session) -> WebResult<Option<Recovery>> {
    let Some(token) = session.get::<String>(RECOVERY).await.ok().flatten() else { return Ok(None) };
    match password_reset::open(&state.app, &token).await {
        Ok(r) => Ok(Some(r)),
        Err(AppError::Refused(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The QR code that follows the notification account: the configured
/// address, or this system's own 找回密码 page.
fn follow_qr(state: &AppState) -> WebResult<String> {
    let s = &state.app.settings;
    let url = if s.follow_url.is_empty() {
        format!("{}/password/forgot", s.public_url.trim_end_matches('/'))
    } else {
        s.follow_url.clone()
    };
    Ok(cmis_app::qr::svg(&url)?)
}

async fn render_verify(
    state: &AppState,
    csrf: String,
    recovery: Recovery,
    mobile: String,
    sent: Option<String>,
    errors: FieldErrors,
    form_error: Option<String>,
) -> WebResult<Response> {
    let facts = recovery.facts().iter().map(|f| (f.code(), f.label())).collect();
    let follow_qr = if recovery.bound() { String::new() } else { follow_qr(state)? };
    Ok(Html(VerifyPage { csrf, recovery, facts, mobile, sent, errors, form_error, follow_qr }.render()?)
        .into_response())
}

fn restart() -> Response {
    Redirect::to("/password/forgot").into_response()
}

async fn verify_page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    session: Session,
) -> WebResult<Response> {
    let Some(r) = current(&state, &session).await? else { return Ok(restart()) };
    render_verify(&state, csrf.0, r, String::new(), None, FieldErrors::new(), None).await
}

/// Answers a refusal beside the right box; anything else stays an error page.
async fn refused(state: &AppState, csrf: String, r: Recovery, mobile: String, e: AppError) -> WebResult<Response> {
    match e {
        AppError::Invalid(errors) if errors.get("form").is_some() => {
            let m = errors.get("form").map(str::to_owned);
            render_verify(state, csrf, r, mobile, None, FieldErrors::new(), m).await
        }
        AppError::Invalid(errors) => render_verify(state, csrf, r, mobile, None, errors, None).await,
        AppError::Refused(m) => render_verify(state, csrf, r, mobile, None, FieldErrors::new(), Some(m)).await,
        AppError::TooMany(_) => {
            let m = Some("获取验证码过于频繁，请1小时后再试".to_owned());
            render_verify(state, csrf, r, mobile, None, FieldErrors::new(), m).await
        }
        e => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct SmsForm {
    mobile: String,
}

async fn send_sms(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    ClientAddr(addr): ClientAddr,
    session: Session,
    Form(f): Form<SmsForm>,
) -> WebResult<Response> {
    let Some(r) = current(&state, &session).await? else { return Ok(restart()) };
    match password_reset::send_sms_code(&state.app, &r, &f.mobile, &addr).await {
        Ok(()) => {
            let sent = format!(
                "验证码已发送至手机{}，{}分钟内有效",
                cmis_domain::mask::phone(f.mobile.trim()),
                password_reset::CODE_MINUTES
            );
            render_verify(&state, csrf.0, r, f.mobile, Some(sent), FieldErrors::new(), None).await
        }
        Err(e) => refused(&state, csrf.0, r, f.mobile, e).await,
    }
}

async fn send_bound(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    ClientAddr(addr): ClientAddr,
    session: Session,
) -> WebResult<Response> {
    let Some(r) = current(&state, &session).await? else { return Ok(restart()) };
    match password_reset::send_bound_code(&state.app, &r, &addr).await {
        Ok(()) => {
            let sent = format!("验证码已发送至您绑定的公众号，{}分钟内有效", password_reset::CODE_MINUTES);
            render_verify(&state, csrf.0, r, String::new(), Some(sent), FieldErrors::new(), None).await
        }
        Err(e) => refused(&state, csrf.0, r, String::new(), e).await,
    }
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
    #[serde(default)]
    mobile: String,
}

async fn check_code(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    session: Session,
    Form(f): Form<CodeForm>,
) -> WebResult<Response> {
    let Some(r) = current(&state, &session).await? else { return Ok(restart()) };
    match password_reset::verify_code(&state.app, &r, &f.code).await {
        Ok(()) => Ok(Redirect::to("/password/reset").into_response()),
        Err(e) => refused(&state, csrf.0, r, f.mobile, e).await,
    }
}

#[derive(Deserialize)]
struct OtherForm {
    name: String,
    id_number: String,
    fact: String,
    value: String,
}

async fn check_other(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    ClientAddr(addr): ClientAddr,
    session: Session,
    Form(f): Form<OtherForm>,
) -> WebResult<Response> {
    let Some(r) = current(&state, &session).await? else { return Ok(restart()) };
    let fact = Fact::from_code(&f.fact);
    match password_reset::verify_other(&state.app, &r, &f.name, &f.id_number, fact, &f.value, &addr).await {
        Ok(()) => Ok(Redirect::to("/password/reset").into_response()),
        Err(e) => refused(&state, csrf.0, r, String::new(), e).await,
    }
}

#[derive(Template)]
#[template(path = "password/reset.html")]
struct ResetPage {
    csrf: String,
    errors: FieldErrors,
    done: Option<bool>,
}

impl ResetPage {
    fn error(&self, f: &str) -> Option<&str> {
        self.errors.get(f)
    }
}

async fn verified_token(state: &AppState, session: &Session) -> WebResult<Option<String>> {
    let Some(token) = session.get::<String>(RECOVERY).await.ok().flatten() else { return Ok(None) };
    match password_reset::verified(&state.app, &token).await {
        Ok(_) => Ok(Some(token)),
        Err(AppError::Refused(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

async fn reset_page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    session: Session,
) -> WebResult<Response> {
    if verified_token(&state, &session).await?.is_none() {
        return Ok(restart());
    }
    Ok(Html(ResetPage { csrf: csrf.0, errors: FieldErrors::new(), done: None }.render()?).into_response())
}

#[derive(Deserialize)]
struct ResetForm {
    new_password: String,
    confirm: String,
}

async fn reset(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    session: Session,
    Form(f): Form<ResetForm>,
) -> WebResult<Response> {
    let Some(token) = session.get::<String>(RECOVERY).await.ok().flatten() else { return Ok(restart()) };
    let proof = match password_reset::verified(&state.app, &token).await {
        Ok(p) => p,
        Err(AppError::Refused(_)) => return Ok(restart()),
        Err(e) => return Err(e.into()),
    };
    match password_reset::reset(&state.app, proof, &f.new_password, &f.confirm).await {
        Ok(bound) => {
            session.remove::<String>(RECOVERY).await?;
            Ok(Html(ResetPage { csrf: csrf.0, errors: FieldErrors::new(), done: Some(bound) }.render()?)
                .into_response())
        }
        Err(AppError::Invalid(errors)) => {
            Ok(Html(ResetPage { csrf: csrf.0, errors, done: None }.render()?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
