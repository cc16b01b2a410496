//! The reference: a bare axum handler doing one indexed query and one
//! template render on the same database, to show the machine's limit for
//! the same shape of work as a page of the system.

use std::str::FromStr;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Html;
use axum::routing::get;
use clap::Parser;
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sea_orm::sqlx::{self, SqlitePool};

#[derive(Parser)]
struct Args {
    #[arg(long)]
    database: String,
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: String,
}

#[derive(Template)]
#[template(path = "reference.html")]
struct Page {
    login: String,
    name: String,
    association_id: i64,
}

async fn handler(State(pool): State<SqlitePool>, Path(login): Path<String>) -> Html<String> {
    let row: Option<(String, i64)> =
        sqlx::query_as("SELECT display_name, association_id FROM users WHERE user_type = 'member' AND login_name = ?")
            .bind(&login)
            .fetch_optional(&pool)
            .await
            .expect("query");
    let (name, association_id) = row.unwrap_or_default();
    Html(Page { login, name, association_id }.render().expect("render"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let opts = SqliteConnectOptions::from_str(&a.database)?.read_only(true);
    let pool = SqlitePoolOptions::new().max_connections(8).connect_with(opts).await?;
    let app = axum::Router::new().route("/ref/{login}", get(handler)).with_state(pool);
    let listener = tokio::net::TcpListener::bind(&a.listen).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
