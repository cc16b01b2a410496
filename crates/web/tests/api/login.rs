use cmis_domain::UserType;

use crate::helpers::*;

#[tokio::test]
async fn portal_shows_the_login_box_with_every_user_type_and_a_captcha() {
    let t = TestApp::new().await;
    let mut c = t.client();
    let r = c.get("/").await;
    assert_eq!(r.status, 200);
    for label in [
        "用户登录",
        "用户类型",
        "用户名称",
        "输入密码",
        "验证码",
        "非执业会员",
        "注册会计师",
        "会计师事务所",
        "中\\省\\市注协",
        "登录",
        "重置",
    ] {
        assert!(r.body.contains(label), "portal lacks {label}");
    }
    // The captcha is drawn when the login form is first used, not with every view.
    assert!(!r.body.contains("data:image/jpeg;base64,") && r.body.contains("获取验证码"));
    assert!(r.body.contains("hx-get=\"/captcha/login\""));
    let captcha = c.get("/captcha/login").await;
    assert!(captcha.body.contains("data:image/jpeg;base64,") && captcha.body.contains("name=\"captcha_id\""));
    assert!(c.cookies.contains_key("cmis_csrf"));
}

#[tokio::test]
async fn every_role_logs_in_and_sees_its_own_home() {
    let t = TestApp::new().await;
    for (ty, marker) in [
        (UserType::NonPracticingMember, "会员证书编号"),
        (UserType::Cpa, "注册会计师证书编号"),
        (UserType::Firm, "事务所编号"),
    ] {
        let login = t.login_of(ty).await;
        let mut c = t.client();
        let r = c.login(ty.code(), &login, PASSWORD).await;
        assert_eq!((r.status.as_u16(), r.location()), (303, "/home"), "{ty:?}");
        let home = c.get("/home").await;
        assert_eq!(home.status, 200);
        assert!(home.body.contains(marker), "{ty:?} home lacks {marker}");
        assert!(home.body.contains(&login));
    }
    for (staff, level) in [("staffcicpa", "中注协"), ("staff44", "省注协"), ("staff4401", "市注协")] {
        let mut c = t.client();
        let r = c.login("staff", staff, PASSWORD).await;
        assert_eq!(r.location(), "/home");
        let home = c.get("/home").await;
        assert!(home.body.contains(level), "{staff} sees {level}");
        assert!(home.body.contains("非执业会员"));
    }
}

#[tokio::test]
async fn staff_counts_cover_only_their_scope() {
    let t = TestApp::new().await;
    let mut national = t.client();
    national.login("staff", "staffcicpa", PASSWORD).await;
    let all: u64 = between(&national.get("/home").await.body, "data-testid=\"members\">", "<").parse().unwrap();
    assert_eq!(all, demo_options().members);
    let mut tibet = t.client();
    tibet.login("staff", "staff54", PASSWORD).await;
    let some: u64 = between(&tibet.get("/home").await.body, "data-testid=\"members\">", "<").parse().unwrap();
    assert!(some < all);
}

#[tokio::test]
async fn wrong_password_says_how_many_tries_are_left_then_locks() {
    let t = TestApp::new().await;
    let login = t.login_of(UserType::NonPracticingMember).await;
    let mut c = t.client();
    for left in (1..=4).rev() {
        let r = c.login("member", &login, "Wrong1234").await;
        assert_eq!(r.status, 200);
        assert!(r.body.contains(&format!("用户名或密码错误，还可尝试{left}次")), "{}", left);
    }
    let r = c.login("member", &login, "Wrong1234").await;
    assert!(r.body.contains("该账户已被临时锁定15分钟"));
    // Locked: even the right password is refused, from another address too.
    let mut other = t.client();
    let r = other.login("member", &login, PASSWORD).await;
    assert!(r.body.contains("该账户已被临时锁定"), "{}", r.body);
    assert_ne!(r.location(), "/home");
}

#[tokio::test]
async fn an_address_with_many_failures_is_locked_for_every_account() {
    let t = TestApp::new().await;
    let mut c = t.client();
    for i in 0..30 {
        c.login("member", &format!("4420100{i:04}"), "Wrong1234").await;
    }
    let login = t.login_of(UserType::NonPracticingMember).await;
    let r = c.login("member", &login, PASSWORD).await;
    assert!(r.body.contains("当前网络登录失败次数过多"), "{}", r.body);
}

#[tokio::test]
async fn a_wrong_captcha_is_refused_beside_the_field_and_the_captcha_is_used_up() {
    let t = TestApp::new().await;
    let login = t.login_of(UserType::Cpa).await;
    let mut c = t.client();
    let r = c.login_with_captcha("cpa", &login, PASSWORD, "nope").await;
    assert!(r.body.contains("验证码错误或已过期"));
    assert!(r.body.contains(&login), "the user name is kept");

    // A captcha is good for one try, even with the right answer.
    let id = c.portal_captcha().await;
    let form = |id: &str| {
        vec![
            ("user_type", "cpa".to_owned()),
            ("login_name", login.clone()),
            ("password", PASSWORD.to_owned()),
            ("captcha_id", id.to_owned()),
            ("captcha", CAPTCHA.to_owned()),
        ]
    };
    let mut f = form(&id);
    f.push(("_csrf", c.csrf()));
    let first = c.post_raw("/login", &f).await;
    assert_eq!(first.location(), "/home");
    let mut again = t.client();
    again.get("/").await;
    let mut f = form(&id);
    f.push(("_csrf", again.csrf()));
    let second = again.post_raw("/login", &f).await;
    assert!(second.body.contains("验证码错误或已过期"));
}

#[tokio::test]
async fn empty_fields_get_their_own_messages() {
    let t = TestApp::new().await;
    let mut c = t.client();
    c.get("/").await;
    let r = c
        .post(
            "/login",
            &[("user_type", "member"), ("login_name", ""), ("password", ""), ("captcha_id", ""), ("captcha", "")],
        )
        .await;
    for m in ["请输入用户名称", "请输入密码", "请输入验证码"] {
        assert!(r.body.contains(m), "{m}");
    }
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused() {
    let t = TestApp::new().await;
    let mut c = t.client();
    c.get("/").await;
    let r = c.post_raw("/login", &[("user_type", "member".into()), ("login_name", "x".into())]).await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("页面已过期"));
    let r = c.post_raw("/login", &[("_csrf", "0".repeat(32))]).await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn an_initial_password_must_be_changed_before_anything_else() {
    let t = TestApp::new().await;
    let login = t.login_of(UserType::NonPracticingMember).await;
    let initial =
        cmis_app::auth::issue_initial_password(&t.app, "test", UserType::NonPracticingMember, &login).await.unwrap();
    let mut c = t.client();
    let r = c.login("member", &login, &initial).await;
    assert_eq!(r.location(), "/account/password");
    assert_eq!(c.get("/home").await.location(), "/account/password");
    let page = c.get("/account/password").await;
    assert!(page.body.contains("您正在使用初始密码"));

    let r = c
        .post("/account/password", &[("old_password", &initial), ("new_password", "short"), ("confirm", "short")])
        .await;
    assert!(r.body.contains("密码长度应为8至32位"));
    let r = c
        .post(
            "/account/password",
            &[("old_password", "bad"), ("new_password", "Newpass2026"), ("confirm", "Newpass2027")],
        )
        .await;
    assert!(r.body.contains("原密码不正确"));
    assert!(r.body.contains("两次输入的密码不一致"));
    let r = c
        .post(
            "/account/password",
            &[("old_password", &initial), ("new_password", "Newpass2026"), ("confirm", "Newpass2026")],
        )
        .await;
    assert_eq!(r.location(), "/?changed=1");
    assert!(c.get("/?changed=1").await.body.contains("密码已修改"));

    let mut again = t.client();
    assert_eq!(again.login("member", &login, &initial).await.location(), "");
    assert_eq!(again.login("member", &login, "Newpass2026").await.location(), "/home");
}

#[tokio::test]
async fn logout_ends_the_session() {
    let t = TestApp::new().await;
    let login = t.login_of(UserType::Firm).await;
    let mut c = t.client();
    c.login("firm", &login, PASSWORD).await;
    assert_eq!(c.get("/home").await.status, 200);
    let r = c.post("/logout", &[]).await;
    assert_eq!(r.location(), "/");
    let r = c.get("/home").await;
    assert_eq!(r.location(), "/?expired=1");
}

#[tokio::test]
async fn the_session_id_changes_at_login() {
    let t = TestApp::new().await;
    let login = t.login_of(UserType::Firm).await;
    let mut c = t.client();
    c.get("/").await;
    let planted = "aaaaaaaaaaaaaaaaaaaaaa".to_owned();
    c.cookies.insert("cmis_session".into(), planted.clone());
    c.login("firm", &login, PASSWORD).await;
    assert_ne!(c.cookies.get("cmis_session"), Some(&planted));
    assert_eq!(c.get("/home").await.status, 200);
}

#[tokio::test]
async fn an_expired_captcha_is_refused() {
    let t = TestApp::new().await;
    let login = t.login_of(UserType::Cpa).await;
    let mut c = t.client();
    let id = c.portal_captcha().await;
    t.clock.advance(cmis_app::captcha::LIFETIME + chrono::Duration::seconds(1));
    let r = c
        .post(
            "/login",
            &[
                ("user_type", "cpa"),
                ("login_name", &login),
                ("password", PASSWORD),
                ("captcha_id", &id),
                ("captcha", CAPTCHA),
            ],
        )
        .await;
    assert!(r.body.contains("验证码错误或已过期"), "{}", r.body);
}

#[tokio::test]
async fn a_session_started_on_one_instance_is_valid_on_another() {
    let t = TestApp::new().await;
    let login = t.login_of(UserType::NonPracticingMember).await;
    let mut c = t.client();
    assert_eq!(c.login("member", &login, PASSWORD).await.location(), "/home");
    let other = t.second_instance().await;
    let mut on_b = Client { router: other, cookies: c.cookies.clone(), address: c.address.clone(), token: None };
    let home = on_b.get("/home").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains(&login));
    // Logging out on B ends the session on A too.
    on_b.post("/logout", &[]).await;
    assert_eq!(c.get("/home").await.location(), "/?expired=1");
}

#[tokio::test]
async fn an_active_session_slides_forward_and_an_idle_one_ends() {
    use cmis_store::entity::session;
    use sea_orm::{EntityTrait, QueryOrder};
    let t = TestApp::new().await;
    let login = t.login_of(UserType::Firm).await;
    let mut c = t.client();
    c.login("firm", &login, PASSWORD).await;
    let db = t.app.db.conn();
    let expiry = || async {
        session::Entity::find().order_by_desc(session::Column::ExpiresAt).one(db).await.unwrap().unwrap().expires_at
    };

    // Early in the period a request writes nothing…
    let before = expiry().await;
    t.clock.advance(chrono::Duration::minutes(5));
    assert_eq!(c.get("/home").await.status, 200);
    assert_eq!(expiry().await, before);
    // …past half of it, a request moves the deadline a full period ahead.
    t.clock.advance(chrono::Duration::minutes(20));
    assert_eq!(c.get("/home").await.status, 200);
    assert_eq!(expiry().await, t.app.now() + chrono::Duration::minutes(30));
    // Idle past the deadline: logged out.
    t.clock.advance(chrono::Duration::minutes(31));
    assert_eq!(c.get("/home").await.location(), "/?expired=1");
}

// An office behind one address: forty right passwords at once, twice
// over. Those past the address's limit may be turned away for the moment, but
// nothing stays locked: attempts that were not tried, and right ones, are
// given back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn right_passwords_at_once_from_one_address_lock_nothing() {
    use cmis_store::entity::user;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let t = TestApp::new().await;
    let names: Vec<String> = user::Entity::find()
        .filter(user::Column::UserType.eq(UserType::AssociationStaff.code()))
        .order_by_asc(user::Column::Id)
        .all(t.app.db.conn())
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.login_name)
        .take(41)
        .collect();
    assert_eq!(names.len(), 41, "the demo has enough staff accounts");
    for round in 0..2 {
        let mut browsers = Vec::new();
        for name in &names[..40] {
            let mut b = t.client();
            b.address = "10.9.9.9".into();
            let captcha = b.portal_captcha().await;
            browsers.push((b, captcha, name.clone()));
        }
        let mut tasks = Vec::new();
        for (mut b, captcha, name) in browsers {
            tasks.push(tokio::spawn(async move {
                let form = [
                    ("user_type", "staff"),
                    ("login_name", name.as_str()),
                    ("password", PASSWORD),
                    ("captcha_id", captcha.as_str()),
                    ("captcha", CAPTCHA),
                ];
                let r = b.post("/login", &form).await;
                (r.status.as_u16(), r.body)
            }));
        }
        let mut entered = 0;
        for task in tasks {
            let (status, body) = task.await.unwrap();
            if status == 303 {
                entered += 1;
            } else {
                assert!(body.contains("当前网络登录失败次数过多"), "only the address's limit turns one away");
            }
        }
        assert!(entered >= 30, "round {round}: thirty may be in flight at once, {entered} entered");
    }
    let mut last = t.client();
    last.address = "10.9.9.9".into();
    let r = last.login("staff", &names[40], PASSWORD).await;
    assert_eq!((r.status.as_u16(), r.location()), (303, "/home"), "the address is not locked afterwards");

    // The same, step by step: thirty people's logins in flight from one
    // address, thirty more turned away meanwhile, then the thirty succeed.
    use cmis_app::throttle;
    use cmis_domain::throttle::PER_ADDRESS;
    let key = "address:10.8.8.8";
    for _ in 0..30 {
        throttle::hit(t.app.db.conn(), key, PER_ADDRESS, t.app.now()).await.unwrap();
    }
    for name in &names[..30] {
        let mut b = t.client();
        b.address = "10.8.8.8".into();
        let r = b.login("staff", name, PASSWORD).await;
        assert!(r.body.contains("当前网络登录失败次数过多"), "the thirty-first in flight waits");
    }
    for _ in 0..30 {
        throttle::give_back(t.app.db.conn(), key, PER_ADDRESS).await.unwrap();
    }
    let mut b = t.client();
    b.address = "10.8.8.8".into();
    let r = b.login("staff", &names[40], PASSWORD).await;
    assert_eq!((r.status.as_u16(), r.location()), (303, "/home"), "turned-away attempts were not failures");
}

// The attack: one wrong password, then three just before the fifteen minutes
// ended and four more just after: nine tries, eight of them in 25 seconds.
// The window now runs from the last attempt.
#[tokio::test]
async fn tries_across_the_end_of_a_window_still_count_together() {
    let t = TestApp::new().await;
    let login = t.login_of(UserType::Cpa).await;
    let wrong = |n: usize| {
        let (t, login) = (&t, login.clone());
        async move {
            let mut last = String::new();
            for _ in 0..n {
                last = t.client().login("cpa", &login, "Wrong2026x").await.body;
            }
            last
        }
    };
    assert!(wrong(1).await.contains("还可尝试4次"));
    t.clock.advance(chrono::Duration::seconds(880));
    assert!(wrong(3).await.contains("还可尝试1次"));
    t.clock.advance(chrono::Duration::seconds(25));
    assert!(wrong(1).await.contains("该账户已被临时锁定15分钟"), "the fifth try locks");
    let r = t.client().login("cpa", &login, PASSWORD).await;
    assert!(r.body.contains("登录失败次数过多"), "and the right password waits");
    // Fifteen quiet minutes after the lock ends, the count starts again.
    t.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(t.client().login("cpa", &login, PASSWORD).await.status.as_u16(), 303);
}

// The attack: with a stolen session, 12 guesses at the old password on 修改密码
// got 12 × 原密码不正确 and no lockout.
#[tokio::test]
async fn the_old_password_is_guessed_no_more_freely_than_at_the_login() {
    let t = TestApp::new().await;
    let login = t.login_of(UserType::NonPracticingMember).await;
    let mut c = t.client();
    c.login("member", &login, PASSWORD).await;
    let change =
        |old: &'static str| [("old_password", old), ("new_password", "Newpass2026"), ("confirm", "Newpass2026")];
    for left in (1..=4).rev() {
        let r = c.post("/account/password", &change("Guess2026x")).await;
        assert!(r.body.contains(&format!("原密码不正确，还可尝试{left}次")), "{}", r.body);
    }
    assert!(c.post("/account/password", &change("Guess2026x")).await.body.contains("已被临时锁定15分钟"));
    let r = c.post("/account/password", &change(PASSWORD)).await;
    assert!(r.body.contains("原密码错误次数过多"), "even the right one waits: {}", r.status);
    t.clock.advance(chrono::Duration::minutes(16));
    let r = c.post("/account/password", &change(PASSWORD)).await;
    assert_eq!(r.status.as_u16(), 303, "then it is changed");
}
