//! 注册会计师年检 (seed 001): the regulator's data the CPAs' records come
//! from (each synchronisation run and the rows it refused), the check's
//! payload beside its review case, the face checks and the provider's
//! notifications already taken, the in-person verifications, the settings
//! per association and year, and learning records that belong to a CPA.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::helpers::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0017_cpa_check"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // The personal information seed 001 §2.3.4 shows, from the regulator.
        for c in ["ethnicity", "native_place", "region", "household", "political_status", "sync_digest"] {
            m.alter_table(Table::alter().table("cpas").add_column(string_null(c)).take()).await?;
        }
        m.alter_table(Table::alter().table("cpas").add_column(timestamp_with_time_zone_null("synced_at")).take())
            .await?;
        // The CPA's own declaration (离退休), carried to the next year with its
        // materials (seed 001 §2.1.4), and the year they were last carried into.
        m.alter_table(Table::alter().table("cpas").add_column(boolean("retired").default(false)).take()).await?;
        m.alter_table(Table::alter().table("cpas").add_column(integer_null("materials_carried_for")).take()).await?;
        // A branch (分所) names its head office.
        m.alter_table(Table::alter().table("firms").add_column(integer_null("parent_id")).take()).await?;
        m.alter_table(Table::alter().table("firms").add_column(string_null("sync_digest")).take()).await?;

        m.create_table(
            Table::create()
                .table("regulator_runs")
                .col(pk_auto("id"))
                .col(string("source"))
                .col(string("run_by"))
                .col(string("state"))
                .col(integer("firms_new").default(0))
                .col(integer("firms_changed").default(0))
                .col(integer("cpas_new").default(0))
                .col(integer("cpas_changed").default(0))
                .col(integer("cpas_moved").default(0))
                .col(integer("cpas_cancelled").default(0))
                .col(integer("unchanged").default(0))
                .col(integer("refused").default(0))
                .col(text_null("error"))
                .col(timestamp_with_time_zone("started_at"))
                .col(timestamp_with_time_zone_null("finished_at"))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("regulator_refusals")
                .col(pk_auto("id"))
                .col(integer("run_id"))
                .col(integer("line"))
                .col(string("record_kind"))
                .col(string("record_key"))
                .col(text("reason"))
                .foreign_key(&mut fk("fk_refusal_run", "regulator_refusals", "run_id", "regulator_runs"))
                .take(),
        )
        .await?;
        index(m, "ix_refusals_run", "regulator_refusals", &["run_id", "line"], false).await?;

        m.create_table(
            Table::create()
                .table("cpa_check_settings")
                .col(pk_auto("id"))
                .col(integer("association_id"))
                .col(integer("year"))
                .col(date("window_start"))
                .col(date("window_end"))
                .col(big_integer("annual_hours_x100"))
                .col(text("pre_notice"))
                .col(text("success_notice"))
                .col(text("serving_materials"))
                .col(text("retired_materials"))
                .col(string("updated_by"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk(
                    "fk_cpa_check_settings_association",
                    "cpa_check_settings",
                    "association_id",
                    "associations",
                ))
                .take(),
        )
        .await?;
        index(m, "ux_cpa_check_settings", "cpa_check_settings", &["association_id", "year"], true).await?;

        m.create_table(
            Table::create()
                .table("cpa_checks")
                .col(integer("case_id").primary_key())
                .col(integer("cpa_id"))
                .col(integer("year"))
                .col(boolean("retired"))
                .col(string("identity"))
                .col(integer_null("face_check_id"))
                .col(big_integer("hours_required_x100"))
                .col(big_integer("hours_done_x100"))
                .col(text_null("profile_enc"))
                .foreign_key(&mut fk("fk_cpa_check_case", "cpa_checks", "case_id", "review_cases"))
                .foreign_key(&mut fk("fk_cpa_check_cpa", "cpa_checks", "cpa_id", "cpas"))
                .take(),
        )
        .await?;
        // One check a CPA a year: a second submission is refused by the database too.
        index(m, "ux_cpa_checks_cpa_year", "cpa_checks", &["cpa_id", "year"], true).await?;

        m.create_table(
            Table::create()
                .table("face_checks")
                .col(pk_auto("id"))
                .col(string_uniq("token_digest"))
                .col(text("token_enc"))
                .col(integer("cpa_id"))
                .col(integer("year"))
                .col(string("channel"))
                .col(string("state"))
                .col(boolean("retired"))
                .col(string_null("provider_token"))
                .col(text_null("handoff_url"))
                .col(date("day"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("finished_at"))
                .col(timestamp_with_time_zone_null("queried_at"))
                .col(integer_null("result_code"))
                .col(integer_null("liveness_code"))
                .col(integer_null("compare_code"))
                .col(text_null("message"))
                .col(integer_null("similarity_x100"))
                .col(text_null("frame_key"))
                .col(integer_null("case_id"))
                .foreign_key(&mut fk("fk_face_check_cpa", "face_checks", "cpa_id", "cpas"))
                .take(),
        )
        .await?;
        index(m, "ix_face_checks_cpa", "face_checks", &["cpa_id", "year", "id"], false).await?;
        index(m, "ix_face_checks_state", "face_checks", &["state", "created_at"], false).await?;
        index(m, "ux_face_checks_provider_token", "face_checks", &["provider_token"], true).await?;

        // A provider's notification is acted on once: its id is kept.
        m.create_table(
            Table::create()
                .table("provider_notices")
                .col(pk_auto("id"))
                .col(string("provider"))
                .col(string("notice_id"))
                .col(timestamp_with_time_zone("received_at"))
                .take(),
        )
        .await?;
        index(m, "ux_provider_notices", "provider_notices", &["provider", "notice_id"], true).await?;

        m.create_table(
            Table::create()
                .table("offline_verifications")
                .col(pk_auto("id"))
                .col(integer("cpa_id"))
                .col(integer("year"))
                .col(integer("association_id"))
                .col(string("document_type"))
                .col(string("document_no_enc"))
                .col(date("verified_on"))
                .col(integer("verified_by"))
                .col(string("verified_by_name"))
                .col(text_null("note"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("fk_offline_cpa", "offline_verifications", "cpa_id", "cpas"))
                .take(),
        )
        .await?;
        index(m, "ux_offline_cpa_year", "offline_verifications", &["cpa_id", "year"], true).await?;

        // The development provider's own records (it plays the face
        // verification company; exists only when configured).
        m.create_table(
            Table::create()
                .table("dev_face_checks")
                .col(string("biz_token").primary_key())
                .col(string("name"))
                .col(string("id_masked"))
                .col(text("return_url"))
                .col(text("notify_url"))
                .col(string("extra"))
                .col(string("state"))
                .col(text_null("result"))
                .col(timestamp_with_time_zone("created_at"))
                .take(),
        )
        .await?;

        learning_records_for_cpas(m).await
    }
}

/// A learning record belongs to a member or to a CPA: `member_id` may be
/// empty when `cpa_id` is set. SQLite cannot drop a NOT NULL, so there the
/// table is rebuilt (inside the migration's transaction).
async fn learning_records_for_cpas(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = m.get_connection();
    if m.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        for sql in [
            "ALTER TABLE learning_records RENAME TO learning_records_old",
            "CREATE TABLE learning_records ( \
               id integer NOT NULL PRIMARY KEY AUTOINCREMENT, \
               member_id integer NULL REFERENCES members (id), \
               cpa_id integer NULL REFERENCES cpas (id), \
               year integer NOT NULL, kind varchar NOT NULL, category varchar NOT NULL, \
               title varchar NOT NULL, source varchar NOT NULL, recorded_by varchar NOT NULL, \
               created_at timestamp_with_timezone_text NOT NULL, hours_x100 integer NOT NULL DEFAULT 0, \
               CHECK ((member_id IS NULL) <> (cpa_id IS NULL)))",
            "INSERT INTO learning_records (id, member_id, year, kind, category, title, source, recorded_by, \
               created_at, hours_x100) SELECT id, member_id, year, kind, category, title, source, recorded_by, \
               created_at, hours_x100 FROM learning_records_old",
            "DROP TABLE learning_records_old",
        ] {
            db.execute_unprepared(sql).await?;
        }
        // A new name: m0006's statement for the old one is still in the
        // connection's statement cache, and run again it says the index exists.
        index(m, "ix_learning_records_member", "learning_records", &["member_id", "year"], false).await?;
    } else {
        db.execute_unprepared("ALTER TABLE learning_records ALTER COLUMN member_id DROP NOT NULL").await?;
        db.execute_unprepared("ALTER INDEX ix_learning_member_year RENAME TO ix_learning_records_member").await?;
        db.execute_unprepared("ALTER TABLE learning_records ADD COLUMN cpa_id integer NULL REFERENCES cpas (id)")
            .await?;
        db.execute_unprepared(
            "ALTER TABLE learning_records ADD CONSTRAINT ck_learning_learner \
             CHECK ((member_id IS NULL) <> (cpa_id IS NULL))",
        )
        .await?;
    }
    index(m, "ix_learning_cpa_year", "learning_records", &["cpa_id", "year"], false).await
}
