use sea_orm::entity::prelude::*;

/// One message to send (SMS, bound account, mail), written with the change it
/// announces and delivered by the worker.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub channel: String,
    /// What it is for (a reset code, a review's result …): the log shows this, never the text.
    pub purpose: String,
    pub recipient_masked: String,
    pub recipient_enc: String,
    pub subject: String,
    pub body_enc: String,
    /// The association of the person it goes to, for the staff log's scope.
    pub association_id: Option<i32>,
    /// pending, sent or failed.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// A worker holds it until then.
    pub claimed_until: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
