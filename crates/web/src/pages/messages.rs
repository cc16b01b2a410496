//! 消息列表 and 查看详情; for staff, 消息发送记录 (the SMS and mail sent to the
//! people in their scope, without the text, which may hold a code).

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use axum::routing::get;
use cmis_app::deliveries::{self, LogFilter, LogRow, Status};
use cmis_app::messages::{self, Message};
use cmis_app::page::Page;
use cmis_app::scope::Permission;
use serde::Deserialize;

use crate::AppState;
use crate::error::WebResult;
use crate::shell::{Shell, needs};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/association/deliveries", get(deliveries))
        .route_layer(needs(Permission::DeliveryLog))
        .route("/messages", get(list))
        .route("/messages/preview", get(preview))
        .route("/messages/{id}", get(detail))
}

#[derive(Template)]
#[template(path = "messages/list.html")]
struct ListPage {
    shell: Shell,
    items: Page<Message>,
}

impl ListPage {
    fn page_link(&self, n: u64) -> String {
        format!("/messages?page={n}")
    }
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<u64>,
}

async fn list(State(state): State<AppState>, shell: Shell, Query(q): Query<PageQuery>) -> WebResult<Html<String>> {
    let p = messages::list(&state.app, &shell.actor, q.page.unwrap_or(1)).await?;
    Ok(Html(ListPage { shell, items: p }.render()?))
}

#[derive(Template)]
#[template(path = "messages/preview.html")]
struct PreviewPart {
    items: Vec<Message>,
}

/// 🔔 clicked: the latest messages and 【更多】, as a fragment the bell opens.
async fn preview(State(state): State<AppState>, shell: Shell) -> WebResult<Html<String>> {
    let items = messages::latest(&state.app, &shell.actor).await?;
    Ok(Html(PreviewPart { items }.render()?))
}

#[derive(Template)]
#[template(path = "messages/detail.html")]
struct DetailPage {
    shell: Shell,
    message: Message,
}

async fn detail(State(state): State<AppState>, mut shell: Shell, Path(id): Path<i32>) -> WebResult<Html<String>> {
    let message = messages::open(&state.app, &shell.actor, id).await?;
    // Opening it marked it read: the bell shows the count after that.
    shell.unread = messages::unread_count(&state.app, &shell.actor).await?;
    Ok(Html(DetailPage { shell, message }.render()?))
}

#[derive(Template)]
#[template(path = "messages/deliveries.html")]
struct DeliveriesPage {
    shell: Shell,
    rows: Page<LogRow>,
    status: String,
    statuses: Vec<(&'static str, &'static str)>,
}

impl DeliveriesPage {
    fn page_link(&self, n: u64) -> String {
        format!("/association/deliveries?status={}&page={n}", self.status)
    }
}

#[derive(Deserialize)]
struct DeliveriesQuery {
    status: Option<String>,
    page: Option<u64>,
}

async fn deliveries(
    State(state): State<AppState>,
    shell: Shell,
    Query(q): Query<DeliveriesQuery>,
) -> WebResult<Html<String>> {
    let status = q.status.as_deref().and_then(|s| Status::parse(s).ok());
    let f = LogFilter { status, page: q.page.unwrap_or(1) };
    let rows = deliveries::log(&state.app, &shell.actor, &f).await?;
    let page = DeliveriesPage {
        rows,
        status: status.map(|s| s.code().to_owned()).unwrap_or_default(),
        statuses: Status::ALL.iter().map(|s| (s.code(), s.label())).collect(),
        shell,
    };
    Ok(Html(page.render()?))
}
