//! The associations' side of online learning: 在线学习情况 (their members'
//! and CPAs' institutes and progress, with 解除锁定), and CICPA's 学时入账
//! (the nightly runs, and 立即入账).

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use cmis_app::AppError;
use cmis_app::learning::credit::{self, Run};
use cmis_app::learning::reports::{self, LearnerFilter};
use cmis_app::learning::{self, study};
use cmis_app::page::Page;
use cmis_app::scope::Permission;
use cmis_domain::Hours;
use serde::Deserialize;

use crate::AppState;
use crate::error::WebResult;
use crate::pages::institute::{LearnersPage, years};
use crate::shell::{Shell, needs};

pub fn routes() -> Router<AppState> {
    let choices = Router::new()
        .route("/association/learning", get(choices))
        .route("/association/learning/{id}/release", post(release))
        .route_layer(needs(Permission::LearningChoices));
    let credits = Router::new()
        .route("/association/learning-credits", get(runs).post(run_now))
        .route_layer(needs(Permission::CreditLearning));
    choices.merge(credits)
}

async fn render(
    state: &AppState,
    shell: Shell,
    f: LearnerFilter,
    notice: Option<Result<String, String>>,
) -> WebResult<Html<String>> {
    let this = learning::year_of(&state.app);
    let year = f.year.filter(|y| (this - 10..=this + 1).contains(y)).unwrap_or(this);
    let page = reports::association_learners(&state.app, &shell.actor, &f, year).await?;
    let release = shell.actor.can(Permission::ReleaseLearningChoices);
    let p = LearnersPage {
        shell,
        title: "在线学习情况",
        action: "/association/learning",
        year,
        years: years(this),
        filter: f,
        page,
        export: false,
        release,
        notice,
    };
    Ok(Html(p.render()?))
}

async fn choices(
    State(state): State<AppState>,
    shell: Shell,
    Query(f): Query<LearnerFilter>,
) -> WebResult<Html<String>> {
    render(&state, shell, f, None).await
}

#[derive(Deserialize)]
struct ReleaseForm {
    #[serde(default)]
    reason: String,
}

async fn release(
    State(state): State<AppState>,
    shell: Shell,
    Path(id): Path<i32>,
    Form(f): Form<ReleaseForm>,
) -> WebResult<Response> {
    let notice = match study::release(&state.app, &shell.actor, id, &f.reason).await {
        Ok(()) => Ok("已解除锁定，学员可重新选择本年度的国家会计学院".to_owned()),
        Err(AppError::Invalid(e)) => Err(e.0.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join("；")),
        Err(AppError::Refused(m)) => Err(m),
        Err(e) => return Err(e.into()),
    };
    Ok(render(&state, shell, LearnerFilter::default(), Some(notice)).await?.into_response())
}

#[derive(Template)]
#[template(path = "association/learning_credits.html")]
struct RunsPage {
    shell: Shell,
    page: Page<Run>,
    waiting: u64,
    done: Option<(u64, Hours)>,
}

impl RunsPage {
    fn page_link(&self, n: u64) -> String {
        format!("/association/learning-credits?page={n}")
    }
}

#[derive(Deserialize, Default)]
struct PageQuery {
    #[serde(default)]
    page: u64,
}

async fn runs(State(state): State<AppState>, shell: Shell, Query(q): Query<PageQuery>) -> WebResult<Html<String>> {
    let page = credit::runs(&state.app, &shell.actor, q.page).await?;
    let waiting = credit::waiting(&state.app, &shell.actor).await?;
    Ok(Html(RunsPage { shell, page, waiting, done: None }.render()?))
}

async fn run_now(State(state): State<AppState>, shell: Shell) -> WebResult<Html<String>> {
    let done = credit::run_now(&state.app, &shell.actor).await?;
    let page = credit::runs(&state.app, &shell.actor, 1).await?;
    let waiting = credit::waiting(&state.app, &shell.actor).await?;
    Ok(Html(RunsPage { shell, page, waiting, done: Some(done) }.render()?))
}
