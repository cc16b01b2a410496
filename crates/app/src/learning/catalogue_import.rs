//! 导入课程目录: an institute's catalogue from Excel — a row a lesson, its
//! course's columns repeated — checked whole and saved all or nothing, as
//! courses 未发布 whose lessons then get their video or document
//! (上传资料) before 发布.

use std::collections::BTreeMap;

use bytes::Bytes;
use cmis_domain::Hours;
use cmis_domain::learning::{Audience, Category, CourseKind, Form};
use cmis_store::entity::{course, lesson};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

use super::catalogue::{Checked, insert_draft, parse_duration, parse_yuan};
use super::own_institute;
use crate::error::{AppResult, FieldErrors};
use crate::{Actor, App, audit, spreadsheet};

pub const HEADER: [&str; 11] = [
    "年度",
    "课程名称",
    "课程类型",
    "适用对象",
    "课程类别",
    "学习形式",
    "费用（元）",
    "课程简介",
    "课时名称",
    "学时",
    "时长",
];
pub const MAX_ROWS: usize = 2000;
pub const MAX_BYTES: usize = 2 * 1024 * 1024;
/// Errors listed in the message; the count covers them all.
const SHOWN_ERRORS: usize = 10;

fn by_label<T: Copy>(all: &[T], text: &str, code: fn(T) -> &'static str, label: fn(T) -> &'static str) -> Option<T> {
    let t = text.trim();
    all.iter().copied().find(|v| code(*v) == t || label(*v) == t)
}

/// The template (下载导入模板): the header and one example course.
pub fn template(year: i32) -> anyhow::Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("课程目录")?;
    let y = year.to_string();
    let rows: [[&str; 11]; 3] = [
        HEADER,
        [
            &y,
            "职业道德与执业规范",
            "必修",
            "执业会员和非执业会员",
            "职业道德",
            "网络",
            "0",
            "",
            "第一讲 职业道德基本原则",
            "2",
            "90:00",
        ],
        [
            &y,
            "职业道德与执业规范",
            "必修",
            "执业会员和非执业会员",
            "职业道德",
            "网络",
            "0",
            "",
            "第二讲 案例分析",
            "2",
            "90:00",
        ],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, *v)?;
        }
    }
    sheet.set_column_width(1, 24)?;
    sheet.set_column_width(3, 20)?;
    sheet.set_column_width(8, 26)?;
    Ok(book.save_to_buffer()?)
}

struct NewCourse {
    fields: [String; 8],
    kind: CourseKind,
    audience: Audience,
    category: Category,
    form: Form,
    fee: i64,
    year: i32,
    lessons: Vec<(String, Hours, i32)>,
}

/// Checks the workbook and saves its courses and lessons, or nothing; the
/// refusal names each wrong row. Returns (courses, lessons).
pub async fn import(app: &App, actor: &Actor, bytes: Bytes) -> AppResult<(usize, usize)> {
    let institute = own_institute(actor)?;
    if bytes.len() > MAX_BYTES {
        return Err(FieldErrors::one("catalogue", "文件不能超过2MB"));
    }
    let sheet = tokio::task::spawn_blocking(move || spreadsheet::read_rows(&bytes, HEADER.len(), MAX_ROWS))
        .await
        .map_err(anyhow::Error::from)?
        .map_err(|e| FieldErrors::one("catalogue", e))?;
    let mut rows = sheet.into_iter();
    let header = rows.next().filter(|h| h.line == 1).map(|h| h.cells).unwrap_or_default();
    if header.iter().map(String::as_str).ne(HEADER) {
        return Err(FieldErrors::one("catalogue", format!("第一行应为表头：{}", HEADER.join("、"))));
    }
    let this = crate::learning::year_of(app);
    let mut errors: Vec<String> = Vec::new();
    let mut courses: BTreeMap<(i32, String), NewCourse> = BTreeMap::new();
    for r in rows {
        let c = &r.cells;
        if c.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        let mut wrong = Vec::new();
        let year = c[0].trim().parse::<i32>().ok().filter(|y| (this - 1..=this + 1).contains(y));
        if year.is_none() {
            wrong.push(format!("年度应为{}至{}年", this - 1, this + 1));
        }
        let title = c[1].trim();
        if title.is_empty() || cmis_domain::text::check(title, 100, false).is_err() {
            wrong.push("课程名称应为1至100字".to_owned());
        }
        let kind = by_label(CourseKind::ALL, &c[2], CourseKind::code, CourseKind::label);
        let audience = by_label(Audience::ALL, &c[3], Audience::code, Audience::label);
        let category = by_label(Category::ALL, &c[4], Category::code, Category::label);
        let form = by_label(Form::ALL, &c[5], Form::code, Form::label);
        if kind.is_none() {
            wrong.push("课程类型应为必修或选修".to_owned());
        }
        if audience.is_none() {
            wrong.push("适用对象应为执业会员、非执业会员或执业会员和非执业会员".to_owned());
        }
        if category.is_none() {
            wrong.push("课程类别应为专业或职业道德".to_owned());
        }
        if form.is_none() {
            wrong.push("学习形式应为网络或面授".to_owned());
        }
        let fee = parse_yuan(&c[6]);
        if fee.is_none() {
            wrong.push("费用应为0至10000元".to_owned());
        }
        if cmis_domain::text::check(c[7].trim(), 2000, true).is_err() {
            wrong.push("课程简介不超过2000字".to_owned());
        }
        let lesson_title = c[8].trim();
        if lesson_title.is_empty() || cmis_domain::text::check(lesson_title, 100, false).is_err() {
            wrong.push("课时名称应为1至100字".to_owned());
        }
        let hours = Hours::parse(&c[9], 24).ok();
        if hours.is_none() {
            wrong.push("学时应大于0、不超过24，最多两位小数".to_owned());
        }
        let duration = parse_duration(&c[10]);
        if duration.is_none() {
            wrong.push("时长应如 45:00（分:秒）".to_owned());
        }
        if !wrong.is_empty() {
            errors.push(format!("第{}行：{}", r.line, wrong.join("，")));
            continue;
        }
        let fields: [String; 8] = std::array::from_fn(|i| c[i].trim().to_owned());
        let entry = courses.entry((year.expect("checked"), title.to_owned())).or_insert_with(|| NewCourse {
            fields: fields.clone(),
            kind: kind.expect("checked"),
            audience: audience.expect("checked"),
            category: category.expect("checked"),
            form: form.expect("checked"),
            fee: fee.expect("checked"),
            year: year.expect("checked"),
            lessons: Vec::new(),
        });
        if entry.fields != fields {
            errors.push(format!("第{}行：同一课程各行的课程信息（前8列）应一致", r.line));
            continue;
        }
        if entry.lessons.len() as u64 >= super::catalogue::MAX_LESSONS {
            errors.push(format!("第{}行：每门课程最多{}个课时", r.line, super::catalogue::MAX_LESSONS));
            continue;
        }
        entry.lessons.push((lesson_title.to_owned(), hours.expect("checked"), duration.expect("checked")));
    }
    let txn = app.write().await?;
    for (year, title) in courses.keys() {
        let exists = course::Entity::find()
            .filter(course::Column::InstituteId.eq(institute))
            .filter(course::Column::Year.eq(*year))
            .filter(course::Column::Title.eq(title))
            .one(&txn)
            .await?
            .is_some();
        if exists {
            errors.push(format!("{year}年度课程“{title}”已存在，请勿重复导入"));
        }
    }
    if courses.is_empty() && errors.is_empty() {
        errors.push("文件中没有课程".to_owned());
    }
    if !errors.is_empty() {
        let n = errors.len();
        let mut shown: Vec<String> = errors.into_iter().take(SHOWN_ERRORS).collect();
        if n > SHOWN_ERRORS {
            shown.push(format!("……共{n}处错误"));
        }
        return Err(FieldErrors::one("catalogue", format!("未导入，请修改后重新上传。{}", shown.join("；"))));
    }
    let mut lessons = 0;
    for c in courses.values() {
        let checked = Checked {
            year: c.year,
            title: c.fields[1].clone(),
            kind: c.kind,
            audience: c.audience,
            category: c.category,
            form: c.form,
            fee_cents: c.fee,
            intro: c.fields[7].clone(),
        };
        let m = insert_draft(&txn, institute, checked).await?;
        for (i, (t, h, d)) in c.lessons.iter().enumerate() {
            lesson::ActiveModel {
                course_id: Set(m.id),
                seq: Set(i as i32 + 1),
                title: Set(t.clone()),
                hours_x100: Set(h.hundredths()),
                duration_secs: Set(*d),
                material_kind: Set("video".into()),
                size: Set(0),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            lessons += 1;
        }
    }
    audit::append(
        &txn,
        &actor.audit_name(),
        "catalogue_imported",
        &format!("institute:{institute}"),
        json!({ "courses": courses.len(), "lessons": lessons }),
    )
    .await?;
    txn.commit().await?;
    Ok((courses.len(), lessons))
}
