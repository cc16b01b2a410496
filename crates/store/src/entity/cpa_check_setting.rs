use sea_orm::entity::prelude::*;

/// What an association sets for the CPAs' check of a year.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cpa_check_settings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub association_id: i32,
    pub year: i32,
    pub window_start: Date,
    pub window_end: Date,
    pub annual_hours_x100: i64,
    /// 所属注协自定义提示信息, shown before applying.
    pub pre_notice: String,
    /// 地方注协初始化录入的提示信息, shown on success.
    pub success_notice: String,
    /// JSON: the materials serving CPAs upload.
    pub serving_materials: String,
    /// JSON: the materials retired (离退休) CPAs upload.
    pub retired_materials: String,
    /// JSON: the materials a firm sends with a batch (社保证明材料).
    pub batch_materials: String,
    pub updated_by: String,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
