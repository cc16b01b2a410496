//! 忘记密码: one-time codes, and the notification account a member binds at
//! the first successful reset.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0004_password_reset"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("reset_codes")
                .col(pk_auto("id"))
                .col(integer("user_id"))
                .col(string("channel"))
                .col(string("code_hash"))
                .col(string("address"))
                .col(integer("attempts"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("used_at"))
                .foreign_key(
                    ForeignKey::create().name("fk_reset_codes_user").from("reset_codes", "user_id").to("users", "id"),
                )
                .take(),
        )
        .await?;
        for (name, col) in [("ix_reset_codes_user", "user_id"), ("ix_reset_codes_address", "address")] {
            m.create_index(Index::create().name(name).table("reset_codes").col(col).col("created_at").take()).await?;
        }
        m.alter_table(Table::alter().table("users").add_column(string_null("bound_account")).take()).await?;
        Ok(())
    }
}
