use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "inspection_settings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub association_id: i32,
    pub year: i32,
    pub window_start: Date,
    pub window_end: Date,
    /// Hours in hundredths.
    pub annual_hours_x100: i64,
    pub fee_cents: i64,
    pub exempt_maternity: bool,
    /// JSON: [{name, required, kinds, max_count, max_mb}].
    pub materials: String,
    pub pre_notice: String,
    pub success_notice: String,
    pub max_deferral_years: i32,
    /// Days after a 年检不予通过 before it is final and membership cancelled.
    pub failure_final_days: i32,
    /// Whether a deferral needs proof (暂缓证明材料).
    pub deferral_proof: bool,
    pub updated_by: String,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
