//! The associations' side of firms' batches: 年检批次审核 on the review kernel
//! (the queue, a batch with its CPAs, the firm's 社保证明材料 and each CPA's
//! identity check; 审核通过 or 退回 of the whole batch, each CPA decided on
//! their own page), 注册会计师年检进度 by firm and by city with its chart and
//! Excel export, and 委托市注协审核.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use cmis_app::cpa_check::batch::{self, BatchView};
use cmis_app::cpa_check::progress::{self, HEADER, Progress, ProgressFilter};
use cmis_app::review::Case;
use cmis_app::scope::Permission;
use cmis_domain::inspection_batch::{BatchAction, InspectionBatch};
use cmis_domain::review::Reviewer;
use serde::Deserialize;

use crate::AppState;
use crate::error::WebResult;
use crate::pages::review::ReviewPage;
use crate::shell::{Shell, needs};

pub fn routes() -> Router<AppState> {
    let progress = Router::new()
        .route("/association/cpa-check-progress", get(progress_page))
        .route("/association/cpa-check-progress/export", post(export))
        .route_layer(needs(Permission::InspectionProgress));
    let delegation = Router::new()
        .route("/association/cpa-check-delegation", post(delegate))
        .route_layer(needs(Permission::CpaCheckSettings));
    Router::new().merge(super::review::routes::<InspectionBatch>()).merge(progress).merge(delegation)
}

// ---- 年检批次审核 ----

#[derive(Template)]
#[template(path = "review/inspection_batch.html")]
struct Body {
    v: BatchView,
    staff: bool,
}

impl Body {
    fn page_link(&self, page: u64) -> String {
        format!("/association/cpa-batches/{}?page={page}", self.v.id)
    }
}

#[async_trait::async_trait]
impl ReviewPage for InspectionBatch {
    const SLUG: &'static str = "cpa-batches";
    const KEYWORD_HINT: &'static str = "年检批次编号或事务所名称";
    const EMPTY: &'static str = "暂无年检批次";
    /// 待审核 and 审核中 together (待审核 alone is a state of its own).
    const WAITING: &'static str = "待办理";
    const UNIT: &'static str = "市注协";
    const NAME: &'static str = "事务所名称";
    const ROWS: &'static str = "年检批次";

    fn title(_shell: &Shell) -> &'static str {
        "年检批次审核"
    }

    fn case_title(_: &Case<Self>) -> &'static str {
        "年检批次"
    }

    /// Batches are passed many at once at the deadline; a return is one by
    /// one. (A city association's rows can be ticked only where its province
    /// lets it review.)
    fn batch_action(shell: &Shell) -> Option<BatchAction> {
        matches!(cmis_app::scope::reviewer(&shell.actor), Some(Reviewer::Province | Reviewer::City))
            .then_some(BatchAction::Pass)
    }

    /// 审核通过 passes every CPA still waiting in the batch: asked first.
    fn confirm(action: BatchAction) -> Option<&'static str> {
        (action == BatchAction::Pass)
            .then_some("审核通过将使该批次中所有“地方注协待审核”的注册会计师年检通过，确认审核通过吗？")
    }

    fn unit(state: &AppState, case: &Case<Self>) -> String {
        case.city_association_id.and_then(|c| state.app.orgs().get(c).map(|a| a.short_name.clone())).unwrap_or_default()
    }

    async fn data(
        state: &AppState,
        actor: &cmis_app::Actor,
        case: &Case<Self>,
    ) -> WebResult<(serde_json::Value, Vec<String>)> {
        let v = batch::view(&state.app, actor, case.id, 1).await?;
        Ok((serde_json::to_value(&v).map_err(anyhow::Error::from)?, vec![]))
    }

    async fn body(state: &AppState, shell: &Shell, case: &Case<Self>, page: u64) -> WebResult<(String, Vec<String>)> {
        let v = batch::view(&state.app, &shell.actor, case.id, page).await?;
        Ok((Body { v, staff: shell.actor.is_staff() }.render()?, vec![]))
    }
}

// ---- 注册会计师年检进度 ----

#[derive(Deserialize, Default)]
struct ProgressQuery {
    year: Option<String>,
    keyword: Option<String>,
    page: Option<u64>,
}

#[derive(Template)]
#[template(path = "association/cpa_check_progress.html")]
struct ProgressPage {
    shell: Shell,
    p: Progress,
    keyword: String,
    header: [&'static str; 10],
}

impl ProgressPage {
    fn page_link(&self, page: u64) -> String {
        format!(
            "/association/cpa-check-progress?year={}&keyword={}&page={page}",
            self.p.year,
            crate::pages::enc(&self.keyword)
        )
    }
}

async fn progress_page(
    State(state): State<AppState>,
    shell: Shell,
    Query(q): Query<ProgressQuery>,
) -> WebResult<Html<String>> {
    let f = ProgressFilter {
        year: crate::pages::year_of(q.year.as_deref()),
        keyword: q.keyword.unwrap_or_default(),
        page: q.page.unwrap_or(1),
    };
    let p = progress::progress(&state.app, &shell.actor, &f).await?;
    Ok(Html(ProgressPage { shell, p, keyword: f.keyword, header: HEADER }.render()?))
}

#[derive(Deserialize)]
struct ExportForm {
    year: Option<String>,
}

async fn export(State(state): State<AppState>, shell: Shell, Form(f): Form<ExportForm>) -> WebResult<Response> {
    let job = progress::request_export(&state.app, &shell.actor, crate::pages::year_of(f.year.as_deref())).await?;
    Ok(Redirect::to(&format!("/jobs/{job}")).into_response())
}

// ---- 委托市注协审核 ----

async fn delegate(
    State(state): State<AppState>,
    shell: Shell,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let cities: Vec<i32> = pairs.iter().filter(|(k, _)| k == "city").filter_map(|(_, v)| v.parse().ok()).collect();
    cmis_app::organisations::delegate_cpa_review(&state.app, &shell.actor, &cities).await?;
    let year = pairs.iter().find(|(k, _)| k == "year").and_then(|(_, v)| crate::pages::year_of(Some(v)));
    let back = match year {
        Some(y) => format!("/association/cpa-check-settings?year={y}&saved=1"),
        None => "/association/cpa-check-settings?saved=1".to_owned(),
    };
    Ok(Redirect::to(&back).into_response())
}
