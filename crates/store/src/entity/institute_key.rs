use sea_orm::entity::prelude::*;

/// An institute's API credentials (接口密钥).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "institute_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub institute_id: i32,
    /// Public: names the key in each call.
    pub key_id: String,
    /// The signing secret, encrypted like personal data.
    pub secret_enc: String,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
    pub last_used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
