//! 首页 of each role, and 我的 (the phone's third tab).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use cmis_app::home::{self, Summary};
use cmis_app::{AppError, admission};

use crate::AppState;
use crate::error::WebResult;
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
}

async fn home_page(State(state): State<AppState>, shell: Shell) -> WebResult<Html<String>> {
    let summary = home::summary(&state.app, &shell.actor).await?;
    let admissions = match admission::awaiting_count(&state.app, &shell.actor).await {
        Ok(n) => Some((crate::pages::admission_review::title_for(&shell), n)),
        Err(AppError::Forbidden) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(Html(HomePage { shell, summary, admissions }.render()?))
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
