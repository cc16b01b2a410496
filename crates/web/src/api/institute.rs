//! The institutes' API: their own learning platforms post learning records,
//! signed with a key from 接口密钥 (no session, no bearer token); and the
//! learner's 学时查询.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use cmis_app::AppError;
use cmis_app::learning::ledger;
use cmis_app::learning::records::{self, KEY_HEADER, SIGNATURE_HEADER, TIME_HEADER};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiAuth, ApiError, ApiResult};
use crate::AppState;
use crate::error::WebError;

/// Where records are posted, under /api/v1.
pub const RECORDS_PATH: &str = "/institute/learning-records";
/// 10,000 records of a few hundred bytes each, with room to spare.
const MAX_BODY: usize = 16 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(RECORDS_PATH, post(post_records).layer(DefaultBodyLimit::max(MAX_BODY)))
        .route("/me/learning-hours", get(hours))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct HoursQuery {
    /// The year; this year when left out.
    year: Option<i32>,
}

#[derive(Serialize, ToSchema)]
pub struct HoursOut {
    year: i32,
    /// 应完成学时
    required: String,
    /// 已记录学时
    done: String,
    /// 其中职业道德
    ethics: String,
    /// Evaluated lessons credited tomorrow.
    pending: String,
    /// Finished lessons waiting for 评价.
    to_evaluate: u64,
}

/// 学时查询 of the learner (a CPA or a non-practicing member): the year's
/// hours owed and recorded, from the ledger.
#[utoipa::path(get, path = "/me/learning-hours", params(HoursQuery), security(("bearer" = [])),
    responses((status = 200, body = HoursOut), (status = 401, body = super::ApiErrorBody), (status = 403, body = super::ApiErrorBody)))]
pub async fn hours(
    State(s): State<AppState>,
    ApiAuth(actor, _): ApiAuth,
    Query(q): Query<HoursQuery>,
) -> ApiResult<HoursOut> {
    let this = cmis_app::learning::year_of(&s.app);
    let year = q.year.filter(|y| cmis_domain::YEARS.contains(y) && *y <= this).unwrap_or(this);
    let m = ledger::summary(&s.app, &actor, year).await?;
    Ok(Json(HoursOut {
        year,
        required: m.required.to_string(),
        done: m.done.to_string(),
        ethics: m.ethics.to_string(),
        pending: m.pending.to_string(),
        to_evaluate: m.to_evaluate,
    }))
}

/// One learning record from an institute's platform.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct RecordIn {
    /// The institute's own id of the record: sending it again changes nothing.
    record_id: String,
    /// `cpa` or `member`.
    learner_type: String,
    /// 注册会计师证书编号 or 非执业会员证书编号.
    learner_no: String,
    year: i32,
    /// Hours, at most two decimals (number or string). Not needed for a reversal.
    hours: Option<String>,
    /// `professional` (专业) or `ethics` (职业道德).
    category: Option<String>,
    /// `online` (网络) or `face_to_face` (面授).
    form: Option<String>,
    title: Option<String>,
    /// YYYY-MM-DD within `year`.
    learned_on: Option<String>,
    /// A reversal: the record_id of the institute's record it takes back.
    reverses: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct RecordsIn {
    /// At most 10,000.
    records: Vec<RecordIn>,
}

#[derive(Serialize, ToSchema)]
pub struct RefusalOut {
    index: usize,
    record_id: String,
    reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct PostedOut {
    accepted: usize,
    duplicates: usize,
    refused: Vec<RefusalOut>,
}

#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow)]
    records: Vec<&'a serde_json::value::RawValue>,
}

/// 提交学时记录: each row accepted, already there, or refused with its reason.
/// Signed: `X-Institute-Key`, `X-Institute-Timestamp` (Unix seconds, within
/// five minutes) and `X-Institute-Signature`, the hex HMAC-SHA256 under the
/// key's secret of "POST\n/api/v1/institute/learning-records\n{timestamp}\n{hex SHA-256 of the body}".
/// Two calls of an institute run at once; a third is answered 429 and saves
/// nothing (send it again when one has returned).
#[utoipa::path(post, path = "/institute/learning-records", request_body = RecordsIn,
    responses((status = 200, body = PostedOut), (status = 401, body = super::ApiErrorBody),
        (status = 413), (status = 422, body = super::ApiErrorBody), (status = 429, body = super::ApiErrorBody)))]
pub async fn post_records(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> ApiResult<PostedOut> {
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let path = format!("/api/v1{RECORDS_PATH}");
    let caller =
        records::verify(&s.app, &h(KEY_HEADER), &h(TIME_HEADER), &h(SIGNATURE_HEADER), "POST", &path, &body).await?;
    let _slot = s.institute_calls.enter(caller.institute_id).ok_or_else(|| {
        WebError::Busy(format!("本学院已有{}个学时记录请求正在处理，请在其返回后再提交", crate::rate::INSTITUTE_CALLS))
    })?;
    let parsed: Body = serde_json::from_slice(&body)
        .map_err(|_| ApiError::from(AppError::Refused("请求体应为 {\"records\": [...]} 的JSON".into())))?;
    let rows: Vec<&str> = parsed.records.iter().map(|r| r.get()).collect();
    let posted = records::post(&s.app, &caller, &rows).await?;
    Ok(Json(PostedOut {
        accepted: posted.accepted,
        duplicates: posted.duplicates,
        refused: posted
            .refused
            .into_iter()
            .map(|r| RefusalOut { index: r.index, record_id: r.record_id, reason: r.reason })
            .collect(),
    }))
}
