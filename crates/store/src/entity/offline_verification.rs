use sea_orm::entity::prelude::*;

/// 线下人工核验: the association saw the CPA's document in person.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "offline_verifications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub cpa_id: i32,
    pub year: i32,
    pub association_id: i32,
    pub document_type: String,
    /// Encrypted.
    pub document_no_enc: String,
    pub verified_on: Date,
    pub verified_by: i32,
    pub verified_by_name: String,
    pub note: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
