//! What the home page shows each role: the person's or firm's own record, or
//! for staff the size of what their association oversees.

use chrono::NaiveDate;
use cmis_domain::{IdType, Sex, UserType, mask};
use cmis_store::entity::{cpa, firm, member};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryTrait};
use serde::Serialize;

use crate::error::{AppError, AppResult};
use crate::scope::Scope;
use crate::{Actor, App};

#[derive(Debug, Clone, Serialize)]
pub struct Person {
    pub name: String,
    pub sex: &'static str,
    pub number: String,
    pub id_type: &'static str,
    /// Masked (110101********1234); the full value only on the person's own profile.
    pub id_number: String,
    pub mobile: String,
    pub association: String,
    pub birth_date: NaiveDate,
}

#[derive(Debug, Clone, Serialize)]
pub enum Summary {
    Member {
        person: Person,
        admitted_on: NaiveDate,
        work_unit: String,
    },
    Cpa {
        person: Person,
        firm_name: String,
        firm_no: String,
    },
    Firm {
        name: String,
        firm_no: String,
        cpas: u64,
        address: String,
        association: String,
    },
    Staff {
        association: String,
        level: &'static str,
        subordinates: usize,
        members: u64,
        firms: u64,
        cpas: u64,
    },
    /// 国家会计学院: this year's published courses and learners who chose it.
    Institute {
        name: String,
        phone: String,
        year: i32,
        courses: u64,
        learners: u64,
    },
}

fn label_sex(code: &str) -> &'static str {
    Sex::from_code(code).map_or("", Sex::label)
}

fn label_id(code: &str) -> &'static str {
    IdType::from_code(code).map_or("", IdType::label)
}

pub async fn summary(app: &App, actor: &Actor) -> AppResult<Summary> {
    let db = app.db.conn();
    let assoc = |id: i32| app.orgs().get(id).map_or_else(String::new, |a| a.name.clone());
    let decrypt_masked = |enc: &str, f: fn(&str) -> String| app.pii.decrypt(enc).map(|v| f(&v)).unwrap_or_default();
    match actor.user_type {
        UserType::NonPracticingMember => {
            let m = member::Entity::find_by_id(actor.member_id.ok_or(AppError::Forbidden)?)
                .one(db)
                .await?
                .ok_or(AppError::NotFound("会员"))?;
            Ok(Summary::Member {
                person: Person {
                    sex: label_sex(&m.sex),
                    id_type: label_id(&m.id_type),
                    id_number: decrypt_masked(&m.id_number_enc, mask::id_number),
                    mobile: m.mobile_enc.as_deref().map_or_else(String::new, |e| decrypt_masked(e, mask::phone)),
                    association: assoc(m.association_id),
                    number: m.cert_no.to_string(),
                    name: m.name,
                    birth_date: m.birth_date,
                },
                admitted_on: m.admitted_on,
                work_unit: m.work_unit.unwrap_or_default(),
            })
        }
        UserType::Cpa => {
            let c = cpa::Entity::find_by_id(actor.cpa_id.ok_or(AppError::Forbidden)?)
                .one(db)
                .await?
                .ok_or(AppError::NotFound("注册会计师"))?;
            let f = firm::Entity::find_by_id(c.firm_id).one(db).await?.ok_or(AppError::NotFound("事务所"))?;
            Ok(Summary::Cpa {
                person: Person {
                    sex: label_sex(&c.sex),
                    id_type: label_id(&c.id_type),
                    id_number: decrypt_masked(&c.id_number_enc, mask::id_number),
                    mobile: c.mobile_enc.as_deref().map_or_else(String::new, |e| decrypt_masked(e, mask::phone)),
                    association: assoc(c.association_id),
                    number: c.cpa_no.to_string(),
                    name: c.name,
                    birth_date: c.birth_date,
                },
                firm_name: f.name,
                firm_no: f.firm_no.to_string(),
            })
        }
        UserType::Firm => {
            let f = firm::Entity::find_by_id(actor.firm_id.ok_or(AppError::Forbidden)?)
                .one(db)
                .await?
                .ok_or(AppError::NotFound("事务所"))?;
            let cpas = cpa::Entity::find().filter(cpa::Column::FirmId.eq(f.id)).count(db).await?;
            Ok(Summary::Firm {
                association: assoc(f.association_id),
                name: f.name,
                firm_no: f.firm_no.to_string(),
                cpas,
                address: f.address.unwrap_or_default(),
            })
        }
        UserType::InstituteStaff => {
            use cmis_store::entity::{course, learning_choice};
            let id = crate::learning::own_institute(actor)?;
            let inst = crate::learning::institute(app, id).await?;
            let year = crate::learning::year_of(app);
            let courses = course::Entity::find()
                .filter(course::Column::InstituteId.eq(id))
                .filter(course::Column::Year.eq(year))
                .filter(course::Column::State.eq("published"))
                .count(db)
                .await?;
            let learners = learning_choice::Entity::find()
                .filter(learning_choice::Column::InstituteId.eq(id))
                .filter(learning_choice::Column::Year.eq(year))
                .filter(learning_choice::Column::ReleasedAt.is_null())
                .count(db)
                .await?;
            Ok(Summary::Institute { name: inst.name, phone: inst.phone, year, courses, learners })
        }
        UserType::AssociationStaff => {
            let scope = Scope::of(app, actor);
            let members = count_in::<member::Entity, _>(
                db,
                &scope,
                member::Column::AssociationId,
                member::Column::CityAssociationId,
            )
            .await?;
            let firms =
                count_in::<firm::Entity, _>(db, &scope, firm::Column::AssociationId, firm::Column::CityAssociationId)
                    .await?;
            let cpas =
                count_in::<cpa::Entity, _>(db, &scope, cpa::Column::AssociationId, cpa::Column::CityAssociationId)
                    .await?;
            Ok(Summary::Staff {
                association: actor.association_name.clone(),
                level: actor.association_level.label(),
                subordinates: app.orgs().scope(actor.association_id).len() - 1,
                members,
                firms,
                cpas,
            })
        }
    }
}

/// How many rows of a table filed by association are in the scope.
async fn count_in<E, C>(db: &C, scope: &Scope, provincial: E::Column, city: E::Column) -> AppResult<u64>
where
    E: EntityTrait,
    E::Model: Sync,
    C: sea_orm::ConnectionTrait,
{
    let q = E::find().apply_if(scope.association_condition(provincial, Some(city)), |q, c| q.filter(c));
    Ok(q.count(db).await?)
}
