//! Realistic demo data at any scale: staff for every association, firms with
//! proper numbers per province, CPAs numbered from their firm, non-practicing
//! members with valid resident IDs and exam certificate numbers.
//!
//! Record `i` is a pure function of (seed, i), so a second run with the same
//! options inserts nothing new and a larger run extends a smaller one.

mod firms;
mod inspections;
mod people;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use cmis_domain::{AssociationLevel, MemberCertNo, Sex, UserType};
use cmis_store::entity::{cpa, member, user};
use inspections::{DemoMember, inspections};
use people::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};

use crate::organisations::Association;
use crate::{App, auth, regulator};

/// Every demo account's password.
pub const DEMO_PASSWORD: &str = "Cmis2026";

#[derive(Debug, Clone)]
pub struct Options {
    pub members: u64,
    pub firms: u64,
    /// Each firm gets between 2 and this many CPAs.
    pub max_cpas_per_firm: u64,
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options { members: 200, firms: 20, max_cpas_per_firm: 12, seed: 2026 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Staff,
    Firms,
    Cpas,
    Members,
}

impl Stage {
    pub fn label(self) -> &'static str {
        match self {
            Stage::Staff => "注协工作人员",
            Stage::Firms => "会计师事务所",
            Stage::Cpas => "注册会计师",
            Stage::Members => "非执业会员",
        }
    }
}

/// One demo login per role, for the README and the start-up banner.
#[derive(Debug, Clone)]
pub struct Logins {
    pub rows: Vec<(UserType, String, String)>,
}

/// Whether any account exists: a fresh database gets the demo data set.
pub async fn has_accounts(app: &App) -> anyhow::Result<bool> {
    use sea_orm::PaginatorTrait;
    Ok(user::Entity::find().count(app.db.conn()).await? > 0)
}

pub async fn generate(
    app: &App,
    opts: &Options,
    progress: &(dyn Fn(Stage, u64, u64) + Sync),
) -> anyhow::Result<Logins> {
    let seed = opts.seed;
    let hash = auth::hash_password(DEMO_PASSWORD);
    let now = app.now();

    // Staff: one account per association, `staff{code}`.
    let tree = app.orgs();
    let orgs = tree.all();
    let staff: Vec<user::ActiveModel> = orgs
        .iter()
        .map(|a| {
            account(
                UserType::AssociationStaff,
                format!("staff{}", a.code),
                format!("{}工作人员", a.name),
                a.id,
                &hash,
                now,
            )
        })
        .collect();
    insert_users(app, staff).await?;
    // The national accounting institutes: one staff account each, `{code}staff`.
    let national = tree.national().id;
    let institutes: Vec<user::ActiveModel> = crate::learning::institutes(app)
        .await?
        .into_iter()
        .map(|i| user::ActiveModel {
            institute_id: Set(Some(i.id)),
            ..account(UserType::InstituteStaff, format!("{}staff", i.code), i.name, national, &hash, now)
        })
        .collect();
    insert_users(app, institutes).await?;
    progress(Stage::Staff, orgs.len() as u64, orgs.len() as u64);

    let weighted: Vec<(&Association, u64)> = tree.provincial().map(|a| (a, weight(a))).collect();
    let total: u64 = weighted.iter().map(|(_, w)| w).sum();
    let guangdong = tree.by_code("44").expect("seeded");
    let gd_weighted = [(guangdong, 1)];

    // Firms and their CPAs, through the regulator's synchronisation: the
    // same records `cmis regulator-file` writes.
    let mut numbering = firms::Numbering::new(&tree);
    let mut cpa_total = 0u64;
    let mut first_cpa = None;
    let mut i = 0;
    while i < opts.firms {
        let end = (i + firms::BATCH).min(opts.firms);
        let batch = numbering.batch(opts, i, end);
        if let Some((_, c)) = batch.cpas.first() {
            first_cpa.get_or_insert_with(|| c.cpa_no.as_str().to_owned());
        }
        cpa_total += batch.cpas.len() as u64;
        let txn = app.write().await?;
        let mut applier = regulator::Applier::new(app, &txn, regulator::Accounts::Hash(&hash));
        applier.firms(batch.firms).await?;
        let nos: Vec<String> = batch.cpas.iter().map(|(_, c)| c.cpa_no.as_str().to_owned()).collect();
        let mut it = batch.cpas.into_iter().peekable();
        while it.peek().is_some() {
            applier.cpas(it.by_ref().take(400).collect()).await?;
        }
        if let Some(r) = applier.refused.first() {
            anyhow::bail!("demo record refused at {}: {}", r.key, r.reason);
        }
        cpa_hours(&txn, now, seed, &nos).await?;
        txn.commit().await?;
        progress(Stage::Firms, end, opts.firms);
        progress(Stage::Cpas, cpa_total, cpa_total);
        i = end;
    }

    // Non-practicing members.
    const BATCH: u64 = 500;
    let mut member_serial: std::collections::HashMap<String, u32> = Default::default();
    let mut first_member = None;
    let mut i = 0;
    while i < opts.members {
        let end = (i + BATCH).min(opts.members);
        let txn = app.write().await?;
        let mut rows = Vec::new();
        let mut meta = Vec::new();
        let mut people = Vec::new();
        for m in i..end {
            let p = if m == 0 {
                place(&tree, &gd_weighted, 1, 0)
            } else {
                place(&tree, &weighted, total, mix(seed, m, 30))
            };
            let sex = if mix(seed, m, 31).is_multiple_of(2) { Sex::Male } else { Sex::Female };
            let id = resident_id(seed, m, &p.province, 2, sex);
            // Born, then the exam at 22 or later, then admission the year
            // after the exam or up to two years later (never past 2025).
            let exam_year = exam_year_for(id.birth_date(), mix(seed, m, 33));
            let year = exam_year + 1 + (mix(seed, m, 32) % (LAST_YEAR - exam_year).clamp(1, 3) as u64) as i32;
            let serial = member_serial.entry(format!("{}{year}", p.province)).or_insert(0);
            *serial += 1;
            let cert = MemberCertNo::compose(&p.province, year, *serial)?.to_string();
            first_member.get_or_insert_with(|| cert.clone());
            let name = person_name(seed, m, 34, sex);
            let phone = mobile(seed, m, 35);
            meta.push((cert.clone(), name.clone(), p.provincial.id));
            let admitted = NaiveDate::from_ymd_opt(year, 1 + (m % 12) as u32, 1 + (m % 28) as u32).expect("valid");
            people.push(DemoMember {
                m,
                cert: cert.clone(),
                name: name.clone(),
                association_id: p.provincial.id,
                city_id: p.city.map(|c| c.id),
                admitted,
            });
            rows.push(member::ActiveModel {
                cert_no: Set(MemberCertNo::parse(&cert).map_err(anyhow::Error::from)?),
                name: Set(name),
                sex: Set(sex.code().into()),
                birth_date: Set(id.birth_date()),
                id_type: Set("resident".into()),
                id_number_enc: Set(app.pii.encrypt(id.as_str())),
                id_number_digest: Set(app.pii.digest(id.as_str())),
                mobile_enc: Set(Some(app.pii.encrypt(&phone))),
                mobile_digest: Set(Some(app.pii.digest(&phone))),
                email: Set(Some(format!("m{m}@example.cn"))),
                association_id: Set(p.provincial.id),
                city_association_id: Set(p.city.map(|c| c.id)),
                qualification_method: Set("exam".into()),
                exam_cert_no: Set(Some(format!("QZ{:02}{}{:05}", exam_year % 100, p.province, (m + 50_000) % 100_000))),
                exam_year: Set(Some(exam_year)),
                status: Set("active".into()),
                created_at: Set(now),
                admitted_on: Set(admitted),
                work_unit: Set(Some(UNITS[(mix(seed, m, 36) % UNITS.len() as u64) as usize].to_owned())),
                ..Default::default()
            });
        }
        let nos: Vec<String> = meta.iter().map(|m| m.0.clone()).collect();
        for chunk in chunks(rows, 400) {
            member::Entity::insert_many(chunk)
                .on_conflict(OnConflict::column(member::Column::CertNo).do_nothing().to_owned())
                .exec_without_returning(&txn)
                .await?;
        }
        let ids: std::collections::HashMap<String, i32> = member::Entity::find()
            .select_only()
            .columns([member::Column::CertNo, member::Column::Id])
            .filter(member::Column::CertNo.is_in(nos))
            .into_tuple::<(String, i32)>()
            .all(&txn)
            .await?
            .into_iter()
            .collect();
        let users = meta
            .into_iter()
            .map(|(cert, name, assoc)| user::ActiveModel {
                member_id: Set(Some(ids[&cert])),
                ..account(UserType::NonPracticingMember, cert, name, assoc, &hash, now)
            })
            .collect();
        insert_users_in(&txn, users).await?;
        inspections(&txn, app.today(), app.now(), seed, &people, &ids).await?;
        txn.commit().await?;
        progress(Stage::Members, end, opts.members);
        i = end;
    }

    portal_entries(app).await?;

    let mut rows = Vec::new();
    if let Some(m) = first_member {
        rows.push((UserType::NonPracticingMember, m, DEMO_PASSWORD.to_owned()));
    }
    if let Some(c) = first_cpa {
        rows.push((UserType::Cpa, c.clone(), DEMO_PASSWORD.to_owned()));
        rows.push((UserType::Firm, c[..8].to_owned(), DEMO_PASSWORD.to_owned()));
    }
    for a in [app.orgs().national(), guangdong] {
        rows.push((UserType::AssociationStaff, format!("staff{}", a.code), DEMO_PASSWORD.to_owned()));
    }
    if let Some(city) = app.orgs().children(guangdong.id).find(|c| c.level == AssociationLevel::City) {
        rows.push((UserType::AssociationStaff, format!("staff{}", city.code), DEMO_PASSWORD.to_owned()));
    }
    rows.push((UserType::InstituteStaff, "bnaistaff".to_owned(), DEMO_PASSWORD.to_owned()));
    Ok(Logins { rows })
}

/// The portal's first 通知公告 and 常见问题 (titles from seed 002's portal),
/// published by CICPA's staff account, once.
async fn portal_entries(app: &App) -> anyhow::Result<()> {
    use cmis_store::entity::notice;
    use sea_orm::PaginatorTrait;
    if notice::Entity::find().count(app.db.conn()).await? > 0 {
        return Ok(());
    }
    let Some(author) = user::Entity::find().filter(user::Column::LoginName.eq("staffcicpa")).one(app.db.conn()).await?
    else {
        return Ok(());
    };
    const ENTRIES: &[(&str, &str, &str)] = &[
        (
            "faq",
            "关于非执业会员入会指南",
            "非执业会员入会申请在首页“会员服务”下的“非执业会员申请”办理：阅读入会须知并接受，填写验证信息，填写申请单（带*号为必填项）并上传照片，提交后获得业务编号。\n地方注协在20个工作日内审核，审核通过后由中注协在10个工作日内确认。可凭业务编号或基本信息在“非执业申请进度查询”中查看进度；中注协确认后，进度查询页面显示会员编号、登录名及初始密码，首次登录须修改密码。",
        ),
        (
            "faq",
            "申请入会咨询电话表",
            "各地方注协咨询电话见首页“联系方式”。港澳台及境外会员入会咨询：86-10-88250132。会员线上申请系统及网页问题咨询：010-88250338/0337。",
        ),
        (
            "faq",
            "忘记密码怎么办",
            "注册会计师和非执业会员可在登录框下方点击“忘记密码”，通过登记的手机号码、其他信息（姓名、证件号码及邮箱、全科合格证号或工作单位）或已绑定的公众号找回密码。会计师事务所和注协工作人员请联系所属注协。",
        ),
        (
            "notice",
            "关于系统升级维护的通告",
            "为提升系统服务能力，系统将于近期进行升级维护，维护期间部分功能可能暂停使用，请各位用户合理安排业务办理时间。",
        ),
        (
            "notice",
            "中注协行业管理信息系统春节期间暂停使用通知",
            "春节假期期间系统暂停使用，节后恢复正常，由此带来的不便敬请谅解。",
        ),
    ];
    for (kind, title, body) in ENTRIES {
        let author_actor =
            crate::auth::actor_for(app, author.id).await?.ok_or_else(|| anyhow::anyhow!("staffcicpa"))?;
        let draft = crate::notices::Draft {
            kind: crate::notices::Kind::from_code(kind),
            title: (*title).into(),
            body: (*body).into(),
            publish: true,
        };
        crate::notices::save(app, &author_actor, None, draft).await?;
    }
    Ok(())
}

/// CPAs' learning hours for the year checked now: most have 40 (16 of them
/// ethics), every tenth falls short. Once: a CPA with records is skipped.
async fn cpa_hours<C: sea_orm::ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    seed: u64,
    nos: &[String],
) -> anyhow::Result<()> {
    use cmis_store::entity::learning_record;
    let year = crate::clock::date_of(now).year() - 1;
    let ids: Vec<(i32, String)> = cpa::Entity::find()
        .select_only()
        .columns([cpa::Column::Id, cpa::Column::CpaNo])
        .filter(cpa::Column::CpaNo.is_in(nos.to_vec()))
        .into_tuple()
        .all(txn)
        .await?;
    let done: std::collections::HashSet<i32> = learning_record::Entity::find()
        .select_only()
        .column(learning_record::Column::CpaId)
        .filter(learning_record::Column::CpaId.is_in(ids.iter().map(|(id, _)| *id)))
        .into_tuple::<Option<i32>>()
        .all(txn)
        .await?
        .into_iter()
        .flatten()
        .collect();
    let mut rows = Vec::new();
    for (id, no) in ids.into_iter().filter(|(id, _)| !done.contains(id)) {
        let n: u64 = no.bytes().fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(b as u64));
        let short = mix(seed, n, 50).is_multiple_of(10);
        for (category, title, hours) in
            [("professional", "企业会计准则专题", if short { 8 } else { 24 }), ("ethics", "注册会计师职业道德守则", 16)]
        {
            rows.push(learning_record::ActiveModel {
                member_id: Set(None),
                cpa_id: Set(Some(id)),
                year: Set(year),
                kind: Set("record".into()),
                hours_x100: Set(hours * 100),
                category: Set(category.into()),
                title: Set(title.into()),
                source: Set("import".into()),
                recorded_by: Set("system:demo".into()),
                created_at: Set(now),
                ..Default::default()
            });
        }
    }
    for chunk in chunks(rows, 400) {
        learning_record::Entity::insert_many(chunk).exec_without_returning(txn).await?;
    }
    Ok(())
}

/// The regulator's records of the demo's firms and CPAs, as JSON lines:
/// the same data `generate` puts in, for trying and measuring the import.
pub async fn regulator_file(app: &App, opts: &Options, out: &mut dyn std::io::Write) -> anyhow::Result<(u64, u64)> {
    let tree = app.orgs();
    let mut numbering = firms::Numbering::new(&tree);
    let (mut n_firms, mut n_cpas) = (0, 0);
    let mut i = 0;
    while i < opts.firms {
        let end = (i + firms::BATCH).min(opts.firms);
        let b = numbering.batch(opts, i, end);
        for (_, f) in &b.firms {
            writeln!(out, "{}", firms::firm_json(f))?;
        }
        for (_, c) in &b.cpas {
            writeln!(out, "{}", firms::cpa_json(c))?;
        }
        n_firms += b.firms.len() as u64;
        n_cpas += b.cpas.len() as u64;
        i = end;
    }
    Ok((n_firms, n_cpas))
}

/// A demo account with the demo password, ready to log in.
fn account(
    t: UserType,
    login: String,
    name: String,
    association_id: i32,
    hash: &str,
    now: DateTime<Utc>,
) -> user::ActiveModel {
    user::ActiveModel {
        user_type: Set(t.code().into()),
        login_name: Set(login),
        display_name: Set(name),
        password_hash: Set(hash.to_owned()),
        must_change_password: Set(false),
        association_id: Set(association_id),
        disabled: Set(false),
        created_at: Set(now),
        ..Default::default()
    }
}

fn chunks<T>(v: Vec<T>, n: usize) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    let mut it = v.into_iter().peekable();
    while it.peek().is_some() {
        out.push(it.by_ref().take(n).collect());
    }
    out
}

async fn insert_users(app: &App, users: Vec<user::ActiveModel>) -> anyhow::Result<()> {
    let txn = app.write().await?;
    insert_users_in(&txn, users).await?;
    txn.commit().await?;
    Ok(())
}

async fn insert_users_in<C: sea_orm::ConnectionTrait>(txn: &C, users: Vec<user::ActiveModel>) -> anyhow::Result<()> {
    for chunk in chunks(users, 400) {
        user::Entity::insert_many(chunk)
            .on_conflict(OnConflict::columns([user::Column::UserType, user::Column::LoginName]).do_nothing().to_owned())
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// The last year demo people are admitted or registered in.
const LAST_YEAR: i32 = 2025;

/// A year the person passed the exam: at 22 or older (18 at the least, as the
/// rules ask; most pass after university), and before `LAST_YEAR`.
fn exam_year_for(born: NaiveDate, r: u64) -> i32 {
    let first = born.year() + 22;
    let last = LAST_YEAR - 1;
    if first >= last { last } else { first + (r % (last - first + 1) as u64) as i32 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_resident_ids_are_valid_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        // Around the 7-million boundary where the district changes, too.
        for i in (0..30_000).chain(6_990_000..7_010_000) {
            let sex = if i % 2 == 0 { Sex::Male } else { Sex::Female };
            let id = resident_id(7, i, "44", 2, sex);
            assert_eq!(id.sex(), sex);
            assert!(seen.insert(id.as_str().to_owned()), "duplicate at {i}");
        }
    }

    #[test]
    fn names_are_two_or_three_characters() {
        for i in 0..100 {
            let n = person_name(1, i, 0, Sex::Female).chars().count();
            assert!((2..=3).contains(&n));
        }
    }
}
