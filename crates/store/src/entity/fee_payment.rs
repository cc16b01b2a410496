use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "fee_payments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub member_id: i32,
    pub year: i32,
    pub association_id: i32,
    pub amount_cents: i64,
    /// `unpaid`, `pending_confirmation`, `confirmed`.
    pub status: String,
    /// `online` (through the payment provider) or `offline` (confirmed by staff).
    pub method: String,
    pub order_no: String,
    pub provider_txn: Option<String>,
    pub paid_at: Option<DateTimeUtc>,
    pub confirmed_by: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
