use sea_orm::entity::prelude::*;

/// One password recovery in progress (忘记密码), stored as a hash of its token.
/// It opens the next recovery step and nothing else.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "recovery_proofs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_type: String,
    pub login_name: String,
    /// None when no such account exists: the steps look the same either way.
    pub user_id: Option<i32>,
    pub verified_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
