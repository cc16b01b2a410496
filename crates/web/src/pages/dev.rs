//! 开发用发件箱: in development the SMS, mail and bound-account messages go
//! to a table, and this page lets a person read the codes. Off unless
//! `dev_outbox = true`.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use cmis_app::deliveries;

use crate::AppState;
use crate::error::{WebError, WebResult};

pub fn routes() -> Router<AppState> {
    Router::new().route("/dev/outbox", get(outbox_page))
}

#[derive(Template)]
#[template(path = "dev/outbox.html")]
struct OutboxPage {
    items: Vec<deliveries::Sent>,
}

async fn outbox_page(State(state): State<AppState>) -> WebResult<Html<String>> {
    if !state.app.settings.dev_outbox {
        return Err(WebError::NotFound);
    }
    let items = deliveries::recent(&state.app, 100).await?;
    Ok(Html(OutboxPage { items }.render()?))
}
