//! 忘记密码: the three ways, codes that expire and are used once, and the limits.

use cmis_app::AppError;
use cmis_app::password_reset::{self as reset, Fact};
use cmis_domain::UserType;

use crate::helpers::*;

async fn latest_code(t: &TestApp) -> (String, String, String) {
    let m = cmis_app::deliveries::recent(&t.app, 1).await.unwrap().remove(0);
    let i = m.body.find("验证码").unwrap() + "验证码".len();
    (m.channel, m.recipient, m.body[i..i + 6].to_owned())
}

/// 验证账号 through the use case, as the pages and the API do.
async fn recovery(t: &TestApp, user_type: UserType, login: &str) -> reset::Recovery {
    let c = cmis_app::captcha::issue(&t.app).await.unwrap();
    let token = reset::start(&t.app, Some(user_type), login, &c.id, CAPTCHA).await.unwrap();
    reset::open(&t.app, &token).await.unwrap()
}

/// The token of a recovery, verified by the use case, ready to reset.
async fn token_of(t: &TestApp, login: &str) -> String {
    let c = cmis_app::captcha::issue(&t.app).await.unwrap();
    reset::start(&t.app, Some(UserType::NonPracticingMember), login, &c.id, CAPTCHA).await.unwrap()
}

async fn person(t: &TestApp) -> (String, cmis_store::entity::member::Model) {
    use cmis_store::entity::member;
    use sea_orm::EntityTrait;
    let login = t.login_of(UserType::NonPracticingMember).await;
    let m = member::Entity::find().one(t.app.db.conn()).await.unwrap().unwrap();
    assert_eq!(m.cert_no, login);
    (login, m)
}

/// The minute between two codes passes.
async fn after_a_minute(t: &TestApp) {
    t.clock.advance(chrono::Duration::seconds(61));
}

#[tokio::test]
async fn by_mobile_then_by_the_bound_account() {
    let t = TestApp::new().await;
    let (login, m) = person(&t).await;
    let mobile = t.app.pii.decrypt(m.mobile_enc.as_deref().unwrap()).unwrap();
    let token = token_of(&t, &login).await;
    let a = reset::open(&t.app, &token).await.unwrap();
    assert!(!a.bound());

    let e = reset::send_sms_code(&t.app, &a, "13000000000", "1.1.1.1").await.unwrap_err();
    assert!(
        matches!(e, AppError::Invalid(f) if f.get("mobile") == Some("手机号码与登记的不一致，请输入完整的登记手机号码"))
    );
    reset::send_sms_code(&t.app, &a, &mobile, "1.1.1.1").await.unwrap();
    let (channel, to, code) = latest_code(&t).await;
    assert_eq!((channel.as_str(), to.as_str()), ("短信", mobile.as_str()));
    // One code a minute.
    assert!(
        matches!(reset::send_sms_code(&t.app, &a, &mobile, "1.1.1.1").await, Err(AppError::Refused(m)) if m.contains("秒后再重新获取"))
    );
    let wrong = if code == "000000" { "000001" } else { "000000" };
    assert!(reset::verify_code(&t.app, &a, wrong).await.is_err());
    assert!(reset::verified(&t.app, &token).await.is_err(), "not verified by a wrong code");
    reset::verify_code(&t.app, &a, &code).await.unwrap();
    assert!(reset::verify_code(&t.app, &a, &code).await.is_err(), "used once");

    let e = reset::reset(&t.app, reset::verified(&t.app, &token).await.unwrap(), "short", "short").await.unwrap_err();
    assert!(matches!(e, AppError::Invalid(f) if f.get("new_password") == Some("密码长度应为8至32位")));
    let proof = reset::verified(&t.app, &token).await.unwrap();
    assert!(reset::reset(&t.app, proof, "Recovered2026", "Recovered2026").await.unwrap(), "bound at the first reset");
    assert!(reset::verified(&t.app, &token).await.is_err(), "a recovery resets once");
    let mut c = t.client();
    assert_eq!(c.login("member", &login, "Recovered2026").await.location(), "/home");

    // Next time the code goes to the bound account.
    let a = recovery(&t, UserType::NonPracticingMember, &login).await;
    assert!(a.bound());
    after_a_minute(&t).await;
    reset::send_bound_code(&t.app, &a, "1.1.1.1").await.unwrap();
    let (channel, to, code) = latest_code(&t).await;
    assert_eq!(channel, "公众号");
    assert!(to.starts_with("wx-"));
    reset::verify_code(&t.app, &a, &code).await.unwrap();
    let token = token_of(&t, &login).await;
    assert!(reset::verified(&t.app, &token).await.is_err(), "another recovery is not verified by this one");
}

#[tokio::test]
async fn codes_expire_and_five_wrong_tries_spend_them() {
    let t = TestApp::new().await;
    let (login, m) = person(&t).await;
    let mobile = t.app.pii.decrypt(m.mobile_enc.as_deref().unwrap()).unwrap();
    let a = recovery(&t, UserType::NonPracticingMember, &login).await;
    reset::send_sms_code(&t.app, &a, &mobile, "2.2.2.2").await.unwrap();
    let (_, _, code) = latest_code(&t).await;
    let wrong = if code == "111111" { "222222" } else { "111111" };
    for _ in 0..5 {
        assert!(reset::verify_code(&t.app, &a, wrong).await.is_err());
    }
    assert!(reset::verify_code(&t.app, &a, &code).await.is_err(), "spent after five wrong tries");

    after_a_minute(&t).await;
    reset::send_sms_code(&t.app, &a, &mobile, "2.2.2.2").await.unwrap();
    let (_, _, code) = latest_code(&t).await;
    t.clock.advance(chrono::Duration::minutes(reset::CODE_MINUTES) + chrono::Duration::seconds(1));
    let e = reset::verify_code(&t.app, &a, &code).await.unwrap_err();
    assert!(matches!(e, AppError::Invalid(f) if f.get("code") == Some("验证码错误或已失效，请重新获取")));
}

// The attack: the owner's recovery V sends a code; a stranger opens
// recovery A of the same account with the account number alone, and the code
// verified A (and A's five wrong guesses spent V's code).
#[tokio::test]
async fn a_code_verifies_only_the_recovery_it_was_sent_for() {
    let t = TestApp::new().await;
    let (login, m) = person(&t).await;
    let mobile = t.app.pii.decrypt(m.mobile_enc.as_deref().unwrap()).unwrap();
    let owner = recovery(&t, UserType::NonPracticingMember, &login).await;
    reset::send_sms_code(&t.app, &owner, &mobile, "5.5.5.5").await.unwrap();
    let (_, _, code) = latest_code(&t).await;
    let stranger = recovery(&t, UserType::NonPracticingMember, &login).await;
    assert!(
        reset::verify_code(&t.app, &stranger, &code).await.is_err(),
        "the owner's code does not open another recovery"
    );
    let wrong = if code == "111111" { "222222" } else { "111111" };
    for _ in 0..5 {
        assert!(reset::verify_code(&t.app, &stranger, wrong).await.is_err());
    }
    reset::verify_code(&t.app, &owner, &code).await.expect("the stranger's guesses did not spend the owner's code");

    // Across codes, an account takes ten wrong codes a day.
    let mut tries = 0;
    let refused = loop {
        // Past the ten-codes-an-hour limit on sending, not the one on trying.
        t.clock.advance(chrono::Duration::minutes(7));
        let r = recovery(&t, UserType::NonPracticingMember, &login).await;
        reset::send_sms_code(&t.app, &r, &mobile, "5.5.5.6").await.unwrap();
        let (_, _, code) = latest_code(&t).await;
        let wrong = if code == "111111" { "222222" } else { "111111" };
        match reset::verify_code(&t.app, &r, wrong).await {
            Err(AppError::Refused(msg)) => break msg,
            _ => tries += 1,
        }
        assert!(tries <= 10, "capped");
    };
    assert_eq!(tries, 10);
    assert!(refused.contains("验证码错误次数过多"), "{refused}");
}

#[tokio::test]
async fn by_other_information_with_its_own_lockout() {
    let t = TestApp::new().await;
    let (login, m) = person(&t).await;
    let id = t.app.pii.decrypt(&m.id_number_enc).unwrap();
    let a = recovery(&t, UserType::NonPracticingMember, &login).await;
    let at = "3.3.3.3";
    let e = reset::verify_other(&t.app, &a, "", "", None, "", at).await.unwrap_err();
    let AppError::Invalid(f) = e else { panic!() };
    assert_eq!(f.get("fact"), Some("请选择辅助证明材料类型"));
    let unit = m.work_unit.clone().unwrap();
    reset::verify_other(&t.app, &a, &m.name, &id.to_lowercase(), Some(Fact::WorkUnit), &unit, at).await.unwrap();
    let cert = m.exam_cert_no.as_deref().unwrap();
    reset::verify_other(&t.app, &a, &m.name, &id, Some(Fact::ExamCert), cert, at).await.unwrap();
    for _ in 0..5 {
        let e =
            reset::verify_other(&t.app, &a, &m.name, &id, Some(Fact::Email), "someone@else.cn", at).await.unwrap_err();
        assert!(matches!(e, AppError::Invalid(f) if f.get("form") == Some("填写的信息与登记信息不一致，请核对")));
    }
    let e = reset::verify_other(&t.app, &a, &m.name, &id, Some(Fact::WorkUnit), &unit, at).await.unwrap_err();
    assert!(matches!(e, AppError::Refused(m) if m.starts_with("验证失败次数过多")));
    // A CPA proves 档案存放单位 instead of 工作单位; firms recover through their association.
    assert_eq!(Fact::for_type(UserType::Cpa), &[Fact::Email, Fact::ExamCert, Fact::ArchiveUnit]);
    let firm = t.login_of(UserType::Firm).await;
    let c = cmis_app::captcha::issue(&t.app).await.unwrap();
    assert!(reset::start(&t.app, Some(UserType::Firm), &firm, &c.id, CAPTCHA).await.is_err());
}

#[tokio::test]
async fn a_cpa_proves_the_archive_unit_the_association_set() {
    use cmis_store::entity::cpa;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let t = TestApp::new().await;
    let login = t.login_of(UserType::Cpa).await;
    let c = cpa::Entity::find().filter(cpa::Column::CpaNo.eq(&login)).one(t.app.db.conn()).await.unwrap().unwrap();
    let id = t.app.pii.decrypt(&c.id_number_enc).unwrap();
    let at = "4.4.4.4";
    // Not held yet: nothing matches, whatever is typed.
    let a = recovery(&t, UserType::Cpa, &login).await;
    let e = reset::verify_other(&t.app, &a, &c.name, &id, Some(Fact::ArchiveUnit), "", at).await.unwrap_err();
    assert!(matches!(e, AppError::Invalid(f) if f.get("value").is_some()));
    let e = reset::verify_other(&t.app, &a, &c.name, &id, Some(Fact::ArchiveUnit), "某人才中心", at).await.unwrap_err();
    assert!(matches!(e, AppError::Invalid(f) if f.get("form").is_some()));

    // The CPA's association sets it on its page (another province finds no such CPA; a city has no page).
    let province = format!("staff{}", &login[..2]);
    let mut s = t.client();
    s.login("staff", &province, PASSWORD).await;
    let page = s.get(&format!("/association/cpa-archive?cpa_no={login}")).await.body;
    assert!(page.contains("档案存放单位") && page.contains(&login), "{page}");
    let r = s.post("/association/cpa-archive", &[("cpa_no", &login), ("archive_unit", " ")]).await;
    assert!(r.body.contains("请填写档案存放单位"));
    let long = "档".repeat(101);
    let r = s.post("/association/cpa-archive", &[("cpa_no", &login), ("archive_unit", &long)]).await;
    assert!(r.body.contains("档案存放单位不超过100个字"));
    let r = s.post("/association/cpa-archive", &[("cpa_no", &login), ("archive_unit", "重庆市人才交流服务中心")]).await;
    assert!(r.location().contains("saved=1"), "{}", r.body);
    let other = if &login[..2] == "33" { "staff44" } else { "staff33" };
    let mut o = t.client();
    o.login("staff", other, PASSWORD).await;
    let r = o.post("/association/cpa-archive", &[("cpa_no", &login), ("archive_unit", "别处")]).await;
    assert!(r.body.contains("本单位管辖范围内没有该编号的注册会计师"), "{}", r.body);
    let mut city = t.client();
    city.login("staff", "staff4401", PASSWORD).await;
    assert_eq!(city.get("/association/cpa-archive").await.status, 403);

    // The verify page offers it to CPAs, and it now proves who they are.
    let a = recovery(&t, UserType::Cpa, &login).await;
    assert!(a.facts().contains(&Fact::ArchiveUnit));
    reset::verify_other(&t.app, &a, &c.name, &id, Some(Fact::ArchiveUnit), "重庆市人才交流服务中心", at).await.unwrap();
    let set = cmis_store::entity::audit_event::Entity::find()
        .filter(cmis_store::entity::audit_event::Column::Action.eq("cpa_archive_unit_set"))
        .all(t.app.db.conn())
        .await
        .unwrap();
    assert_eq!(set.len(), 1, "on the audit trail");
    // And the CPA was told, by SMS, that someone set it.
    let sms = cmis_app::deliveries::recent(&t.app, 5).await.unwrap();
    assert!(sms.iter().any(|d| d.body.contains("档案存放单位已设置为“重庆市人才交流服务中心”")), "{sms:?}");
}

#[tokio::test]
async fn recovery_pages_show_the_account_qr_and_the_last_resort() {
    let t = TestApp::new().await;
    let (login, _) = person(&t).await;
    let mut c = t.client();
    let page = c.get("/password/forgot").await;
    assert!(page.body.contains("仍然无法找回，可致电中注协技术部 010-88250337、010-88250338"));
    let captcha = between(&page.body, "name=\"captcha_id\" value=\"", "\"").to_owned();
    let form = [("user_type", "member"), ("login_name", &login), ("captcha_id", &captcha), ("captcha", CAPTCHA)];
    c.post("/password/forgot", &form).await;
    let verify = c.get("/password/verify").await.body;
    assert!(verify.contains("data-testid=\"follow-qr\"") && verify.contains("<svg"), "unbound: the QR code");
    assert!(verify.contains("仍然无法找回，可致电中注协技术部 010-88250337、010-88250338"));
    assert!(verify.contains("获取验证码"));
}

#[tokio::test]
async fn the_pages_walk_the_mobile_way() {
    let t = TestApp::new().await;
    let (login, m) = person(&t).await;
    let mobile = t.app.pii.decrypt(m.mobile_enc.as_deref().unwrap()).unwrap();
    let mut c = t.client();
    assert!(c.get("/").await.body.contains("href=\"/password/forgot\""));
    let page = c.get("/password/forgot").await;
    let captcha = between(&page.body, "name=\"captcha_id\" value=\"", "\"").to_owned();
    let form = [("user_type", "member"), ("login_name", &login), ("captcha_id", &captcha), ("captcha", CAPTCHA)];
    let r = c.post("/password/forgot", &form).await;
    assert_eq!(r.location(), "/password/verify");
    assert_eq!(c.get("/password/reset").await.location(), "/password/forgot", "not before verifying");
    let r = c.post("/password/sms", &[("mobile", &mobile)]).await;
    assert!(r.body.contains("验证码已发送至手机"), "{}", r.body);
    let (_, _, code) = latest_code(&t).await;
    assert_eq!(c.post("/password/code", &[("code", &code)]).await.location(), "/password/reset");
    let r = c.post("/password/reset", &[("new_password", "ViaPages2026"), ("confirm", "ViaPages2026")]).await;
    assert!(r.body.contains("密码重置成功") && r.body.contains("完成绑定"));
    // A reset is never silent: the registered mobile and the message centre hear of it.
    let told = cmis_app::deliveries::recent(&t.app, 1).await.unwrap().remove(0);
    assert!(told.body.contains("登录密码已") && told.body.contains("如非本人操作"), "{}", told.body);
    assert_eq!(told.recipient, mobile);
    assert_eq!(t.client().login("member", &login, "ViaPages2026").await.location(), "/home");
}
