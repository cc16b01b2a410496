use sea_orm::entity::prelude::*;

/// 年检批次: a firm's batch of its CPAs' applications, beside its review case.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inspection_batches")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: i32,
    pub firm_id: i32,
    pub year: i32,
    /// The firm's sequence of the year: {事务所编号}-{年度}-{seq}.
    pub seq: i64,
    pub sent_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
