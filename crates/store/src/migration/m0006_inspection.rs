//! 非执业会员年检: the associations' settings per year, the applications,
//! the learning-record ledger the hours come from, and the fee payments.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::helpers::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0006_inspection"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("inspection_settings")
                .col(pk_auto("id"))
                .col(integer("association_id"))
                .col(integer("year"))
                .col(date("window_start"))
                .col(date("window_end"))
                .col(double("annual_hours"))
                .col(big_integer("fee_cents"))
                .col(boolean("exempt_maternity"))
                .col(text("materials"))
                .col(text("pre_notice"))
                .col(text("success_notice"))
                .col(integer("max_deferral_years"))
                .col(string("updated_by"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk(
                    "fk_inspection_settings_association",
                    "inspection_settings",
                    "association_id",
                    "associations",
                ))
                .take(),
        )
        .await?;
        index(m, "ux_inspection_settings", "inspection_settings", &["association_id", "year"], true).await?;

        m.create_table(
            Table::create()
                .table("annual_inspections")
                .col(pk_auto("id"))
                .col(integer("member_id"))
                .col(integer("year"))
                .col(integer("association_id"))
                .col(integer_null("city_association_id"))
                .col(string("cert_no"))
                .col(string("name"))
                .col(string("state"))
                .col(double("hours_required"))
                .col(double("hours_done"))
                .col(string("fee_status"))
                .col(text_null("deferral_reason"))
                .col(text_null("return_reason"))
                .col(text_null("return_items"))
                .col(timestamp_with_time_zone("submitted_at"))
                .col(date("deadline"))
                .col(timestamp_with_time_zone_null("decided_at"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("fk_inspection_member", "annual_inspections", "member_id", "members"))
                .foreign_key(&mut fk(
                    "fk_inspection_association",
                    "annual_inspections",
                    "association_id",
                    "associations",
                ))
                .take(),
        )
        .await?;
        // One application a member a year: applying twice is refused by the database too.
        index(m, "ux_inspection_member_year", "annual_inspections", &["member_id", "year"], true).await?;
        // Counts by state and scope, and the queue's pages in deadline order.
        index(m, "ix_inspection_state", "annual_inspections", &["year", "state", "association_id"], false).await?;
        index(m, "ix_inspection_deadline", "annual_inspections", &["year", "deadline", "id"], false).await?;
        index(m, "ix_inspection_city", "annual_inspections", &["year", "city_association_id"], false).await?;

        m.create_table(
            Table::create()
                .table("learning_records")
                .col(pk_auto("id"))
                .col(integer("member_id"))
                .col(integer("year"))
                .col(string("kind"))
                .col(double("hours"))
                .col(string("category"))
                .col(string("title"))
                .col(string("source"))
                .col(string("recorded_by"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("fk_learning_member", "learning_records", "member_id", "members"))
                .take(),
        )
        .await?;
        index(m, "ix_learning_member_year", "learning_records", &["member_id", "year"], false).await?;

        m.create_table(
            Table::create()
                .table("fee_payments")
                .col(pk_auto("id"))
                .col(integer("member_id"))
                .col(integer("year"))
                .col(integer("association_id"))
                .col(big_integer("amount_cents"))
                .col(string("status"))
                .col(string("method"))
                .col(string_uniq("order_no"))
                .col(string_null("provider_txn"))
                .col(timestamp_with_time_zone_null("paid_at"))
                .col(string_null("confirmed_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("fk_fee_member", "fee_payments", "member_id", "members"))
                .take(),
        )
        .await?;
        index(m, "ux_fee_member_year", "fee_payments", &["member_id", "year"], true).await?;
        index(m, "ix_fee_status", "fee_payments", &["status", "association_id", "year"], false).await?;

        // Which of the association's materials a file is for.
        m.alter_table(Table::alter().table("attachments").add_column(string_null("label")).take()).await?;
        index(m, "ix_attachments_owner", "attachments", &["owner_type", "owner_id"], false).await?;
        Ok(())
    }
}
