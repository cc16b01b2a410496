use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "learning_records")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The learner: a member or a CPA, never both.
    pub member_id: Option<i32>,
    pub cpa_id: Option<i32>,
    pub year: i32,
    /// `record` (hours done) or `reduction` (hours granted off the requirement).
    pub kind: String,
    /// Hours in hundredths: 12.5 hours is 1250.
    pub hours_x100: i64,
    /// For records: `professional` or `ethics`; for reductions: the ground.
    pub category: String,
    pub title: String,
    /// `manual` or `import` (association staff), `study` (learnt here and
    /// credited), `institute` (posted by an institute's platform), `claim`.
    pub source: String,
    pub recorded_by: String,
    pub created_at: DateTimeUtc,
    /// `online` or `face_to_face`.
    pub form: String,
    pub institute_id: Option<i32>,
    /// The institute's own id of the record (or `study:{progress}`).
    pub external_id: Option<String>,
    /// The day the learning took place.
    pub learned_on: Option<Date>,
    /// A reversal: the record it takes back (its hours are the negative).
    pub reverses_id: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
