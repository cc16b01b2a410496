//! What the attack on the running system asked for:
//! - API tokens and password-recovery proofs in tables of their own, so that
//!   neither can ever pass for the other or for a page session;
//! - the user of each session, so that a new password ends every session;
//! - the fingerprints of the keys the data was written with, so that the
//!   system refuses to start with a missing or different key;
//! - captchas that need no row until they are used;
//! - the outbox keeps recipients and texts encrypted;
//! - one audit event per previous hash, so the chain cannot fork.

use sea_orm::{DatabaseBackend, Statement};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0007_security"
    }
}

async fn index(m: &SchemaManager<'_>, table: &'static str, cols: &[&'static str]) -> Result<(), DbErr> {
    let mut idx = Index::create();
    idx.name(format!("ix_{table}_{}", cols.join("_"))).table(table);
    for c in cols {
        idx.col(*c);
    }
    m.create_index(idx).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();

        // Rows of the sessions table were page sessions, API tokens and recovery
        // proofs alike; they are all ended, and each kind starts again in its own table.
        db.execute_unprepared("DELETE FROM sessions").await?;
        m.alter_table(Table::alter().table("sessions").add_column(integer_null("user_id")).take()).await?;
        index(m, "sessions", &["user_id"]).await?;

        m.create_table(
            Table::create()
                .table("api_tokens")
                .col(string("id").primary_key())
                .col(integer("user_id"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .foreign_key(
                    ForeignKey::create().name("fk_api_tokens_user").from("api_tokens", "user_id").to("users", "id"),
                )
                .take(),
        )
        .await?;
        index(m, "api_tokens", &["user_id"]).await?;
        index(m, "api_tokens", &["expires_at"]).await?;

        m.create_table(
            Table::create()
                .table("recovery_proofs")
                .col(string("id").primary_key())
                .col(string("user_type"))
                .col(string("login_name"))
                .col(integer_null("user_id"))
                .col(timestamp_with_time_zone_null("verified_at"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_recovery_proofs_user")
                        .from("recovery_proofs", "user_id")
                        .to("users", "id"),
                )
                .take(),
        )
        .await?;
        index(m, "recovery_proofs", &["expires_at"]).await?;

        m.create_table(
            Table::create()
                .table("key_fingerprints")
                .col(string("name").primary_key())
                .col(string("fingerprint"))
                .col(timestamp_with_time_zone("created_at"))
                .take(),
        )
        .await?;

        m.drop_table(Table::drop().table("captchas").take()).await?;
        m.create_table(
            Table::create()
                .table("captcha_uses")
                .col(string("id").primary_key())
                .col(timestamp_with_time_zone("expires_at"))
                .take(),
        )
        .await?;
        index(m, "captcha_uses", &["expires_at"]).await?;

        // Earlier rows held phone numbers and codes in clear.
        db.execute_unprepared("DELETE FROM outbox").await?;
        m.alter_table(Table::alter().table("outbox").add_column(text_null("recipient_enc")).take()).await?;
        // Codes were hashed without a key; the outstanding ones (ten minutes' worth) go.
        db.execute_unprepared("DELETE FROM reset_codes").await?;

        // One event per previous hash: two appenders can never extend the same link.
        // A chain that already forked keeps its history; the rule holds from here on.
        let backend = m.get_database_backend();
        let forked = db
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT MAX(id) AS last FROM audit_events WHERE prev_hash IN \
                 (SELECT prev_hash FROM audit_events GROUP BY prev_hash HAVING COUNT(*) > 1)",
            ))
            .await?
            .and_then(|r| r.try_get::<Option<i64>>("", "last").ok().flatten());
        let sql = match (forked, backend) {
            (None, _) => "CREATE UNIQUE INDEX ux_audit_events_prev_hash ON audit_events (prev_hash)".to_owned(),
            (Some(last), DatabaseBackend::Sqlite | DatabaseBackend::Postgres) => {
                format!("CREATE UNIQUE INDEX ux_audit_events_prev_hash ON audit_events (prev_hash) WHERE id > {last}")
            }
            (Some(_), other) => return Err(DbErr::Migration(format!("unsupported backend {other:?}"))),
        };
        db.execute_unprepared(&sql).await?;
        Ok(())
    }
}
