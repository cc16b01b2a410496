use sea_orm::entity::prelude::*;

/// One application under review, of any workflow (`kind`); what is the
/// workflow's own lives in its payload table, keyed by the case.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "review_cases")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub kind: String,
    /// The workflow's state code; an unknown code is an error when read.
    pub state: String,
    pub year: Option<i32>,
    /// The provincial-level association it is filed under.
    pub association_id: i32,
    pub city_association_id: Option<i32>,
    pub firm_id: Option<i32>,
    pub member_id: Option<i32>,
    /// The account that applied (none for a public admission application).
    pub applicant_user_id: Option<i32>,
    /// What the queue shows and staff search: 业务编号, 会员编号, 证书编号.
    pub number: String,
    pub name: String,
    pub first_submitted_at: DateTimeUtc,
    pub submitted_at: DateTimeUtc,
    /// The day the reviewer should decide by.
    pub deadline: Date,
    pub decided_at: Option<DateTimeUtc>,
    pub return_reason: Option<String>,
    /// JSON list of the fields and materials a return named.
    pub return_items: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
