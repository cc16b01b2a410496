use sea_orm::entity::prelude::*;

/// One synchronisation of the regulator's data (注册会计师行业统一监管平台).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "regulator_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The file's name, or the provider's.
    pub source: String,
    pub run_by: String,
    /// running, succeeded or failed (a failed run changed nothing).
    pub state: String,
    pub firms_new: i32,
    pub firms_changed: i32,
    pub cpas_new: i32,
    pub cpas_changed: i32,
    pub cpas_moved: i32,
    pub cpas_cancelled: i32,
    pub unchanged: i32,
    pub refused: i32,
    pub error: Option<String>,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
