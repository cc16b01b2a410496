use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "admission_applications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub business_no: String,
    pub state: String,
    pub association_id: i32,
    pub name: String,
    pub id_type: String,
    pub id_number_enc: String,
    pub id_number_digest: String,
    pub qualification_method: String,
    pub exam_cert_no: String,
    pub profile_enc: String,
    pub photo_key: String,
    pub photo_type: String,
    pub return_reason: Option<String>,
    pub submitted_at: DateTimeUtc,
    pub deadline: Date,
    pub member_id: Option<i32>,
    pub initial_password_enc: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
