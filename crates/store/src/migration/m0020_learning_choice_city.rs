//! A learner's choice of institute keeps the city association too, as members
//! and CPAs do: a city association's 在线学习情况 showed none of its own
//! learners, because a learner's own association is the province.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::helpers::index;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0020_learning_choice_city"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("learning_choices").add_column(integer_null("city_association_id")).take())
            .await?;
        // The choices made so far: the city of the CPA or member behind the user.
        m.get_connection()
            .execute_unprepared(
                "UPDATE learning_choices SET city_association_id = (\
                 SELECT COALESCE(c.city_association_id, mb.city_association_id) FROM users u \
                 LEFT JOIN cpas c ON c.id = u.cpa_id LEFT JOIN members mb ON mb.id = u.member_id \
                 WHERE u.id = learning_choices.user_id)",
            )
            .await?;
        index(m, "ix_learning_choices_city", "learning_choices", &["city_association_id", "year"], false).await
    }
}
