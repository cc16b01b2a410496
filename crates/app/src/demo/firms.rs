//! The demo's firms and CPAs as the regulator's records: the demo puts them
//! in through the same synchronisation as the regulator's data
//! (`regulator::Applier`), and `cmis regulator-file` writes the same records
//! as a file of JSON lines, for trying and measuring the import.

use std::collections::HashMap;

use chrono::NaiveDate;
use cmis_domain::regulator::{CpaRecord, FirmForm, FirmRecord};
use cmis_domain::{CpaNo, FirmNo, IdNumber, IdType, Sex};
use serde_json::json;

use super::people::*;
use super::{Options, exam_year_for};
use crate::organisations::{Association, Organisations};

/// Firms a batch holds (one transaction of the demo).
pub(super) const BATCH: u64 = 500;

pub(super) struct Batch {
    pub(super) firms: Vec<(usize, FirmRecord)>,
    pub(super) cpas: Vec<(usize, CpaRecord)>,
}

const ETHNICITIES: &[&str] = &["汉族", "汉族", "汉族", "汉族", "汉族", "汉族", "回族", "满族", "壮族", "蒙古族"];
const POLITICAL: &[&str] = &["中共党员", "群众", "群众", "中共党员", "民盟盟员", "九三学社社员", "无党派人士"];

/// Places firms in provinces by weight, numbers them per province and city
/// in order, and keeps the counters between batches.
pub(super) struct Numbering<'a> {
    tree: &'a Organisations,
    weighted: Vec<(&'a Association, u64)>,
    total: u64,
    guangdong: &'a Association,
    serial: HashMap<String, u64>,
}

impl<'a> Numbering<'a> {
    pub(super) fn new(tree: &'a Organisations) -> Numbering<'a> {
        let weighted: Vec<(&Association, u64)> = tree.provincial().map(|a| (a, weight(a))).collect();
        let total = weighted.iter().map(|(_, w)| w).sum();
        Numbering { tree, weighted, total, guangdong: tree.by_code("44").expect("seeded"), serial: HashMap::new() }
    }

    /// The records of firms `from..to` and their CPAs, in the demo's order.
    pub(super) fn batch(&mut self, opts: &Options, from: u64, to: u64) -> Batch {
        let seed = opts.seed;
        let mut b = Batch { firms: Vec::new(), cpas: Vec::new() };
        for f in from..to {
            // The first firm is in Guangdong, so the README's logins are stable.
            let p = if f == 0 {
                place(self.tree, &[(self.guangdong, 1)], 1, 0)
            } else {
                place(self.tree, &self.weighted, self.total, mix(seed, f, 1))
            };
            let prefix = format!("{}{}", p.province, p.city_code);
            let serial = self.serial.entry(prefix.clone()).or_insert(0);
            *serial += 1;
            let firm_no = format!("{prefix}{:04}", *serial);
            let place_name = p.city.map_or(p.provincial.short_name.as_str(), |c| c.short_name.as_str());
            let w1 = pick(FIRM_WORDS, mix(seed, f, 2));
            let w2 = pick(FIRM_WORDS, mix(seed, f, 3));
            let partnership = mix(seed, f, 4).is_multiple_of(3);
            let name = if partnership {
                format!("{place_name}{w1}{w2}会计师事务所（特殊普通合伙）")
            } else {
                format!("{place_name}{w1}{w2}会计师事务所有限责任公司")
            };
            let line = b.firms.len() + b.cpas.len() + 1;
            b.firms.push((
                line,
                FirmRecord {
                    firm_no: FirmNo::parse(&firm_no).expect("composed from valid parts"),
                    name: name.clone(),
                    parent_no: None,
                    form: if partnership { FirmForm::Partnership } else { FirmForm::Limited },
                    address: Some(format!(
                        "{place_name}市{}路{}号",
                        pick(FIRM_WORDS, mix(seed, f, 6)),
                        1 + mix(seed, f, 7) % 300
                    )),
                    phone: Some(format!("0{}-{:08}", 10 + mix(seed, f, 8) % 80, mix(seed, f, 9) % 100_000_000)),
                    contact_person: Some(person_name(seed, f, 10, Sex::Male)),
                    cancelled: false,
                },
            ));
            // Every eighth firm has a branch (分所) in the same city.
            let branch = (f % 8 == 5).then(|| format!("{firm_no}01"));
            if let Some(no) = &branch {
                b.firms.push((
                    line + 1,
                    FirmRecord {
                        firm_no: FirmNo::parse(no).expect("composed from valid parts"),
                        name: format!("{}{}分所", name.trim_end_matches("（特殊普通合伙）"), place_name),
                        parent_no: Some(FirmNo::parse(&firm_no).expect("valid")),
                        form: if partnership { FirmForm::Partnership } else { FirmForm::Limited },
                        address: None,
                        phone: None,
                        contact_person: None,
                        cancelled: false,
                    },
                ));
            }
            let n = 2 + mix(seed, f, 5) % opts.max_cpas_per_firm.saturating_sub(1).max(1);
            for k in 0..n {
                let g = f * 1000 + k; // a person-number unique across firms
                let sex = if mix(seed, g, 20).is_multiple_of(2) { Sex::Male } else { Sex::Female };
                let resident = resident_id(seed, g, &p.province, 1, sex);
                // The national examination began in 1991: those qualified before it sat the first ones.
                let exam_year = exam_year_for(resident.birth_date(), mix(seed, g, 21)).max(1991);
                // A few hold a passport, which cannot be checked online:
                // they are verified in person (线下人工核验).
                let id = if k == 1 && f % 7 == 2 {
                    IdNumber::parse(IdType::Passport, &format!("E{:08}", g % 100_000_000)).expect("valid")
                } else {
                    IdNumber::Resident(resident.clone())
                };
                let cpa_no = format!("{firm_no}{:04}", k + 1);
                // The last CPA of a firm with a branch works there.
                let works_at = match &branch {
                    Some(no) if k == n - 1 && n > 2 => no.clone(),
                    _ => firm_no.clone(),
                };
                let pick_of = |list: &[&str], salt| list[(mix(seed, g, salt) % list.len() as u64) as usize].to_owned();
                b.cpas.push((
                    line + 2 + k as usize,
                    CpaRecord {
                        cpa_no: CpaNo::parse(&cpa_no).expect("composed from valid parts"),
                        name: person_name(seed, g, 22, sex),
                        sex,
                        birth_date: resident.birth_date(),
                        id,
                        mobile: Some(mobile(seed, g, 23)),
                        email: Some(format!("cpa{g}@example.cn")),
                        firm_no: FirmNo::parse(&works_at).expect("valid"),
                        registered_on: NaiveDate::from_ymd_opt(exam_year + 1, 1 + (g % 12) as u32, 1).expect("valid"),
                        partner: k == 0,
                        cancelled: false,
                        archive_unit: Some(format!("{}注册会计师协会", p.provincial.short_name)),
                        ethnicity: Some(pick_of(ETHNICITIES, 24)),
                        native_place: Some(p.provincial.short_name.clone()),
                        region: Some(place_name.to_owned()),
                        household: Some(format!("{place_name}市")),
                        political_status: Some(pick_of(POLITICAL, 25)),
                        qualification_method: "exam",
                        exam_cert_no: Some(format!("QZ{:02}{}{:05}", exam_year % 100, p.province, g % 100_000)),
                        exam_year: Some(exam_year),
                    },
                ));
            }
        }
        b
    }
}

/// A record as one line of the regulator's JSON-lines file.
pub(super) fn firm_json(f: &FirmRecord) -> serde_json::Value {
    json!({
        "kind": "firm",
        "firm_no": f.firm_no.as_str(),
        "firm_name": f.name,
        "parent_no": f.parent_no.as_ref().map(|p| p.as_str()),
        "form": f.form.label(),
        "address": f.address,
        "phone": f.phone,
        "contact_person": f.contact_person,
        "status": if f.cancelled { "注销" } else { "正常" },
    })
}

pub(super) fn cpa_json(c: &CpaRecord) -> serde_json::Value {
    json!({
        "kind": "cpa",
        "cpa_no": c.cpa_no.as_str(),
        "name": c.name,
        "sex": c.sex.label(),
        "birth_date": c.birth_date.to_string(),
        "id_type": c.id.id_type().label(),
        "id_number": c.id.as_str(),
        "mobile": c.mobile,
        "email": c.email,
        "firm_no": c.firm_no.as_str(),
        "registered_on": c.registered_on.to_string(),
        "partner": if c.partner { "是" } else { "否" },
        "status": if c.cancelled { "注销" } else { "正常" },
        "archive_unit": c.archive_unit,
        "ethnicity": c.ethnicity,
        "native_place": c.native_place,
        "region": c.region,
        "household": c.household,
        "political_status": c.political_status,
        "qualification_method": if c.qualification_method == "exam" { "考试" } else { "考核" },
        "exam_cert_no": c.exam_cert_no,
        "exam_year": c.exam_year,
    })
}
