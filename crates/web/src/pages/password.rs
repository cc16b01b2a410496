//! 忘记密码: 验证账号 → 绑定公众号 / 验证身份 → 重置密码 (seed 000 appendix).

use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use cmis_app::password_reset::{self, Account, Fact};
use cmis_app::{AppError, FieldErrors};
use cmis_domain::UserType;
use serde::Deserialize;
use tower_sessions::Session;

use super::ClientAddr;
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

const ACCOUNT: &str = "reset_account";
const VERIFIED: &str = "reset_verified";

/// The seed's three steps, shown above each page.
pub const STEPS: [&str; 3] = ["验证账号", "绑定公众号", "重置密码"];

#[derive(Template)]
#[template(path = "password/account.html")]
struct AccountPage {
    csrf: String,
    user_type: String,
    login_name: String,
    errors: FieldErrors,
}

impl AccountPage {
    fn error(&self, f: &str) -> Option<&str> {
        self.errors.get(f)
    }
}

async fn account_page(Extension(csrf): Extension<CsrfToken>) -> WebResult<Html<String>> {
    let page =
        AccountPage { csrf: csrf.0, user_type: String::new(), login_name: String::new(), errors: FieldErrors::new() };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
struct AccountForm {
    user_type: String,
    login_name: String,
}

async fn account(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    session: Session,
    Form(f): Form<AccountForm>,
) -> WebResult<Response> {
    match password_reset::find_account(&state.app, UserType::from_code(&f.user_type), &f.login_name).await {
        Ok(a) => {
            session.insert(ACCOUNT, a.user_id).await?;
            session.remove::<i32>(VERIFIED).await?;
            Ok(Redirect::to("/password/verify").into_response())
        }
        Err(AppError::Invalid(errors)) => {
            let page = AccountPage { csrf: csrf.0, user_type: f.user_type, login_name: f.login_name, errors };
            Ok(Html(page.render()?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "password/verify.html")]
struct VerifyPage {
    csrf: String,
    account: Account,
    facts: Vec<(&'static str, &'static str)>,
    mobile: String,
    sent: Option<String>,
    errors: FieldErrors,
    form_error: Option<String>,
}

impl VerifyPage {
    fn error(&self, f: &str) -> Option<&str> {
        self.errors.get(f)
    }
}

async fn current_account(state: &AppState, session: &Session) -> WebResult<Option<Account>> {
    let Some(uid) = session.get::<i32>(ACCOUNT).await.ok().flatten() else { return Ok(None) };
    let u = cmis_app::auth::actor_for(&state.app, uid).await?;
    let Some(actor) = u else { return Ok(None) };
    Ok(Some(password_reset::find_account(&state.app, Some(actor.user_type), &actor.login_name).await?))
}

async fn render_verify(
    state: &AppState,
    csrf: String,
    session: &Session,
    mobile: String,
    sent: Option<String>,
    errors: FieldErrors,
    form_error: Option<String>,
) -> WebResult<Response> {
    let Some(account) = current_account(state, session).await? else {
        return Ok(Redirect::to("/password/forgot").into_response());
    };
    let facts = Fact::for_type(account.user_type).iter().map(|f| (f.code(), f.label())).collect();
    Ok(Html(VerifyPage { csrf, account, facts, mobile, sent, errors, form_error }.render()?).into_response())
}

async fn verify_page(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    session: Session,
) -> WebResult<Response> {
    render_verify(&state, csrf.0, &session, String::new(), None, FieldErrors::new(), None).await
}

/// Answers a refusal beside the right box; anything else stays an error page.
async fn refused(
    state: &AppState,
    csrf: String,
    session: &Session,
    mobile: String,
    e: AppError,
) -> WebResult<Response> {
    match e {
        AppError::Invalid(errors) => render_verify(state, csrf, session, mobile, None, errors, None).await,
        AppError::Refused(m) => render_verify(state, csrf, session, mobile, None, FieldErrors::new(), Some(m)).await,
        AppError::TooMany(_) => {
            render_verify(
                state,
                csrf,
                session,
                mobile,
                None,
                FieldErrors::new(),
                Some("获取验证码过于频繁，请1小时后再试".into()),
            )
            .await
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
    let Some(uid) = session.get::<i32>(ACCOUNT).await.ok().flatten() else {
        return Ok(Redirect::to("/password/forgot").into_response());
    };
    match password_reset::send_sms_code(&state.app, uid, &f.mobile, &addr).await {
        Ok(()) => {
            let sent = format!(
                "验证码已发送至手机{}，{}分钟内有效",
                cmis_domain::mask::phone(f.mobile.trim()),
                password_reset::CODE_MINUTES
            );
            render_verify(&state, csrf.0, &session, f.mobile, Some(sent), FieldErrors::new(), None).await
        }
        Err(e) => refused(&state, csrf.0, &session, f.mobile, e).await,
    }
}

async fn send_bound(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    ClientAddr(addr): ClientAddr,
    session: Session,
) -> WebResult<Response> {
    let Some(uid) = session.get::<i32>(ACCOUNT).await.ok().flatten() else {
        return Ok(Redirect::to("/password/forgot").into_response());
    };
    match password_reset::send_bound_code(&state.app, uid, &addr).await {
        Ok(()) => {
            let sent = format!("验证码已发送至您绑定的公众号，{}分钟内有效", password_reset::CODE_MINUTES);
            render_verify(&state, csrf.0, &session, String::new(), Some(sent), FieldErrors::new(), None).await
        }
        Err(e) => refused(&state, csrf.0, &session, String::new(), e).await,
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
    let Some(uid) = session.get::<i32>(ACCOUNT).await.ok().flatten() else {
        return Ok(Redirect::to("/password/forgot").into_response());
    };
    match password_reset::verify_code(&state.app, uid, &f.code).await {
        Ok(()) => {
            session.insert(VERIFIED, uid).await?;
            Ok(Redirect::to("/password/reset").into_response())
        }
        Err(e) => refused(&state, csrf.0, &session, f.mobile, e).await,
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
    session: Session,
    Form(f): Form<OtherForm>,
) -> WebResult<Response> {
    let Some(uid) = session.get::<i32>(ACCOUNT).await.ok().flatten() else {
        return Ok(Redirect::to("/password/forgot").into_response());
    };
    match password_reset::verify_other(&state.app, uid, &f.name, &f.id_number, Fact::from_code(&f.fact), &f.value).await
    {
        Ok(()) => {
            session.insert(VERIFIED, uid).await?;
            Ok(Redirect::to("/password/reset").into_response())
        }
        Err(AppError::Invalid(errors)) if errors.get("form").is_some() => {
            let m = errors.get("form").map(str::to_owned);
            render_verify(&state, csrf.0, &session, String::new(), None, FieldErrors::new(), m).await
        }
        Err(e) => refused(&state, csrf.0, &session, String::new(), e).await,
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

async fn reset_page(Extension(csrf): Extension<CsrfToken>, session: Session) -> WebResult<Response> {
    if session.get::<i32>(VERIFIED).await.ok().flatten().is_none() {
        return Ok(Redirect::to("/password/forgot").into_response());
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
    let Some(uid) = session.get::<i32>(VERIFIED).await.ok().flatten() else {
        return Ok(Redirect::to("/password/forgot").into_response());
    };
    match password_reset::reset(&state.app, uid, &f.new_password, &f.confirm).await {
        Ok(bound) => {
            session.remove::<i32>(VERIFIED).await?;
            session.remove::<i32>(ACCOUNT).await?;
            Ok(Html(ResetPage { csrf: csrf.0, errors: FieldErrors::new(), done: Some(bound) }.render()?)
                .into_response())
        }
        Err(AppError::Invalid(errors)) => {
            Ok(Html(ResetPage { csrf: csrf.0, errors, done: None }.render()?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
