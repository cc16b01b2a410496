use sea_orm::entity::prelude::*;

/// A non-practicing member's fee for one course (交费).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "course_payments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub user_id: i32,
    pub course_id: i32,
    pub year: i32,
    pub amount_cents: i64,
    pub order_no: String,
    /// `unpaid` or `paid`.
    pub status: String,
    pub provider_txn: Option<String>,
    pub paid_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
