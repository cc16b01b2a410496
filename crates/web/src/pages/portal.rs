//! The public portal (seed 002 §1): login box, public entries, contacts.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use cmis_app::notices::{self, Kind, Notice};
use cmis_app::organisations::{Association, ContactLine};
use cmis_app::{AppError, FieldErrors, auth, captcha};
use cmis_domain::{AssociationLevel, UserType};
use serde::Deserialize;
use tower_sessions::Session;

use super::ClientAddr;
use crate::AppState;
use crate::csrf::CsrfToken;
use crate::error::WebResult;
use crate::shell::{SESSION_CREDENTIAL, SESSION_USER};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(portal))
        .route("/captcha", get(captcha_partial))
        .route("/captcha/login", get(login_captcha))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/contacts", get(contacts))
}

pub struct UserTypeOption {
    pub code: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
}

fn user_types() -> Vec<UserTypeOption> {
    UserType::ALL.iter().map(|t| UserTypeOption { code: t.code(), label: t.label(), hint: t.login_hint() }).collect()
}

#[derive(Template)]
#[template(path = "portal/captcha.html")]
pub struct CaptchaPartial {
    pub id: String,
    pub image: String,
}

#[derive(Template)]
#[template(path = "portal/index.html")]
struct PortalPage {
    csrf: String,
    user_types: Vec<UserTypeOption>,
    user_type: String,
    login_name: String,
    /// Drawn with a page that answers a login attempt; on the plain portal
    /// the box draws one when the login form is first used (`login_captcha`).
    captcha: Option<CaptchaPartial>,
    errors: FieldErrors,
    notice: Option<String>,
    logged_in: bool,
    notices: std::sync::Arc<Vec<Notice>>,
    faqs: std::sync::Arc<Vec<Notice>>,
}

impl PortalPage {
    /// The portal's two lists: (kind, heading, entries).
    fn columns(&self) -> [(&'static str, &'static str, &[Notice]); 2] {
        [("notice", "通知公告", self.notices.as_slice()), ("faq", "常见问题", self.faqs.as_slice())]
    }

    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

#[derive(Deserialize)]
struct PortalQuery {
    expired: Option<String>,
    changed: Option<String>,
}

/// A captcha for a page, counted against the address's page budget.
pub(crate) async fn new_captcha(state: &AppState, addr: &str) -> WebResult<CaptchaPartial> {
    state.page_captchas.check(addr)?;
    let c = captcha::issue(&state.app).await?;
    Ok(CaptchaPartial { id: c.id, image: c.image })
}

async fn portal(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    session: Session,
    Query(q): Query<PortalQuery>,
) -> WebResult<Response> {
    let logged_in = session.get::<i32>(SESSION_USER).await.ok().flatten().is_some();
    let notice = if q.changed.is_some() {
        Some("密码已修改，请使用新密码登录".to_owned())
    } else if q.expired.is_some() && !logged_in {
        Some("请先登录（长时间未操作，登录已失效）".to_owned())
    } else {
        None
    };
    // Drawing a captcha was 40 % of the portal's time (bench/README.md), and
    // most visitors read notices or go to a public entry: the login box draws
    // its captcha when the form is first used.
    let page = PortalPage {
        csrf: csrf.0,
        user_types: user_types(),
        user_type: UserType::NonPracticingMember.code().to_owned(),
        login_name: String::new(),
        captcha: None,
        errors: FieldErrors::new(),
        notice,
        logged_in,
        notices: notices::latest(&state.app, Kind::Notice, 6).await?,
        faqs: notices::latest(&state.app, Kind::Faq, 6).await?,
    };
    Ok(Html(page.render()?).into_response())
}

/// The login box's first captcha, drawn when the form is first used:
/// counted against the page budget, as the portal that drew it inline was.
async fn login_captcha(State(state): State<AppState>, ClientAddr(addr): ClientAddr) -> WebResult<Html<String>> {
    Ok(Html(new_captcha(&state, &addr).await?.render()?))
}

/// 换一张: counted against the tighter budget of captchas drawn on request.
async fn captcha_partial(State(state): State<AppState>, ClientAddr(addr): ClientAddr) -> WebResult<Html<String>> {
    state.captchas.check(&addr)?;
    let c = captcha::issue(&state.app).await?;
    Ok(Html(CaptchaPartial { id: c.id, image: c.image }.render()?))
}

#[derive(Deserialize)]
struct LoginForm {
    user_type: String,
    login_name: String,
    password: String,
    captcha_id: String,
    captcha: String,
}

async fn login(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    ClientAddr(address): ClientAddr,
    session: Session,
    Form(f): Form<LoginForm>,
) -> WebResult<Response> {
    let creds = auth::Credentials {
        user_type: UserType::from_code(&f.user_type),
        login_name: f.login_name.clone(),
        password: f.password,
        captcha_id: f.captcha_id,
        captcha_answer: f.captcha,
        address: address.clone(),
    };
    match auth::login(&state.app, creds).await {
        Ok(actor) => {
            // A new session id at login, so a planted one is worth nothing.
            session.cycle_id().await.map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
            session.insert(SESSION_USER, actor.user_id).await.map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
            session
                .insert(SESSION_CREDENTIAL, &actor.credential)
                .await
                .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
            let to = if actor.must_change_password { "/account/password" } else { "/home" };
            Ok(Redirect::to(to).into_response())
        }
        Err(e @ (AppError::Invalid(_) | AppError::Refused(_))) => {
            let errors = match e {
                AppError::Invalid(f) => f,
                other => {
                    let mut fe = FieldErrors::new();
                    fe.add("form", other);
                    fe
                }
            };
            let page = PortalPage {
                csrf: csrf.0,
                user_types: user_types(),
                user_type: f.user_type,
                login_name: f.login_name.chars().take(auth::MAX_LOGIN_NAME).collect(),
                captcha: Some(new_captcha(&state, &address).await?),
                errors,
                notice: None,
                logged_in: false,
                notices: notices::latest(&state.app, Kind::Notice, 6).await?,
                faqs: notices::latest(&state.app, Kind::Faq, 6).await?,
            };
            Ok(Html(page.render()?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn logout(session: Session) -> WebResult<Redirect> {
    session.flush().await.map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    Ok(Redirect::to("/"))
}

#[derive(Template)]
#[template(path = "portal/contacts.html")]
struct ContactsPage {
    provincial: Vec<Association>,
    national: Association,
    lines: Vec<ContactLine>,
    guangdong: Option<Association>,
    cities: Vec<Association>,
    logged_in: bool,
}

async fn contacts(State(state): State<AppState>, session: Session) -> WebResult<Html<String>> {
    let orgs = &state.app.orgs();
    let guangdong = orgs.by_code("44").cloned();
    let cities = guangdong
        .as_ref()
        .map(|g| orgs.children(g.id).filter(|c| c.level == AssociationLevel::City).cloned().collect())
        .unwrap_or_default();
    let page = ContactsPage {
        provincial: orgs.provincial().cloned().collect(),
        national: orgs.national().clone(),
        lines: orgs.contact_lines().to_vec(),
        guangdong,
        cities,
        logged_in: session.get::<i32>(SESSION_USER).await.ok().flatten().is_some(),
    };
    Ok(Html(page.render()?))
}
