//! 非执业会员入会申请, and the full member profile.
//!
//! The profile (every field of DOMAIN §2) is stored as encrypted JSON; the
//! columns beside it are what queues filter and sort on.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0003_admission"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("admission_applications")
                .col(pk_auto("id"))
                .col(string_uniq("business_no"))
                .col(string("state"))
                .col(integer("association_id"))
                .col(string("name"))
                .col(string("id_type"))
                .col(text("id_number_enc"))
                .col(string("id_number_digest"))
                .col(string("qualification_method"))
                .col(string("exam_cert_no"))
                .col(text("profile_enc"))
                .col(string("photo_key"))
                .col(string("photo_type"))
                .col(text_null("return_reason"))
                .col(timestamp_with_time_zone("submitted_at"))
                .col(date("deadline"))
                .col(integer_null("member_id"))
                .col(text_null("initial_password_enc"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_admission_association")
                        .from("admission_applications", "association_id")
                        .to("associations", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_admission_member")
                        .from("admission_applications", "member_id")
                        .to("members", "id"),
                )
                .take(),
        )
        .await?;
        for (name, cols) in [
            ("ix_admission_state_association", &["state", "association_id"][..]),
            ("ix_admission_id_digest", &["id_number_digest"][..]),
            ("ix_admission_exam_cert", &["exam_cert_no"][..]),
        ] {
            let mut idx = Index::create();
            idx.name(name).table("admission_applications");
            for c in cols {
                idx.col(*c);
            }
            m.create_index(idx).await?;
        }
        m.alter_table(Table::alter().table("members").add_column(text_null("profile_enc")).take()).await?;
        m.alter_table(Table::alter().table("members").add_column(string_null("photo_key")).take()).await?;
        let mut idx = Index::create();
        idx.name("ix_members_exam_cert_no").table("members").col("exam_cert_no");
        m.create_index(idx).await?;
        Ok(())
    }
}
