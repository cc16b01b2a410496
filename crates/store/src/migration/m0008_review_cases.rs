//! One review kernel: every reviewed application is a row of `review_cases`
//! (its kind, state, where it is filed, who applied, the dates a reviewer
//! needs), and each workflow keeps what is its own in a payload table keyed
//! by the case. The admission applications and the non-practicing members'
//! annual inspections move in, with their trail, files and messages; hours
//! become whole hundredths instead of floating point.

use sea_orm::{ConnectionTrait, DbErr};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::helpers::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0008_review_cases"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        m.create_table(
            Table::create()
                .table("review_cases")
                .col(pk_auto("id"))
                .col(string("kind"))
                .col(string("state"))
                .col(integer_null("year"))
                .col(integer("association_id"))
                .col(integer_null("city_association_id"))
                .col(integer_null("firm_id"))
                .col(integer_null("member_id"))
                .col(integer_null("applicant_user_id"))
                .col(string("number"))
                .col(string("name"))
                .col(timestamp_with_time_zone("first_submitted_at"))
                .col(timestamp_with_time_zone("submitted_at"))
                .col(date("deadline"))
                .col(timestamp_with_time_zone_null("decided_at"))
                .col(text_null("return_reason"))
                .col(text_null("return_items"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("fk_case_association", "review_cases", "association_id", "associations"))
                .foreign_key(&mut fk("fk_case_city", "review_cases", "city_association_id", "associations"))
                .foreign_key(&mut fk("fk_case_firm", "review_cases", "firm_id", "firms"))
                .foreign_key(&mut fk("fk_case_member", "review_cases", "member_id", "members"))
                .take(),
        )
        .await?;
        // A queue is a kind, maybe a year, some states, in deadline order.
        index(m, "ix_cases_queue", "review_cases", &["kind", "state", "deadline", "id"], false).await?;
        index(m, "ix_cases_year_queue", "review_cases", &["kind", "year", "deadline", "id"], false).await?;
        index(m, "ix_cases_association", "review_cases", &["kind", "association_id", "state"], false).await?;
        index(m, "ix_cases_city", "review_cases", &["kind", "city_association_id", "state"], false).await?;
        index(m, "ix_cases_member", "review_cases", &["member_id"], false).await?;
        index(m, "ix_cases_number", "review_cases", &["number"], false).await?;

        m.create_table(
            Table::create()
                .table("member_admissions")
                .col(integer("case_id").primary_key())
                .col(string_uniq("business_no"))
                .col(string("id_type"))
                .col(text("id_number_enc"))
                .col(string("id_number_digest"))
                .col(string("qualification_method"))
                .col(string("exam_cert_no"))
                .col(text("profile_enc"))
                .col(string("photo_key"))
                .col(string("photo_type"))
                .col(text_null("initial_password_enc"))
                .foreign_key(&mut fk("fk_member_admission_case", "member_admissions", "case_id", "review_cases"))
                .take(),
        )
        .await?;
        index(m, "ix_member_admissions_id", "member_admissions", &["id_number_digest"], false).await?;
        index(m, "ix_member_admissions_exam", "member_admissions", &["exam_cert_no"], false).await?;

        m.create_table(
            Table::create()
                .table("member_inspections")
                .col(integer("case_id").primary_key())
                .col(integer("member_id"))
                .col(integer("year"))
                .col(big_integer("hours_required_x100"))
                .col(big_integer("hours_done_x100"))
                .col(string("fee_status"))
                .col(text_null("deferral_reason"))
                .foreign_key(&mut fk("fk_member_inspection_case", "member_inspections", "case_id", "review_cases"))
                .foreign_key(&mut fk("fk_member_inspection_member", "member_inspections", "member_id", "members"))
                .take(),
        )
        .await?;
        // One application a member a year: applying twice is refused by the database too.
        index(m, "ux_member_inspection_year", "member_inspections", &["member_id", "year"], true).await?;

        // The applications there are, moved in. The case's number is what
        // staff search and the queue shows: the business number, the member number.
        db.execute_unprepared(
            "INSERT INTO review_cases (kind, state, year, association_id, city_association_id, firm_id, member_id, \
             applicant_user_id, number, name, first_submitted_at, submitted_at, deadline, decided_at, return_reason, \
             return_items, created_at, updated_at) \
             SELECT 'member_admission', state, NULL, association_id, NULL, NULL, member_id, NULL, business_no, name, \
             submitted_at, submitted_at, deadline, NULL, return_reason, NULL, created_at, updated_at \
             FROM admission_applications ORDER BY id",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO member_admissions (case_id, business_no, id_type, id_number_enc, id_number_digest, \
             qualification_method, exam_cert_no, profile_enc, photo_key, photo_type, initial_password_enc) \
             SELECT c.id, a.business_no, a.id_type, a.id_number_enc, a.id_number_digest, a.qualification_method, \
             a.exam_cert_no, a.profile_enc, a.photo_key, a.photo_type, a.initial_password_enc \
             FROM admission_applications a JOIN review_cases c \
             ON c.kind = 'member_admission' AND c.number = a.business_no",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO review_cases (kind, state, year, association_id, city_association_id, firm_id, member_id, \
             applicant_user_id, number, name, first_submitted_at, submitted_at, deadline, decided_at, return_reason, \
             return_items, created_at, updated_at) \
             SELECT 'member_inspection', i.state, i.year, i.association_id, i.city_association_id, NULL, i.member_id, \
             (SELECT u.id FROM users u WHERE u.member_id = i.member_id), i.cert_no, i.name, i.created_at, \
             i.submitted_at, i.deadline, i.decided_at, i.return_reason, i.return_items, i.created_at, i.updated_at \
             FROM annual_inspections i ORDER BY i.id",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO member_inspections (case_id, member_id, year, hours_required_x100, hours_done_x100, \
             fee_status, deferral_reason) \
             SELECT c.id, i.member_id, i.year, CAST(ROUND(i.hours_required * 100) AS BIGINT), \
             CAST(ROUND(i.hours_done * 100) AS BIGINT), i.fee_status, i.deferral_reason \
             FROM annual_inspections i JOIN review_cases c \
             ON c.kind = 'member_inspection' AND c.member_id = i.member_id AND c.year = i.year",
        )
        .await?;

        // Their trails and files follow them to the case.
        db.execute_unprepared(
            "UPDATE approval_steps SET subject_type = 'member_admission', subject_id = \
             (SELECT m.case_id FROM member_admissions m JOIN admission_applications a ON a.business_no = m.business_no \
              WHERE a.id = approval_steps.subject_id) \
             WHERE subject_type = 'admission'",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE approval_steps SET subject_type = 'member_inspection', subject_id = \
             (SELECT m.case_id FROM member_inspections m JOIN annual_inspections i \
              ON i.member_id = m.member_id AND i.year = m.year WHERE i.id = approval_steps.subject_id) \
             WHERE subject_type = 'annual_inspection'",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE attachments SET owner_type = 'member_inspection', owner_id = \
             (SELECT m.case_id FROM member_inspections m JOIN annual_inspections i \
              ON i.member_id = m.member_id AND i.year = m.year WHERE i.id = attachments.owner_id) \
             WHERE owner_type = 'inspection' AND owner_id IS NOT NULL",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE attachments SET owner_type = 'member_inspection' WHERE owner_type = 'inspection'",
        )
        .await?;
        // Messages linked to an application by its old number open the history instead.
        db.execute_unprepared(
            "UPDATE messages SET link = '/member-inspection/history' \
             WHERE link LIKE '/inspection/%' AND link NOT LIKE '/inspection/apply%'",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE messages SET link = '/member-inspection/apply' WHERE link LIKE '/inspection/apply%'",
        )
        .await?;
        m.drop_table(Table::drop().table("admission_applications").take()).await?;
        m.drop_table(Table::drop().table("annual_inspections").take()).await?;

        // Hours in whole hundredths: 12.5 hours is 1250.
        for (table, old, new) in
            [("learning_records", "hours", "hours_x100"), ("inspection_settings", "annual_hours", "annual_hours_x100")]
        {
            m.alter_table(Table::alter().table(table).add_column(big_integer(new).default(0)).take()).await?;
            db.execute_unprepared(&format!("UPDATE {table} SET {new} = CAST(ROUND({old} * 100) AS BIGINT)")).await?;
            db.execute_unprepared(&format!("ALTER TABLE {table} DROP COLUMN {old}")).await?;
        }
        Ok(())
    }
}
