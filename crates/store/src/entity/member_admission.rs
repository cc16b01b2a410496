use sea_orm::entity::prelude::*;

/// 非执业会员入会申请: what the applicant sent, beside its review case.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "member_admissions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: i32,
    pub business_no: String,
    pub id_type: String,
    pub id_number_enc: String,
    pub id_number_digest: String,
    pub qualification_method: String,
    pub exam_cert_no: String,
    pub profile_enc: String,
    pub photo_key: String,
    pub photo_type: String,
    pub initial_password_enc: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
