//! Logging in, passwords, and loading the actor of a session.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use cmis_domain::UserType;
use cmis_domain::password;
use cmis_domain::throttle::{PER_ACCOUNT, PER_ADDRESS};
use cmis_store::entity::{api_token, recovery_proof, session, user};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

use crate::error::{AppError, AppResult, FieldErrors};
use crate::keys::Secrets;
use crate::{Actor, App, audit, captcha, throttle};

/// The longest login name of any account (staff accounts are the longest).
pub const MAX_LOGIN_NAME: usize = 32;

pub fn hash_password(plain: &str) -> String {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default().hash_password(plain.as_bytes(), &salt).expect("argon2id with default parameters").to_string()
}

/// The password of an account made without one: no password matches it.
/// Its owner sets one through 忘记密码 (by the registered mobile number).
pub const NO_PASSWORD: &str = "!unset";

pub fn verify_password(hash: &str, plain: &str) -> bool {
    PasswordHash::new(hash).map(|h| Argon2::default().verify_password(plain.as_bytes(), &h).is_ok()).unwrap_or(false)
}

/// Password hashing is CPU-bound and takes 19 MiB a time. It runs on its own
/// threads, one per core: on tokio's blocking pool every one of dozens of
/// threads kept its own 19 MiB in its malloc arena, and 32 concurrent logins
/// grew the server to 2 GB (bench/README.md). A queue in front of a fixed set
/// of threads keeps that to a few blocks and loses no throughput.
async fn hashing<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    type Job = Box<dyn FnOnce() + Send>;
    static QUEUE: std::sync::OnceLock<std::sync::mpsc::Sender<Job>> = std::sync::OnceLock::new();
    let queue = QUEUE.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for i in 0..std::thread::available_parallelism().map_or(2, |n| n.get()) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(guard) => guard.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })
                .expect("start a hashing thread");
        }
        tx
    });
    let (done, result) = tokio::sync::oneshot::channel();
    queue
        .send(Box::new(move || {
            let _ = done.send(work());
        }))
        .expect("hashing threads run for the life of the process");
    result.await.expect("a hashing job always answers")
}

/// Hashes on the hashing threads (see `hashing`).
pub async fn hash_password_async(plain: String) -> String {
    hashing(move || hash_password(&plain)).await
}

async fn verify_blocking(hash: String, plain: String) -> bool {
    hashing(move || verify_password(&hash, &plain)).await
}

/// A hash of a random password: checked when the account does not exist, so
/// that an unknown user name takes as long to refuse as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&random_password()))
}

/// An initial password: 10 characters from letters and digits, with both.
pub fn random_password() -> String {
    use rand::Rng;
    const L: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
    const D: &[u8] = b"23456789";
    let mut rng = rand::rng();
    let mut s: Vec<u8> = (0..8).map(|_| L[rng.random_range(0..L.len())]).collect();
    s.push(D[rng.random_range(0..D.len())]);
    s.push(D[rng.random_range(0..D.len())]);
    String::from_utf8(s).expect("ascii")
}

pub struct Credentials {
    pub user_type: Option<UserType>,
    pub login_name: String,
    pub password: String,
    pub captcha_id: String,
    pub captcha_answer: String,
    /// The client's address, for throttling per address.
    pub address: String,
}

pub async fn login(app: &App, c: Credentials) -> AppResult<Actor> {
    let mut errors = FieldErrors::new();
    if c.user_type.is_none() {
        errors.add("user_type", "请选择用户类型");
    }
    let name = c.login_name.trim();
    if name.is_empty() {
        errors.add("login_name", "请输入用户名称");
    } else if name.chars().count() > MAX_LOGIN_NAME || name.chars().any(char::is_control) {
        // Refused before it is counted or audited: a megabyte of name would
        // otherwise be written to the append-only trail.
        errors.add("login_name", "用户名称不正确，请核对");
    }
    if c.password.is_empty() {
        errors.add("password", "请输入密码");
    }
    if c.captcha_answer.trim().is_empty() {
        errors.add("captcha", "请输入验证码");
    }
    errors.into_result()?;
    let user_type = c.user_type.expect("checked above");
    let login_name = c.login_name.trim().to_owned();

    if !captcha::check(app, &c.captcha_id, &c.captcha_answer).await? {
        return Err(FieldErrors::one("captcha", "验证码错误或已过期，请刷新后重新输入"));
    }

    let now = app.now();
    let account_key = account_key(user_type, &login_name);
    let address_key = format!("address:{}", c.address);
    // Counted before the password is checked: attempts past the limit are
    // not tried at all, and are given back, so a crowd of right passwords
    // from one office at nine o'clock does not lock its address.
    let account = throttle::attempt(app.db.conn(), &account_key, PER_ACCOUNT, now).await?;
    if !account.allowed(&PER_ACCOUNT) {
        return Err(AppError::Refused(format!(
            "登录失败次数过多，该账户已被临时锁定，请{}分钟后再试或使用“忘记密码”找回密码",
            account.minutes_locked(now)
        )));
    }
    let address = throttle::attempt(app.db.conn(), &address_key, PER_ADDRESS, now).await?;
    if !address.allowed(&PER_ADDRESS) {
        // Nor was it tried against the account.
        throttle::give_back(app.db.conn(), &account_key, PER_ACCOUNT).await?;
        return Err(AppError::Refused(format!(
            "当前网络登录失败次数过多，请{}分钟后再试",
            address.minutes_locked(now)
        )));
    }

    let found = user::Entity::find()
        .filter(user::Column::UserType.eq(user_type.code()))
        .filter(user::Column::LoginName.eq(&login_name))
        .one(app.db.conn())
        .await?;
    // An account without a password yet (a CPA the regulator's data brought)
    // is checked against the decoy too: it answers like a wrong password, in
    // the same time.
    let hash = found
        .as_ref()
        .filter(|u| u.password_hash != NO_PASSWORD)
        .map_or_else(|| decoy_hash().to_owned(), |u| u.password_hash.clone());
    let ok = verify_blocking(hash, c.password.clone()).await && found.as_ref().is_some_and(|u| !u.disabled);

    let txn = app.write().await?;
    let Some(user) = found.filter(|_| ok) else {
        audit::append(&txn, &account_key, "login_failed", &account_key, json!({ "address": c.address })).await?;
        txn.commit().await?;
        let left = account.left(&PER_ACCOUNT);
        return Err(if left == 0 {
            AppError::Refused(format!(
                "用户名或密码错误次数过多，该账户已被临时锁定{}分钟",
                PER_ACCOUNT.lockout.num_minutes()
            ))
        } else {
            FieldErrors::one("password", format!("用户名或密码错误，还可尝试{left}次"))
        });
    };
    throttle::clear(&txn, &account_key).await?;
    throttle::give_back(&txn, &address_key, PER_ADDRESS).await?;
    let mut am: user::ActiveModel = user.clone().into();
    am.last_login_at = Set(Some(now));
    am.update(&txn).await?;
    let actor = with_branches(app, actor_from(app, user)?).await?;
    audit::append(
        &txn,
        &actor.audit_name(),
        "login",
        &format!("user:{}", actor.user_id),
        json!({ "address": c.address }),
    )
    .await?;
    txn.commit().await?;
    Ok(actor)
}

/// The throttle key of an account's logins.
pub(crate) fn account_key(user_type: UserType, login_name: &str) -> String {
    format!("account:{}:{}", user_type.code(), login_name.trim().to_lowercase())
}

/// Ends every page session, API token and recovery in progress of a user,
/// inside the transaction that changes their password.
pub(crate) async fn end_sessions<C: ConnectionTrait>(db: &C, user_id: i32) -> AppResult<()> {
    session::Entity::delete_many().filter(session::Column::UserId.eq(user_id)).exec(db).await?;
    api_token::Entity::delete_many().filter(api_token::Column::UserId.eq(user_id)).exec(db).await?;
    recovery_proof::Entity::delete_many().filter(recovery_proof::Column::UserId.eq(user_id)).exec(db).await?;
    Ok(())
}

pub async fn actor_for(app: &App, user_id: i32) -> AppResult<Option<Actor>> {
    match user::Entity::find_by_id(user_id).one(app.db.conn()).await? {
        Some(u) if !u.disabled => Ok(Some(with_branches(app, actor_from(app, u)?).await?)),
        _ => Ok(None),
    }
}

/// A firm's actor sees its branches' CPAs too (a branch only its own); an
/// institute's staff are named by their institute.
async fn with_branches(app: &App, mut a: Actor) -> AppResult<Actor> {
    use cmis_store::entity::firm;
    use sea_orm::QuerySelect;
    if let (UserType::Firm, Some(id)) = (a.user_type, a.firm_id) {
        let branches: Vec<i32> = firm::Entity::find()
            .select_only()
            .column(firm::Column::Id)
            .filter(firm::Column::ParentId.eq(id))
            .into_tuple()
            .all(app.db.conn())
            .await?;
        a.firm_ids = std::iter::once(id).chain(branches).collect();
    }
    // An institute's staff act as the institute (办理单位, the shell's unit).
    if let Some(id) = a.institute_id {
        a.association_name = crate::learning::institute(app, id).await?.name;
    }
    Ok(a)
}

fn actor_from(app: &App, u: user::Model) -> AppResult<Actor> {
    let user_type = UserType::from_code(&u.user_type)
        .ok_or_else(|| anyhow::anyhow!("user {} has unknown type {}", u.id, u.user_type))?;
    let orgs = app.orgs();
    let assoc = orgs.get(u.association_id).ok_or_else(|| anyhow::anyhow!("user {} has unknown association", u.id))?;
    Ok(Actor {
        user_id: u.id,
        user_type,
        login_name: u.login_name,
        display_name: u.display_name,
        association_id: u.association_id,
        association_name: assoc.name.clone(),
        association_level: assoc.level,
        member_id: u.member_id,
        cpa_id: u.cpa_id,
        firm_id: u.firm_id,
        firm_ids: Vec::new(),
        institute_id: u.institute_id,
        must_change_password: u.must_change_password,
        credential: credential_of(app, &u.password_hash),
    })
}

/// A keyed stamp of a password hash: every new password (a change, a reset,
/// an initial password) has a new salt and so a new stamp.
fn credential_of(app: &App, password_hash: &str) -> String {
    let mut mac = Secrets::mac(&app.secrets.token, &[b"credential", password_hash.as_bytes()]);
    mac.truncate(32);
    mac
}

/// The actor of a session or token made with the password whose stamp is
/// `credential`: None when the account is gone, disabled, or has had a new
/// password since. A login that raced a password change made its session
/// with the old stamp, which fails here on its first use.
pub async fn still_current(app: &App, user_id: i32, credential: &str) -> AppResult<Option<Actor>> {
    Ok(actor_for(app, user_id).await?.filter(|a| !credential.is_empty() && a.credential == credential))
}

/// 修改密码: the old password, then the new one twice.
pub async fn change_password(app: &App, actor: &Actor, old: &str, new: &str, confirm: &str) -> AppResult<()> {
    let u = user::Entity::find_by_id(actor.user_id).one(app.db.conn()).await?.ok_or(AppError::Unauthenticated)?;
    // The old password is guessed no more freely than at the login: someone
    // holding a stolen session must not learn the password from this form.
    let (now, key) = (app.now(), format!("password_change:{}", actor.user_id));
    let hit = throttle::attempt(app.db.conn(), &key, PER_ACCOUNT, now).await?;
    if !hit.allowed(&PER_ACCOUNT) {
        return Err(AppError::Refused(format!("原密码错误次数过多，请{}分钟后再试", hit.minutes_locked(now))));
    }
    let mut errors = FieldErrors::new();
    if verify_blocking(u.password_hash.clone(), old.to_owned()).await {
        throttle::clear(app.db.conn(), &key).await?;
    } else {
        let left = hit.left(&PER_ACCOUNT);
        errors.add(
            "old_password",
            match left {
                0 => format!("原密码不正确，已被临时锁定{}分钟", PER_ACCOUNT.lockout.num_minutes()),
                n => format!("原密码不正确，还可尝试{n}次"),
            },
        );
    }
    match password::check_new(new, confirm, &u.login_name) {
        Err(e @ password::PasswordError::Mismatch) => errors.add("confirm", e),
        Err(e) => errors.add("new_password", e),
        Ok(()) if new == old => errors.add("new_password", password::PasswordError::Unchanged),
        Ok(()) => {}
    }
    errors.into_result()?;
    let new_owned = new.to_owned();
    let hash = hashing(move || hash_password(&new_owned)).await;
    let txn = app.write().await?;
    let mut am: user::ActiveModel = u.into();
    am.password_hash = Set(hash);
    am.must_change_password = Set(false);
    am.password_changed_at = Set(Some(app.now()));
    am.update(&txn).await?;
    // Every session and token of the account ends with the old password.
    end_sessions(&txn, actor.user_id).await?;
    audit::append(&txn, &actor.audit_name(), "password_changed", &format!("user:{}", actor.user_id), json!({})).await?;
    txn.commit().await?;
    Ok(())
}

/// Gives an account a new random password that must be changed at the next
/// login (an operator's reset, or a member's initial password). Returns it.
pub async fn issue_initial_password(app: &App, by: &str, user_type: UserType, login_name: &str) -> AppResult<String> {
    let u = user::Entity::find()
        .filter(user::Column::UserType.eq(user_type.code()))
        .filter(user::Column::LoginName.eq(login_name))
        .one(app.db.conn())
        .await?
        .ok_or(AppError::NotFound("账户"))?;
    let plain = random_password();
    let hash = hash_password(&plain);
    let txn = app.write().await?;
    let (user_id, subject) = (u.id, format!("user:{}", u.id));
    let mut am: user::ActiveModel = u.into();
    am.password_hash = Set(hash);
    am.must_change_password = Set(true);
    am.update(&txn).await?;
    end_sessions(&txn, user_id).await?;
    audit::append(&txn, by, "initial_password_issued", &subject, json!({})).await?;
    txn.commit().await?;
    Ok(plain)
}

/// The first `limit` accounts of a type: (login name, display name).
pub async fn accounts(app: &App, user_type: UserType, limit: u64) -> AppResult<Vec<(String, String)>> {
    use sea_orm::{QueryOrder, QuerySelect};
    Ok(user::Entity::find()
        .filter(user::Column::UserType.eq(user_type.code()))
        .order_by_asc(user::Column::Id)
        .limit(limit)
        .all(app.db.conn())
        .await?
        .into_iter()
        .map(|u| (u.login_name, u.display_name))
        .collect())
}

/// Clears the login throttle of an account (an operator unlocking it).
pub async fn unlock(app: &App, by: &str, user_type: UserType, login_name: &str) -> AppResult<()> {
    let key = account_key(user_type, login_name);
    let txn = app.write().await?;
    throttle::clear(&txn, &key).await?;
    audit::append(&txn, by, "login_unlocked", &key, json!({})).await?;
    txn.commit().await?;
    Ok(())
}
