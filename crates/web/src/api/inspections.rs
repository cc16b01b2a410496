//! 非执业会员年检 in the JSON API: the member's flow (the step's table,
//! materials, 去支付 / 确认已缴费, 确认申请, 暂缓年检申请, history, the QR
//! code) and the association's 会费确认 (the review itself is `reviews`). The
//! same use cases as the pages.

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use cmis_app::AppError;
use cmis_app::attachments::Attachment;
use cmis_app::member_inspection::{self, Done, HistoryRow, fees, qr};
use cmis_app::scope::Permission;
use cmis_domain::Hours;
use cmis_domain::member_inspection::InspectionState;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiAuth, ApiErrorBody, ApiResult};
use crate::AppState;
use crate::shell::needs;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/me/member-inspection", get(overview).post(apply))
        .route("/me/member-inspection/deferral", post(defer))
        // A 5 MB file is about 6.7 MB in base64 (a 50 MB proof goes through the pages).
        .route(
            "/me/member-inspection/materials",
            post(material).layer(axum::extract::DefaultBodyLimit::max(8 * 1024 * 1024)),
        )
        .route("/me/member-inspection/proofs", post(proof))
        .route("/me/member-inspection/fee/order", post(fee_order))
        .route("/me/member-inspection/fee/paid", post(fee_paid))
        .route("/me/member-inspections", get(history))
        .route("/me/member-inspections/{id}", get(one))
        .route("/me/member-inspection-qr", get(member_qr))
        .route_layer(needs(Permission::ApplyMemberInspection))
        .merge(
            Router::new()
                .route("/association/member-inspection-fees/confirm", post(confirm_fees))
                .route_layer(needs(Permission::ConfirmFees)),
        )
}

#[derive(Serialize, ToSchema)]
pub struct StateOut {
    /// submitted, passed, returned, failed, deferral_submitted, deferred, deferral_returned
    pub code: String,
    pub label: String,
}

fn state_out(s: InspectionState) -> StateOut {
    StateOut { code: s.code().into(), label: s.label().into() }
}

#[derive(Serialize, ToSchema)]
pub struct MaterialOut {
    pub name: String,
    pub required: bool,
}

#[derive(Serialize, ToSchema)]
pub struct FileOut {
    pub id: i32,
    pub file_name: String,
    pub label: Option<String>,
    pub size_bytes: i64,
}

pub(super) fn file_out(a: &Attachment) -> FileOut {
    FileOut { id: a.id, file_name: a.file_name.clone(), label: a.label.clone(), size_bytes: a.size_bytes }
}

/// The 年检申请 step: the seed's table, and what stops the member.
#[derive(Serialize, ToSchema)]
pub struct OverviewOut {
    /// 年检年度
    pub year: i32,
    /// 最后年检年度
    pub last_year: Option<i32>,
    /// 累计应完成学时
    #[schema(value_type = f64)]
    pub hours_required: Hours,
    /// 累计已完成学时
    #[schema(value_type = f64)]
    pub hours_done: Hours,
    /// 缴费情况: exempt (免会费), confirmed (已确认), unpaid (去支付), pending_confirmation (待确认)
    pub fee_status: String,
    pub fee_label: String,
    pub fee_amount: String,
    pub window_start: String,
    pub window_end: String,
    pub materials: Vec<MaterialOut>,
    pub pre_notice: String,
    /// Why 确认申请 is refused now; empty when nothing stops it but the fee.
    pub blockers: Vec<String>,
    pub fee_blocker: Option<String>,
    pub current: Option<CurrentOut>,
    /// Uploaded, not yet submitted.
    pub drafts: Vec<FileOut>,
    pub proofs: Vec<FileOut>,
    pub online_payment: bool,
    pub commitment: String,
    pub deferral_commitment: String,
}

#[derive(Serialize, ToSchema)]
pub struct CurrentOut {
    pub id: i32,
    pub state: StateOut,
    pub return_reason: Option<String>,
    pub return_items: Vec<String>,
}

/// 年检申请: the step's table and its blockers.
#[utoipa::path(get, path = "/me/member-inspection", security(("bearer" = [])), responses((status = 200, body = OverviewOut)))]
pub async fn overview(State(s): State<AppState>, who: ApiAuth) -> ApiResult<OverviewOut> {
    let o = member_inspection::overview(&s.app, &who.0).await?;
    Ok(Json(OverviewOut {
        year: o.year,
        last_year: o.last_year,
        hours_required: o.hours.required,
        hours_done: o.hours.done,
        fee_status: o.fee.code().into(),
        fee_label: o.fee.label().into(),
        fee_amount: o.fee_amount.clone(),
        window_start: o.settings.window_start.to_string(),
        window_end: o.settings.window_end.to_string(),
        materials: o
            .settings
            .materials
            .iter()
            .map(|m| MaterialOut { name: m.name.clone(), required: m.required })
            .collect(),
        pre_notice: o.settings.pre_notice.clone(),
        blockers: o.blockers(false),
        fee_blocker: o.fee_blocker().map(str::to_owned),
        current: o.current.as_ref().map(|c| CurrentOut {
            id: c.id,
            state: state_out(c.state),
            return_reason: c.return_reason.clone(),
            return_items: c.return_items.clone(),
        }),
        drafts: o.drafts.iter().map(file_out).collect(),
        proofs: o.proofs.iter().map(file_out).collect(),
        online_payment: o.online_payment,
        commitment: member_inspection::COMMITMENT.into(),
        deferral_commitment: member_inspection::DEFERRAL_COMMITMENT.into(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct ApplyIn {
    /// The 承诺书 was read and ticked.
    pub commitment: bool,
}

#[derive(Serialize, ToSchema)]
pub struct DoneOut {
    pub id: i32,
    pub year: i32,
    pub state: StateOut,
    /// 省注协自定义通知
    pub notice: String,
}

fn done_out(d: Done) -> DoneOut {
    DoneOut { id: d.id, year: d.year, state: state_out(d.state), notice: d.notice }
}

/// 确认申请 (also 再次申请 after a return).
#[utoipa::path(post, path = "/me/member-inspection", security(("bearer" = [])), request_body = ApplyIn,
    responses((status = 200, body = DoneOut), (status = 422, body = ApiErrorBody)))]
pub async fn apply(State(s): State<AppState>, who: ApiAuth, Json(a): Json<ApplyIn>) -> ApiResult<DoneOut> {
    Ok(Json(done_out(member_inspection::apply(&s.app, &who.0, a.commitment).await?)))
}

#[derive(Deserialize, ToSchema)]
pub struct DeferIn {
    pub commitment: bool,
    /// 暂缓原因
    pub reason: String,
}

/// 暂缓年检申请 → 确定提交 (upload the proof first).
#[utoipa::path(post, path = "/me/member-inspection/deferral", security(("bearer" = [])), request_body = DeferIn,
    responses((status = 200, body = DoneOut), (status = 422, body = ApiErrorBody)))]
pub async fn defer(State(s): State<AppState>, who: ApiAuth, Json(d): Json<DeferIn>) -> ApiResult<DoneOut> {
    Ok(Json(done_out(member_inspection::defer(&s.app, &who.0, d.commitment, &d.reason).await?)))
}

#[derive(Deserialize, ToSchema)]
pub struct FileIn {
    /// For materials: the association's material name.
    #[serde(default)]
    pub label: String,
    pub file_name: String,
    /// The file, base64: pdf, jpg, png or xls, checked by content.
    pub data_base64: String,
}

/// 上传材料 (at most 5 files of 5 MB).
#[utoipa::path(post, path = "/me/member-inspection/materials", security(("bearer" = [])), request_body = FileIn,
    responses((status = 200, body = FileOut), (status = 422, body = ApiErrorBody)))]
pub async fn material(State(s): State<AppState>, who: ApiAuth, Json(f): Json<FileIn>) -> ApiResult<FileOut> {
    let bytes = member_inspection::decode_file(&f.data_base64)?;
    let file = cmis_app::attachments::Incoming::whole(&f.file_name, bytes);
    let a = member_inspection::upload_material(&s.app, &who.0, &f.label, file).await?;
    Ok(Json(file_out(&a)))
}

/// 暂缓证明材料 (at most 5 files of 50 MB).
#[utoipa::path(post, path = "/me/member-inspection/proofs", security(("bearer" = [])), request_body = FileIn,
    responses((status = 200, body = FileOut), (status = 422, body = ApiErrorBody)))]
pub async fn proof(State(s): State<AppState>, who: ApiAuth, Json(f): Json<FileIn>) -> ApiResult<FileOut> {
    let bytes = member_inspection::decode_file(&f.data_base64)?;
    let file = cmis_app::attachments::Incoming::whole(&f.file_name, bytes);
    let a = member_inspection::upload_proof(&s.app, &who.0, file).await?;
    Ok(Json(file_out(&a)))
}

#[derive(Serialize, ToSchema)]
pub struct PaymentOut {
    pub order_no: String,
    pub amount: String,
    /// What the payment QR code carries.
    pub code_url: String,
}

/// 去支付: an order with the payment provider.
#[utoipa::path(post, path = "/me/member-inspection/fee/order", security(("bearer" = [])),
    responses((status = 200, body = PaymentOut), (status = 422, body = ApiErrorBody)))]
pub async fn fee_order(State(s): State<AppState>, who: ApiAuth) -> ApiResult<PaymentOut> {
    let p = fees::start_payment(&s.app, &who.0).await?;
    Ok(Json(PaymentOut { order_no: p.order_no, amount: p.amount, code_url: p.code_url }))
}

#[derive(Serialize, ToSchema)]
pub struct FeeOut {
    pub fee_status: String,
    pub fee_label: String,
}

/// 确认已缴费: 已确认 if the provider confirmed, otherwise 待确认.
#[utoipa::path(post, path = "/me/member-inspection/fee/paid", security(("bearer" = [])), responses((status = 200, body = FeeOut)))]
pub async fn fee_paid(State(s): State<AppState>, who: ApiAuth) -> ApiResult<FeeOut> {
    let f = fees::claim_paid(&s.app, &who.0).await?;
    Ok(Json(FeeOut { fee_status: f.code().into(), fee_label: f.label().into() }))
}

#[derive(Deserialize, IntoParams)]
pub struct HistoryQuery {
    /// 年检年度
    pub year: Option<i32>,
    /// 审核状态 code
    pub state: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct HistoryOut {
    pub id: i32,
    pub year: i32,
    pub state: StateOut,
    pub fee_label: String,
    #[schema(value_type = f64)]
    pub hours_required: Hours,
    #[schema(value_type = f64)]
    pub hours_done: Hours,
    pub association: String,
    pub submitted_at: String,
}

fn history_out(r: HistoryRow) -> HistoryOut {
    HistoryOut {
        id: r.id,
        year: r.year,
        state: state_out(r.state),
        fee_label: r.fee.label().into(),
        hours_required: r.hours_required,
        hours_done: r.hours_done,
        association: r.association,
        submitted_at: r.submitted_at.to_rfc3339(),
    }
}

/// 年检信息查询: every year's application.
#[utoipa::path(get, path = "/me/member-inspections", security(("bearer" = [])), params(HistoryQuery),
    responses((status = 200, body = Vec<HistoryOut>)))]
pub async fn history(
    State(s): State<AppState>,
    who: ApiAuth,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<Vec<HistoryOut>> {
    let st = q.state.as_deref().and_then(|c| InspectionState::parse(c).ok());
    let rows = member_inspection::history(&s.app, &who.0, q.year, st).await?;
    Ok(Json(rows.into_iter().map(history_out).collect()))
}

/// 查看: personal information, inspection information, training hours and the approval trail.
#[utoipa::path(get, path = "/me/member-inspections/{id}", security(("bearer" = [])),
    responses((status = 200, body = Object, description = "the application with profile, records, files and trail")))]
pub async fn one(State(s): State<AppState>, who: ApiAuth, Path(id): Path<i32>) -> ApiResult<serde_json::Value> {
    let v = member_inspection::view(&s.app, &who.0, id).await?;
    Ok(Json(serde_json::to_value(v).map_err(anyhow::Error::from)?))
}

#[derive(Serialize, ToSchema)]
pub struct QrOut {
    /// `CMISQ1.{会员编号}.{Ed25519 signature}`; the same every year.
    pub payload: String,
    /// What the QR code carries: the public results page.
    pub url: String,
}

/// 年检二维码.
#[utoipa::path(get, path = "/me/member-inspection-qr", security(("bearer" = [])), responses((status = 200, body = QrOut)))]
pub async fn member_qr(State(s): State<AppState>, who: ApiAuth) -> ApiResult<QrOut> {
    let q = qr::of_member(&s.app, &who.0).await?;
    Ok(Json(QrOut { payload: q.payload, url: q.url }))
}

#[derive(Deserialize, ToSchema)]
pub struct IdsIn {
    pub ids: Vec<i32>,
}

#[derive(Serialize, ToSchema)]
pub struct ConfirmedOut {
    pub confirmed: usize,
}

/// 会费确认 of 待确认 payments.
#[utoipa::path(post, path = "/association/member-inspection-fees/confirm", security(("bearer" = [])), request_body = IdsIn,
    responses((status = 200, body = ConfirmedOut)))]
pub async fn confirm_fees(State(s): State<AppState>, who: ApiAuth, Json(b): Json<IdsIn>) -> ApiResult<ConfirmedOut> {
    if b.ids.is_empty() {
        return Err(AppError::Refused("请勾选要确认的会费".into()).into());
    }
    Ok(Json(ConfirmedOut { confirmed: fees::confirm(&s.app, &who.0, &b.ids).await? }))
}
