use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cpas")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub cpa_no: cmis_domain::CpaNo,
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
    pub firm_id: i32,
    pub registered_on: Date,
    pub is_partner: bool,
    /// 档案存放单位: where the CPA's file is kept, from the regulator's data
    /// or set by staff; a fact password recovery asks for.
    pub archive_unit: Option<String>,
    /// 民族, 籍贯, 所在地区, 户口所在地, 政治面貌 (seed 001 §2.3.4), from the regulator.
    pub ethnicity: Option<String>,
    pub native_place: Option<String>,
    pub region: Option<String>,
    pub household: Option<String>,
    pub political_status: Option<String>,
    /// A digest of the regulator's record as last applied: an unchanged row is skipped.
    pub sync_digest: Option<String>,
    pub synced_at: Option<DateTimeUtc>,
    /// 离退休, as the CPA last declared it in the annual check.
    pub retired: bool,
    /// The check year last year's retired materials were carried into.
    pub materials_carried_for: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
