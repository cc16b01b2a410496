//! The yearly queue's index carries the state. A queue page filters a year's
//! cases by state in deadline order; without the state in the index SQLite
//! read the row of every case it passed to test it (33 ms for page 50 of
//! CICPA's queue at national scale, 680 ms to count it). With it, a page
//! reads the index and twenty rows (0.3 ms), and the count reads the index
//! alone (25 ms, kept for a few seconds by `review::queue`).

use sea_orm_migration::prelude::*;

use super::helpers::index;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0016_queue_index_covers_state"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        index(m, "ix_cases_year_state_queue", "review_cases", &["kind", "year", "deadline", "id", "state"], false)
            .await?;
        m.get_connection().execute_unprepared("DROP INDEX ix_cases_year_queue").await?;
        Ok(())
    }
}
