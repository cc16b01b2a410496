use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub channel: String,
    /// Masked (138****3031).
    pub recipient: String,
    pub subject: String,
    /// Encrypted with the personal-information key.
    pub body: String,
    /// The full recipient, encrypted.
    pub recipient_enc: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
