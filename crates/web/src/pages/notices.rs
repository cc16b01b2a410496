//! 通知公告 / 常见问题: public pages, and the CICPA editors' pages.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use cmis_app::notices::{self, Draft, Kind, Notice};
use cmis_app::page::Page;
use cmis_app::scope::Permission;
use cmis_app::{AppError, FieldErrors};
use serde::Deserialize;

use crate::AppState;
use crate::error::WebResult;
use crate::shell::{Shell, needs};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/association/notices", get(manage))
        .route("/association/notices/new", get(new_form).post(create))
        .route("/association/notices/{id}/edit", get(edit_form).post(update))
        .route_layer(needs(Permission::PortalNotices))
        .route("/notices", get(public_list))
        .route("/notices/{id}", get(public_one))
}

#[derive(Deserialize, Default)]
struct ListQuery {
    kind: Option<String>,
    page: Option<u64>,
}

#[derive(Template)]
#[template(path = "notices/list.html")]
struct PublicList {
    kind: Kind,
    items: Page<Notice>,
}

impl PublicList {
    fn page_link(&self, n: u64) -> String {
        format!("/notices?kind={}&page={n}", self.kind.code())
    }
}

async fn public_list(State(state): State<AppState>, Query(q): Query<ListQuery>) -> WebResult<Html<String>> {
    let kind = q.kind.as_deref().and_then(Kind::from_code).unwrap_or(Kind::Notice);
    let items = notices::public_list(&state.app, kind, q.page.unwrap_or(1)).await?;
    Ok(Html(PublicList { kind, items }.render()?))
}

#[derive(Template)]
#[template(path = "notices/one.html")]
struct PublicOne {
    n: Notice,
}

async fn public_one(State(state): State<AppState>, Path(id): Path<i32>) -> WebResult<Html<String>> {
    Ok(Html(PublicOne { n: notices::public(&state.app, id).await? }.render()?))
}

#[derive(Template)]
#[template(path = "notices/manage.html")]
struct ManagePage {
    shell: Shell,
    kind: String,
    items: Page<Notice>,
}

impl ManagePage {
    fn page_link(&self, n: u64) -> String {
        format!("/association/notices?kind={}&page={n}", self.kind)
    }
}

async fn manage(State(state): State<AppState>, shell: Shell, Query(q): Query<ListQuery>) -> WebResult<Html<String>> {
    let kind = q.kind.as_deref().and_then(Kind::from_code);
    let items = notices::manage_list(&state.app, &shell.actor, kind, q.page.unwrap_or(1)).await?;
    Ok(Html(ManagePage { shell, kind: kind.map(|k| k.code().to_owned()).unwrap_or_default(), items }.render()?))
}

#[derive(Template)]
#[template(path = "notices/edit.html")]
struct EditPage {
    shell: Shell,
    id: Option<i32>,
    kind: String,
    title: String,
    body: String,
    published: bool,
    errors: FieldErrors,
}

impl EditPage {
    fn error(&self, f: &str) -> Option<&str> {
        self.errors.get(f)
    }
}

async fn new_form(State(state): State<AppState>, shell: Shell) -> WebResult<Response> {
    notices::manage_list(&state.app, &shell.actor, None, 1).await?;
    let page = EditPage {
        shell,
        id: None,
        kind: "notice".into(),
        title: String::new(),
        body: String::new(),
        published: false,
        errors: FieldErrors::new(),
    };
    Ok(Html(page.render()?).into_response())
}

async fn edit_form(State(state): State<AppState>, shell: Shell, Path(id): Path<i32>) -> WebResult<Html<String>> {
    let n = notices::get(&state.app, &shell.actor, id).await?;
    let page = EditPage {
        shell,
        id: Some(id),
        kind: n.kind.code().into(),
        title: n.title,
        body: n.body,
        published: n.published,
        errors: FieldErrors::new(),
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
struct EditForm {
    kind: String,
    title: String,
    body: String,
    /// 发布 or 保存草稿 (which also withdraws a published entry).
    action: String,
}

async fn save(state: &AppState, shell: Shell, id: Option<i32>, f: EditForm) -> WebResult<Response> {
    let draft = Draft {
        kind: Kind::from_code(&f.kind),
        title: f.title.clone(),
        body: f.body.clone(),
        publish: f.action == "publish",
    };
    match notices::save(&state.app, &shell.actor, id, draft).await {
        Ok(_) => Ok(Redirect::to("/association/notices").into_response()),
        Err(AppError::Invalid(errors)) => {
            let page = EditPage {
                shell,
                id,
                kind: f.kind,
                title: f.title,
                body: f.body,
                published: f.action == "publish",
                errors,
            };
            Ok(Html(page.render()?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn create(State(state): State<AppState>, shell: Shell, Form(f): Form<EditForm>) -> WebResult<Response> {
    save(&state, shell, None, f).await
}

async fn update(
    State(state): State<AppState>,
    shell: Shell,
    Path(id): Path<i32>,
    Form(f): Form<EditForm>,
) -> WebResult<Response> {
    save(&state, shell, Some(id), f).await
}
