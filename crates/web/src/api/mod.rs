//! The JSON API under /api/v1, for the mini-program and other clients. It
//! calls the same use cases as the pages. Clients log in with a captcha and
//! then send `Authorization: Bearer <token>`.

use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cmis_app::tokens::{self, Authenticated, TOKEN_HOURS};
use cmis_app::{Actor, AppError, auth, captcha};
use cmis_domain::UserType;
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_swagger_ui::SwaggerUi;

use crate::AppState;
use crate::error::WebError;
use crate::pages::ClientAddr;

mod cpa_checks;
mod firm_batches;
mod inspections;
pub mod institute;
mod members;
mod reviews;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/captcha", get(new_captcha))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/auth/password", post(change_password))
        .route("/me", get(me))
        .route("/organisations", get(organisations))
        .merge(members::routes())
        .merge(inspections::routes())
        .merge(cpa_checks::routes())
        .merge(firm_batches::routes())
        .merge(reviews::routes())
        .merge(institute::routes())
        .fallback(unknown)
}

/// An address the API does not have: JSON, as every API answer.
async fn unknown() -> ApiError {
    ApiError(WebError::NotFound)
}

pub fn docs() -> Router<AppState> {
    SwaggerUi::new("/api/docs").url("/api/openapi.json", ApiDoc::openapi()).into()
}

#[derive(OpenApi)]
#[openapi(
    info(title = "中国注册会计师协会行业管理信息系统 API", version = "1"),
    paths(
        new_captcha, login, logout, change_password, me, organisations,
        members::declarations, members::apply, members::resubmit, members::by_number, members::by_info,
        members::recovery_start, members::recovery_sms, members::recovery_bound, members::recovery_code,
        members::recovery_other, members::recovery_reset, members::profile, members::update_profile,
        members::certificate_pdf,
        inspections::overview, inspections::apply, inspections::defer, inspections::material, inspections::proof,
        inspections::fee_order, inspections::fee_paid, inspections::history, inspections::one, inspections::member_qr,
        inspections::confirm_fees,
        cpa_checks::overview, cpa_checks::retired, cpa_checks::material, cpa_checks::apply, cpa_checks::face_status,
        cpa_checks::history, cpa_checks::one, cpa_checks::cpa_qr, cpa_checks::notify,
        firm_batches::batches, firm_batches::send, firm_batches::one, firm_batches::withdraw, firm_batches::resubmit,
        firm_batches::materials, firm_batches::upload, firm_batches::not_applied, firm_batches::remind,
        firm_batches::firm_cpas, firm_batches::firm_year, firm_batches::progress_of, firm_batches::delegate,
        reviews::queue, reviews::detail, reviews::decide, reviews::batch,
        institute::post_records, institute::hours,
    ),
    components(schemas(CaptchaOut, LoginIn, LoginOut, Me, PasswordIn, Organisation, ApiErrorBody)),
    modifiers(&BearerAuth),
    servers((url = "/api/v1"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Errors: a message in Chinese, and per-field messages for invalid input.
#[derive(Serialize, ToSchema)]
pub struct ApiErrorBody {
    pub error: String,
    pub fields: std::collections::BTreeMap<String, String>,
}

pub struct ApiError(WebError);

impl<E: Into<WebError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        if let WebError::App(AppError::Internal(e)) = &self.0 {
            tracing::error!(error = ?e, "api request failed");
        }
        let fields = match &self.0 {
            WebError::App(AppError::Invalid(f)) => f.0.iter().cloned().collect(),
            _ => Default::default(),
        };
        (status, Json(ApiErrorBody { error: self.0.message(), fields })).into_response()
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

/// The actor of a bearer token (an API token, never a page session or a
/// password-recovery proof). While an initial password is unchanged, only
/// `/me`, `/auth/password` and `/auth/logout` answer, as the pages do.
pub struct ApiAuth(pub Actor, Authenticated);

/// What an account with an unchanged initial password may still call.
const BEFORE_PASSWORD_CHANGE: &[&str] = &["/api/v1/me", "/api/v1/auth/password", "/api/v1/auth/logout"];

impl FromRequestParts<AppState> for ApiAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(AppError::Unauthenticated)?;
        let a = tokens::authenticate(&state.app, token).await?;
        let path = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or_else(|| parts.uri.path().to_owned(), |u| u.path().to_owned());
        if a.actor.must_change_password && !BEFORE_PASSWORD_CHANGE.contains(&path.as_str()) {
            return Err(AppError::PasswordChangeRequired.into());
        }
        if let Some(crate::shell::Needs(p)) = parts.extensions.get::<crate::shell::Needs>()
            && !a.actor.can(*p)
        {
            return Err(AppError::Forbidden.into());
        }
        Ok(ApiAuth(a.actor.clone(), a))
    }
}

#[derive(Serialize, ToSchema)]
pub struct CaptchaOut {
    /// Send back as `captcha_id`.
    pub id: String,
    /// A data URL of the image.
    pub image: String,
}

/// A new image captcha; it expires after five minutes and is good for one try.
#[utoipa::path(get, path = "/captcha", responses((status = 200, body = CaptchaOut)))]
async fn new_captcha(State(s): State<AppState>, ClientAddr(addr): ClientAddr) -> ApiResult<CaptchaOut> {
    s.captchas.check(&addr)?;
    let c = captcha::issue(&s.app).await?;
    Ok(Json(CaptchaOut { id: c.id, image: c.image }))
}

#[derive(Deserialize, ToSchema)]
pub struct LoginIn {
    /// member (非执业会员), cpa (注册会计师), firm (会计师事务所) or staff (注协).
    pub user_type: String,
    pub login_name: String,
    pub password: String,
    pub captcha_id: String,
    pub captcha: String,
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub user_type: String,
    pub role: String,
    pub login_name: String,
    pub name: String,
    pub association: String,
    pub must_change_password: bool,
}

impl From<&Actor> for Me {
    fn from(a: &Actor) -> Self {
        Me {
            user_type: a.user_type.code().to_owned(),
            role: a.role_label().to_owned(),
            login_name: a.login_name.clone(),
            name: a.display_name.clone(),
            association: a.association_name.clone(),
            must_change_password: a.must_change_password,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LoginOut {
    pub token: String,
    pub expires_in_seconds: i64,
    pub user: Me,
}

#[utoipa::path(post, path = "/auth/login", request_body = LoginIn,
    responses((status = 200, body = LoginOut), (status = 422, body = ApiErrorBody)))]
async fn login(
    State(s): State<AppState>,
    ClientAddr(address): ClientAddr,
    Json(i): Json<LoginIn>,
) -> ApiResult<LoginOut> {
    let actor = auth::login(
        &s.app,
        auth::Credentials {
            user_type: UserType::from_code(&i.user_type),
            login_name: i.login_name,
            password: i.password,
            captcha_id: i.captcha_id,
            captcha_answer: i.captcha,
            address,
        },
    )
    .await?;
    let token = tokens::issue(&s.app, &actor).await?;
    Ok(Json(LoginOut { token, expires_in_seconds: TOKEN_HOURS * 3600, user: Me::from(&actor) }))
}

#[utoipa::path(post, path = "/auth/logout", security(("bearer" = [])), responses((status = 204)))]
async fn logout(State(s): State<AppState>, auth: ApiAuth) -> Result<StatusCode, ApiError> {
    tokens::revoke(&s.app, &auth.1).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordIn {
    pub old_password: String,
    pub new_password: String,
    pub confirm: String,
}

/// 修改密码. Every session and token of the account ends, this one too: log in again.
#[utoipa::path(post, path = "/auth/password", request_body = PasswordIn, security(("bearer" = [])),
    responses((status = 204), (status = 422, body = ApiErrorBody)))]
async fn change_password(
    State(s): State<AppState>,
    who: ApiAuth,
    Json(i): Json<PasswordIn>,
) -> Result<StatusCode, ApiError> {
    auth::change_password(&s.app, &who.0, &i.old_password, &i.new_password, &i.confirm).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/me", security(("bearer" = [])), responses((status = 200, body = Me), (status = 401, body = ApiErrorBody)))]
async fn me(who: ApiAuth) -> ApiResult<Me> {
    Ok(Json(Me::from(&who.0)))
}

#[derive(Serialize, ToSchema)]
pub struct Organisation {
    pub id: i32,
    pub code: String,
    pub name: String,
    /// national, provincial or city.
    pub level: String,
    pub parent_id: Option<i32>,
    pub phone_practicing: Option<String>,
    pub phone_non_practicing: Option<String>,
    pub phone_firm: Option<String>,
    pub address: Option<String>,
}

/// 中注协, the 32 local associations and the city associations, with their contacts. Public.
#[utoipa::path(get, path = "/organisations", responses((status = 200, body = [Organisation])))]
async fn organisations(State(s): State<AppState>) -> ApiResult<Vec<Organisation>> {
    Ok(Json(
        s.app
            .orgs()
            .all()
            .iter()
            .map(|a| Organisation {
                id: a.id,
                code: a.code.clone(),
                name: a.name.clone(),
                level: a.level.code().to_owned(),
                parent_id: a.parent_id,
                phone_practicing: a.phone_practicing.clone(),
                phone_non_practicing: a.phone_non_practicing.clone(),
                phone_firm: a.phone_firm.clone(),
                address: a.address.clone(),
            })
            .collect(),
    ))
}
