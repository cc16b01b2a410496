//! Every reviewed workflow in the JSON API, through the review kernel: the
//! queue, a case, a decision and a batch decision, at
//! /reviews/{workflow} where the workflow is the address of its review pages
//! (member-admissions, member-inspections). The same use cases as the pages.

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use cmis_app::review::{self, QueueFilter};
use cmis_domain::coded::Coded;
use cmis_domain::cpa_check::CpaCheck;
use cmis_domain::inspection_batch::InspectionBatch;
use cmis_domain::member_admission::MemberAdmission;
use cmis_domain::member_inspection::MemberInspection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiAuth, ApiError, ApiErrorBody, ApiResult};
use crate::AppState;
use crate::error::WebError;
use crate::pages::review::ReviewPage;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/reviews/{workflow}", get(queue))
        .route("/reviews/{workflow}/batch", post(batch))
        .route("/reviews/{workflow}/{id}", get(detail))
        .route("/reviews/{workflow}/{id}/decision", post(decide))
}

/// Runs `$body` with `$W` the workflow whose pages live at `$slug`; an
/// unknown workflow is 404.
macro_rules! by_workflow {
    ($slug:expr, $W:ident => $body:expr) => {
        match $slug.as_str() {
            <MemberAdmission as ReviewPage>::SLUG => {
                type $W = MemberAdmission;
                $body
            }
            <MemberInspection as ReviewPage>::SLUG => {
                type $W = MemberInspection;
                $body
            }
            <CpaCheck as ReviewPage>::SLUG => {
                type $W = CpaCheck;
                $body
            }
            <InspectionBatch as ReviewPage>::SLUG => {
                type $W = InspectionBatch;
                $body
            }
            _ => Err(ApiError::from(WebError::NotFound)),
        }
    };
}

#[derive(Serialize, ToSchema)]
pub struct CodedOut {
    pub code: String,
    pub label: String,
}

fn coded<C: Coded>(c: C) -> CodedOut {
    CodedOut { code: c.code().into(), label: c.label().into() }
}

#[derive(Deserialize, IntoParams)]
pub struct QueueQuery {
    /// Yearly workflows: the year (the open one when absent).
    pub year: Option<i32>,
    /// A state code, or `all`; absent: what waits for this association.
    pub state: Option<String>,
    pub city: Option<i32>,
    #[serde(default)]
    pub overdue: bool,
    /// The number, the name, or what else the workflow searches.
    #[serde(default)]
    pub keyword: String,
    pub page: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct CellOut {
    pub name: String,
    pub value: String,
}

#[derive(Serialize, ToSchema)]
pub struct RowOut {
    pub id: i32,
    pub year: Option<i32>,
    /// 业务编号 or 会员编号.
    pub number: String,
    pub name: String,
    /// Where the case is filed: 所在地区注协 or 市注协.
    pub unit: String,
    pub state: CodedOut,
    /// The workflow's own columns.
    pub cells: Vec<CellOut>,
    pub submitted_at: String,
    pub deadline: String,
    /// Working days left; negative when overdue.
    pub days_left: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct QueueOut {
    pub items: Vec<RowOut>,
    pub page: u64,
    pub pages: u64,
    pub total: u64,
    pub year: Option<i32>,
}

/// A review queue: filters, overdue first, a page at a time.
#[utoipa::path(get, path = "/reviews/{workflow}", security(("bearer" = [])),
    params(("workflow" = String, Path, description = "member-admissions, member-inspections, cpa-checks (注师待审核 and the CPAs' checks) or cpa-batches (年检批次审核)"), QueueQuery),
    responses((status = 200, body = QueueOut), (status = 403, body = ApiErrorBody)))]
pub async fn queue(
    State(s): State<AppState>,
    who: ApiAuth,
    Path(workflow): Path<String>,
    Query(q): Query<QueueQuery>,
) -> ApiResult<QueueOut> {
    by_workflow!(workflow, W => queue_of::<W>(&s, &who, q).await)
}

async fn queue_of<W: ReviewPage>(s: &AppState, who: &ApiAuth, q: QueueQuery) -> ApiResult<QueueOut> {
    let f = QueueFilter {
        year: q.year,
        state: q.state,
        city: q.city,
        overdue: q.overdue,
        keyword: q.keyword,
        page: q.page.unwrap_or(1),
    };
    let found = review::queue::<W>(&s.app, &who.0, &f).await?;
    let p = found.rows;
    Ok(Json(QueueOut {
        page: p.page,
        pages: p.pages,
        total: p.total,
        year: found.year,
        items: p
            .items
            .into_iter()
            .map(|r| RowOut {
                unit: W::unit(s, &r.case),
                id: r.case.id,
                year: r.case.year,
                number: r.case.number,
                name: r.case.name,
                state: coded(r.case.state),
                cells: W::columns()
                    .iter()
                    .zip(r.cells)
                    .map(|(n, v)| CellOut { name: (*n).to_owned(), value: v })
                    .collect(),
                submitted_at: r.case.submitted_at.to_rfc3339(),
                deadline: r.case.deadline.to_string(),
                days_left: r.days_left,
            })
            .collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct StepOut {
    pub node: String,
    pub unit: String,
    pub opinion: String,
    pub at: String,
}

#[derive(Serialize, ToSchema)]
pub struct DetailOut {
    pub id: i32,
    pub number: String,
    pub name: String,
    pub state: CodedOut,
    pub days_left: Option<i64>,
    /// What the applicant sent, as the workflow shapes it.
    #[schema(value_type = Object)]
    pub application: serde_json::Value,
    /// The decisions this reviewer may take now (codes for /decision).
    pub actions: Vec<CodedOut>,
    /// What a return may name.
    pub returnable: Vec<String>,
    pub trail: Vec<StepOut>,
}

/// A case (opening it is audited).
#[utoipa::path(get, path = "/reviews/{workflow}/{id}", security(("bearer" = [])),
    params(("workflow" = String, Path), ("id" = i32, Path)),
    responses((status = 200, body = DetailOut), (status = 404, body = ApiErrorBody)))]
pub async fn detail(
    State(s): State<AppState>,
    who: ApiAuth,
    Path((workflow, id)): Path<(String, i32)>,
) -> ApiResult<DetailOut> {
    by_workflow!(workflow, W => detail_of::<W>(&s, &who, id).await)
}

async fn detail_of<W: ReviewPage>(s: &AppState, who: &ApiAuth, id: i32) -> ApiResult<DetailOut> {
    let o = review::open::<W>(&s.app, &who.0, id).await?;
    let (application, returnable) = W::data(s, &who.0, &o.case).await?;
    Ok(Json(DetailOut {
        id: o.case.id,
        number: o.case.number.clone(),
        name: o.case.name.clone(),
        state: coded(o.case.state),
        days_left: o.days_left,
        application,
        actions: o.decisions.iter().map(|a| coded(*a)).collect(),
        returnable,
        trail: o
            .trail
            .iter()
            .map(|t| StepOut {
                node: t.node.clone(),
                unit: t.unit.clone(),
                opinion: t.opinion.clone(),
                at: t.at.to_rfc3339(),
            })
            .collect(),
    }))
}

/// Every field may be left out: the use case finds the case (in scope, or
/// 404) before it reads what was sent.
#[derive(Deserialize, ToSchema)]
pub struct DecisionIn {
    /// An action code from the case's `actions`.
    #[serde(default)]
    pub action: String,
    /// Required for returns and refusals.
    #[serde(default)]
    pub reason: String,
    /// For returns: the fields and materials to change.
    #[serde(default)]
    pub items: Vec<String>,
    /// What a decision asks for beyond the reason: for CICPA's confirmation
    /// of an admission, `approval_doc_no` (会员批准文件号) and `approval_date`
    /// (会员批准日期, YYYY-MM-DD).
    #[serde(default)]
    pub inputs: std::collections::BTreeMap<String, String>,
}

/// A decision; the applicant is told by message and SMS.
#[utoipa::path(post, path = "/reviews/{workflow}/{id}/decision", security(("bearer" = [])),
    params(("workflow" = String, Path), ("id" = i32, Path)), request_body = DecisionIn,
    responses((status = 200, body = CodedOut), (status = 422, body = ApiErrorBody)))]
pub async fn decide(
    State(s): State<AppState>,
    who: ApiAuth,
    Path((workflow, id)): Path<(String, i32)>,
    Json(d): Json<DecisionIn>,
) -> ApiResult<CodedOut> {
    by_workflow!(workflow, W => decide_on::<W>(&s, &who, id, d).await)
}

async fn decide_on<W: ReviewPage>(s: &AppState, who: &ApiAuth, id: i32, d: DecisionIn) -> ApiResult<CodedOut> {
    let inputs: Vec<(String, String)> = d.inputs.into_iter().collect();
    Ok(Json(coded(review::decide::<W>(&s.app, &who.0, id, &d.action, &d.reason, &d.items, &inputs).await?)))
}

#[derive(Deserialize, ToSchema)]
pub struct BatchIn {
    #[serde(default)]
    pub ids: Vec<i32>,
    /// A decision that needs no reason, such as 通过.
    #[serde(default)]
    pub action: String,
}

#[derive(Serialize, ToSchema)]
pub struct BatchOut {
    pub decided: usize,
    /// Those left as they were, and why.
    pub skipped: Vec<String>,
}

/// The same decision for up to 200 cases, in one transaction.
#[utoipa::path(post, path = "/reviews/{workflow}/batch", security(("bearer" = [])),
    params(("workflow" = String, Path)), request_body = BatchIn,
    responses((status = 200, body = BatchOut), (status = 422, body = ApiErrorBody)))]
pub async fn batch(
    State(s): State<AppState>,
    who: ApiAuth,
    Path(workflow): Path<String>,
    Json(b): Json<BatchIn>,
) -> ApiResult<BatchOut> {
    by_workflow!(workflow, W => batch_of::<W>(&s, &who, b).await)
}

async fn batch_of<W: ReviewPage>(s: &AppState, who: &ApiAuth, b: BatchIn) -> ApiResult<BatchOut> {
    let done = review::batch::<W>(&s.app, &who.0, &b.ids, &b.action).await?;
    Ok(Json(BatchOut { decided: done.decided, skipped: done.skipped }))
}
