//! One error type on the request path: every failure becomes a page (or a
//! JSON body under /api) with a message in Chinese.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use cmis_app::AppError;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(transparent)]
    App(#[from] AppError),
    #[error("页面已过期，请刷新页面后重新提交")]
    Csrf,
    #[error("页面不存在")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    /// Work beyond what one caller may have running at once: try again
    /// when a running request has returned.
    #[error("{0}")]
    Busy(String),
}

impl From<sea_orm::DbErr> for WebError {
    fn from(e: sea_orm::DbErr) -> Self {
        WebError::App(e.into())
    }
}

impl From<anyhow::Error> for WebError {
    fn from(e: anyhow::Error) -> Self {
        WebError::App(AppError::Internal(e))
    }
}

impl From<tower_sessions::session::Error> for WebError {
    fn from(e: tower_sessions::session::Error) -> Self {
        WebError::App(AppError::Internal(anyhow::anyhow!(e)))
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        WebError::App(AppError::Internal(e.into()))
    }
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::App(AppError::Unauthenticated) => StatusCode::UNAUTHORIZED,
            WebError::App(AppError::Forbidden | AppError::PasswordChangeRequired) | WebError::Csrf => {
                StatusCode::FORBIDDEN
            }
            WebError::App(AppError::NotFound(_)) | WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::App(AppError::Invalid(_)) | WebError::App(AppError::Refused(_)) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            WebError::App(AppError::TooMany(_)) => StatusCode::TOO_MANY_REQUESTS,
            WebError::App(AppError::Internal(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Busy(_) => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// The message a user reads; internal errors never show their cause.
    pub fn message(&self) -> String {
        match self {
            WebError::App(AppError::Invalid(f)) => f.0.iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>().join("；"),
            e => e.to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    message: String,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let WebError::App(AppError::Internal(e)) = &self {
            tracing::error!(error = ?e, "request failed");
        }
        if matches!(self, WebError::App(AppError::Unauthenticated)) {
            return Redirect::to("/?expired=1").into_response();
        }
        let status = self.status();
        let page = ErrorPage { status: status.as_u16(), message: self.message() };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, self.message()).into_response(),
        }
    }
}

pub type WebResult<T> = Result<T, WebError>;
