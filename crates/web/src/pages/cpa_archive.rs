//! 档案存放单位: the association finds one of its CPAs and sets where the
//! CPA's file is kept, until the regulator's data brings it.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use cmis_app::cpa_records::{self, CpaRecord};
use cmis_app::scope::Permission;
use cmis_app::{AppError, FieldErrors};
use serde::Deserialize;

use crate::AppState;
use crate::error::WebResult;
use crate::shell::{Shell, needs};

pub fn routes() -> Router<AppState> {
    Router::new().route("/association/cpa-archive", get(page).post(save)).route_layer(needs(Permission::CpaRecords))
}

#[derive(Template)]
#[template(path = "association/cpa_archive.html")]
struct ArchivePage {
    shell: Shell,
    cpa_no: String,
    record: Option<CpaRecord>,
    /// What was typed, kept when it is refused.
    typed: Option<String>,
    errors: FieldErrors,
    saved: bool,
}

impl ArchivePage {
    fn error(&self, f: &str) -> Option<&str> {
        self.errors.get(f)
    }
    fn unit(&self) -> &str {
        match (&self.typed, &self.record) {
            (Some(t), _) => t,
            (None, Some(r)) => r.archive_unit.as_deref().unwrap_or(""),
            _ => "",
        }
    }
}

#[derive(Deserialize, Default)]
struct Find {
    cpa_no: Option<String>,
    saved: Option<String>,
}

async fn render(
    state: &AppState,
    shell: Shell,
    cpa_no: String,
    typed: Option<String>,
    errors: FieldErrors,
    saved: bool,
) -> WebResult<Html<String>> {
    let (record, errors) = if cpa_no.trim().is_empty() {
        (None, errors)
    } else {
        match cpa_records::find(&state.app, &shell.actor, &cpa_no).await {
            Ok(r) => (Some(r), errors),
            Err(AppError::Invalid(e)) => (None, e),
            Err(e) => return Err(e.into()),
        }
    };
    Ok(Html(ArchivePage { shell, cpa_no, record, typed, errors, saved }.render()?))
}

async fn page(State(state): State<AppState>, shell: Shell, Query(q): Query<Find>) -> WebResult<Html<String>> {
    render(&state, shell, q.cpa_no.unwrap_or_default(), None, FieldErrors::new(), q.saved.is_some()).await
}

#[derive(Deserialize)]
struct SaveForm {
    cpa_no: String,
    archive_unit: String,
}

async fn save(State(state): State<AppState>, shell: Shell, Form(f): Form<SaveForm>) -> WebResult<Response> {
    match cpa_records::set_archive_unit(&state.app, &shell.actor, &f.cpa_no, &f.archive_unit).await {
        Ok(()) => {
            let no: String = f.cpa_no.trim().chars().filter(char::is_ascii_alphanumeric).collect();
            Ok(Redirect::to(&format!("/association/cpa-archive?cpa_no={no}&saved=1")).into_response())
        }
        Err(AppError::Invalid(e)) => {
            let typed: String = f.archive_unit.chars().take(cpa_records::ARCHIVE_UNIT_MAX * 2).collect();
            Ok(render(&state, shell, f.cpa_no, Some(typed), e, false).await?.into_response())
        }
        Err(e) => Err(e.into()),
    }
}
