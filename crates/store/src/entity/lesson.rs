use sea_orm::entity::prelude::*;

/// 课时: one lesson of a course, with its material in the object store.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lessons")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub course_id: i32,
    pub seq: i32,
    pub title: String,
    pub hours_x100: i64,
    /// How long it plays (a video) or must be read (a document).
    pub duration_secs: i32,
    /// `video` or `document`.
    pub material_kind: String,
    pub object_key: Option<String>,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub size: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
