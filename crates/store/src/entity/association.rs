use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "associations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub code: String,
    pub name: String,
    pub short_name: String,
    pub level: String,
    pub parent_id: Option<i32>,
    pub province_code: Option<String>,
    pub phone_practicing: Option<String>,
    pub phone_non_practicing: Option<String>,
    pub phone_firm: Option<String>,
    pub address: Option<String>,
    pub sort_order: i32,
    /// A city association its province lets review CPAs' checks and batches.
    pub reviews_cpa_checks: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
