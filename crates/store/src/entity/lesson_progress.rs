use sea_orm::entity::prelude::*;

/// A learner's progress in one lesson, its 评价, and its crediting.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lesson_progress")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub user_id: i32,
    pub lesson_id: i32,
    pub course_id: i32,
    pub institute_id: i32,
    pub year: i32,
    /// How far the learner has watched without skipping.
    pub reached_secs: i32,
    /// The time the player has been reporting on this lesson, summed from
    /// the server's clock: what `reached_secs` may not pass.
    pub watched_ms: i64,
    pub beat_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
    pub rating: Option<i32>,
    pub comment: Option<String>,
    pub evaluated_at: Option<DateTimeUtc>,
    /// The ledger record it was credited as.
    pub record_id: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
