//! 首页 of each role, and 我的 (the phone's third tab).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use cmis_app::home::{self, Summary};
use cmis_app::member_inspection;
use cmis_app::review;
use cmis_domain::inspection_batch::InspectionBatch;
use cmis_domain::member_admission::MemberAdmission;
use cmis_domain::member_inspection::MemberInspection;

use crate::AppState;
use crate::error::WebResult;
use crate::pages::review::ReviewPage;
use crate::shell::Shell;

pub fn routes() -> Router<AppState> {
    Router::new().route("/home", get(home_page)).route("/me", get(me_page))
}

#[derive(Template)]
#[template(path = "home/index.html")]
struct HomePage {
    shell: Shell,
    summary: Summary,
    /// For reviewers: (menu label, applications waiting for this association).
    admissions: Option<(&'static str, u64)>,
    /// For staff: annual inspections waiting for this association.
    inspections: Option<u64>,
    /// For members: the latest application's state, marking the 年检申请 tile.
    inspection: Option<cmis_domain::member_inspection::InspectionState>,
    /// For CPAs: the latest annual check's state.
    cpa_check: Option<cmis_domain::cpa_check::CheckState>,
    /// For firms: the year's CPAs by where their check stands.
    firm_year: Option<(i32, cmis_app::cpa_check::progress::Tally)>,
    /// For staff who decide them: firms' batches waiting.
    batches: Option<u64>,
}

impl HomePage {
    fn returned(&self) -> bool {
        self.inspection.is_some_and(|s| s.is_returned())
    }
    fn cpa_returned(&self) -> bool {
        self.cpa_check.is_some_and(|s| s.is_returned())
    }
}

async fn home_page(State(state): State<AppState>, shell: Shell) -> WebResult<Html<String>> {
    let summary = home::summary(&state.app, &shell.actor).await?;
    let admissions = if review::decides::<MemberAdmission>(&state.app, &shell.actor) {
        let n = review::awaiting_count::<MemberAdmission>(&state.app, &shell.actor).await?;
        Some((<MemberAdmission as ReviewPage>::title(&shell), n))
    } else {
        None
    };
    let inspections = if review::decides::<MemberInspection>(&state.app, &shell.actor) {
        Some(review::awaiting_count::<MemberInspection>(&state.app, &shell.actor).await?)
    } else {
        None
    };
    let inspection = member_inspection::latest_state(&state.app, &shell.actor).await?;
    let cpa_check = cmis_app::cpa_check::latest_state(&state.app, &shell.actor).await?;
    let firm_year = if shell.actor.user_type == cmis_domain::UserType::Firm {
        Some(cmis_app::cpa_check::progress::firm_year(&state.app, &shell.actor).await?)
    } else {
        None
    };
    let batches = if shell.actor.is_staff() && review::decides::<InspectionBatch>(&state.app, &shell.actor) {
        Some(review::awaiting_count::<InspectionBatch>(&state.app, &shell.actor).await?)
    } else {
        None
    };
    let page = HomePage { shell, summary, admissions, inspections, inspection, cpa_check, firm_year, batches };
    Ok(Html(page.render()?))
}

#[derive(Template)]
#[template(path = "home/me.html")]
struct MePage {
    shell: Shell,
    summary: Summary,
}

async fn me_page(State(state): State<AppState>, shell: Shell) -> WebResult<Html<String>> {
    let summary = home::summary(&state.app, &shell.actor).await?;
    Ok(Html(MePage { shell, summary }.render()?))
}
