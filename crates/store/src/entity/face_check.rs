use sea_orm::entity::prelude::*;

/// One face authentication (人脸认证) a CPA started.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "face_checks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// A keyed hash of the token the phone page's address carries.
    pub token_digest: String,
    /// The token itself, encrypted: the PC page draws its QR code again.
    pub token_enc: String,
    pub cpa_id: i32,
    pub year: i32,
    /// phone or pc (a QR code scanned by a phone).
    pub channel: String,
    /// started, passed, failed or expired.
    pub state: String,
    /// The 离退休 choice the application will carry.
    pub retired: bool,
    /// The provider's token for this check (BizToken).
    pub provider_token: Option<String>,
    pub handoff_url: Option<String>,
    /// The day (China Standard Time) it counts against.
    pub day: Date,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    /// When the provider was last asked for the result.
    pub queried_at: Option<DateTimeUtc>,
    pub result_code: Option<i32>,
    pub liveness_code: Option<i32>,
    pub compare_code: Option<i32>,
    pub message: Option<String>,
    /// The comparison's similarity (0–100) in hundredths.
    pub similarity_x100: Option<i32>,
    /// The provider's best frame, encrypted, in the file store; deleted
    /// after the year's check ends.
    pub frame_key: Option<String>,
    /// The application a pass submitted.
    pub case_id: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
