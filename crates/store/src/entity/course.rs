use sea_orm::entity::prelude::*;

/// 课程: one course of an institute for a year.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "courses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub institute_id: i32,
    pub year: i32,
    pub title: String,
    /// `required` (必修) or `elective` (选修).
    pub kind: String,
    /// `cpa`, `member` or `both`.
    pub audience: String,
    /// `ethics` (职业道德) or `professional`.
    pub category: String,
    /// `online` or `face_to_face`.
    pub form: String,
    /// What a non-practicing member pays; 0 = free.
    pub fee_cents: i64,
    pub intro: String,
    /// `draft`, `published` or `withdrawn`.
    pub state: String,
    pub sort: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
