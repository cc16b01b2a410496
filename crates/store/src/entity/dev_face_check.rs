use sea_orm::entity::prelude::*;

/// The development face provider's own record of a check it was asked for.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dev_face_checks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub biz_token: String,
    pub name: String,
    pub id_masked: String,
    pub return_url: String,
    pub notify_url: String,
    pub extra: String,
    /// waiting, passed or failed.
    pub state: String,
    /// The result as the provider returns it (JSON).
    pub result: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
