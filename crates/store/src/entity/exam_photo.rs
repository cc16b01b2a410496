use sea_orm::entity::prelude::*;

/// A photo of the exam system (全科合格证电子照片), by the certificate number
/// it was named with when CICPA imported it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "exam_photos")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub exam_cert_no: String,
    pub file_key: String,
    pub job_id: Option<i32>,
    pub imported_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
