use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub user_type: String,
    pub login_name: String,
    pub display_name: String,
    pub password_hash: String,
    pub must_change_password: bool,
    pub association_id: i32,
    pub member_id: Option<i32>,
    pub cpa_id: Option<i32>,
    pub firm_id: Option<i32>,
    pub disabled: bool,
    pub created_at: DateTimeUtc,
    pub password_changed_at: Option<DateTimeUtc>,
    pub last_login_at: Option<DateTimeUtc>,
    pub bound_account: Option<String>,
    /// Staff of a national accounting institute: which one.
    pub institute_id: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
