use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "annual_inspections")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub member_id: i32,
    pub year: i32,
    pub association_id: i32,
    pub city_association_id: Option<i32>,
    pub cert_no: String,
    pub name: String,
    pub state: String,
    pub hours_required: f64,
    pub hours_done: f64,
    pub fee_status: String,
    pub deferral_reason: Option<String>,
    pub return_reason: Option<String>,
    /// JSON list of the fields and materials the reviewer named.
    pub return_items: Option<String>,
    pub submitted_at: DateTimeUtc,
    pub deadline: Date,
    pub decided_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
