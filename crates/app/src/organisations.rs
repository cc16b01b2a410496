//! The association tree: 中注协 → 32 local associations → city associations.
//! It is reference data, loaded once per process from the database.

use std::collections::HashMap;

use cmis_domain::AssociationLevel;
use cmis_store::Db;
use cmis_store::entity::{association, contact_line};
use sea_orm::{EntityTrait, QueryOrder};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Association {
    pub id: i32,
    pub code: String,
    pub name: String,
    pub short_name: String,
    pub level: AssociationLevel,
    pub parent_id: Option<i32>,
    pub province_code: Option<String>,
    pub phone_practicing: Option<String>,
    pub phone_non_practicing: Option<String>,
    pub phone_firm: Option<String>,
    pub address: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContactLine {
    pub name: String,
    pub phone: String,
    pub email: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Organisations {
    list: Vec<Association>,
    by_id: HashMap<i32, usize>,
    lines: Vec<ContactLine>,
}

impl Organisations {
    pub async fn load(db: &Db) -> anyhow::Result<Organisations> {
        let rows = association::Entity::find().order_by_asc(association::Column::SortOrder).all(db.conn()).await?;
        let list: Vec<Association> = rows
            .into_iter()
            .map(|r| {
                Ok(Association {
                    level: AssociationLevel::from_code(&r.level)
                        .ok_or_else(|| anyhow::anyhow!("unknown level {}", r.level))?,
                    id: r.id,
                    code: r.code,
                    name: r.name,
                    short_name: r.short_name,
                    parent_id: r.parent_id,
                    province_code: r.province_code,
                    phone_practicing: r.phone_practicing,
                    phone_non_practicing: r.phone_non_practicing,
                    phone_firm: r.phone_firm,
                    address: r.address,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        let by_id = list.iter().enumerate().map(|(i, a)| (a.id, i)).collect();
        let lines = contact_line::Entity::find()
            .order_by_asc(contact_line::Column::SortOrder)
            .all(db.conn())
            .await?
            .into_iter()
            .map(|l| ContactLine { name: l.name, phone: l.phone, email: l.email })
            .collect();
        Ok(Organisations { list, by_id, lines })
    }

    pub fn all(&self) -> &[Association] {
        &self.list
    }

    pub fn get(&self, id: i32) -> Option<&Association> {
        self.by_id.get(&id).map(|&i| &self.list[i])
    }

    pub fn by_code(&self, code: &str) -> Option<&Association> {
        self.list.iter().find(|a| a.code == code)
    }

    pub fn national(&self) -> &Association {
        self.list
            .iter()
            .find(|a| a.level == AssociationLevel::National)
            .expect("CICPA is seeded with the first migration")
    }

    pub fn provincial(&self) -> impl Iterator<Item = &Association> {
        self.list.iter().filter(|a| a.level == AssociationLevel::Provincial)
    }

    pub fn children(&self, id: i32) -> impl Iterator<Item = &Association> {
        self.list.iter().filter(move |a| a.parent_id == Some(id))
    }

    /// Whether `id` is `ancestor` or lies below it: the scope of a staff account.
    pub fn is_within(&self, id: i32, ancestor: i32) -> bool {
        let mut cur = Some(id);
        while let Some(c) = cur {
            if c == ancestor {
                return true;
            }
            cur = self.get(c).and_then(|a| a.parent_id);
        }
        false
    }

    /// The ids in the scope of `ancestor`, itself included.
    pub fn scope(&self, ancestor: i32) -> Vec<i32> {
        self.list.iter().filter(|a| self.is_within(a.id, ancestor)).map(|a| a.id).collect()
    }

    pub fn contact_lines(&self) -> &[ContactLine] {
        &self.lines
    }
}
