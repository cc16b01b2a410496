//! 忘记密码 (seed 000 appendix, seed 004 part 3; DOMAIN §7) for 注册会计师 and
//! 非执业会员: prove who you are by (a) the registered mobile number and an SMS
//! code, (b) name + full ID number + one more fact, or (c) a code sent to the
//! notification account bound at the first successful reset; then set a new
//! password.

use chrono::{Duration, Utc};
use cmis_domain::password;
use cmis_domain::throttle;
use cmis_domain::{UserType, mask};
use cmis_store::entity::{cpa, member, reset_code, throttle as throttle_row, user};
use rand::{Rng, RngCore};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult, FieldErrors};
use crate::{App, audit, auth};

pub const CODE_MINUTES: i64 = 10;
const MAX_ATTEMPTS: i32 = 5;
/// One code a minute per account, ten an hour; forty an hour per address.
const ACCOUNT_GAP_SECONDS: i64 = 60;
const ACCOUNT_PER_HOUR: u64 = 10;
const ADDRESS_PER_HOUR: u64 = 40;

/// The account being recovered, as the second step shows it.
#[derive(Debug, Clone)]
pub struct Account {
    pub user_id: i32,
    pub user_type: UserType,
    pub login_name: String,
    /// Masked registered mobile number, if there is one.
    pub mobile_hint: Option<String>,
    /// Whether codes go to a bound notification account.
    pub bound: bool,
}

/// What else, beside name and ID number, can prove the person (seed 000 2.1.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fact {
    Email,
    ExamCert,
    WorkUnit,
}

impl Fact {
    pub fn code(self) -> &'static str {
        match self {
            Fact::Email => "email",
            Fact::ExamCert => "exam_cert",
            Fact::WorkUnit => "work_unit",
        }
    }
    pub fn from_code(c: &str) -> Option<Fact> {
        [Fact::Email, Fact::ExamCert, Fact::WorkUnit].into_iter().find(|f| f.code() == c)
    }
    pub fn label(self) -> &'static str {
        match self {
            Fact::Email => "邮箱",
            Fact::ExamCert => "全科合格证号/考核批准文号",
            Fact::WorkUnit => "工作单位",
        }
    }
    /// The facts a user type can use. A CPA's 档案存放单位 is not held by this system.
    pub fn for_type(t: UserType) -> &'static [Fact] {
        match t {
            UserType::NonPracticingMember => &[Fact::Email, Fact::ExamCert, Fact::WorkUnit],
            _ => &[Fact::Email, Fact::ExamCert],
        }
    }
}

/// The person behind an account: what the verification compares with.
struct Person {
    name: String,
    id_number: String,
    mobile: Option<String>,
    email: Option<String>,
    exam_cert_no: Option<String>,
    work_unit: Option<String>,
}

fn hash_code(user_id: i32, code: &str) -> String {
    hex::encode(Sha256::new().chain_update(user_id.to_be_bytes()).chain_update(code.trim().as_bytes()).finalize())
}

async fn person(app: &App, u: &user::Model) -> AppResult<Person> {
    let db = app.db.conn();
    let dec =
        |e: &Option<String>| -> AppResult<Option<String>> { Ok(e.as_deref().map(|v| app.pii.decrypt(v)).transpose()?) };
    if let Some(id) = u.member_id {
        let m = member::Entity::find_by_id(id).one(db).await?.ok_or(AppError::NotFound("会员"))?;
        return Ok(Person {
            id_number: app.pii.decrypt(&m.id_number_enc)?,
            mobile: dec(&m.mobile_enc)?,
            name: m.name,
            email: m.email,
            exam_cert_no: m.exam_cert_no,
            work_unit: m.work_unit,
        });
    }
    if let Some(id) = u.cpa_id {
        let c = cpa::Entity::find_by_id(id).one(db).await?.ok_or(AppError::NotFound("注册会计师"))?;
        return Ok(Person {
            id_number: app.pii.decrypt(&c.id_number_enc)?,
            mobile: dec(&c.mobile_enc)?,
            name: c.name,
            email: c.email,
            exam_cert_no: c.exam_cert_no,
            work_unit: None,
        });
    }
    Err(AppError::Forbidden)
}

async fn user_of(app: &App, user_id: i32) -> AppResult<user::Model> {
    user::Entity::find_by_id(user_id)
        .one(app.db.conn())
        .await?
        .filter(|u| !u.disabled)
        .ok_or(AppError::NotFound("账号"))
}

/// 验证账号: user type + account (the member number).
pub async fn find_account(app: &App, user_type: Option<UserType>, login: &str) -> AppResult<Account> {
    let mut errors = FieldErrors::new();
    let t = match user_type {
        Some(t @ (UserType::NonPracticingMember | UserType::Cpa)) => Some(t),
        _ => {
            errors.add("user_type", "请选择用户类型：注册会计师或非执业会员");
            None
        }
    };
    if login.trim().is_empty() {
        errors.add("login_name", "请输入您要找回密码的账号");
    }
    errors.into_result()?;
    let t = t.expect("checked");
    let u = user::Entity::find()
        .filter(user::Column::UserType.eq(t.code()))
        .filter(user::Column::LoginName.eq(login.trim()))
        .one(app.db.conn())
        .await?
        .filter(|u| !u.disabled)
        .ok_or_else(|| FieldErrors::one("login_name", "未找到该账号，请核对用户类型和会员编号（账号即会员编号）"))?;
    let p = person(app, &u).await?;
    Ok(Account {
        user_id: u.id,
        user_type: t,
        login_name: u.login_name,
        mobile_hint: p.mobile.as_deref().map(mask::phone),
        bound: u.bound_account.is_some(),
    })
}

async fn check_send_limits(app: &App, user_id: i32, address: &str) -> AppResult<()> {
    let db = app.db.conn();
    let now = Utc::now();
    let hour = now - Duration::hours(1);
    let last = reset_code::Entity::find()
        .filter(reset_code::Column::UserId.eq(user_id))
        .order_by_desc(reset_code::Column::Id)
        .one(db)
        .await?;
    if let Some(l) = last
        && (now - l.created_at).num_seconds() < ACCOUNT_GAP_SECONDS
    {
        let wait = ACCOUNT_GAP_SECONDS - (now - l.created_at).num_seconds();
        return Err(AppError::Refused(format!("验证码已发送，请{wait}秒后再重新获取")));
    }
    let by_account = reset_code::Entity::find()
        .filter(reset_code::Column::UserId.eq(user_id))
        .filter(reset_code::Column::CreatedAt.gt(hour))
        .count(db)
        .await?;
    let by_address = reset_code::Entity::find()
        .filter(reset_code::Column::Address.eq(address))
        .filter(reset_code::Column::CreatedAt.gt(hour))
        .count(db)
        .await?;
    if by_account >= ACCOUNT_PER_HOUR || by_address >= ADDRESS_PER_HOUR {
        return Err(AppError::TooMany(60));
    }
    Ok(())
}

async fn issue_code(app: &App, u: &user::Model, channel: &str, address: &str) -> AppResult<String> {
    check_send_limits(app, u.id, address).await?;
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000));
    let now = Utc::now();
    reset_code::ActiveModel {
        user_id: Set(u.id),
        channel: Set(channel.to_owned()),
        code_hash: Set(hash_code(u.id, &code)),
        address: Set(address.to_owned()),
        attempts: Set(0),
        created_at: Set(now),
        expires_at: Set(now + Duration::minutes(CODE_MINUTES)),
        used_at: Set(None),
        ..Default::default()
    }
    .insert(app.db.conn())
    .await?;
    Ok(code)
}

/// (a) 手机号验证: the registered mobile number in full, then an SMS code.
pub async fn send_sms_code(app: &App, user_id: i32, mobile: &str, address: &str) -> AppResult<()> {
    let u = user_of(app, user_id).await?;
    let p = person(app, &u).await?;
    match p.mobile {
        None => return Err(FieldErrors::one("mobile", "该账号未登记手机号码，请使用其他信息验证")),
        Some(m) if m.trim() != mobile.trim() => {
            return Err(FieldErrors::one("mobile", "手机号码与登记的不一致，请输入完整的登记手机号码"));
        }
        Some(_) => {}
    }
    let code = issue_code(app, &u, "sms", address).await?;
    let text = format!(
        "【中注协】您正在找回行业管理信息系统登录密码，验证码{code}，{CODE_MINUTES}分钟内有效。如非本人操作，请忽略。"
    );
    app.senders.sms.send_sms(mobile.trim(), &text).await?;
    Ok(())
}

/// (c) 公众号验证: a code to the bound notification account.
pub async fn send_bound_code(app: &App, user_id: i32, address: &str) -> AppResult<()> {
    let u = user_of(app, user_id).await?;
    let account = u.bound_account.clone().ok_or_else(|| AppError::Refused("该账号尚未绑定公众号".into()))?;
    let code = issue_code(app, &u, "bound", address).await?;
    let text = format!("您正在找回密码，验证码{code}，{CODE_MINUTES}分钟内有效。");
    app.senders.bound.send_to_account(&account, &text).await?;
    Ok(())
}

/// Checks the newest code of the account: right once, within its time, and
/// at most five tries.
pub async fn verify_code(app: &App, user_id: i32, code: &str) -> AppResult<()> {
    let bad = || FieldErrors::one("code", "验证码错误或已失效，请重新获取");
    let c = reset_code::Entity::find()
        .filter(reset_code::Column::UserId.eq(user_id))
        .order_by_desc(reset_code::Column::Id)
        .one(app.db.conn())
        .await?
        .ok_or_else(bad)?;
    if c.used_at.is_some() || c.expires_at <= Utc::now() || c.attempts >= MAX_ATTEMPTS {
        return Err(bad());
    }
    let mut am: reset_code::ActiveModel = c.clone().into();
    if c.code_hash != hash_code(user_id, code) {
        am.attempts = Set(c.attempts + 1);
        am.update(app.db.conn()).await?;
        return Err(bad());
    }
    am.used_at = Set(Some(Utc::now()));
    am.update(app.db.conn()).await?;
    Ok(())
}

/// (b) 其他信息验证: name + full ID number + one more fact. Wrong answers
/// count like wrong passwords.
pub async fn verify_other(
    app: &App,
    user_id: i32,
    name: &str,
    id_number: &str,
    fact: Option<Fact>,
    value: &str,
) -> AppResult<()> {
    let u = user_of(app, user_id).await?;
    let t = UserType::from_code(&u.user_type).ok_or(AppError::Forbidden)?;
    let mut errors = FieldErrors::new();
    if name.trim().is_empty() {
        errors.add("name", "请输入姓名");
    }
    if id_number.trim().is_empty() {
        errors.add("id_number", "请输入完整的证件号码");
    }
    let fact = fact.filter(|f| Fact::for_type(t).contains(f));
    if fact.is_none() {
        errors.add("fact", "请选择辅助证明材料类型");
    }
    if value.trim().is_empty() {
        errors.add("value", "请填写所选辅助证明材料的内容");
    }
    errors.into_result()?;
    let key = format!("reset:{user_id}");
    let now = Utc::now();
    let counter = auth::load_counter(app, &key).await?;
    if let Some(min) = throttle::PER_ACCOUNT.locked_minutes(counter.as_ref(), now) {
        return Err(AppError::Refused(format!("验证失败次数过多，请{min}分钟后再试")));
    }
    let p = person(app, &u).await?;
    let norm = |s: &str| s.trim().to_uppercase();
    let fact_ok = match fact.expect("checked") {
        Fact::Email => p.email.as_deref().is_some_and(|e| e.trim().eq_ignore_ascii_case(value.trim())),
        Fact::ExamCert => p.exam_cert_no.as_deref().is_some_and(|e| norm(e) == norm(value)),
        Fact::WorkUnit => p.work_unit.as_deref().is_some_and(|w| w.trim() == value.trim()),
    };
    if p.name.trim() == name.trim() && norm(&p.id_number) == norm(id_number) && fact_ok {
        throttle_row::Entity::delete_by_id(key).exec(app.db.conn()).await?;
        return Ok(());
    }
    auth::save_counter(app.db.conn(), &key, throttle::PER_ACCOUNT.after_failure(counter.as_ref(), now)).await?;
    Err(FieldErrors::one("form", "填写的信息与登记信息不一致，请核对"))
}

/// 重置密码, after one of the verifications. Binds the notification account
/// at the first successful reset (returns true then) and lifts a login lockout.
pub async fn reset(app: &App, user_id: i32, new: &str, confirm: &str) -> AppResult<bool> {
    let u = user_of(app, user_id).await?;
    match password::check_new(new, confirm, &u.login_name) {
        Err(e @ password::PasswordError::Mismatch) => return Err(FieldErrors::one("confirm", e)),
        Err(e) => return Err(FieldErrors::one("new_password", e)),
        Ok(()) => {}
    }
    let hash = auth::hash_password_async(new.to_owned()).await;
    let newly_bound = u.bound_account.is_none();
    let login_key = format!("account:{}:{}", u.user_type, u.login_name.to_lowercase());
    let subject = format!("user:{}", u.id);
    let actor = format!("{}:{}", u.user_type, u.login_name);
    let txn = app.db.write().await?;
    let mut am: user::ActiveModel = u.into();
    am.password_hash = Set(hash);
    am.must_change_password = Set(false);
    am.password_changed_at = Set(Some(Utc::now()));
    if newly_bound {
        let mut raw = [0u8; 12];
        rand::rng().fill_bytes(&mut raw);
        am.bound_account = Set(Some(format!("wx-{}", hex::encode(raw))));
    }
    am.update(&txn).await?;
    throttle_row::Entity::delete_by_id(login_key).exec(&txn).await?;
    audit::append(&txn, &actor, "password_reset", &subject, json!({ "bound": newly_bound })).await?;
    txn.commit().await?;
    Ok(newly_bound)
}
