//! Sessions and tokens carry the stamp of the password they were made with,
//! so one made while the password changed is refused at its first use; and
//! session rows are keyed by a hash of the id with their data encrypted.
//! Sessions of the old form cannot be read and are ended; API tokens without
//! a stamp are ended too (clients log in again).

use sea_orm::DbErr;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0010_credentials"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("DELETE FROM sessions").await?;
        db.execute_unprepared("DELETE FROM api_tokens").await?;
        m.alter_table(Table::alter().table("api_tokens").add_column(string("credential").default("")).take()).await?;
        Ok(())
    }
}
