use sea_orm::entity::prelude::*;

/// 注册会计师年检 of one CPA for one year, beside its review case.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cpa_checks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: i32,
    pub cpa_id: i32,
    pub year: i32,
    /// 离退休
    pub retired: bool,
    /// How the first submission's identity was confirmed: face or in_person.
    pub identity: String,
    pub face_check_id: Option<i32>,
    pub hours_required_x100: i64,
    pub hours_done_x100: i64,
    /// Encrypted JSON: the personal information as submitted.
    pub profile_enc: Option<String>,
    /// The batch (its review case) the firm sent it in, while it is in one.
    pub batch_id: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
