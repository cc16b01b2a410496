//! 注册会计师年检 in the JSON API: the CPA's flow (确认信息 and the step's
//! figures, 是否离退休, materials, 确认申请 with the face-authentication
//! hand-off and its status, history, one year, the QR code), and the face
//! provider's signed notification. The same use cases as the pages.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cmis_app::AppError;
use cmis_app::cpa_check::{self, Applied, HistoryRow, face, qr};
use cmis_app::face::{NOTIFY_PATH, SIGNATURE_HEADER};
use cmis_app::scope::Permission;
use cmis_domain::Hours;
use cmis_domain::cpa_check::CheckState;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::inspections::{FileIn, FileOut, MaterialOut, QrOut, file_out};
use super::{ApiAuth, ApiError, ApiErrorBody, ApiResult};
use crate::AppState;
use crate::shell::needs;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/me/cpa-check", get(overview).post(apply))
        .route("/me/cpa-check/retired", post(retired))
        // A 5 MB file is about 6.7 MB in base64.
        .route("/me/cpa-check/materials", post(material).layer(axum::extract::DefaultBodyLimit::max(8 * 1024 * 1024)))
        .route("/me/cpa-check/face-checks/{id}", get(face_status))
        .route("/me/cpa-checks", get(history))
        .route("/me/cpa-checks/{id}", get(one))
        .route("/me/cpa-check-qr", get(cpa_qr))
        .route_layer(needs(Permission::ApplyCpaCheck))
        .route(NOTIFY_PATH.trim_start_matches("/api/v1"), post(notify))
}

#[derive(Serialize, ToSchema)]
pub struct CheckStateOut {
    /// firm_review, firm_returned, province_review, province_returned, passed, deferred, failed, closed
    pub code: String,
    pub label: String,
}

fn state_out(s: CheckState) -> CheckStateOut {
    CheckStateOut { code: s.code().into(), label: s.label().into() }
}

#[derive(Serialize, ToSchema)]
pub struct PersonalOut {
    pub name: String,
    /// 民族
    pub ethnicity: String,
    pub sex: String,
    pub birth_date: String,
    /// 有效证件名称
    pub id_type: String,
    /// 有效证件号码, masked.
    pub id_number: String,
    /// 籍贯
    pub native_place: String,
    /// 所在地区
    pub region: String,
    /// 户口所在地
    pub household: String,
    /// 政治面貌
    pub political_status: String,
    pub cpa_no: String,
    pub firm: String,
}

fn personal_out(p: &cpa_check::Personal) -> PersonalOut {
    PersonalOut {
        name: p.name.clone(),
        ethnicity: p.ethnicity.clone(),
        sex: p.sex.clone(),
        birth_date: p.birth_date.to_string(),
        id_type: p.id_type.clone(),
        id_number: p.id_number.clone(),
        native_place: p.native_place.clone(),
        region: p.region.clone(),
        household: p.household.clone(),
        political_status: p.political_status.clone(),
        cpa_no: p.cpa_no.clone(),
        firm: p.firm.clone(),
    }
}

/// 确认信息 and 上传材料: the personal information (read-only; changed on the
/// regulator's platform), the year's figures, the materials for the 离退休
/// choice, and what 确认申请 will need.
#[derive(Serialize, ToSchema)]
pub struct CheckOverviewOut {
    pub year: i32,
    pub personal: PersonalOut,
    /// Where personal information is changed.
    pub regulator_url: String,
    #[schema(value_type = f64)]
    pub hours_required: Hours,
    #[schema(value_type = f64)]
    pub hours_done: Hours,
    pub window_start: String,
    pub window_end: String,
    /// 所属注协自定义提示信息, shown before applying.
    pub pre_notice: String,
    pub retired: bool,
    pub materials: Vec<MaterialOut>,
    pub drafts: Vec<FileOut>,
    pub blockers: Vec<String>,
    /// face (人脸认证), or none (a resubmission, or verified in person).
    pub identity_needed: String,
    pub verified_in_person: bool,
    /// Whether an online face check is possible for this CPA.
    pub face_online: bool,
    /// 剩余人脸认证次数 today.
    pub face_left: u32,
    pub current_id: Option<i32>,
    pub current_state: Option<CheckStateOut>,
    pub return_reason: Option<String>,
    pub return_items: Vec<String>,
    /// The seed's words before the face check.
    pub face_prompt: String,
}

#[utoipa::path(get, path = "/me/cpa-check", security(("bearer" = [])), responses((status = 200, body = CheckOverviewOut)))]
pub async fn overview(State(s): State<AppState>, who: ApiAuth) -> ApiResult<CheckOverviewOut> {
    let o = cpa_check::overview(&s.app, &who.0).await?;
    Ok(Json(CheckOverviewOut {
        year: o.year,
        personal: personal_out(&o.personal),
        regulator_url: cpa_check::REGULATOR_URL.into(),
        hours_required: o.hours.required,
        hours_done: o.hours.done,
        window_start: o.settings.window_start.to_string(),
        window_end: o.settings.window_end.to_string(),
        pre_notice: o.settings.pre_notice.clone(),
        retired: o.retired,
        materials: o.materials().iter().map(|m| MaterialOut { name: m.name.clone(), required: m.required }).collect(),
        drafts: o.drafts.iter().map(file_out).collect(),
        blockers: o.blockers(),
        identity_needed: if o.identity_needed().is_some() { "face" } else { "none" }.into(),
        verified_in_person: o.verified_in_person,
        face_online: o.face_online,
        face_left: o.face_left,
        current_id: o.current.as_ref().map(|c| c.id),
        current_state: o.current.as_ref().map(|c| state_out(c.state)),
        return_reason: o.current.as_ref().and_then(|c| c.return_reason.clone()),
        return_items: o.current.as_ref().map(|c| c.return_items.clone()).unwrap_or_default(),
        face_prompt: crate::pages::cpa_check::FACE_PROMPT.into(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct RetiredIn {
    /// 是否离退休; kept for the next year too.
    pub retired: bool,
}

#[utoipa::path(post, path = "/me/cpa-check/retired", security(("bearer" = [])), request_body = RetiredIn, responses((status = 204)))]
pub async fn retired(
    State(s): State<AppState>,
    who: ApiAuth,
    Json(r): Json<RetiredIn>,
) -> Result<StatusCode, ApiError> {
    cpa_check::choose_retired(&s.app, &who.0, r.retired).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// 上传材料: one of the materials of the CPA's list (at most 10 files of 5 MB).
#[utoipa::path(post, path = "/me/cpa-check/materials", security(("bearer" = [])), request_body = FileIn,
    responses((status = 200, body = FileOut), (status = 422, body = ApiErrorBody)))]
pub async fn material(State(s): State<AppState>, who: ApiAuth, Json(f): Json<FileIn>) -> ApiResult<FileOut> {
    cpa_check::may_upload(&who.0)?;
    let bytes = cmis_app::member_inspection::decode_file(&f.data_base64)?;
    let file = cmis_app::attachments::Incoming::whole(&f.file_name, bytes);
    let a = cpa_check::upload_material(&s.app, &who.0, &f.label, file).await?;
    Ok(Json(file_out(&a)))
}

#[derive(Deserialize, ToSchema)]
pub struct CheckApplyIn {
    /// phone (the client goes on to the check itself) or pc (it shows `url` as a QR code).
    #[serde(default)]
    pub channel: String,
}

#[derive(Serialize, ToSchema)]
pub struct CheckAppliedOut {
    /// submitted (sent to the firm), or face (a face check began).
    pub outcome: String,
    /// The application, when submitted.
    pub id: Option<i32>,
    pub state: Option<CheckStateOut>,
    /// 地方注协初始化录入的提示信息, when submitted.
    pub notice: Option<String>,
    /// The face check, when one began: poll /me/cpa-check/face-checks/{face_check}.
    pub face_check: Option<i32>,
    /// The page that begins the check on a phone (the QR code's content).
    pub url: Option<String>,
    pub expires_at: Option<String>,
    /// 剩余人脸认证次数 after this one.
    pub face_left: Option<u32>,
}

/// 确认申请: submitted to the firm at once when no face check is needed (a
/// resubmission after a return, or an in-person verification); otherwise a
/// face check begins (at most 20 a day).
#[utoipa::path(post, path = "/me/cpa-check", security(("bearer" = [])), request_body = CheckApplyIn,
    responses((status = 200, body = CheckAppliedOut), (status = 422, body = ApiErrorBody)))]
pub async fn apply(State(s): State<AppState>, who: ApiAuth, Json(a): Json<CheckApplyIn>) -> ApiResult<CheckAppliedOut> {
    let channel = if a.channel == "phone" { face::Channel::Phone } else { face::Channel::Pc };
    Ok(Json(match cpa_check::apply(&s.app, &who.0, channel).await? {
        Applied::Submitted(d) => CheckAppliedOut {
            outcome: "submitted".into(),
            id: Some(d.id),
            state: Some(state_out(d.state)),
            notice: Some(d.notice),
            face_check: None,
            url: None,
            expires_at: None,
            face_left: None,
        },
        Applied::Face(f) => CheckAppliedOut {
            outcome: "face".into(),
            id: None,
            state: None,
            notice: None,
            face_check: Some(f.id),
            url: Some(f.url),
            expires_at: Some(f.expires_at.to_rfc3339()),
            face_left: Some(f.left),
        },
    }))
}

#[derive(Serialize, ToSchema)]
pub struct FaceStatusOut {
    pub id: i32,
    /// started, passed, failed or expired.
    pub state: String,
    pub message: Option<String>,
    /// The application a pass submitted.
    pub case_id: Option<i32>,
    pub success_notice: Option<String>,
}

/// Where a face check stands (the provider is asked when its notification is late).
#[utoipa::path(get, path = "/me/cpa-check/face-checks/{id}", security(("bearer" = [])), responses((status = 200, body = FaceStatusOut)))]
pub async fn face_status(State(s): State<AppState>, who: ApiAuth, Path(id): Path<i32>) -> ApiResult<FaceStatusOut> {
    let st = face::status(&s.app, &who.0, id).await?;
    Ok(Json(FaceStatusOut {
        id: st.id,
        success_notice: st.case_id.map(|_| st.success_notice.clone()),
        state: st.state,
        message: st.message,
        case_id: st.case_id,
    }))
}

#[derive(Deserialize, IntoParams)]
pub struct HistoryQuery {
    pub year: Option<i32>,
    /// A state code.
    pub state: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CheckHistoryOut {
    pub id: i32,
    pub year: i32,
    pub state: CheckStateOut,
    pub retired: bool,
    /// face or in_person.
    pub identity: String,
    pub submitted_at: String,
}

fn history_out(r: HistoryRow) -> CheckHistoryOut {
    CheckHistoryOut {
        id: r.id,
        year: r.year,
        state: state_out(r.state),
        retired: r.retired,
        identity: r.identity,
        submitted_at: r.submitted_at.to_rfc3339(),
    }
}

/// 年检信息查询 / 历年年检结果查询.
#[utoipa::path(get, path = "/me/cpa-checks", security(("bearer" = [])), params(HistoryQuery), responses((status = 200, body = [CheckHistoryOut])))]
pub async fn history(
    State(s): State<AppState>,
    who: ApiAuth,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<Vec<CheckHistoryOut>> {
    let state = match q.state.as_deref() {
        None | Some("") => None,
        Some(c) => Some(CheckState::parse(c).map_err(|_| cmis_app::FieldErrors::one("state", "审核状态不正确"))?),
    };
    Ok(Json(cpa_check::history(&s.app, &who.0, q.year, state).await?.into_iter().map(history_out).collect()))
}

/// 查看: 个人信息, 年检信息, 培训学时 and the trail.
#[utoipa::path(get, path = "/me/cpa-checks/{id}", security(("bearer" = [])), responses((status = 200, body = serde_json::Value)))]
pub async fn one(State(s): State<AppState>, who: ApiAuth, Path(id): Path<i32>) -> ApiResult<serde_json::Value> {
    let v = cpa_check::view(&s.app, &who.0, id).await?;
    Ok(Json(serde_json::to_value(&v).map_err(anyhow::Error::from).map_err(AppError::from)?))
}

/// 年检二维码: the same every year.
#[utoipa::path(get, path = "/me/cpa-check-qr", security(("bearer" = [])), responses((status = 200, body = QrOut)))]
pub async fn cpa_qr(State(s): State<AppState>, who: ApiAuth) -> ApiResult<QrOut> {
    let q = qr::of_cpa(&s.app, &who.0).await?;
    Ok(Json(QrOut { payload: q.payload, url: q.url }))
}

/// The notification's body, for the document (the provider's protocol).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FaceNotificationIn {
    /// Unique per notification: a second one with the same id is not acted on.
    pub notice_id: String,
    /// The provider's token of the check.
    pub biz_token: String,
    /// The system's own reference, given when the check was started.
    pub extra: String,
    /// RFC 3339; more than five minutes from now is refused.
    pub sent_at: String,
    /// code (0 = passed), liveness_code, liveness_msg, compare_code, compare_msg, similarity (0–100), best_frame (base64, optional).
    pub result: serde_json::Value,
}

/// The face provider's notification of a result: signed (HMAC-SHA256 of the
/// body in `X-Face-Signature`), at most five minutes old, acted on once by its
/// `notice_id`. Answers `SUCCESS` when taken or already taken (so the provider
/// stops repeating it), 401 for a bad signature, 422 for a stale one.
#[utoipa::path(post, path = "/face/notify", request_body = FaceNotificationIn,
    responses((status = 200, description = "SUCCESS"), (status = 401), (status = 422)))]
pub async fn notify(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    match face::notified(&s.app, &body, signature).await {
        Ok(face::Noticed::Taken) => (StatusCode::OK, "SUCCESS").into_response(),
        Ok(face::Noticed::Replayed) => (StatusCode::OK, "SUCCESS").into_response(),
        Err(AppError::Unauthenticated) => (StatusCode::UNAUTHORIZED, "BAD SIGNATURE").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "face notification refused");
            (crate::error::WebError::from(e).status(), "FAIL").into_response()
        }
    }
}
