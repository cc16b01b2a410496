//! The attack on the running system, as regression tests: each one is the
//! request an outsider (or a logged-in role) sent, through the real router,
//! and the answer that must now come back. Numbers refer to the findings of
//! that report, kept in one file, in its order (the second attack's are in
//! `hardening`).

use cmis_app::{App, audit};
use cmis_domain::UserType;
use cmis_store::Db;
use cmis_store::entity::member;
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait, Statement};
use serde_json::json;

use crate::admission::{application, profile};
use crate::helpers::*;

async fn first_member(t: &TestApp) -> (member::Model, String) {
    let m = member::Entity::find().one(t.app.db.conn()).await.unwrap().unwrap();
    let mobile = t.app.pii.decrypt(m.mobile_enc.as_deref().unwrap()).unwrap();
    (m, mobile)
}

async fn recovery_token(c: &mut Client, user_type: &str, login: &str) -> serde_json::Value {
    let start =
        json!({ "user_type": user_type, "login_name": login, "captcha_id": api_captcha(c).await, "captcha": CAPTCHA });
    let (s, r) = c.json("POST", "/api/v1/password/start", None, start).await;
    assert_eq!(s, 200, "{r}");
    r
}

// 1. A recovery proof opened the API as the account: it opens only the next recovery step.
#[tokio::test]
async fn a_recovery_token_opens_nothing_but_the_next_recovery_step() {
    let t = TestApp::new().await;
    let (m, _) = first_member(&t).await;
    let mut c = t.client();
    let r = recovery_token(&mut c, "member", &m.cert_no).await;
    let token = r["recovery_token"].as_str().unwrap();
    for bearer in [token.to_owned(), format!("recovery:{token}")] {
        for (method, path) in
            [("GET", "/api/v1/me/profile"), ("GET", "/api/v1/me"), ("GET", "/api/v1/me/member-inspection")]
        {
            let (s, _) = c.json(method, path, Some(&bearer), json!(null)).await;
            assert_eq!(s, 401, "{method} {path} with a recovery token");
        }
        let (s, _) = c.json("PUT", "/api/v1/me/profile", Some(&bearer), json!({ "mobile": "13000000000" })).await;
        assert_eq!(s, 401);
    }
    // Nor does an API token pass for a recovery proof, or a page session for either.
    let mut b = member_client(&t).await;
    let api = api_login(&mut b, "member", &m.cert_no, PASSWORD).await;
    let (s, e) = c
        .json(
            "POST",
            "/api/v1/password/reset",
            None,
            json!({ "recovery_token": api, "new_password": "Taken2026x", "confirm": "Taken2026x" }),
        )
        .await;
    assert_eq!((s.as_u16(), e["error"].as_str()), (422, Some("找回密码已超时，请重新开始")));
    let session = b.cookies.get("cmis_session").unwrap().clone();
    let (s, _) = c.json("GET", "/api/v1/me/profile", Some(&session), json!(null)).await;
    assert_eq!(s, 401);
    let (s, _) = c.json("GET", "/api/v1/me/profile", Some(&api), json!(null)).await;
    assert_eq!(s, 200, "the real token still works");
}

// 2. Concurrent readers forked the audit chain: every event is appended in a write transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_audit_chain_holds_under_concurrent_readers_and_writers() {
    let t = TestApp::new().await;
    let before = audit::verify(&t.app.db).await.unwrap();
    cmis_app::member_admission::submit(&t.app, application(profile(71))).await.unwrap();
    let mut staff = t.client();
    assert_eq!(staff.login("staff", "staff33", PASSWORD).await.location(), "/home");
    let queue = staff.get("/association/member-admissions").await;
    let id = between(&queue.body, "href=\"/association/member-admissions/", "\"").to_owned();
    let member = t.login_of(UserType::NonPracticingMember).await;
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let mut reader = staff.tab();
        let path = format!("/association/member-admissions/{id}");
        tasks.push(tokio::spawn(async move {
            for _ in 0..8 {
                assert_eq!(reader.get(&path).await.status, 200);
            }
        }));
    }
    for _ in 0..4 {
        let mut writer = t.client();
        let member = member.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..3 {
                writer.login("member", &member, PASSWORD).await;
                writer.post("/logout", &[]).await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let after = audit::verify(&t.app.db).await.unwrap();
    assert_eq!(after.first_broken, None, "cmis audit verify passes");
    // 96 views, 12 logins and the submission at least, each one event.
    let added = after.checked - before.checked;
    assert!(added >= 109, "{added} events");
    let forks = t
        .app
        .db
        .conn()
        .query_one_raw(Statement::from_string(
            t.app.db.backend(),
            "SELECT COUNT(*) AS n FROM (SELECT prev_hash FROM audit_events GROUP BY prev_hash HAVING COUNT(*) > 1) f",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap();
    assert_eq!(forks, 0);
}

// 3. A city association's staff killed the server with a 1.6 KB xlsx: it is refused.
#[tokio::test]
async fn an_xlsx_with_cells_at_both_corners_of_the_sheet_is_refused() {
    let t = TestApp::new().await;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "会员编号").unwrap();
    sheet.write_number(1_048_575, 16_383, 1.0).unwrap();
    let bytes = book.save_to_buffer().unwrap();
    assert!(bytes.len() < 8 * 1024, "{} bytes", bytes.len());
    let mut city = t.client();
    assert_eq!(city.login("staff", "staff4401", PASSWORD).await.location(), "/home");
    let r = city.multipart("/association/learning-records/import", &[("学时.xlsx", &bytes)]).await;
    let job = r.location().to_owned();
    assert_eq!(t.run_jobs().await, 1);
    let r = city.get(&job).await;
    assert!(r.body.contains("一次最多导入5000行，请分批导入"), "{}", r.body);
    assert_eq!(city.get("/healthz").await.status, 200, "still serving");
    // The old binary format is not parsed at all.
    let xls = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 old xls";
    let r = city.multipart("/association/learning-records/import", &[("学时.xls", xls)]).await;
    assert!(r.body.contains("请上传xlsx格式的Excel文件"));
}

// 4. The progress query by a counted business number gave out initial passwords.
#[tokio::test]
async fn business_numbers_cannot_be_counted_and_the_number_alone_shows_no_password() {
    let t = TestApp::new().await;
    let a = cmis_app::member_admission::submit(&t.app, application(profile(72))).await.unwrap();
    let b = cmis_app::member_admission::submit(&t.app, application(profile(73))).await.unwrap();
    let (a, b): (u64, u64) = (a.parse().unwrap(), b.parse().unwrap());
    assert!(a.abs_diff(b) > 1, "{a} and {b} are not neighbours");
    let no = cmis_app::member_admission::submit(&t.app, application(profile(74))).await.unwrap();
    crate::admission::confirm(&t, &no).await;

    let mut c = t.client();
    let q = json!({ "business_no": no, "captcha_id": api_captcha(&mut c).await, "captcha": CAPTCHA });
    let (s, p) = c.json("POST", "/api/v1/member-admission/progress/by-number", None, q).await;
    assert_eq!((s.as_u16(), p["state_label"].as_str()), (200, Some("中注协审核通过")));
    assert!(p["initial_password"].is_null(), "{p}");
    let page = c.get("/member-admission/progress/number").await;
    let captcha = between(&page.body, "name=\"captcha_id\" value=\"", "\"").to_owned();
    let r = c
        .post(
            "/member-admission/progress/number",
            &[("business_no", &no), ("captcha_id", &captcha), ("captcha", CAPTCHA)],
        )
        .await;
    assert!(r.body.contains("中注协审核通过") && !r.body.contains("initial-password"), "{}", r.body);
    assert!(r.body.contains("基本信息查询"), "where to find it");
    // With name, ID number and certificate number, the applicant sees it.
    let creds = crate::admission::credentials_of(&t, &profile(74)).await;
    assert!(creds.initial_password.is_some());
}

// 5. A member's full mobile number was found by guessing, without a captcha.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mobile_number_cannot_be_guessed_and_accounts_cannot_be_told_apart() {
    let t = TestApp::new().await;
    let (m, mobile) = first_member(&t).await;
    let mut c = t.client();
    // The first step needs a captcha.
    let r = c.post("/password/forgot", &[("user_type", "member"), ("login_name", &m.cert_no)]).await;
    assert!(r.body.contains("请输入验证码"), "{}", r.body);
    // A known and an unknown account walk the same steps, and the number is never shown.
    let mut pages = Vec::new();
    for login in [m.cert_no.as_str(), "44209999999"] {
        let mut b = t.client();
        let page = b.get("/password/forgot").await;
        let captcha = between(&page.body, "name=\"captcha_id\" value=\"", "\"").to_owned();
        let form = [("user_type", "member"), ("login_name", login), ("captcha_id", &captcha), ("captcha", CAPTCHA)];
        assert_eq!(b.post("/password/forgot", &form).await.location(), "/password/verify");
        let v = b.get("/password/verify").await.body;
        assert!(!v.contains("未找到") && !v.contains(&cmis_domain::mask::phone(&mobile)) && !v.contains(&mobile[7..]));
        let r = b.post("/password/sms", &[("mobile", "13000000000")]).await;
        assert!(r.body.contains("手机号码与登记的不一致"));
        pages.push(v.replace(login, "ACCOUNT").replace(&b.csrf(), "TOKEN"));
    }
    assert_eq!(pages[0], pages[1], "the page does not tell which account exists");

    // Twenty guesses at once: five in the window are checked (one was spent above),
    // the rest refused unchecked, and then the right number too.
    let r = recovery_token(&mut c, "member", &m.cert_no).await;
    let token = r["recovery_token"].as_str().unwrap().to_owned();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let mut g = c.tab();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let guess = format!("1390000{i:04}");
            let (_, e) =
                g.json("POST", "/api/v1/password/sms", None, json!({ "recovery_token": token, "mobile": guess })).await;
            e["error"].as_str().unwrap_or_default().to_owned()
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    assert_eq!(answers.iter().filter(|e| e.contains("手机号码与登记的不一致")).count(), 4, "{answers:?}");
    assert_eq!(answers.iter().filter(|e| e.contains("验证失败次数过多")).count(), 16);
    let (s, e) =
        c.json("POST", "/api/v1/password/sms", None, json!({ "recovery_token": token, "mobile": mobile })).await;
    assert_eq!((s.as_u16(), e["error"].as_str().map(|m| m.starts_with("验证失败次数过多"))), (422, Some(true)));
}

// 6. A new password left every other session and token alive.
#[tokio::test]
async fn a_new_password_ends_every_session_and_token_of_the_account() {
    let t = TestApp::new().await;
    let (m, _) = first_member(&t).await;
    let mut a = member_client(&t).await;
    let mut b = member_client(&t).await;
    let api = api_login(&mut b, "member", &m.cert_no, PASSWORD).await;
    let r = a
        .post(
            "/account/password",
            &[("old_password", PASSWORD), ("new_password", "Changed2026x"), ("confirm", "Changed2026x")],
        )
        .await;
    assert_eq!(r.location(), "/?changed=1");
    assert_eq!(b.get("/home").await.location(), "/?expired=1", "the other browser is logged out");
    assert_eq!(b.json("GET", "/api/v1/me", Some(&api), json!(null)).await.0, 401, "the token is void");

    // And by 忘记密码.
    let mut c = t.client();
    c.login("member", &m.cert_no, "Changed2026x").await;
    let api = api_login(&mut c, "member", &m.cert_no, "Changed2026x").await;
    let id = t.app.pii.decrypt(&m.id_number_enc).unwrap();
    let r = recovery_token(&mut c, "member", &m.cert_no).await;
    let token = r["recovery_token"].as_str().unwrap();
    let other = json!({ "recovery_token": token, "name": m.name, "id_number": id, "fact": "exam_cert", "value": m.exam_cert_no });
    assert_eq!(c.json("POST", "/api/v1/password/verify-other", None, other).await.0, 204);
    let reset = json!({ "recovery_token": token, "new_password": "Reset2026xy", "confirm": "Reset2026xy" });
    assert_eq!(c.json("POST", "/api/v1/password/reset", None, reset).await.0, 200);
    assert_eq!(c.get("/home").await.location(), "/?expired=1");
    assert_eq!(c.json("GET", "/api/v1/me", Some(&api), json!(null)).await.0, 401);
}

// 7. Counters were read, then written: twenty wrong passwords at once counted as one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_wrong_passwords_at_once_are_five_tries_and_a_lockout() {
    let t = TestApp::new().await;
    let login = t.login_of(UserType::Cpa).await;
    let mut browsers = Vec::new();
    for _ in 0..20 {
        let mut b = t.client();
        let captcha = b.portal_captcha().await;
        browsers.push((b, captcha));
    }
    let mut tasks = Vec::new();
    for (mut b, captcha) in browsers {
        let login = login.clone();
        tasks.push(tokio::spawn(async move {
            let form = [
                ("user_type", "cpa"),
                ("login_name", login.as_str()),
                ("password", "Wrong2026x"),
                ("captcha_id", captcha.as_str()),
                ("captcha", CAPTCHA),
            ];
            b.post("/login", &form).await.body
        }));
    }
    let mut bodies = Vec::new();
    for task in tasks {
        bodies.push(task.await.unwrap());
    }
    let tried = bodies.iter().filter(|b| b.contains("用户名或密码错误")).count();
    let refused = bodies.iter().filter(|b| b.contains("登录失败次数过多，该账户已被临时锁定")).count();
    assert_eq!((tried, refused), (5, 15), "five passwords checked, the rest refused unchecked");
    assert_eq!(bodies.iter().filter(|b| b.contains("该账户已被临时锁定15分钟")).count(), 1, "the fifth locks");
    let r = t.client().login("cpa", &login, PASSWORD).await;
    assert!(r.body.contains("登录失败次数过多"), "locked, even with the right password");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_wrong_codes_at_once_spend_the_code_at_five() {
    use cmis_store::entity::reset_code;
    let t = TestApp::new().await;
    let (m, mobile) = first_member(&t).await;
    let mut c = t.client();
    let r = recovery_token(&mut c, "member", &m.cert_no).await;
    let token = r["recovery_token"].as_str().unwrap().to_owned();
    let sms = json!({ "recovery_token": token, "mobile": mobile });
    assert_eq!(c.json("POST", "/api/v1/password/sms", None, sms).await.0, 204);
    let sent = cmis_app::deliveries::recent(&t.app, 1).await.unwrap().remove(0);
    let i = sent.body.find("验证码").unwrap() + "验证码".len();
    let code = sent.body[i..i + 6].to_owned();
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let mut g = c.tab();
        let body = json!({ "recovery_token": token, "code": wrong });
        tasks.push(tokio::spawn(async move { g.json("POST", "/api/v1/password/verify-code", None, body).await.0 }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 422);
    }
    let row = reset_code::Entity::find().one(t.app.db.conn()).await.unwrap().unwrap();
    assert_eq!(row.attempts, 5, "every try counted, none past the limit");
    let (s, _) =
        c.json("POST", "/api/v1/password/verify-code", None, json!({ "recovery_token": token, "code": code })).await;
    assert_eq!(s, 422, "spent: the right code no longer works");
}

// 8. The API ignored an unchanged initial password.
#[tokio::test]
async fn the_api_asks_for_a_new_password_first_as_the_pages_do() {
    let t = TestApp::new().await;
    let login = t.login_of(UserType::NonPracticingMember).await;
    let initial =
        cmis_app::auth::issue_initial_password(&t.app, "test", UserType::NonPracticingMember, &login).await.unwrap();
    let mut c = t.client();
    let token = api_login(&mut c, "member", &login, &initial).await;
    let (s, e) = c.json("GET", "/api/v1/me/profile", Some(&token), json!(null)).await;
    assert_eq!((s.as_u16(), e["error"].as_str()), (403, Some("您正在使用初始密码，请先修改密码")));
    let (s, me) = c.json("GET", "/api/v1/me", Some(&token), json!(null)).await;
    assert_eq!((s.as_u16(), me["must_change_password"].as_bool()), (200, Some(true)));
    let change = json!({ "old_password": initial, "new_password": "Mine2026xyz", "confirm": "Mine2026xyz" });
    assert_eq!(c.json("POST", "/api/v1/auth/password", Some(&token), change).await.0, 204);
    let token = api_login(&mut c, "member", &login, "Mine2026xyz").await;
    assert_eq!(c.json("GET", "/api/v1/me/profile", Some(&token), json!(null)).await.0, 200);
}

// 9. Phone numbers and codes lay in clear in the outbox, written even without dev_outbox.
#[tokio::test]
async fn the_outbox_keeps_no_number_or_code_in_clear_and_exists_only_in_development() {
    let t = TestApp::new().await;
    let (m, mobile) = first_member(&t).await;
    let mut c = t.client();
    let r = recovery_token(&mut c, "member", &m.cert_no).await;
    let sms = json!({ "recovery_token": r["recovery_token"], "mobile": mobile });
    assert_eq!(c.json("POST", "/api/v1/password/sms", None, sms).await.0, 204);
    let code = {
        let sent = cmis_app::deliveries::recent(&t.app, 1).await.unwrap().remove(0);
        let i = sent.body.find("验证码").unwrap() + "验证码".len();
        sent.body[i..i + 6].to_owned()
    };
    let rows = t
        .app
        .db
        .conn()
        .query_all_raw(Statement::from_string(t.app.db.backend(), "SELECT * FROM deliveries"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    for col in ["recipient_masked", "subject", "body_enc", "recipient_enc"] {
        let v: String = rows[0].try_get("", col).unwrap();
        assert!(!v.contains(&mobile) && !v.contains(&code), "{col} = {v}");
    }
    let code_hash: String =
        cmis_store::entity::reset_code::Entity::find().one(t.app.db.conn()).await.unwrap().unwrap().code_hash;
    use sha2::{Digest, Sha256};
    let user_id = t.login_id(&m.cert_no).await;
    let plain = hex::encode(Sha256::new().chain_update(user_id.to_be_bytes()).chain_update(code.as_bytes()).finalize());
    assert_ne!(code_hash, plain, "reset codes are hashed with a key");

    let t = TestApp::with_settings(|s| s.dev_outbox = false).await;
    let (m, mobile) = first_member(&t).await;
    let mut c = t.client();
    let r = recovery_token(&mut c, "member", &m.cert_no).await;
    let sms = json!({ "recovery_token": r["recovery_token"], "mobile": mobile });
    let (s, e) = c.json("POST", "/api/v1/password/sms", None, sms).await;
    assert_eq!((s.as_u16(), e["error"].as_str()), (422, Some("验证码发送失败，请稍后再试或使用其他信息验证")));
    let n = cmis_store::entity::delivery::Entity::find().count(t.app.db.conn()).await.unwrap();
    assert_eq!(n, 0, "nothing written without dev_outbox");
}

// 10. The smaller holes.
#[tokio::test]
async fn a_business_number_and_an_id_number_are_no_oracle() {
    let t = TestApp::new().await;
    let p = profile(75);
    let no = cmis_app::member_admission::submit(&t.app, application(p.clone())).await.unwrap();
    crate::admission::return_it(&t, &no).await;
    let mut c = t.client();
    // The page: only after a progress query (with its captcha) of this number.
    let r = c.post("/member-admission/edit", &[("business_no", &no), ("id_number", &p.id_number)]).await;
    assert_eq!(r.location(), "/member-admission/progress");
    // The API: a captcha, the same answer for an unknown number and a wrong ID, and a limit.
    let mut body = json!({ "business_no": no, "id_number": "11010519491231002X", "profile": p, "declarations": [0,1,2,3,4,5],
        "captcha_id": "", "captcha": CAPTCHA });
    let (s, e) = c.json("POST", "/api/v1/member-admission/applications/resubmit", None, body.clone()).await;
    assert_eq!((s.as_u16(), e["fields"]["captcha"].is_string()), (422, true));
    let mut answers = Vec::new();
    for (number, id) in [("202601010000000000", p.id_number.as_str()), (no.as_str(), "11010519491231002X")] {
        body["business_no"] = json!(number);
        body["id_number"] = json!(id);
        body["captcha_id"] = json!(api_captcha(&mut c).await);
        let (s, e) = c.json("POST", "/api/v1/member-admission/applications/resubmit", None, body.clone()).await;
        answers.push((s.as_u16(), e["fields"]["id_number"].as_str().unwrap_or_default().to_owned()));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0], (422, "业务编号或证件号码不正确，请核对".to_owned()));
    for _ in 0..4 {
        body["captcha_id"] = json!(api_captcha(&mut c).await);
        c.json("POST", "/api/v1/member-admission/applications/resubmit", None, body.clone()).await;
    }
    body["id_number"] = json!(p.id_number);
    body["captcha_id"] = json!(api_captcha(&mut c).await);
    let (s, e) = c.json("POST", "/api/v1/member-admission/applications/resubmit", None, body).await;
    assert_eq!((s.as_u16(), e["error"].as_str().map(|m| m.starts_with("核对次数过多"))), (422, Some(true)));
}

#[tokio::test]
async fn a_hundred_thousand_ids_are_refused_not_a_server_error() {
    let t = TestApp::new().await;
    let mut c = t.client();
    let token = api_login(&mut c, "staff", "staff44", PASSWORD).await;
    let ids: Vec<i32> = (1..=100_000).collect();
    let (s, e) =
        c.json("POST", "/api/v1/association/member-inspection-fees/confirm", Some(&token), json!({ "ids": ids })).await;
    assert_eq!((s.as_u16(), e["error"].as_str()), (422, Some("一次最多确认200条")));
}

#[tokio::test]
async fn a_restore_without_its_keys_refuses_to_start() {
    let t = TestApp::new().await;
    let elsewhere = std::env::temp_dir().join(format!("cmis-restore-{}", rand::random::<u64>()));
    let mut s = settings();
    s.data_dir = elsewhere.display().to_string();
    s.pii_key = String::new();
    let e = App::new(Db::connect(&t.url).await.unwrap(), s.clone()).await.err().expect("refused");
    assert!(e.to_string().contains("pii_key"), "{e}");
    assert!(!elsewhere.join("pii.key").exists(), "no new key was made");
    s.pii_key = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=".into();
    let e = App::new(Db::connect(&t.url).await.unwrap(), s.clone()).await.err().expect("refused");
    assert!(e.to_string().contains("not the key"), "{e}");
    let mut s = settings();
    s.data_dir = elsewhere.display().to_string();
    s.sign_key = String::new();
    let e = App::new(Db::connect(&t.url).await.unwrap(), s).await.err().expect("refused");
    assert!(e.to_string().contains("sign_key"), "{e}");
    let _ = std::fs::remove_dir_all(&elsewhere);
}

#[tokio::test]
async fn the_client_address_is_the_one_the_trusted_proxy_saw() {
    let t = TestApp::new().await;
    let mut c = t.client();
    // The client writes what it likes on the left; the load balancer appends the real address.
    c.address = "6.6.6.6, 10.1.1.1".into();
    c.login("member", "44200000000", "Wrong2026x").await;
    let last = cmis_store::entity::audit_event::Entity::find()
        .all(t.app.db.conn())
        .await
        .unwrap()
        .into_iter()
        .rev()
        .find(|e| e.action == "login_failed")
        .unwrap();
    assert!(last.detail.contains("10.1.1.1") && !last.detail.contains("6.6.6.6"), "{}", last.detail);
    assert_eq!(cmis_web::pages::forwarded_client("6.6.6.6, 10.1.1.1, 10.0.0.2", 2).as_deref(), Some("10.1.1.1"));
    assert_eq!(cmis_web::pages::forwarded_client("10.1.1.1", 2), None, "shorter than the proxy chain");
}

#[tokio::test]
async fn a_csrf_token_is_good_only_in_its_browser_and_for_its_user() {
    let t = TestApp::new().await;
    let login = t.login_of(UserType::NonPracticingMember).await;
    let mut attacker = t.client();
    attacker.get("/").await;
    let (secret, token) = (attacker.cookies["cmis_csrf"].clone(), attacker.csrf());
    let mut victim = t.client();
    victim.get("/").await;
    let before_login = victim.csrf();
    victim.login("member", &login, PASSWORD).await;
    let form = |t: &str| {
        vec![
            ("old_password", PASSWORD.to_owned()),
            ("new_password", "Csrf2026xyz".to_owned()),
            ("confirm", "Csrf2026xyz".to_owned()),
            ("_csrf", t.to_owned()),
        ]
    };
    assert_eq!(victim.post_raw("/account/password", &form(&before_login)).await.status, 403, "void after login");
    assert_eq!(victim.post_raw("/account/password", &form(&token)).await.status, 403, "another browser's token");
    victim.cookies.insert("cmis_csrf".into(), secret);
    assert_eq!(victim.post_raw("/account/password", &form(&token)).await.status, 403, "a planted cookie");
}

#[tokio::test]
async fn profile_fields_have_limits_and_no_control_characters() {
    let t = TestApp::new().await;
    let (m, _) = first_member(&t).await;
    let mut c = t.client();
    let token = api_login(&mut c, "member", &m.cert_no, PASSWORD).await;
    let (_, p) = c.json("GET", "/api/v1/me/profile", Some(&token), json!(null)).await;
    let mut profile = p["profile"].clone();
    profile["mailing_address"] = json!("广".repeat(500_000));
    profile["work_unit"] = json!("某某\u{0}公司");
    let (s, e) = c.json("PUT", "/api/v1/me/profile", Some(&token), profile).await;
    assert_eq!(s, 422);
    assert_eq!(e["fields"]["mailing_address"], "不超过200个字");
    assert_eq!(e["fields"]["work_unit"], "含有不可见或不能使用的字符，请删除后重新填写");
    let (_, after) = c.json("GET", "/api/v1/me/profile", Some(&token), json!(null)).await;
    assert_eq!(after["profile"]["work_unit"], p["profile"]["work_unit"], "nothing saved");
}

#[tokio::test]
async fn only_the_roles_that_upload_may_send_an_upload() {
    let t = TestApp::new().await;
    let big = vec![0x25u8; 3 * 1024 * 1024];
    let mut firm = t.client();
    firm.login("firm", &t.login_of(UserType::Firm).await, PASSWORD).await;
    assert_eq!(firm.multipart("/member-inspection/proofs", &[("a.pdf", &big)]).await.status, 403);
    assert_eq!(firm.multipart("/attachments?context=deferral_proof", &[("a.pdf", &big)]).await.status, 403);
    let mut staff = t.client();
    staff.login("staff", "staff4401", PASSWORD).await;
    assert_eq!(staff.multipart("/attachments?context=inspection_materials", &[("a.pdf", &big)]).await.status, 403);
    assert_eq!(staff.multipart("/member-inspection/materials", &[("a.pdf", &big)]).await.status, 403);
    // A member's file past the limit is refused by its size, with the limit named.
    let mut member = member_client(&t).await;
    let six = vec![0x25u8; 6 * 1024 * 1024];
    let r = member.multipart("/attachments?context=inspection_materials", &[("大文件.pdf", &six)]).await;
    assert!(r.body.contains("“大文件.pdf”超过5MB"), "{}", r.body);
}

#[tokio::test]
async fn captchas_write_no_row_and_are_limited_per_address() {
    let t = TestApp::new().await;
    let mut c = t.client();
    let mut statuses = Vec::new();
    for _ in 0..31 {
        statuses.push(c.json("GET", "/api/v1/captcha", None, json!(null)).await.0.as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 30);
    assert_eq!(statuses[30], 429);
    let used = cmis_store::entity::captcha_use::Entity::find().count(t.app.db.conn()).await.unwrap();
    assert_eq!(used, 0, "drawing a captcha writes nothing");
    let mut other = t.client();
    assert_eq!(other.json("GET", "/api/v1/captcha", None, json!(null)).await.0, 200, "another address");
}

#[tokio::test]
async fn pages_with_personal_data_are_never_cached() {
    let t = TestApp::new().await;
    let mut c = member_client(&t).await;
    let r = c.get("/profile").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["cache-control"], "no-store");
    c.post("/logout", &[]).await;
    assert_eq!(c.get("/profile").await.location(), "/?expired=1");
    assert!(c.get("/static/app.css").await.headers["cache-control"].to_str().unwrap().starts_with("public"));
}

#[tokio::test]
async fn an_upload_carries_its_token_in_the_body_not_the_address() {
    use axum::body::Body;
    use axum::http::{Request, header};
    let t = TestApp::new().await;
    let mut c = member_client(&t).await;
    c.get("/home").await;
    let token = c.csrf();
    let body = "------b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\nx\r\n------b--\r\n";
    let req = Request::post(format!("/attachments?context=inspection_materials&_csrf={token}"))
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=----b")
        .body(Body::from(body))
        .unwrap();
    assert_eq!(c.send(req).await.status, 403, "a token in the address is not accepted");
    let r = c.multipart("/attachments?context=inspection_materials", &[("a.png", crate::attachments::PNG)]).await;
    assert_eq!(r.status, 200, "the token as the first field is");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_uploads_at_once_take_only_the_places_there_are() {
    let t = TestApp::new().await;
    let c = member_client(&t).await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let mut tab = c.tab();
        tasks.push(tokio::spawn(async move {
            let name = format!("第{i}份.png");
            tab.multipart("/attachments?context=inspection_materials", &[(&name, crate::attachments::PNG)]).await.status
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    let n = cmis_store::entity::attachment::Entity::find().count(t.app.db.conn()).await.unwrap();
    assert_eq!(n, 5, "最多可上传5个附件, whatever arrives at once");
}
