//! 修改密码, including the forced change after an initial password.

use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use cmis_app::{AppError, FieldErrors, auth};
use serde::Deserialize;
use tower_sessions::Session;

use crate::AppState;
use crate::error::WebResult;
use crate::shell::Shell;

pub fn routes() -> Router<AppState> {
    Router::new().route("/account/password", get(form).post(submit))
}

#[derive(Template)]
#[template(path = "account/password.html")]
struct PasswordPage {
    shell: Shell,
    errors: FieldErrors,
    forced: bool,
}

impl PasswordPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

async fn form(shell: Shell) -> WebResult<Html<String>> {
    let forced = shell.actor.must_change_password;
    Ok(Html(PasswordPage { shell, errors: FieldErrors::new(), forced }.render()?))
}

#[derive(Deserialize)]
struct PasswordForm {
    old_password: String,
    new_password: String,
    confirm: String,
}

async fn submit(
    State(state): State<AppState>,
    session: Session,
    shell: Shell,
    Form(f): Form<PasswordForm>,
) -> WebResult<Response> {
    match auth::change_password(&state.app, &shell.actor, &f.old_password, &f.new_password, &f.confirm).await {
        Ok(()) => {
            // Every session of the account ends with the old password; log in again.
            session.flush().await.map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
            Ok(Redirect::to("/?changed=1").into_response())
        }
        Err(AppError::Invalid(errors)) => {
            let forced = shell.actor.must_change_password;
            Ok(Html(PasswordPage { shell, errors, forced }.render()?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
