//! The transactional outbox: every SMS, bound-account code and mail is a row
//! written in the same transaction as the change it announces, and a worker
//! on any instance delivers it, with retries, leaving a log staff can read.
//! It replaces the development outbox, which read the same rows.

use sea_orm::DbErr;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0009_deliveries"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("outbox").take()).await?;
        m.create_table(
            Table::create()
                .table("deliveries")
                .col(pk_auto("id"))
                .col(string("channel"))
                .col(string("purpose"))
                .col(string("recipient_masked"))
                .col(text("recipient_enc"))
                .col(string("subject"))
                .col(text("body_enc"))
                .col(integer_null("association_id"))
                .col(string("status"))
                .col(integer("attempts"))
                .col(timestamp_with_time_zone("next_attempt_at"))
                .col(timestamp_with_time_zone_null("claimed_until"))
                .col(text_null("last_error"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("sent_at"))
                .take(),
        )
        .await?;
        for (name, cols) in [
            ("ix_deliveries_due", &["status", "next_attempt_at"][..]),
            ("ix_deliveries_log", &["association_id", "created_at"][..]),
        ] {
            let mut idx = Index::create();
            idx.name(name).table("deliveries");
            for c in cols {
                idx.col(*c);
            }
            m.create_index(idx).await?;
        }
        Ok(())
    }
}
