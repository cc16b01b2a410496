use sea_orm::entity::prelude::*;

/// An export or import, run by a worker with its progress recorded.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub kind: String,
    pub owner_user_id: i32,
    /// What the job page calls it: 导出入会申请审核, 学时记录导入校验 …
    pub title: String,
    /// What to do, as JSON (a filter, the check job an import follows …).
    pub params: String,
    /// An uploaded file it reads, in the file store.
    pub input_key: Option<String>,
    pub state: String,
    pub done: i64,
    pub total: i64,
    pub attempts: i32,
    /// While running: until when the worker that claimed it holds it.
    pub claimed_until: Option<DateTimeUtc>,
    /// What it made, in the file store, and the name to download it under.
    pub output_key: Option<String>,
    pub output_name: Option<String>,
    /// Its result in a few numbers, as JSON.
    pub summary: Option<String>,
    /// Why it failed, in the words the user is shown.
    pub error: Option<String>,
    pub created_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
