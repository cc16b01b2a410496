//! 忘记密码 (seed 000 appendix, seed 004 part 3; DOMAIN §7) for 注册会计师 and
//! 非执业会员: prove who you are by (a) the registered mobile number and an SMS
//! code, (b) name + full ID number + one more fact, or (c) a code sent to the
//! notification account bound at the first successful reset; then set a new
//! password.
//!
//! A recovery is a proof in its own table, reached by a random token that
//! the page session or the API client carries. The token opens the next
//! recovery step and nothing else: it is not a session and not an API token.
//! Only a verified proof can reset, and the reset ends every session and
//! token of the account. An unknown account gets a proof too and walks the
//! same steps as an account without a bound notification account, so the
//! steps do not tell which accounts exist. Every check of a mobile number or
//! of identity facts is counted first, atomically, per account and per
//! address, before it is compared; the registered number is never shown.
//!
//! One file, longer than most: the three ways share the recovery, its
//! counters and its codes, and the limits are read best in one place.

use chrono::Duration;
use cmis_domain::throttle::{
    CODE_GAP, CODE_TRIES_PER_ACCOUNT, CODES_PER_ACCOUNT, CODES_PER_ADDRESS, RECOVERY_PER_ACCOUNT, RECOVERY_PER_ADDRESS,
};
use cmis_domain::{UserType, password};
use cmis_store::entity::{cpa, member, recovery_proof, reset_code, user};
use rand::{Rng, RngCore};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;

use crate::deliveries::{self, Channel, Outgoing, Purpose};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::keys::Secrets;
use crate::{App, audit, auth, captcha, throttle};

pub const CODE_MINUTES: i64 = 10;
/// How long a recovery stays open.
pub const PROOF_MINUTES: i64 = 30;
const MAX_ATTEMPTS: i32 = 5;

/// What else, beside name and ID number, can prove the person (seed 000 2.1.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fact {
    Email,
    ExamCert,
    WorkUnit,
    /// 档案存放单位, a CPA's.
    ArchiveUnit,
}

impl Fact {
    pub fn code(self) -> &'static str {
        match self {
            Fact::Email => "email",
            Fact::ExamCert => "exam_cert",
            Fact::WorkUnit => "work_unit",
            Fact::ArchiveUnit => "archive_unit",
        }
    }
    pub fn from_code(c: &str) -> Option<Fact> {
        [Fact::Email, Fact::ExamCert, Fact::WorkUnit, Fact::ArchiveUnit].into_iter().find(|f| f.code() == c)
    }
    pub fn label(self) -> &'static str {
        match self {
            Fact::Email => "邮箱",
            Fact::ExamCert => "全科合格证号/考核批准文号",
            Fact::WorkUnit => "工作单位",
            Fact::ArchiveUnit => "档案存放单位",
        }
    }
    /// The facts a user type can use (seed 000 appendix 2.1.2.2).
    pub fn for_type(t: UserType) -> &'static [Fact] {
        match t {
            UserType::NonPracticingMember => &[Fact::Email, Fact::ExamCert, Fact::WorkUnit],
            _ => &[Fact::Email, Fact::ExamCert, Fact::ArchiveUnit],
        }
    }
}

/// A recovery in progress, as its token opens it.
#[derive(Debug, Clone)]
pub struct Recovery {
    id: String,
    pub user_type: UserType,
    pub login_name: String,
    user: Option<user::Model>,
}

impl Recovery {
    /// Whether codes go to a bound notification account (an unknown account
    /// looks like one that is not bound).
    pub fn bound(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.bound_account.is_some())
    }

    pub fn facts(&self) -> &'static [Fact] {
        Fact::for_type(self.user_type)
    }

    fn counter_key(&self) -> String {
        counter_key(self.user_type, &self.login_name)
    }
}

/// The throttle key of an account's identity checks.
fn counter_key(user_type: UserType, login: &str) -> String {
    format!("recover:{}:{}", user_type.code(), login.to_lowercase())
}

/// A recovery whose person has proven who they are: the only way to `reset`.
#[derive(Debug)]
pub struct Verified {
    id: String,
    user: user::Model,
}

/// The person behind an account: what the verification compares with.
struct Person {
    name: String,
    id_number: String,
    mobile: Option<String>,
    email: Option<String>,
    exam_cert_no: Option<String>,
    work_unit: Option<String>,
    archive_unit: Option<String>,
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
            archive_unit: None,
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
            archive_unit: c.archive_unit,
        });
    }
    Err(AppError::Forbidden)
}

fn proof_id(app: &App, token: &str) -> String {
    Secrets::mac(&app.secrets.token, &[b"recovery", token.trim().as_bytes()])
}

fn code_hash(app: &App, user_id: i32, code: &str) -> String {
    Secrets::mac(&app.secrets.reset_code, &[&user_id.to_be_bytes(), code.trim().as_bytes()])
}

/// 验证账号: user type + account (the member number) + captcha. Returns the
/// recovery token, whether or not the account exists.
pub async fn start(
    app: &App,
    user_type: Option<UserType>,
    login: &str,
    captcha_id: &str,
    captcha_answer: &str,
) -> AppResult<String> {
    let mut errors = FieldErrors::new();
    let t = match user_type {
        Some(t @ (UserType::NonPracticingMember | UserType::Cpa)) => Some(t),
        _ => {
            errors.add("user_type", "请选择用户类型：注册会计师或非执业会员");
            None
        }
    };
    let login = login.trim();
    if login.is_empty() {
        errors.add("login_name", "请输入您要找回密码的账号");
    } else if login.chars().count() > 32 || login.chars().any(char::is_control) {
        errors.add("login_name", "账号格式不正确，账号即会员编号");
    }
    if captcha_answer.trim().is_empty() {
        errors.add("captcha", "请输入验证码");
    }
    errors.into_result()?;
    if !captcha::check(app, captcha_id, captcha_answer).await? {
        return Err(FieldErrors::one("captcha", "验证码错误或已过期，请刷新后重新输入"));
    }
    let t = t.expect("checked");
    let u = user::Entity::find()
        .filter(user::Column::UserType.eq(t.code()))
        .filter(user::Column::LoginName.eq(login))
        .one(app.db.conn())
        .await?
        .filter(|u| !u.disabled);
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let token = hex::encode(raw);
    let now = app.now();
    recovery_proof::ActiveModel {
        id: Set(proof_id(app, &token)),
        user_type: Set(t.code().to_owned()),
        login_name: Set(login.to_owned()),
        user_id: Set(u.map(|u| u.id)),
        verified_at: Set(None),
        created_at: Set(now),
        expires_at: Set(now + Duration::minutes(PROOF_MINUTES)),
    }
    .insert(app.db.conn())
    .await?;
    Ok(token)
}

async fn proof(app: &App, token: &str) -> AppResult<recovery_proof::Model> {
    recovery_proof::Entity::find_by_id(proof_id(app, token))
        .filter(recovery_proof::Column::ExpiresAt.gt(app.now()))
        .one(app.db.conn())
        .await?
        .ok_or_else(|| AppError::Refused("找回密码已超时，请重新开始".into()))
}

/// The recovery a token opens.
pub async fn open(app: &App, token: &str) -> AppResult<Recovery> {
    let p = proof(app, token).await?;
    let user = match p.user_id {
        Some(id) => user::Entity::find_by_id(id).one(app.db.conn()).await?.filter(|u| !u.disabled),
        None => None,
    };
    Ok(Recovery {
        user_type: UserType::from_code(&p.user_type).ok_or(AppError::Forbidden)?,
        login_name: p.login_name,
        id: p.id,
        user,
    })
}

/// Counts one identity check of this recovery, per account and per address,
/// before it is made.
async fn count_check(app: &App, r: &Recovery, address: &str) -> AppResult<()> {
    let now = app.now();
    let db = app.db.conn();
    let by_account = throttle::hit(db, &r.counter_key(), RECOVERY_PER_ACCOUNT, now).await?;
    if !by_account.allowed(&RECOVERY_PER_ACCOUNT) {
        return Err(AppError::Refused(format!("验证失败次数过多，请{}分钟后再试", by_account.minutes_locked(now))));
    }
    let by_address = throttle::hit(db, &format!("recover-addr:{address}"), RECOVERY_PER_ADDRESS, now).await?;
    if !by_address.allowed(&RECOVERY_PER_ADDRESS) {
        return Err(AppError::Refused(format!(
            "当前网络验证失败次数过多，请{}分钟后再试",
            by_address.minutes_locked(now)
        )));
    }
    Ok(())
}

/// A check that turned out right does not count against the account.
async fn uncount_check(app: &App, r: &Recovery) -> AppResult<()> {
    throttle::give_back(app.db.conn(), &r.counter_key(), RECOVERY_PER_ACCOUNT).await?;
    Ok(())
}

/// Codes cannot be sent at all without a configured sender: said before
/// anything about the account is compared.
fn senders_ready(app: &App) -> AppResult<()> {
    if app.senders.configured {
        Ok(())
    } else {
        Err(AppError::Refused("验证码发送失败，请稍后再试或使用其他信息验证".into()))
    }
}

/// A new code for the account, sent to `to` on `channel`: the code and its
/// message are written in one transaction, and the outbox sends it.
async fn send_code(
    app: &App,
    r: &Recovery,
    u: &user::Model,
    channel: Channel,
    to: &str,
    address: &str,
    text: impl Fn(&str) -> String,
) -> AppResult<()> {
    let now = app.now();
    let db = app.db.conn();
    let gap = throttle::hit(db, &format!("code-gap:{}", u.id), CODE_GAP, now).await?;
    if !gap.allowed(&CODE_GAP) {
        return Err(AppError::Refused(format!("验证码已发送，请{}秒后再重新获取", gap.seconds_locked(now))));
    }
    for (key, rule) in
        [(format!("codes:{}", u.id), CODES_PER_ACCOUNT), (format!("codes-addr:{address}"), CODES_PER_ADDRESS)]
    {
        let h = throttle::hit(db, &key, rule, now).await?;
        if !h.allowed(&rule) {
            return Err(AppError::TooMany(h.minutes_locked(now)));
        }
    }
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000));
    let tx = app.write().await?;
    reset_code::ActiveModel {
        user_id: Set(u.id),
        recovery_id: Set(Some(r.id.clone())),
        channel: Set(channel.code().to_owned()),
        code_hash: Set(code_hash(app, u.id, &code)),
        address: Set(address.to_owned()),
        attempts: Set(0),
        created_at: Set(now),
        expires_at: Set(now + Duration::minutes(CODE_MINUTES)),
        used_at: Set(None),
        ..Default::default()
    }
    .insert(&tx)
    .await?;
    let body = text(&code);
    let o = Outgoing {
        channel,
        purpose: Purpose::ResetCode,
        to,
        subject: "找回密码验证码",
        body: &body,
        association_id: Some(u.association_id),
    };
    deliveries::queue(app, &tx, o).await?;
    tx.commit().await?;
    Ok(())
}

/// (a) 手机号验证: the registered mobile number in full, then an SMS code.
pub async fn send_sms_code(app: &App, r: &Recovery, mobile: &str, address: &str) -> AppResult<()> {
    let mobile = mobile.trim();
    if mobile.is_empty() {
        return Err(FieldErrors::one("mobile", "请输入完整的登记手机号码"));
    }
    // Before the number is compared: whether it is right must not show in
    // whether a code could be sent.
    senders_ready(app)?;
    count_check(app, r, address).await?;
    let registered = match &r.user {
        Some(u) => person(app, u).await?.mobile,
        None => None,
    };
    let u = match (&r.user, registered) {
        (Some(u), Some(m)) if m.trim() == mobile => u,
        _ => return Err(FieldErrors::one("mobile", "手机号码与登记的不一致，请输入完整的登记手机号码")),
    };
    uncount_check(app, r).await?;
    send_code(app, r, u, Channel::Sms, mobile, address, |code| {
        format!(
            "【中注协】您正在找回行业管理信息系统登录密码，验证码{code}，{CODE_MINUTES}分钟内有效。如非本人操作，请忽略。"
        )
    })
    .await
}

/// (c) 公众号验证: a code to the bound notification account.
pub async fn send_bound_code(app: &App, r: &Recovery, address: &str) -> AppResult<()> {
    senders_ready(app)?;
    let (u, account) = match &r.user {
        Some(u) => match &u.bound_account {
            Some(a) => (u, a.clone()),
            None => return Err(AppError::Refused("该账号尚未绑定公众号".into())),
        },
        None => return Err(AppError::Refused("该账号尚未绑定公众号".into())),
    };
    send_code(app, r, u, Channel::Bound, &account, address, |code| {
        format!("您正在找回密码，验证码{code}，{CODE_MINUTES}分钟内有效。")
    })
    .await
}

async fn mark_verified(app: &App, r: &Recovery) -> AppResult<()> {
    recovery_proof::Entity::update_many()
        .col_expr(recovery_proof::Column::VerifiedAt, Expr::value(app.now()))
        .filter(recovery_proof::Column::Id.eq(&r.id))
        .exec(app.db.conn())
        .await?;
    Ok(())
}

/// Checks the newest code sent for this recovery: right once, within its
/// time, at most five tries, and at most ten wrong codes a day for the
/// account, each counted before it is compared. Verifies the recovery.
pub async fn verify_code(app: &App, r: &Recovery, code: &str) -> AppResult<()> {
    let bad = || FieldErrors::one("code", "验证码错误或已失效，请重新获取");
    let u = r.user.as_ref().ok_or_else(bad)?;
    let db = app.db.conn();
    // Only a code sent for this recovery: another recovery of the same
    // account, opened by anyone with the account number, neither uses it
    // nor spends its tries.
    let c = reset_code::Entity::find()
        .filter(reset_code::Column::UserId.eq(u.id))
        .filter(reset_code::Column::RecoveryId.eq(&r.id))
        .order_by_desc(reset_code::Column::Id)
        .one(db)
        .await?
        .ok_or_else(bad)?;
    let now = app.now();
    // Codes can be asked for without knowing anything (公众号验证): the
    // account's wrong codes are capped across codes, not only per code.
    let day = throttle::attempt(db, &format!("code-tries:{}", u.id), CODE_TRIES_PER_ACCOUNT, now).await?;
    if !day.allowed(&CODE_TRIES_PER_ACCOUNT) {
        return Err(AppError::Refused(format!(
            "验证码错误次数过多，请{}小时后再试或使用其他信息验证",
            (day.minutes_locked(now) + 59) / 60
        )));
    }
    let tried = reset_code::Entity::update_many()
        .col_expr(reset_code::Column::Attempts, Expr::col(reset_code::Column::Attempts).add(1))
        .filter(reset_code::Column::Id.eq(c.id))
        .filter(reset_code::Column::Attempts.lt(MAX_ATTEMPTS))
        .filter(reset_code::Column::UsedAt.is_null())
        .filter(reset_code::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    if tried.rows_affected != 1 || c.code_hash != code_hash(app, u.id, code) {
        return Err(bad());
    }
    let used = reset_code::Entity::update_many()
        .col_expr(reset_code::Column::UsedAt, Expr::value(now))
        .filter(reset_code::Column::Id.eq(c.id))
        .filter(reset_code::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    if used.rows_affected != 1 {
        return Err(bad());
    }
    throttle::clear(db, &format!("code-tries:{}", u.id)).await?;
    mark_verified(app, r).await
}

/// (b) 其他信息验证: name + full ID number + one more fact. Counted like
/// wrong passwords, per account and per address. Verifies the recovery.
pub async fn verify_other(
    app: &App,
    r: &Recovery,
    name: &str,
    id_number: &str,
    fact: Option<Fact>,
    value: &str,
    address: &str,
) -> AppResult<()> {
    let mut errors = FieldErrors::new();
    if name.trim().is_empty() {
        errors.add("name", "请输入姓名");
    }
    if id_number.trim().is_empty() {
        errors.add("id_number", "请输入完整的证件号码");
    }
    let fact = fact.filter(|f| r.facts().contains(f));
    if fact.is_none() {
        errors.add("fact", "请选择辅助证明材料类型");
    }
    if value.trim().is_empty() {
        errors.add("value", "请填写所选辅助证明材料的内容");
    }
    errors.into_result()?;
    count_check(app, r, address).await?;
    let matches = match &r.user {
        None => false,
        Some(u) => {
            let p = person(app, u).await?;
            let norm = |s: &str| s.trim().to_uppercase();
            let fact_ok = match fact.expect("checked") {
                Fact::Email => p.email.as_deref().is_some_and(|e| e.trim().eq_ignore_ascii_case(value.trim())),
                Fact::ExamCert => p.exam_cert_no.as_deref().is_some_and(|e| norm(e) == norm(value)),
                Fact::WorkUnit => p.work_unit.as_deref().is_some_and(|w| w.trim() == value.trim()),
                Fact::ArchiveUnit => p.archive_unit.as_deref().is_some_and(|w| w.trim() == value.trim()),
            };
            p.name.trim() == name.trim() && norm(&p.id_number) == norm(id_number) && fact_ok
        }
    };
    if !matches {
        return Err(FieldErrors::one("form", "填写的信息与登记信息不一致，请核对"));
    }
    uncount_check(app, r).await?;
    mark_verified(app, r).await
}

/// The verified recovery a token opens, if it is one.
pub async fn verified(app: &App, token: &str) -> AppResult<Verified> {
    let p = proof(app, token).await?;
    let user = match (p.verified_at, p.user_id) {
        (Some(_), Some(id)) => user::Entity::find_by_id(id).one(app.db.conn()).await?.filter(|u| !u.disabled),
        _ => None,
    };
    let user = user.ok_or_else(|| AppError::Refused("请先完成身份验证".into()))?;
    Ok(Verified { id: p.id, user })
}

/// 重置密码, after one of the verifications. Binds the notification account
/// at the first successful reset (returns true then), lifts a login lockout,
/// and ends every session, API token and other recovery of the account.
pub async fn reset(app: &App, proof: Verified, new: &str, confirm: &str) -> AppResult<bool> {
    let u = proof.user;
    match password::check_new(new, confirm, &u.login_name) {
        Err(e @ password::PasswordError::Mismatch) => return Err(FieldErrors::one("confirm", e)),
        Err(e) => return Err(FieldErrors::one("new_password", e)),
        Ok(()) => {}
    }
    let hash = auth::hash_password_async(new.to_owned()).await;
    let newly_bound = u.bound_account.is_none();
    let user_type = UserType::from_code(&u.user_type).ok_or(AppError::Forbidden)?;
    let login_key = auth::account_key(user_type, &u.login_name);
    let recover_key = counter_key(user_type, &u.login_name);
    let (user_id, subject) = (u.id, format!("user:{}", u.id));
    let actor = format!("{}:{}", u.user_type, u.login_name);
    // Told at once, by message and to the registered mobile: a reset the
    // person did not make is not silent.
    let told = crate::review::Notice {
        user_id: Some(u.id),
        title: "登录密码已重置".into(),
        body: format!(
            "【中注协】您的行业管理信息系统登录密码已于{}通过“忘记密码”重置。如非本人操作，请立即联系所属注协或中注协技术部 010-88250337。",
            crate::clock::date_of(app.now())
        ),
        link: None,
        sms_to: person(app, &u).await?.mobile,
    };
    let association_id = u.association_id;
    let txn = app.write().await?;
    // The proof is spent by exactly one reset.
    let spent = recovery_proof::Entity::delete_by_id(proof.id).exec(&txn).await?;
    if spent.rows_affected != 1 {
        return Err(AppError::Refused("找回密码已超时，请重新开始".into()));
    }
    let mut am: user::ActiveModel = u.into();
    am.password_hash = Set(hash);
    am.must_change_password = Set(false);
    am.password_changed_at = Set(Some(app.now()));
    if newly_bound {
        let mut raw = [0u8; 12];
        rand::rng().fill_bytes(&mut raw);
        am.bound_account = Set(Some(format!("wx-{}", hex::encode(raw))));
    }
    am.update(&txn).await?;
    auth::end_sessions(&txn, user_id).await?;
    throttle::clear(&txn, &login_key).await?;
    throttle::clear(&txn, &recover_key).await?;
    audit::append(&txn, &actor, "password_reset", &subject, json!({ "bound": newly_bound })).await?;
    crate::review::tell_for(app, &txn, association_id, &told, crate::deliveries::Purpose::Account).await?;
    txn.commit().await?;
    app.wake_deliveries();
    Ok(newly_bound)
}
