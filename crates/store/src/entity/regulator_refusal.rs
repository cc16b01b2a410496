use sea_orm::entity::prelude::*;

/// A row of a run that was refused, and why.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "regulator_refusals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub run_id: i32,
    /// Its line in the file (the header is line 1 of a CSV or a sheet).
    pub line: i32,
    /// firm or cpa.
    pub record_kind: String,
    /// The firm's or CPA's number as given (masked where it is not one).
    pub record_key: String,
    pub reason: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
