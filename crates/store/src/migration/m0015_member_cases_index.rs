//! A member's cases by kind and year. The home page's 年检申请 tile and the
//! public QR page ask for a member's latest annual inspection (kind, member,
//! newest year first); with an index on the member alone, SQLite's planner
//! preferred the queue index that yields the year order and read every
//! member's case to find one (1 request a second at national scale). The
//! composite index answers it with one seek and serves every query that the
//! member-only index served.

use sea_orm_migration::prelude::*;

use super::helpers::index;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0015_member_cases_index"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        index(m, "ix_cases_member_kind_year", "review_cases", &["member_id", "kind", "year"], false).await?;
        m.get_connection().execute_unprepared("DROP INDEX ix_cases_member").await?;
        Ok(())
    }
}
