//! The reference: a bare axum handler doing one indexed query and one
//! template render on the same database, to show the machine's limit for
//! the same shape of work as a page of the system.

use std::str::FromStr;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Html;
use axum::routing::get;
use clap::Parser;
use sea_orm::sqlx::postgres::PgPoolOptions;
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sea_orm::sqlx::{self, PgPool, SqlitePool};

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

/// The same database the system under test uses: SQLite or PostgreSQL.
#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

async fn handler(State(pool): State<Pool>, Path(login): Path<String>) -> Html<String> {
    const SQL: &str = "SELECT display_name, association_id FROM users WHERE user_type = 'member' AND login_name = $1";
    let row: Option<(String, i32)> = match &pool {
        Pool::Sqlite(p) => sqlx::query_as(SQL).bind(&login).fetch_optional(p).await,
        Pool::Postgres(p) => sqlx::query_as(SQL).bind(&login).fetch_optional(p).await,
    }
    .expect("query");
    let (name, association_id) = row.map_or_else(Default::default, |(n, a)| (n, i64::from(a)));
    Html(Page { login, name, association_id }.render().expect("render"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let pool = if a.database.starts_with("postgres") {
        Pool::Postgres(PgPoolOptions::new().max_connections(8).connect(&a.database).await?)
    } else {
        let opts = SqliteConnectOptions::from_str(&a.database)?.read_only(true);
        Pool::Sqlite(SqlitePoolOptions::new().max_connections(8).connect_with(opts).await?)
    };
    let app = axum::Router::new().route("/ref/{login}", get(handler)).with_state(pool);
    let listener = tokio::net::TcpListener::bind(&a.listen).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
