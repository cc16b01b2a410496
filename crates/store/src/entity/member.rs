use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "members")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub cert_no: cmis_domain::MemberCertNo,
    pub name: String,
    pub sex: String,
    pub birth_date: Date,
    pub id_type: String,
    pub id_number_enc: String,
    pub id_number_digest: String,
    pub mobile_enc: Option<String>,
    pub mobile_digest: Option<String>,
    pub email: Option<String>,
    pub association_id: i32,
    pub city_association_id: Option<i32>,
    pub qualification_method: String,
    pub exam_cert_no: Option<String>,
    pub exam_year: Option<i32>,
    pub status: String,
    pub created_at: DateTimeUtc,
    pub admitted_on: Date,
    pub work_unit: Option<String>,
    pub profile_enc: Option<String>,
    pub photo_key: Option<String>,
    /// exam, application or association.
    pub photo_source: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
