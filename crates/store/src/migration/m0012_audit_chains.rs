//! The audit log becomes sixteen chains instead of one, so that appenders on
//! different chains do not wait for each other (on PostgreSQL each chain has
//! its own advisory lock). Existing events are chain 0, which continues;
//! chains 1–15 start from a genesis of their own, so that previous hashes
//! stay unique across chains and the unique index on them still refuses a
//! fork.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0012_audit_chains"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("audit_events")
                .add_column(ColumnDef::new("chain").small_integer().not_null().default(0))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_audit_events_chain_id").table("audit_events").col("chain").col("id").take(),
        )
        .await?;
        Ok(())
    }
}
