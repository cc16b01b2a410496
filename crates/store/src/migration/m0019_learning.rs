//! 继续教育, part 1 (seed 004 chapters 1–2): the national accounting
//! institutes with their staff and API keys; their course catalogue with
//! lessons; each learner's institute of the year, progress, 评价 and
//! course fees; the nightly crediting runs; and the ledger's record of where
//! each record came from (institute and its record id, form, date, the record
//! a reversal takes back).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::helpers::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0019_learning"
    }
}

/// The three institutes of DOMAIN.md, with the numbers learners call.
const INSTITUTES: [(&str, &str, &str); 3] = [
    ("bnai", "北京国家会计学院", "010-69467030"),
    ("snai", "上海国家会计学院", "021-69768000"),
    ("xnai", "厦门国家会计学院", "0592-2569191"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("institutes")
                .col(pk_auto("id"))
                .col(string_uniq("code"))
                .col(string("name"))
                .col(string("phone"))
                .take(),
        )
        .await?;
        for (code, name, phone) in INSTITUTES {
            m.exec_stmt(
                Query::insert()
                    .into_table("institutes")
                    .columns(["code", "name", "phone"])
                    .values_panic([code.into(), name.into(), phone.into()])
                    .take(),
            )
            .await?;
        }
        m.alter_table(Table::alter().table("users").add_column(integer_null("institute_id")).take()).await?;

        m.create_table(
            Table::create()
                .table("institute_keys")
                .col(pk_auto("id"))
                .col(integer("institute_id"))
                .col(string_uniq("key_id"))
                .col(text("secret_enc"))
                .col(string("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .col(timestamp_with_time_zone_null("last_used_at"))
                .foreign_key(&mut fk("fk_institute_key_institute", "institute_keys", "institute_id", "institutes"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("courses")
                .col(pk_auto("id"))
                .col(integer("institute_id"))
                .col(integer("year"))
                .col(string("title"))
                .col(string("kind"))
                .col(string("audience"))
                .col(string("category"))
                .col(string("form"))
                .col(big_integer("fee_cents"))
                .col(text("intro"))
                .col(string("state"))
                .col(integer("sort"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("fk_course_institute", "courses", "institute_id", "institutes"))
                .take(),
        )
        .await?;
        index(m, "ix_courses_institute_year", "courses", &["institute_id", "year", "state"], false).await?;
        m.create_table(
            Table::create()
                .table("lessons")
                .col(pk_auto("id"))
                .col(integer("course_id"))
                .col(integer("seq"))
                .col(string("title"))
                .col(big_integer("hours_x100"))
                .col(integer("duration_secs"))
                .col(string("material_kind"))
                .col(string_null("object_key"))
                .col(string_null("file_name"))
                .col(string_null("content_type"))
                .col(big_integer("size").default(0))
                .foreign_key(&mut fk("fk_lesson_course", "lessons", "course_id", "courses"))
                .take(),
        )
        .await?;
        index(m, "ix_lessons_course", "lessons", &["course_id", "seq"], false).await?;

        m.create_table(
            Table::create()
                .table("learning_choices")
                .col(pk_auto("id"))
                .col(integer("user_id"))
                .col(integer("year"))
                .col(integer("institute_id"))
                .col(integer("association_id"))
                .col(timestamp_with_time_zone("chosen_at"))
                .col(timestamp_with_time_zone_null("released_at"))
                .col(string_null("released_by"))
                .col(string_null("release_reason"))
                .foreign_key(&mut fk("fk_choice_user", "learning_choices", "user_id", "users"))
                .foreign_key(&mut fk("fk_choice_institute", "learning_choices", "institute_id", "institutes"))
                .take(),
        )
        .await?;
        // One standing choice a learner and year; released ones stay as history.
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_learning_choices_open ON learning_choices (user_id, year) \
                 WHERE released_at IS NULL",
            )
            .await?;
        index(m, "ix_learning_choices_institute", "learning_choices", &["institute_id", "year"], false).await?;

        m.create_table(
            Table::create()
                .table("lesson_progress")
                .col(pk_auto("id"))
                .col(integer("user_id"))
                .col(integer("lesson_id"))
                .col(integer("course_id"))
                .col(integer("institute_id"))
                .col(integer("year"))
                .col(integer("reached_secs"))
                .col(big_integer("watched_ms").default(0))
                .col(timestamp_with_time_zone("beat_at"))
                .col(timestamp_with_time_zone_null("completed_at"))
                .col(integer_null("rating"))
                .col(text_null("comment"))
                .col(timestamp_with_time_zone_null("evaluated_at"))
                .col(integer_null("record_id"))
                .foreign_key(&mut fk("fk_progress_user", "lesson_progress", "user_id", "users"))
                .foreign_key(&mut fk("fk_progress_lesson", "lesson_progress", "lesson_id", "lessons"))
                .take(),
        )
        .await?;
        index(m, "ux_lesson_progress", "lesson_progress", &["user_id", "lesson_id"], true).await?;
        index(m, "ix_lesson_progress_credit", "lesson_progress", &["record_id", "evaluated_at"], false).await?;
        index(m, "ix_lesson_progress_institute", "lesson_progress", &["institute_id", "year"], false).await?;
        // The one lesson a learner is studying now, and the tab it plays in.
        m.create_table(
            Table::create()
                .table("study_sessions")
                .col(integer("user_id").primary_key())
                .col(string("tab"))
                .col(integer("lesson_id"))
                .col(timestamp_with_time_zone("beat_at"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("course_payments")
                .col(pk_auto("id"))
                .col(integer("user_id"))
                .col(integer("course_id"))
                .col(integer("year"))
                .col(big_integer("amount_cents"))
                .col(string_uniq("order_no"))
                .col(string("status"))
                .col(string_null("provider_txn"))
                .col(timestamp_with_time_zone_null("paid_at"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("fk_course_payment_user", "course_payments", "user_id", "users"))
                .foreign_key(&mut fk("fk_course_payment_course", "course_payments", "course_id", "courses"))
                .take(),
        )
        .await?;
        index(m, "ux_course_payments", "course_payments", &["user_id", "course_id"], true).await?;

        m.create_table(
            Table::create()
                .table("learning_credit_runs")
                .col(pk_auto("id"))
                .col(date("day").unique_key())
                .col(integer("runs"))
                .col(big_integer("credited"))
                .col(big_integer("hours_x100"))
                .col(timestamp_with_time_zone("started_at"))
                .col(timestamp_with_time_zone("finished_at"))
                .col(string("run_by"))
                .take(),
        )
        .await?;

        for stmt in [
            Table::alter().table("learning_records").add_column(string("form").default("face_to_face")).take(),
            Table::alter().table("learning_records").add_column(integer_null("institute_id")).take(),
            Table::alter().table("learning_records").add_column(string_null("external_id")).take(),
            Table::alter().table("learning_records").add_column(date_null("learned_on")).take(),
            Table::alter().table("learning_records").add_column(integer_null("reverses_id")).take(),
        ] {
            m.alter_table(stmt).await?;
        }
        index(m, "ux_learning_records_external", "learning_records", &["institute_id", "external_id"], true).await?;
        index(m, "ux_learning_records_reverses", "learning_records", &["reverses_id"], true).await?;
        Ok(())
    }
}
