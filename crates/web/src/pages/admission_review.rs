//! 入会申请审核 (local association) and 入会申请确认 (CICPA).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use cmis_app::admission::{self, Detail, QueueFilter, QueueRow};
use cmis_app::page::Page;
use cmis_app::{AppError, FieldErrors};
use cmis_domain::admission::{AdmissionAction, AdmissionState};
use serde::Deserialize;

use crate::AppState;
use crate::error::WebResult;
use crate::profile_form::{self, ShownGroup};
use crate::shell::{Auth, Shell};
use crate::trail::TrailView;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/association/admissions", get(queue))
        .route("/association/admissions/{id}", get(detail))
        .route("/association/admissions/{id}/photo", get(photo))
        .route("/association/admissions/{id}/decide", post(decide))
}

#[derive(Deserialize, Default)]
struct QueueQuery {
    state: Option<String>,
    keyword: Option<String>,
    overdue: Option<String>,
    page: Option<u64>,
}

#[derive(Template)]
#[template(path = "association/admissions.html")]
struct QueuePage {
    shell: Shell,
    title: &'static str,
    rows: Page<QueueRow>,
    state: String,
    keyword: String,
    overdue: bool,
    states: Vec<(&'static str, &'static str)>,
}

impl QueuePage {
    fn overdue_row(&self, r: &QueueRow) -> bool {
        r.days_left.is_some_and(|d| d < 0)
    }

    /// The query string of another page with the same filters.
    fn page_link(&self, page: u64) -> String {
        let enc = |s: &str| {
            s.bytes()
                .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
                .collect::<String>()
        };
        format!(
            "/association/admissions?state={}&keyword={}{}&page={page}",
            self.state,
            enc(&self.keyword),
            if self.overdue { "&overdue=1" } else { "" }
        )
    }
}

pub fn title_for(shell: &Shell) -> &'static str {
    if shell.actor.association_level == cmis_domain::AssociationLevel::National {
        "入会申请确认"
    } else {
        "入会申请审核"
    }
}

async fn queue(State(state): State<AppState>, shell: Shell, Query(q): Query<QueueQuery>) -> WebResult<Html<String>> {
    let filter = QueueFilter {
        state: q.state.as_deref().and_then(AdmissionState::from_code),
        keyword: q.keyword.clone().unwrap_or_default(),
        overdue: q.overdue.is_some(),
        page: q.page.unwrap_or(1),
    };
    let rows = admission::queue(&state.app, &shell.actor, &filter).await?;
    let page = QueuePage {
        title: title_for(&shell),
        state: q.state.unwrap_or_default(),
        keyword: filter.keyword.clone(),
        overdue: filter.overdue,
        states: AdmissionState::ALL.iter().map(|s| (s.code(), s.label())).collect(),
        rows,
        shell,
    };
    Ok(Html(page.render()?))
}

#[derive(Template)]
#[template(path = "association/admission.html")]
struct DetailPage {
    shell: Shell,
    title: &'static str,
    d: Detail,
    groups: Vec<ShownGroup>,
    qualifications: String,
    trail: TrailView,
    errors: FieldErrors,
    done: Option<String>,
}

impl DetailPage {
    fn can(&self, code: &str) -> bool {
        self.d.actions.iter().any(|a| action_code(*a) == code)
    }
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

fn action_code(a: AdmissionAction) -> &'static str {
    match a {
        AdmissionAction::LocalApprove => "local_approve",
        AdmissionAction::LocalReturn => "local_return",
        AdmissionAction::LocalReject => "local_reject",
        AdmissionAction::CicpaConfirm => "cicpa_confirm",
        AdmissionAction::CicpaReturn => "cicpa_return",
        AdmissionAction::Resubmit => "resubmit",
    }
}

fn action_from(code: &str) -> Option<AdmissionAction> {
    [
        AdmissionAction::LocalApprove,
        AdmissionAction::LocalReturn,
        AdmissionAction::LocalReject,
        AdmissionAction::CicpaConfirm,
        AdmissionAction::CicpaReturn,
    ]
    .into_iter()
    .find(|a| action_code(*a) == code)
}

async fn render_detail(
    state: &AppState,
    shell: Shell,
    id: i32,
    errors: FieldErrors,
    done: Option<String>,
) -> WebResult<Html<String>> {
    let d = admission::detail(&state.app, &shell.actor, id).await?;
    let groups = profile_form::shown_groups(&state.app, &d.profile, false);
    let qualifications = profile_form::qualification_line(&d.profile);
    let trail = TrailView { steps: d.trail.clone(), opinion_label: "审批意见" };
    let page = DetailPage { title: title_for(&shell), qualifications, groups, trail, d, errors, done, shell };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn detail(
    State(state): State<AppState>,
    shell: Shell,
    Path(id): Path<i32>,
    Query(q): Query<DoneQuery>,
) -> WebResult<Html<String>> {
    let done = q.done.and_then(|c| action_from(&c)).map(|a| format!("已办理：{}", a.node()));
    render_detail(&state, shell, id, FieldErrors::new(), done).await
}

async fn photo(State(state): State<AppState>, Auth(actor): Auth, Path(id): Path<i32>) -> WebResult<Response> {
    let (content_type, bytes) = admission::photo(&state.app, &actor, id).await?;
    Ok(([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "private, no-store".into())], bytes)
        .into_response())
}

#[derive(Deserialize)]
struct DecideForm {
    action: String,
    #[serde(default)]
    reason: String,
}

async fn decide(
    State(state): State<AppState>,
    shell: Shell,
    Path(id): Path<i32>,
    Form(f): Form<DecideForm>,
) -> WebResult<Response> {
    let Some(action) = action_from(&f.action) else {
        return Err(AppError::Refused("未知的操作".into()).into());
    };
    match admission::decide(&state.app, &shell.actor, id, action, &f.reason).await {
        Ok(_) => Ok(Redirect::to(&format!("/association/admissions/{id}?done={}", f.action)).into_response()),
        Err(AppError::Invalid(errors)) => {
            let errors = super::reason_errors(errors, &f.action);
            Ok(render_detail(&state, shell, id, errors, None).await?.into_response())
        }
        Err(e) => Err(e.into()),
    }
}
