//! The non-practicing member's flows in the JSON API: 入会申请 and its
//! progress query, 忘记密码, 基本信息. The same use cases as the pages.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use bytes::Bytes;
use chrono::Utc;
use cmis_app::member_admission::{self, Application, InfoQuery, Progress};
use cmis_app::password_reset::{self, Fact};
use cmis_app::scope::Permission;
use cmis_app::{FieldErrors, captcha, member_profile};
use cmis_domain::UserType;
use cmis_domain::profile::Profile;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiAuth, ApiError, ApiErrorBody, ApiResult};
use crate::AppState;
use crate::pages::ClientAddr;
use crate::shell::needs;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/member-admission/declarations", get(declarations))
        .route("/member-admission/applications", post(apply))
        .route("/member-admission/applications/resubmit", post(resubmit))
        .route("/member-admission/progress/by-number", post(by_number))
        .route("/member-admission/progress/by-info", post(by_info))
        .route("/password/start", post(recovery_start))
        .route("/password/sms", post(recovery_sms))
        .route("/password/bound", post(recovery_bound))
        .route("/password/verify-code", post(recovery_code))
        .route("/password/verify-other", post(recovery_other))
        .route("/password/reset", post(recovery_reset))
        .merge(
            Router::new()
                .route("/me/profile", get(profile).put(update_profile))
                .route("/me/certificate", get(certificate_pdf))
                .route_layer(needs(Permission::OwnMemberProfile)),
        )
}

fn require_captcha(ok: bool) -> Result<(), ApiError> {
    if ok {
        Ok(())
    } else {
        Err(FieldErrors::one("captcha", "验证码错误或已过期，请刷新后重新输入").into())
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeclarationsOut {
    /// Every one must be ticked: send their indices as `declarations`.
    pub declarations: Vec<String>,
}

/// 入会申请 声明事项.
#[utoipa::path(get, path = "/member-admission/declarations", responses((status = 200, body = DeclarationsOut)))]
pub async fn declarations() -> Json<DeclarationsOut> {
    Json(DeclarationsOut { declarations: member_admission::DECLARATIONS.iter().map(|d| d.to_string()).collect() })
}

#[derive(Deserialize, ToSchema)]
pub struct ApplicationIn {
    /// Every field of the member profile (DOMAIN §2), keyed as in `FIELDS`.
    #[schema(value_type = Object)]
    pub profile: Profile,
    pub declarations: Vec<usize>,
    /// The photo, jpg or png, base64; at most 2 MB.
    pub photo_base64: Option<String>,
    pub captcha_id: String,
    pub captcha: String,
}

#[derive(Serialize, ToSchema)]
pub struct SubmittedOut {
    pub business_no: String,
}

fn photo(b64: &Option<String>) -> Result<Option<(String, Bytes)>, ApiError> {
    match b64 {
        None => Ok(None),
        Some(s) => base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .map(|b| Some(("photo".to_owned(), Bytes::from(b))))
            .map_err(|_| FieldErrors::one("photo", "照片数据无法解析，请重新选择").into()),
    }
}

/// 提交入会申请. The captcha stands for the verification step.
#[utoipa::path(post, path = "/member-admission/applications", request_body = ApplicationIn,
    responses((status = 200, body = SubmittedOut), (status = 422, body = ApiErrorBody)))]
pub async fn apply(State(s): State<AppState>, Json(i): Json<ApplicationIn>) -> ApiResult<SubmittedOut> {
    require_captcha(captcha::check(&s.app, &i.captcha_id, &i.captcha).await?)?;
    let a = Application { profile: i.profile, declarations: i.declarations, photo: photo(&i.photo_base64)? };
    Ok(Json(SubmittedOut { business_no: member_admission::submit(&s.app, a).await? }))
}

#[derive(Deserialize, ToSchema)]
pub struct ResubmitIn {
    pub business_no: String,
    /// The ID number of the application: proves it is the applicant's.
    pub id_number: String,
    #[schema(value_type = Object)]
    pub profile: Profile,
    pub declarations: Vec<usize>,
    /// Omit to keep the earlier photo.
    pub photo_base64: Option<String>,
    pub captcha_id: String,
    pub captcha: String,
}

/// 再次提交 a returned application under the same business number. An
/// unknown number and a wrong ID number get the same answer, and tries at
/// one number are limited.
#[utoipa::path(post, path = "/member-admission/applications/resubmit", request_body = ResubmitIn,
    responses((status = 200, body = SubmittedOut), (status = 422, body = ApiErrorBody)))]
pub async fn resubmit(State(s): State<AppState>, Json(i): Json<ResubmitIn>) -> ApiResult<SubmittedOut> {
    require_captcha(captcha::check(&s.app, &i.captcha_id, &i.captcha).await?)?;
    let a = Application { profile: i.profile, declarations: i.declarations, photo: photo(&i.photo_base64)? };
    member_admission::resubmit(&s.app, &i.business_no, &i.id_number, a).await?;
    Ok(Json(SubmittedOut { business_no: i.business_no }))
}

#[derive(Serialize, ToSchema)]
pub struct StepOut {
    pub node: String,
    pub unit: String,
    pub opinion: String,
    pub at: chrono::DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct ProgressOut {
    pub business_no: String,
    pub name: String,
    /// submitted, local_approved, confirmed, returned_local, returned_cicpa, rejected.
    pub state: String,
    /// The words the progress page shows (地方注协待审核 …).
    pub state_label: String,
    pub association: String,
    pub submitted_at: chrono::DateTime<Utc>,
    pub return_reason: Option<String>,
    pub cert_no: Option<String>,
    pub login_name: Option<String>,
    /// Shown until the first login only.
    pub initial_password: Option<String>,
    pub trail: Vec<StepOut>,
}

impl From<Progress> for ProgressOut {
    fn from(p: Progress) -> Self {
        let c = p.credentials;
        ProgressOut {
            state: p.state.code().into(),
            state_label: p.state.label().into(),
            business_no: p.business_no,
            name: p.name,
            association: p.association,
            submitted_at: p.submitted_at,
            return_reason: p.return_reason,
            cert_no: c.as_ref().map(|c| c.cert_no.clone()),
            login_name: c.as_ref().map(|c| c.login_name.clone()),
            initial_password: c.and_then(|c| c.initial_password),
            trail: p
                .trail
                .into_iter()
                .map(|s| StepOut { node: s.node, unit: s.unit, opinion: s.opinion, at: s.at })
                .collect(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct ByNumberIn {
    pub business_no: String,
    pub captcha_id: String,
    pub captcha: String,
}

/// 业务编号查询.
#[utoipa::path(post, path = "/member-admission/progress/by-number", request_body = ByNumberIn,
    responses((status = 200, body = ProgressOut), (status = 422, body = ApiErrorBody)))]
pub async fn by_number(State(s): State<AppState>, Json(i): Json<ByNumberIn>) -> ApiResult<ProgressOut> {
    require_captcha(captcha::check(&s.app, &i.captcha_id, &i.captcha).await?)?;
    Ok(Json(member_admission::progress_by_business_no(&s.app, &i.business_no).await?.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct ByInfoIn {
    pub name: String,
    pub id_type: String,
    pub id_number: String,
    /// exam or assessment.
    pub qualification_method: String,
    pub exam_cert_no: String,
    pub captcha_id: String,
    pub captcha: String,
}

/// 基本信息查询.
#[utoipa::path(post, path = "/member-admission/progress/by-info", request_body = ByInfoIn,
    responses((status = 200, body = ProgressOut), (status = 422, body = ApiErrorBody)))]
pub async fn by_info(State(s): State<AppState>, Json(i): Json<ByInfoIn>) -> ApiResult<ProgressOut> {
    require_captcha(captcha::check(&s.app, &i.captcha_id, &i.captcha).await?)?;
    let q = InfoQuery {
        name: i.name,
        id_type: i.id_type,
        id_number: i.id_number,
        qualification_method: i.qualification_method,
        exam_cert_no: i.exam_cert_no,
    };
    Ok(Json(member_admission::progress_by_info(&s.app, &q).await?.into()))
}

// 忘记密码: a recovery token carries one recovery between calls. It opens
// the next recovery step and nothing else (it is not an API token); only a
// verified recovery resets, and the reset ends every session and token.

#[derive(Deserialize, ToSchema)]
pub struct RecoveryStartIn {
    /// member or cpa.
    pub user_type: String,
    pub login_name: String,
    pub captcha_id: String,
    pub captcha: String,
}

#[derive(Serialize, ToSchema)]
pub struct RecoveryOut {
    pub recovery_token: String,
    /// Codes go to the bound notification account (POST /password/bound).
    pub bound: bool,
    /// What 其他信息验证 accepts: email, exam_cert, work_unit.
    pub facts: Vec<String>,
}

/// 验证账号. Answers the same way for an account that does not exist as for
/// one without a bound notification account.
#[utoipa::path(post, path = "/password/start", request_body = RecoveryStartIn,
    responses((status = 200, body = RecoveryOut), (status = 422, body = ApiErrorBody)))]
pub async fn recovery_start(State(s): State<AppState>, Json(i): Json<RecoveryStartIn>) -> ApiResult<RecoveryOut> {
    let token =
        password_reset::start(&s.app, UserType::from_code(&i.user_type), &i.login_name, &i.captcha_id, &i.captcha)
            .await?;
    let r = password_reset::open(&s.app, &token).await?;
    Ok(Json(RecoveryOut {
        recovery_token: token,
        bound: r.bound(),
        facts: r.facts().iter().map(|f| f.code().to_owned()).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct RecoverySmsIn {
    pub recovery_token: String,
    /// The registered mobile number, in full.
    pub mobile: String,
}

/// 手机号验证: sends an SMS code. Each number tried counts against the account.
#[utoipa::path(post, path = "/password/sms", request_body = RecoverySmsIn,
    responses((status = 204), (status = 422, body = ApiErrorBody)))]
pub async fn recovery_sms(
    State(s): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Json(i): Json<RecoverySmsIn>,
) -> Result<StatusCode, ApiError> {
    let r = password_reset::open(&s.app, &i.recovery_token).await?;
    password_reset::send_sms_code(&s.app, &r, &i.mobile, &addr).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct RecoveryTokenIn {
    pub recovery_token: String,
}

/// Sends a code to the bound notification account.
#[utoipa::path(post, path = "/password/bound", request_body = RecoveryTokenIn,
    responses((status = 204), (status = 422, body = ApiErrorBody)))]
pub async fn recovery_bound(
    State(s): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Json(i): Json<RecoveryTokenIn>,
) -> Result<StatusCode, ApiError> {
    let r = password_reset::open(&s.app, &i.recovery_token).await?;
    password_reset::send_bound_code(&s.app, &r, &addr).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct RecoveryCodeIn {
    pub recovery_token: String,
    pub code: String,
}

/// Checks the SMS or bound-account code.
#[utoipa::path(post, path = "/password/verify-code", request_body = RecoveryCodeIn,
    responses((status = 204), (status = 422, body = ApiErrorBody)))]
pub async fn recovery_code(State(s): State<AppState>, Json(i): Json<RecoveryCodeIn>) -> Result<StatusCode, ApiError> {
    let r = password_reset::open(&s.app, &i.recovery_token).await?;
    password_reset::verify_code(&s.app, &r, &i.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct RecoveryOtherIn {
    pub recovery_token: String,
    pub name: String,
    pub id_number: String,
    /// email, exam_cert or work_unit.
    pub fact: String,
    pub value: String,
}

/// 其他信息验证.
#[utoipa::path(post, path = "/password/verify-other", request_body = RecoveryOtherIn,
    responses((status = 204), (status = 422, body = ApiErrorBody)))]
pub async fn recovery_other(
    State(s): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Json(i): Json<RecoveryOtherIn>,
) -> Result<StatusCode, ApiError> {
    let r = password_reset::open(&s.app, &i.recovery_token).await?;
    password_reset::verify_other(&s.app, &r, &i.name, &i.id_number, Fact::from_code(&i.fact), &i.value, &addr).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct RecoveryResetIn {
    pub recovery_token: String,
    pub new_password: String,
    pub confirm: String,
}

#[derive(Serialize, ToSchema)]
pub struct ResetOut {
    /// True when this reset bound the notification account.
    pub bound_now: bool,
}

/// 重置密码, after a verification. Every session and API token of the account ends.
#[utoipa::path(post, path = "/password/reset", request_body = RecoveryResetIn,
    responses((status = 200, body = ResetOut), (status = 422, body = ApiErrorBody)))]
pub async fn recovery_reset(State(s): State<AppState>, Json(i): Json<RecoveryResetIn>) -> ApiResult<ResetOut> {
    let proof = password_reset::verified(&s.app, &i.recovery_token).await?;
    let bound_now = password_reset::reset(&s.app, proof, &i.new_password, &i.confirm).await?;
    Ok(Json(ResetOut { bound_now }))
}

#[derive(Serialize, ToSchema)]
pub struct ProfileOut {
    pub cert_no: String,
    pub association: String,
    #[schema(value_type = Object)]
    pub profile: Profile,
    /// Labels of the required fields still empty.
    pub missing: Vec<String>,
}

/// 基本信息 of the logged-in non-practicing member.
#[utoipa::path(get, path = "/me/profile", security(("bearer" = [])), responses((status = 200, body = ProfileOut), (status = 403, body = ApiErrorBody)))]
pub async fn profile(State(s): State<AppState>, who: ApiAuth) -> ApiResult<ProfileOut> {
    let own = member_profile::load(&s.app, &who.0).await?;
    Ok(Json(ProfileOut {
        cert_no: own.cert_no,
        association: own.association,
        missing: own.missing.iter().map(|m| m.to_string()).collect(),
        profile: own.profile,
    }))
}

/// 修改信息: identity fields keep their stored values.
#[utoipa::path(put, path = "/me/profile", security(("bearer" = [])), request_body(content = Object),
    responses((status = 200, body = ProfileOut), (status = 422, body = ApiErrorBody)))]
pub async fn update_profile(State(s): State<AppState>, who: ApiAuth, Json(p): Json<Profile>) -> ApiResult<ProfileOut> {
    member_profile::update(&s.app, &who.0, p).await?;
    profile(State(s), who).await
}

/// 下载会员证: the PDF, once the profile is complete and a photo is on file.
#[utoipa::path(get, path = "/me/certificate", security(("bearer" = [])),
    responses((status = 200, content_type = "application/pdf", description = "the electronic membership certificate"), (status = 422, body = ApiErrorBody)))]
pub async fn certificate_pdf(State(s): State<AppState>, who: ApiAuth) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let pdf = cmis_app::certificate::pdf(&s.app, &who.0).await?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
}
