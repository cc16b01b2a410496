use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "firms")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub firm_no: cmis_domain::FirmNo,
    pub name: String,
    pub association_id: i32,
    pub city_association_id: Option<i32>,
    pub form: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub contact_person: Option<String>,
    pub status: String,
    pub created_at: DateTimeUtc,
    /// The head office of a branch (分所).
    pub parent_id: Option<i32>,
    pub sync_digest: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
