use sea_orm::entity::prelude::*;

/// A learner's institute for a year (当年不可更改, unless staff release it).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "learning_choices")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub user_id: i32,
    pub year: i32,
    pub institute_id: i32,
    /// The learner's association, for its staff's view.
    pub association_id: i32,
    /// The learner's city association, if any: the city's staff see it too.
    pub city_association_id: Option<i32>,
    pub chosen_at: DateTimeUtc,
    pub released_at: Option<DateTimeUtc>,
    pub released_by: Option<String>,
    pub release_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
