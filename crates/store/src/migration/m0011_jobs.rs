//! Long work as jobs: an export or an import is a row that any instance's
//! worker claims, runs and reports progress on, and that a restart does not
//! lose (a claim that is not renewed expires and the job is taken again).

use sea_orm::DbErr;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0011_jobs"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("jobs")
                .col(pk_auto("id"))
                .col(string("kind"))
                .col(integer("owner_user_id"))
                .col(string("title"))
                .col(text("params"))
                .col(string_null("input_key"))
                .col(string("state"))
                .col(big_integer("done"))
                .col(big_integer("total"))
                .col(integer("attempts"))
                .col(timestamp_with_time_zone_null("claimed_until"))
                .col(string_null("output_key"))
                .col(string_null("output_name"))
                .col(text_null("summary"))
                .col(text_null("error"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("started_at"))
                .col(timestamp_with_time_zone_null("finished_at"))
                .take(),
        )
        .await?;
        for (name, cols) in
            [("ix_jobs_due", &["state", "claimed_until"][..]), ("ix_jobs_owner", &["owner_user_id", "id"][..])]
        {
            let mut idx = Index::create();
            idx.name(name).table("jobs");
            for c in cols {
                idx.col(*c);
            }
            m.create_index(idx).await?;
        }
        Ok(())
    }
}
