use sea_orm::entity::prelude::*;

/// 非执业会员年检 of one member for one year, beside its review case.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "member_inspections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: i32,
    pub member_id: i32,
    pub year: i32,
    /// Hours in hundredths, as at the submission.
    pub hours_required_x100: i64,
    pub hours_done_x100: i64,
    pub fee_status: String,
    pub deferral_reason: Option<String>,
    /// Encrypted JSON: the values of the profile fields the last return
    /// named, as they were then (a resubmission must change them).
    pub flagged_enc: Option<String>,
    /// Encrypted JSON: the member's profile as submitted (the last time).
    pub profile_enc: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
