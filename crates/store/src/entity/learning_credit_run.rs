use sea_orm::entity::prelude::*;

/// 学时入账: one day's crediting, however often it ran.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "learning_credit_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The day it ran for: lessons evaluated before this day are credited.
    pub day: Date,
    pub runs: i32,
    pub credited: i64,
    pub hours_x100: i64,
    pub started_at: DateTimeUtc,
    pub finished_at: DateTimeUtc,
    pub run_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
