//! A reset code belongs to the recovery that asked for it: a code sent for
//! one recovery cannot verify another opened by someone else, nor can
//! guesses made through another recovery use up its tries. Codes then
//! outstanding (ten minutes' worth) are removed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0013_codes_per_recovery"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection().execute_unprepared("DELETE FROM reset_codes").await?;
        m.alter_table(Table::alter().table("reset_codes").add_column(string_null("recovery_id")).take()).await?;
        m.create_index(
            Index::create().name("ix_reset_codes_recovery").table("reset_codes").col("recovery_id").col("id").take(),
        )
        .await?;
        Ok(())
    }
}
