//! The organisations every installation starts with, copied from the seeds into
//! `data/` and compiled into the binary. Loaded once, when the table is empty.

use std::collections::HashMap;

use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, Set, TransactionTrait};

use crate::Db;
use crate::entity::{association, contact_line};

const ASSOCIATIONS: &str = include_str!("../data/associations.psv");
const CONTACT_LINES: &str = include_str!("../data/contact_lines.psv");

fn rows(data: &str) -> impl Iterator<Item = Vec<&str>> {
    data.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).map(|l| l.split('|').map(str::trim).collect())
}

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

pub async fn organisations(db: &Db) -> anyhow::Result<()> {
    if association::Entity::find().count(db.conn()).await? > 0 {
        return Ok(());
    }
    let txn = db.conn().begin().await?;
    let mut ids: HashMap<String, i32> = HashMap::new();
    for (i, r) in rows(ASSOCIATIONS).enumerate() {
        anyhow::ensure!(r.len() == 10, "associations.psv row {i}: {} fields", r.len());
        let parent_id = match r[2] {
            "" => None,
            p => Some(*ids.get(p).ok_or_else(|| anyhow::anyhow!("parent {p} before its child"))?),
        };
        let m = association::ActiveModel {
            code: Set(r[0].to_owned()),
            level: Set(r[1].to_owned()),
            parent_id: Set(parent_id),
            province_code: Set(opt(r[3])),
            name: Set(r[4].to_owned()),
            short_name: Set(r[5].to_owned()),
            phone_practicing: Set(opt(r[6])),
            phone_non_practicing: Set(opt(r[7])),
            phone_firm: Set(opt(r[8])),
            address: Set(opt(r[9])),
            sort_order: Set(i as i32),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        ids.insert(m.code, m.id);
    }
    for (i, r) in rows(CONTACT_LINES).enumerate() {
        contact_line::ActiveModel {
            name: Set(r[0].to_owned()),
            phone: Set(r[1].to_owned()),
            email: Set(r.get(2).copied().and_then(opt)),
            sort_order: Set(i as i32),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(())
}
