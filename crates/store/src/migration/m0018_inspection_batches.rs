//! 年检批次 (seed 001 chapter 3): the batch a firm sends the provincial
//! association, beside its review case; which batch a CPA's check is in; and
//! the firm's materials each association asks for with a batch; and which
//! city associations their province lets review CPAs' checks.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::helpers::{fk, index};

pub struct Migration;

/// What associations that saved their settings before ask of a batch: the
/// seed's one material, * 社保证明材料 (at most 10 files of 5 MB).
const SOCIAL_SECURITY: &str =
    r#"[{"name":"社保证明材料","required":true,"kinds":["pdf","jpg","png","xls"],"max_count":10,"max_mb":5}]"#;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0018_inspection_batches"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("inspection_batches")
                .col(integer("case_id").primary_key())
                .col(integer("firm_id"))
                .col(integer("year"))
                .col(big_integer("seq"))
                .col(string("sent_by"))
                .foreign_key(&mut fk("fk_inspection_batch_case", "inspection_batches", "case_id", "review_cases"))
                .foreign_key(&mut fk("fk_inspection_batch_firm", "inspection_batches", "firm_id", "firms"))
                .take(),
        )
        .await?;
        index(m, "ux_inspection_batches_number", "inspection_batches", &["firm_id", "year", "seq"], true).await?;
        m.alter_table(Table::alter().table("cpa_checks").add_column(integer_null("batch_id")).take()).await?;
        index(m, "ix_cpa_checks_batch", "cpa_checks", &["batch_id"], false).await?;
        m.alter_table(
            Table::alter()
                .table("cpa_check_settings")
                .add_column(text("batch_materials").default(SOCIAL_SECURITY))
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter().table("associations").add_column(boolean("reviews_cpa_checks").default(false)).take(),
        )
        .await?;
        Ok(())
    }
}
