//! 基本信息 and 修改信息 of a non-practicing member (seed 002 §8).

use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use cmis_app::member_profile::{self, LOCKED};
use cmis_app::scope::Permission;
use cmis_app::{AppError, FieldErrors};
use cmis_domain::profile::Profile;

use crate::AppState;
use crate::error::WebResult;
use crate::profile_form::{self, QualBox, Section, ShownGroup};
use crate::shell::{Shell, needs};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/profile", get(show))
        .route("/profile/edit", get(edit).post(save))
        .route_layer(needs(Permission::OwnMemberProfile))
}

#[derive(Template)]
#[template(path = "member/profile.html")]
struct ShowPage {
    shell: Shell,
    cert_no: String,
    association: String,
    admitted_on: chrono::NaiveDate,
    /// 会员批准文件号 and 会员批准日期, set by CICPA's confirmation.
    approval_doc_no: String,
    approval_date: String,
    groups: Vec<ShownGroup>,
    qualifications: String,
    missing: Vec<&'static str>,
    saved: bool,
}

#[derive(serde::Deserialize)]
struct SavedQuery {
    saved: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    shell: Shell,
    axum::extract::Query(q): axum::extract::Query<SavedQuery>,
) -> WebResult<Html<String>> {
    let own = member_profile::load(&state.app, &shell.actor).await?;
    let page = ShowPage {
        groups: profile_form::shown_groups(&state.app, &own.profile, true),
        qualifications: profile_form::qualification_line(&own.profile),
        approval_doc_no: own.profile.approval_doc_no.clone(),
        approval_date: own.profile.approval_date.map(|d| d.to_string()).unwrap_or_default(),
        cert_no: own.cert_no,
        association: own.association,
        admitted_on: own.admitted_on,
        missing: own.missing,
        saved: q.saved.is_some(),
        shell,
    };
    Ok(Html(page.render()?))
}

#[derive(Template)]
#[template(path = "member/profile_edit.html")]
struct EditPage {
    shell: Shell,
    sections: Vec<Section>,
    qualifications: Vec<QualBox>,
    errors: FieldErrors,
}

impl EditPage {
    fn locked(&self, key: &str) -> bool {
        LOCKED.contains(&key)
    }
}

fn edit_page(state: &AppState, shell: Shell, p: &Profile, errors: FieldErrors) -> EditPage {
    EditPage {
        sections: profile_form::sections(&state.app, p, &errors),
        qualifications: profile_form::qualifications(p, &errors),
        errors,
        shell,
    }
}

async fn edit(State(state): State<AppState>, shell: Shell) -> WebResult<Html<String>> {
    let own = member_profile::load(&state.app, &shell.actor).await?;
    Ok(Html(edit_page(&state, shell, &own.profile, FieldErrors::new()).render()?))
}

async fn save(
    State(state): State<AppState>,
    shell: Shell,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    // Read as pairs: the qualification checkboxes repeat their key.
    let mut p = Profile::default();
    for (k, v) in &pairs {
        p.set(k, v);
    }
    match member_profile::update(&state.app, &shell.actor, p.clone()).await {
        Ok(()) => Ok(Redirect::to("/profile?saved=1").into_response()),
        Err(AppError::Invalid(errors)) => {
            // Show the locked fields as stored, the rest as typed.
            let own = member_profile::load(&state.app, &shell.actor).await?;
            for key in LOCKED {
                p.set(key, &own.profile.get(key));
            }
            Ok(Html(edit_page(&state, shell, &p, errors).render()?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
