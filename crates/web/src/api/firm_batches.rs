//! 事务所年检复核 and the associations' progress report in the JSON API: a
//! firm's batches (申请, 查看, 撤回, 再次申请-修改附件 and the materials), its
//! 注师待申请 and 提醒, 年检信息查询 and its year at a glance; 注册会计师年检
//! 进度; 委托市注协审核. The firm's 注师待审核 and the associations' batch
//! queue are the review kernel's (/reviews/cpa-checks, /reviews/cpa-batches).
//! The same use cases as the pages.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use cmis_app::cpa_check::batch::{self, BatchFilter, FirmCpaFilter, NotAppliedFilter, Selection};
use cmis_app::cpa_check::progress::{self, ProgressFilter, Tally};
use cmis_app::scope::Permission;
use cmis_domain::coded::Coded;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::inspections::{FileIn, FileOut, MaterialOut, file_out};
use super::reviews::{CodedOut, StepOut};
use super::{ApiAuth, ApiError, ApiErrorBody, ApiResult};
use crate::AppState;
use crate::shell::needs;

pub fn routes() -> Router<AppState> {
    let firm = Router::new()
        .route("/firm/cpa-batches", get(batches).post(send))
        .route("/firm/cpa-batches/{id}", get(one))
        .route("/firm/cpa-batches/{id}/withdraw", post(withdraw))
        .route("/firm/cpa-batches/{id}/resubmit", post(resubmit))
        .route("/firm/cpa-batch-materials", get(materials))
        // A 5 MB file is about 6.7 MB in base64.
        .route(
            "/firm/cpa-batch-materials/files",
            post(upload).layer(axum::extract::DefaultBodyLimit::max(8 * 1024 * 1024)),
        )
        .route("/firm/not-applied", get(not_applied))
        .route("/firm/reminders", post(remind))
        .route("/firm/cpas", get(firm_cpas))
        .route("/firm/cpa-year", get(firm_year))
        .route_layer(needs(Permission::SendCpaBatches));
    let staff =
        Router::new().route("/cpa-check-progress", get(progress_of)).route_layer(needs(Permission::InspectionProgress));
    let delegation =
        Router::new().route("/cpa-review-delegation", post(delegate)).route_layer(needs(Permission::CpaCheckSettings));
    firm.merge(staff).merge(delegation)
}

fn coded<C: Coded>(c: C) -> CodedOut {
    CodedOut { code: c.code().into(), label: c.label().into() }
}

#[derive(Deserialize, IntoParams)]
pub struct BatchesQuery {
    pub year: Option<i32>,
    /// true: 已退回; otherwise 已提交省注协.
    #[serde(default)]
    pub returned: bool,
    pub page: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct BatchRowOut {
    pub id: i32,
    /// 年检批次编号: {事务所编号}-{年度}-{序号}.
    pub batch_no: String,
    pub firm: String,
    pub year: i32,
    /// 申请时间.
    pub submitted_at: String,
    /// 处理状态: submitted 待审核, in_review 审核中, returned 已退回, withdrawn 已撤回, decided 已审核.
    pub state: CodedOut,
    pub cpas: u64,
    pub return_reason: Option<String>,
    pub may_withdraw: bool,
}

#[derive(Serialize, ToSchema)]
pub struct BatchesOut {
    pub items: Vec<BatchRowOut>,
    pub page: u64,
    pub pages: u64,
    pub total: u64,
}

/// 已提交省注协 or 已退回.
#[utoipa::path(get, path = "/firm/cpa-batches", security(("bearer" = [])), params(BatchesQuery),
    responses((status = 200, body = BatchesOut), (status = 403, body = ApiErrorBody)))]
pub async fn batches(State(s): State<AppState>, who: ApiAuth, Query(q): Query<BatchesQuery>) -> ApiResult<BatchesOut> {
    let f = BatchFilter { year: q.year, returned: q.returned, page: q.page.unwrap_or(1) };
    let p = batch::batches(&s.app, &who.0, &f).await?;
    Ok(Json(BatchesOut {
        page: p.page,
        pages: p.pages,
        total: p.total,
        items: p
            .items
            .into_iter()
            .map(|r| BatchRowOut {
                may_withdraw: r.may_withdraw(),
                id: r.id,
                batch_no: r.batch_no,
                firm: r.firm,
                year: r.year,
                submitted_at: r.submitted_at.to_rfc3339(),
                state: coded(r.state),
                cpas: r.cpas,
                return_reason: r.return_reason,
            })
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct SendIn {
    /// The applications ticked in 注师待审核 (/reviews/cpa-checks), at most 5000.
    #[serde(default)]
    pub ids: Vec<i32>,
    /// Every application of the year waiting for the firm instead.
    #[serde(default)]
    pub all: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SentOut {
    pub id: i32,
    pub batch_no: String,
    pub cpas: usize,
}

/// 申请: the applications go to the provincial association as one batch,
/// with the materials uploaded to /firm/cpa-batch-materials/files. All or
/// nothing: one already sent or returned meanwhile stops the batch (422).
#[utoipa::path(post, path = "/firm/cpa-batches", security(("bearer" = [])), request_body = SendIn,
    responses((status = 200, body = SentOut), (status = 422, body = ApiErrorBody)))]
pub async fn send(State(s): State<AppState>, who: ApiAuth, Json(b): Json<SendIn>) -> ApiResult<SentOut> {
    let selection = if b.all { Selection::AllWaiting } else { Selection::Ticked(b.ids) };
    let sent = batch::send(&s.app, &who.0, &selection).await?;
    Ok(Json(SentOut { id: sent.id, batch_no: sent.batch_no, cpas: sent.cpas }))
}

#[derive(Deserialize, IntoParams)]
pub struct PageQuery {
    pub page: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct BatchCpaOut {
    /// The application (/reviews/cpa-checks/{case_id}).
    pub case_id: i32,
    pub cpa_no: String,
    pub name: String,
    pub state: CodedOut,
    pub retired: bool,
    /// The face check (time, similarity) or the in-person verification.
    pub verification: String,
    pub hours_required: String,
    pub hours_done: String,
    pub files: u64,
}

#[derive(Serialize, ToSchema)]
pub struct BatchOut {
    pub id: i32,
    pub batch_no: String,
    pub firm: String,
    pub year: i32,
    pub state: CodedOut,
    pub submitted_at: String,
    pub return_reason: Option<String>,
    pub files: Vec<FileOut>,
    /// A page of its CPAs (50 a page).
    pub cpas: Vec<BatchCpaOut>,
    pub page: u64,
    pub pages: u64,
    pub total: u64,
    pub may_withdraw: bool,
    pub may_resubmit: bool,
    pub trail: Vec<StepOut>,
}

/// 查看: the batch's CPAs and materials, and its trail.
#[utoipa::path(get, path = "/firm/cpa-batches/{id}", security(("bearer" = [])), params(("id" = i32, Path), PageQuery),
    responses((status = 200, body = BatchOut), (status = 404, body = ApiErrorBody)))]
pub async fn one(
    State(s): State<AppState>,
    who: ApiAuth,
    Path(id): Path<i32>,
    Query(q): Query<PageQuery>,
) -> ApiResult<BatchOut> {
    let v = batch::view(&s.app, &who.0, id, q.page.unwrap_or(1)).await?;
    Ok(Json(BatchOut {
        may_withdraw: v.may_withdraw(),
        may_resubmit: v.may_resubmit(),
        id: v.id,
        batch_no: v.batch_no,
        firm: v.firm,
        year: v.year,
        state: coded(v.state),
        submitted_at: v.submitted_at.to_rfc3339(),
        return_reason: v.return_reason,
        files: v.files.iter().map(file_out).collect(),
        page: v.cpas.page,
        pages: v.cpas.pages,
        total: v.cpas.total,
        cpas: v
            .cpas
            .items
            .into_iter()
            .map(|c| BatchCpaOut {
                case_id: c.case_id,
                cpa_no: c.cpa_no,
                name: c.name,
                state: coded(c.state),
                retired: c.retired,
                verification: c.verification,
                hours_required: c.hours_required.to_string(),
                hours_done: c.hours_done.to_string(),
                files: c.files,
            })
            .collect(),
        trail: v
            .trail
            .into_iter()
            .map(|t| StepOut { node: t.node, unit: t.unit, opinion: t.opinion, at: t.at.to_rfc3339() })
            .collect(),
    }))
}

/// 撤回: only while the association has not started on the batch (422 after).
#[utoipa::path(post, path = "/firm/cpa-batches/{id}/withdraw", security(("bearer" = [])), params(("id" = i32, Path)),
    responses((status = 204), (status = 422, body = ApiErrorBody)))]
pub async fn withdraw(State(s): State<AppState>, who: ApiAuth, Path(id): Path<i32>) -> Result<StatusCode, ApiError> {
    batch::withdraw(&s.app, &who.0, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct ResubmitIn {
    /// Files of the batch to take off (the new ones are the uploaded drafts).
    #[serde(default)]
    pub remove: Vec<i32>,
}

/// 再次申请-修改附件 → 确定: a returned batch again, under its number.
#[utoipa::path(post, path = "/firm/cpa-batches/{id}/resubmit", security(("bearer" = [])), params(("id" = i32, Path)),
    request_body = ResubmitIn, responses((status = 204), (status = 422, body = ApiErrorBody)))]
pub async fn resubmit(
    State(s): State<AppState>,
    who: ApiAuth,
    Path(id): Path<i32>,
    Json(r): Json<ResubmitIn>,
) -> Result<StatusCode, ApiError> {
    batch::resubmit(&s.app, &who.0, id, &r.remove).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct BatchMaterialsOut {
    pub year: i32,
    /// The materials the province asks of a batch (* 社保证明材料).
    pub materials: Vec<MaterialOut>,
    /// Uploaded, not yet sent.
    pub drafts: Vec<FileOut>,
    /// 支持类型: pdf、jpg、png、xls, 最多可上传10个附件, 单个附件大小不能超过5MB
    pub hint: String,
}

/// 年检信息: what the 申请 dialog asks for, and what was uploaded.
#[utoipa::path(get, path = "/firm/cpa-batch-materials", security(("bearer" = [])),
    responses((status = 200, body = BatchMaterialsOut)))]
pub async fn materials(State(s): State<AppState>, who: ApiAuth) -> ApiResult<BatchMaterialsOut> {
    let d = batch::dialog(&s.app, &who.0).await?;
    Ok(Json(BatchMaterialsOut {
        year: d.year,
        materials: d.materials.iter().map(|m| MaterialOut { name: m.name.clone(), required: m.required }).collect(),
        drafts: d.drafts.iter().map(file_out).collect(),
        hint: d.hint,
    }))
}

/// 点击上传: one of the batch's materials, kept until a batch takes it.
#[utoipa::path(post, path = "/firm/cpa-batch-materials/files", security(("bearer" = [])), request_body = FileIn,
    responses((status = 200, body = FileOut), (status = 422, body = ApiErrorBody)))]
pub async fn upload(State(s): State<AppState>, who: ApiAuth, Json(f): Json<FileIn>) -> ApiResult<FileOut> {
    batch::may_upload(&who.0)?;
    let bytes = cmis_app::member_inspection::decode_file(&f.data_base64)?;
    let file = cmis_app::attachments::Incoming::whole(&f.file_name, bytes);
    Ok(Json(file_out(&batch::upload(&s.app, &who.0, &f.label, file).await?)))
}

#[derive(Deserialize, IntoParams)]
pub struct NotAppliedQuery {
    /// none (未申请), returned (地方注协退回), or both.
    #[serde(default)]
    pub which: String,
    #[serde(default)]
    pub keyword: String,
    pub page: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct NotAppliedOut {
    pub cpa_id: i32,
    pub cpa_no: String,
    pub name: String,
    pub firm: String,
    /// 未申请 or 地方注协退回.
    pub state: String,
    pub return_reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct NotAppliedPageOut {
    pub year: i32,
    pub items: Vec<NotAppliedOut>,
    pub page: u64,
    pub pages: u64,
    pub total: u64,
}

/// 注师待申请: the year's CPAs who have not applied, and those the
/// association returned out of a batch.
#[utoipa::path(get, path = "/firm/not-applied", security(("bearer" = [])), params(NotAppliedQuery),
    responses((status = 200, body = NotAppliedPageOut)))]
pub async fn not_applied(
    State(s): State<AppState>,
    who: ApiAuth,
    Query(q): Query<NotAppliedQuery>,
) -> ApiResult<NotAppliedPageOut> {
    let f = NotAppliedFilter { which: q.which, keyword: q.keyword, page: q.page.unwrap_or(1) };
    let (year, p) = batch::not_applied(&s.app, &who.0, &f).await?;
    Ok(Json(NotAppliedPageOut {
        year,
        page: p.page,
        pages: p.pages,
        total: p.total,
        items: p
            .items
            .into_iter()
            .map(|r| NotAppliedOut {
                state: r.state_label().into(),
                cpa_id: r.cpa_id,
                cpa_no: r.cpa_no,
                name: r.name,
                firm: r.firm,
                return_reason: r.return_reason,
            })
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct RemindIn {
    /// CPAs of 注师待申请, at most 200.
    #[serde(default)]
    pub cpa_ids: Vec<i32>,
}

#[derive(Serialize, ToSchema)]
pub struct RemindOut {
    pub sent: usize,
    /// Who was not reminded (already today, not the firm's), and why.
    pub skipped: Vec<String>,
}

/// 提醒: a message and an SMS to each, at most once a day per CPA.
#[utoipa::path(post, path = "/firm/reminders", security(("bearer" = [])), request_body = RemindIn,
    responses((status = 200, body = RemindOut), (status = 422, body = ApiErrorBody)))]
pub async fn remind(State(s): State<AppState>, who: ApiAuth, Json(r): Json<RemindIn>) -> ApiResult<RemindOut> {
    let done = batch::remind(&s.app, &who.0, &r.cpa_ids).await?;
    Ok(Json(RemindOut { sent: done.sent, skipped: done.skipped }))
}

#[derive(Deserialize, IntoParams)]
pub struct FirmCpasQuery {
    pub year: Option<i32>,
    /// A state code, none (未申请), or every CPA.
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub keyword: String,
    pub page: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct FirmCpaOut {
    pub cpa_id: i32,
    pub cpa_no: String,
    pub name: String,
    pub firm: String,
    pub year: i32,
    /// The application (its trail and files at /reviews/cpa-checks/{case_id}).
    pub case_id: Option<i32>,
    /// 审批状态; 未申请 when there is no application.
    pub state: String,
    pub state_code: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FirmCpasOut {
    pub year: i32,
    pub items: Vec<FirmCpaOut>,
    pub page: u64,
    pub pages: u64,
    pub total: u64,
}

/// 年检信息查询: every CPA of the firm (with its branches') and the year's state.
#[utoipa::path(get, path = "/firm/cpas", security(("bearer" = [])), params(FirmCpasQuery),
    responses((status = 200, body = FirmCpasOut)))]
pub async fn firm_cpas(
    State(s): State<AppState>,
    who: ApiAuth,
    Query(q): Query<FirmCpasQuery>,
) -> ApiResult<FirmCpasOut> {
    let f = FirmCpaFilter { year: q.year, state: q.state, keyword: q.keyword, page: q.page.unwrap_or(1) };
    let (year, p) = batch::firm_cpas_page(&s.app, &who.0, &f).await?;
    Ok(Json(FirmCpasOut {
        year,
        page: p.page,
        pages: p.pages,
        total: p.total,
        items: p
            .items
            .into_iter()
            .map(|r| FirmCpaOut {
                state: r.state_label().into(),
                state_code: r.state.map(|s| s.code().to_owned()),
                cpa_id: r.cpa_id,
                cpa_no: r.cpa_no,
                name: r.name,
                firm: r.firm,
                year: r.year,
                case_id: r.case_id,
            })
            .collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct TallyOut {
    pub name: String,
    pub number: String,
    pub cpas: u64,
    pub applied: u64,
    pub not_applied: u64,
    pub firm_review: u64,
    /// 地方注协待审核: in batches.
    pub province_review: u64,
    pub returned: u64,
    pub passed: u64,
    pub deferred: u64,
    pub failed: u64,
}

fn tally_out(t: &Tally) -> TallyOut {
    use cmis_domain::cpa_check::CheckState as S;
    TallyOut {
        name: t.name.clone(),
        number: t.number.clone(),
        cpas: t.cpas,
        applied: t.applied(),
        not_applied: t.not_applied(),
        firm_review: t.of(S::FirmReview),
        province_review: t.of(S::ProvinceReview),
        returned: t.returned(),
        passed: t.of(S::Passed),
        deferred: t.of(S::Deferred),
        failed: t.of(S::Failed),
    }
}

#[derive(Serialize, ToSchema)]
pub struct FirmYearOut {
    pub year: i32,
    pub tally: TallyOut,
}

/// The firm's year at a glance (its home page).
#[utoipa::path(get, path = "/firm/cpa-year", security(("bearer" = [])), responses((status = 200, body = FirmYearOut)))]
pub async fn firm_year(State(s): State<AppState>, who: ApiAuth) -> ApiResult<FirmYearOut> {
    let (year, t) = progress::firm_year(&s.app, &who.0).await?;
    Ok(Json(FirmYearOut { year, tally: tally_out(&t) }))
}

#[derive(Deserialize, IntoParams)]
pub struct ProgressQuery {
    pub year: Option<i32>,
    /// A firm's number or part of its name.
    #[serde(default)]
    pub keyword: String,
    pub page: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct ProgressOut {
    pub year: i32,
    pub total: TallyOut,
    /// 市注协, or 地方注协 for CICPA.
    pub unit_label: String,
    pub units: Vec<TallyOut>,
    /// A page of firms (20 a page).
    pub firms: Vec<TallyOut>,
    pub page: u64,
    pub pages: u64,
    pub firms_total: u64,
}

/// 注册会计师年检进度: by unit and by firm, in the association's scope.
#[utoipa::path(get, path = "/cpa-check-progress", security(("bearer" = [])), params(ProgressQuery),
    responses((status = 200, body = ProgressOut), (status = 403, body = ApiErrorBody)))]
pub async fn progress_of(
    State(s): State<AppState>,
    who: ApiAuth,
    Query(q): Query<ProgressQuery>,
) -> ApiResult<ProgressOut> {
    let f = ProgressFilter { year: q.year, keyword: q.keyword, page: q.page.unwrap_or(1) };
    let p = progress::progress(&s.app, &who.0, &f).await?;
    Ok(Json(ProgressOut {
        year: p.year,
        total: tally_out(&p.total),
        unit_label: p.unit_label.into(),
        units: p.units.iter().map(tally_out).collect(),
        page: p.firms.page,
        pages: p.firms.pages,
        firms_total: p.firms.total,
        firms: p.firms.items.iter().map(tally_out).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct DelegationIn {
    /// The province's city associations that review CPAs' checks; the others do not.
    #[serde(default)]
    pub cities: Vec<i32>,
}

/// 委托市注协审核 (a provincial association).
#[utoipa::path(post, path = "/cpa-review-delegation", security(("bearer" = [])), request_body = DelegationIn,
    responses((status = 204), (status = 403, body = ApiErrorBody)))]
pub async fn delegate(
    State(s): State<AppState>,
    who: ApiAuth,
    Json(d): Json<DelegationIn>,
) -> Result<StatusCode, ApiError> {
    cmis_app::organisations::delegate_cpa_review(&s.app, &who.0, &d.cities).await?;
    Ok(StatusCode::NO_CONTENT)
}
