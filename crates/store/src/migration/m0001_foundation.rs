//! Organisations, accounts, sessions, login throttling, captchas, messages,
//! approval trail, audit log, attachments, outbox.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0001_foundation"
    }
}

fn fk(from: &'static str, col: &'static str, to: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create().name(format!("fk_{from}_{col}")).from(from, col).to(to, "id").take()
}

async fn index(m: &SchemaManager<'_>, table: &'static str, cols: &[&'static str], unique: bool) -> Result<(), DbErr> {
    let mut idx = Index::create();
    idx.name(format!("ix_{table}_{}", cols.join("_"))).table(table);
    for c in cols {
        idx.col(*c);
    }
    if unique {
        idx.unique();
    }
    m.create_index(idx).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("associations")
                .col(pk_auto("id"))
                .col(string_uniq("code"))
                .col(string("name"))
                .col(string("short_name"))
                .col(string("level"))
                .col(integer_null("parent_id"))
                .col(string_null("province_code"))
                .col(string_null("phone_practicing"))
                .col(string_null("phone_non_practicing"))
                .col(string_null("phone_firm"))
                .col(string_null("address"))
                .col(integer("sort_order"))
                .foreign_key(&mut fk("associations", "parent_id", "associations"))
                .take(),
        )
        .await?;
        index(m, "associations", &["parent_id"], false).await?;

        m.create_table(
            Table::create()
                .table("contact_lines")
                .col(pk_auto("id"))
                .col(string("name"))
                .col(string("phone"))
                .col(string_null("email"))
                .col(integer("sort_order"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("firms")
                .col(pk_auto("id"))
                .col(string_uniq("firm_no"))
                .col(string("name"))
                .col(integer("association_id"))
                .col(integer_null("city_association_id"))
                .col(string("form"))
                .col(string_null("address"))
                .col(string_null("phone"))
                .col(string_null("contact_person"))
                .col(string("status"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("firms", "association_id", "associations"))
                .foreign_key(&mut fk("firms", "city_association_id", "associations"))
                .take(),
        )
        .await?;
        index(m, "firms", &["association_id"], false).await?;

        // People's identity numbers and phones are stored encrypted; `*_digest` is a keyed
        // hash of the normalised value, for uniqueness and look-up without decrypting.
        for (table, number) in [("members", "cert_no"), ("cpas", "cpa_no")] {
            let mut t = Table::create();
            t.table(table)
                .col(pk_auto("id"))
                .col(string_uniq(number))
                .col(string("name"))
                .col(string("sex"))
                .col(date("birth_date"))
                .col(string("id_type"))
                .col(text("id_number_enc"))
                .col(string("id_number_digest"))
                .col(text_null("mobile_enc"))
                .col(string_null("mobile_digest"))
                .col(string_null("email"))
                .col(integer("association_id"))
                .col(integer_null("city_association_id"))
                .col(string("qualification_method"))
                .col(string_null("exam_cert_no"))
                .col(integer_null("exam_year"))
                .col(string("status"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk(table, "association_id", "associations"))
                .foreign_key(&mut fk(table, "city_association_id", "associations"));
            if table == "members" {
                t.col(date("admitted_on")).col(string_null("work_unit"));
            } else {
                t.col(integer("firm_id"))
                    .col(date("registered_on"))
                    .col(boolean("is_partner"))
                    .foreign_key(&mut fk(table, "firm_id", "firms"));
            }
            m.create_table(t.take()).await?;
            index(m, table, &["id_number_digest"], true).await?;
            index(m, table, &["association_id", "status"], false).await?;
            index(m, table, &["name"], false).await?;
        }
        index(m, "cpas", &["firm_id"], false).await?;

        m.create_table(
            Table::create()
                .table("users")
                .col(pk_auto("id"))
                .col(string("user_type"))
                .col(string("login_name"))
                .col(string("display_name"))
                .col(string("password_hash"))
                .col(boolean("must_change_password"))
                .col(integer("association_id"))
                .col(integer_null("member_id"))
                .col(integer_null("cpa_id"))
                .col(integer_null("firm_id"))
                .col(boolean("disabled"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("password_changed_at"))
                .col(timestamp_with_time_zone_null("last_login_at"))
                .foreign_key(&mut fk("users", "association_id", "associations"))
                .foreign_key(&mut fk("users", "member_id", "members"))
                .foreign_key(&mut fk("users", "cpa_id", "cpas"))
                .foreign_key(&mut fk("users", "firm_id", "firms"))
                .take(),
        )
        .await?;
        index(m, "users", &["user_type", "login_name"], true).await?;

        m.create_table(
            Table::create()
                .table("sessions")
                .col(string("id").primary_key())
                .col(text("data"))
                .col(timestamp_with_time_zone("expires_at"))
                .take(),
        )
        .await?;
        index(m, "sessions", &["expires_at"], false).await?;

        m.create_table(
            Table::create()
                .table("throttles")
                .col(string("key").primary_key())
                .col(integer("failures"))
                .col(timestamp_with_time_zone("window_start"))
                .col(timestamp_with_time_zone_null("locked_until"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("captchas")
                .col(string("id").primary_key())
                .col(string("answer"))
                .col(timestamp_with_time_zone("expires_at"))
                .take(),
        )
        .await?;
        index(m, "captchas", &["expires_at"], false).await?;

        m.create_table(
            Table::create()
                .table("messages")
                .col(pk_auto("id"))
                .col(integer("user_id"))
                .col(string("title"))
                .col(text("body"))
                .col(string_null("link"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("read_at"))
                .foreign_key(&mut fk("messages", "user_id", "users"))
                .take(),
        )
        .await?;
        index(m, "messages", &["user_id", "read_at"], false).await?;

        m.create_table(
            Table::create()
                .table("approval_steps")
                .col(pk_auto("id"))
                .col(string("subject_type"))
                .col(integer("subject_id"))
                .col(string("node"))
                .col(string("unit"))
                .col(string("actor"))
                .col(text("opinion"))
                .col(timestamp_with_time_zone("created_at"))
                .take(),
        )
        .await?;
        index(m, "approval_steps", &["subject_type", "subject_id"], false).await?;

        m.create_table(
            Table::create()
                .table("audit_events")
                .col(big_pk_auto("id"))
                .col(timestamp_with_time_zone("at"))
                .col(string("actor"))
                .col(string("action"))
                .col(string("subject"))
                .col(text("detail"))
                .col(string("prev_hash"))
                .col(string("hash"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("attachments")
                .col(pk_auto("id"))
                .col(string("context"))
                .col(string("owner_type"))
                .col(integer_null("owner_id"))
                .col(integer("uploaded_by"))
                .col(string("file_name"))
                .col(string("content_type"))
                .col(big_integer("size_bytes"))
                .col(string("sha256"))
                .col(string_uniq("storage_key"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("attachments", "uploaded_by", "users"))
                .take(),
        )
        .await?;
        index(m, "attachments", &["owner_type", "owner_id"], false).await?;

        m.create_table(
            Table::create()
                .table("outbox")
                .col(pk_auto("id"))
                .col(string("channel"))
                .col(string("recipient"))
                .col(string("subject"))
                .col(text("body"))
                .col(timestamp_with_time_zone("created_at"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create().table("sequences").col(string("name").primary_key()).col(big_integer("value")).take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("the foundation cannot be rolled back".into()))
    }
}
