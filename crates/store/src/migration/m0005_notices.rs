//! 通知公告 and 常见问题 on the portal, published by CICPA staff.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0005_notices"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("notices")
                .col(pk_auto("id"))
                .col(string("kind"))
                .col(string("title"))
                .col(text("body"))
                .col(boolean("published"))
                .col(integer("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(timestamp_with_time_zone_null("published_at"))
                .foreign_key(
                    ForeignKey::create().name("fk_notices_user").from("notices", "created_by").to("users", "id"),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_notices_kind_published").table("notices").col("kind").col("published").take(),
        )
        .await?;
        Ok(())
    }
}
