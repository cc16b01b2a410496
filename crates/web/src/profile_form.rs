//! The profile form, built from the domain's field list so that the
//! application, 修改信息 and 完善信息 show the same fields the same way.

use cmis_app::App;
use cmis_app::FieldErrors;
use cmis_domain::profile::{self, FIELDS, Group, Profile};
use cmis_domain::{AssociationLevel, IdType};

pub struct FormField {
    pub key: &'static str,
    pub label: &'static str,
    pub required: bool,
    /// `text`, `date`, `number`, `textarea` or `select`.
    pub kind: &'static str,
    pub options: Vec<(String, String)>,
    pub value: String,
    pub error: Option<String>,
}

pub struct Section {
    pub title: &'static str,
    pub fields: Vec<FormField>,
}

pub struct QualBox {
    pub title: &'static str,
    pub key: &'static str,
    pub options: Vec<(String, bool)>,
    pub other_key: &'static str,
    pub other: String,
    pub error: Option<String>,
}

fn strings(list: &[&str]) -> Vec<(String, String)> {
    list.iter().map(|s| (s.to_string(), s.to_string())).collect()
}

fn options(app: &App, key: &str) -> Option<Vec<(String, String)>> {
    Some(match key {
        "sex" => vec![("M".into(), "男".into()), ("F".into(), "女".into())],
        "id_type" => IdType::ALL.iter().map(|t| (t.code().into(), t.label().into())).collect(),
        "political_status" => strings(profile::POLITICAL),
        "region" => app
            .orgs()
            .all()
            .iter()
            .filter(|a| a.level == AssociationLevel::Provincial)
            .map(|a| (a.code.clone(), a.short_name.clone()))
            .collect(),
        "employment_status" => strings(profile::EMPLOYMENT),
        "unit_nature" => strings(profile::UNIT_NATURE),
        "education" => strings(profile::EDUCATION),
        "degree" => strings(profile::DEGREE),
        "qualification_method" => vec![("exam".into(), "考试".into()), ("assessment".into(), "考核".into())],
        _ => return None,
    })
}

pub fn sections(app: &App, p: &Profile, errors: &FieldErrors) -> Vec<Section> {
    Group::ALL
        .iter()
        .map(|g| Section {
            title: g.label(),
            fields: FIELDS
                .iter()
                .filter(|f| f.group == *g)
                .map(|f| {
                    let opts = options(app, f.key);
                    let kind = match f.key {
                        _ if opts.is_some() => "select",
                        "birth_date" => "date",
                        "exam_year" => "number",
                        "achievements" | "industry_honours" => "textarea",
                        _ => "text",
                    };
                    FormField {
                        key: f.key,
                        label: f.label,
                        required: f.required,
                        kind,
                        options: opts.unwrap_or_default(),
                        value: p.get(f.key),
                        error: errors.get(f.key).map(str::to_owned),
                    }
                })
                .collect(),
        })
        .collect()
}

pub fn qualifications(p: &Profile, errors: &FieldErrors) -> Vec<QualBox> {
    vec![
        QualBox {
            title: "国内资格",
            key: "domestic_quals",
            options: profile::DOMESTIC
                .iter()
                .map(|q| (q.to_string(), p.domestic_quals.iter().any(|x| x == q)))
                .collect(),
            other_key: "domestic_other",
            other: p.domestic_other.clone(),
            error: errors.get("domestic_quals").map(str::to_owned),
        },
        QualBox {
            title: "国际资格",
            key: "international_quals",
            options: profile::INTERNATIONAL
                .iter()
                .map(|q| (q.to_string(), p.international_quals.iter().any(|x| x == q)))
                .collect(),
            other_key: "international_other",
            other: p.international_other.clone(),
            error: errors.get("international_quals").map(str::to_owned),
        },
    ]
}

/// The label of a select's value, for read-only views.
pub fn shown(app: &App, key: &str, value: &str) -> String {
    options(app, key)
        .and_then(|o| o.into_iter().find(|(v, _)| v == value).map(|(_, l)| l))
        .unwrap_or_else(|| value.to_owned())
}

pub struct ShownField {
    pub label: &'static str,
    pub value: String,
}

pub struct ShownGroup {
    pub title: &'static str,
    pub fields: Vec<ShownField>,
}

/// The profile as read-only groups. `mask_id` for the member's own page; reviewers see it whole.
pub fn shown_groups(app: &App, p: &Profile, mask_id: bool) -> Vec<ShownGroup> {
    Group::ALL
        .iter()
        .map(|g| ShownGroup {
            title: g.label(),
            fields: FIELDS
                .iter()
                .filter(|f| f.group == *g)
                .map(|f| {
                    let v = p.get(f.key);
                    let value = if mask_id && f.key == "id_number" {
                        cmis_domain::mask::id_number(&v)
                    } else {
                        shown(app, f.key, &v)
                    };
                    // 查看 names the number as seed 000 §2.2.3 does.
                    let label = if f.key == "id_number" { "有效证件号码" } else { f.label };
                    ShownField { label, value }
                })
                .collect(),
        })
        .collect()
}

/// Domestic and international qualifications, and the 其他 entries, in one line.
pub fn qualification_line(p: &Profile) -> String {
    let mut q: Vec<String> = p.domestic_quals.iter().chain(&p.international_quals).cloned().collect();
    for other in [&p.domestic_other, &p.international_other] {
        if !other.trim().is_empty() {
            q.push(other.trim().to_owned());
        }
    }
    if q.is_empty() { "无".into() } else { q.join("、") }
}
