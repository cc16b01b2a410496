//! What the seeds ask for that the first workflows left out: the period after
//! which a 年检不予通过 is final and whether a deferral needs proof (per
//! association and year) with the failures decided before it made final,
//! the profile values a return named and the profile as submitted, a CPA's 档案存放单位, the exam system's photos
//! (全科合格证电子照片) and where a member's photo came from.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::helpers::index;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0014_seed_fidelity"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter().table("inspection_settings").add_column(integer("failure_final_days").default(30)).take(),
        )
        .await?;
        m.alter_table(
            Table::alter().table("inspection_settings").add_column(boolean("deferral_proof").default(true)).take(),
        )
        .await?;
        m.alter_table(Table::alter().table("member_inspections").add_column(text_null("flagged_enc")).take()).await?;
        // The profile as submitted: what the association reviews, whatever
        // the member changes afterwards.
        m.alter_table(Table::alter().table("member_inspections").add_column(text_null("profile_enc")).take()).await?;
        // A 年检不予通过 decided before this migration cancelled the membership at once: it is final.
        m.get_connection()
            .execute_unprepared(
                "UPDATE review_cases SET state = 'failed_final' WHERE kind = 'member_inspection' AND state = 'failed'",
            )
            .await?;
        m.alter_table(Table::alter().table("cpas").add_column(string_null("archive_unit")).take()).await?;
        // exam (全科合格证电子照片), application (uploaded with the admission
        // application) or association (brought in person and approved).
        m.alter_table(Table::alter().table("members").add_column(string_null("photo_source")).take()).await?;
        m.get_connection()
            .execute_unprepared("UPDATE members SET photo_source = 'application' WHERE photo_key IS NOT NULL")
            .await?;
        m.create_table(
            Table::create()
                .table("exam_photos")
                .col(pk_auto("id"))
                .col(string("exam_cert_no"))
                .col(string("file_key"))
                .col(integer_null("job_id"))
                .col(timestamp_with_time_zone("imported_at"))
                .take(),
        )
        .await?;
        index(m, "ux_exam_photos_cert", "exam_photos", &["exam_cert_no"], true).await?;
        Ok(())
    }
}
