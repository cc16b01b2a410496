use cmis_domain::UserType;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_client_logs_in_with_a_captcha_and_a_bearer_token() {
    let t = TestApp::new().await;
    let login = t.login_of(UserType::Cpa).await;
    let mut c = t.client();
    let (s, cap) = c.json("GET", "/api/v1/captcha", None, json!(null)).await;
    assert_eq!(s, 200);
    let id = cap["id"].as_str().unwrap().to_owned();
    assert!(cap["image"].as_str().unwrap().starts_with("data:image/"));

    let (s, body) = c
        .json("POST", "/api/v1/auth/login", None, json!({ "user_type": "cpa", "login_name": login, "password": PASSWORD, "captcha_id": id, "captcha": CAPTCHA }))
        .await;
    assert_eq!(s, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(body["user"]["role"], "注册会计师");

    let (s, me) = c.json("GET", "/api/v1/me", Some(&token), json!(null)).await;
    assert_eq!(s, 200);
    assert_eq!(me["login_name"], login.as_str());

    let (s, _) = c.json("POST", "/api/v1/auth/logout", Some(&token), json!({})).await;
    assert_eq!(s, 204);
    let (s, err) = c.json("GET", "/api/v1/me", Some(&token), json!(null)).await;
    assert_eq!(s, 401);
    assert_eq!(err["error"], "请先登录");
}

#[tokio::test]
async fn api_errors_name_the_fields() {
    let t = TestApp::new().await;
    let mut c = t.client();
    let (s, body) = c
        .json(
            "POST",
            "/api/v1/auth/login",
            None,
            json!({ "user_type": "cpa", "login_name": "", "password": "", "captcha_id": "", "captcha": "" }),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(body["fields"]["login_name"], "请输入用户名称");
    let (s, _) = c.json("GET", "/api/v1/me", Some("forged"), json!(null)).await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn organisations_and_the_openapi_document_are_public() {
    let t = TestApp::new().await;
    let mut c = t.client();
    let (s, orgs) = c.json("GET", "/api/v1/organisations", None, json!(null)).await;
    assert_eq!(s, 200);
    let orgs = orgs.as_array().unwrap();
    assert_eq!(orgs.len(), 1 + 32 + 20);
    assert_eq!(orgs.iter().filter(|o| o["level"] == "provincial").count(), 32);
    let (s, doc) = c.json("GET", "/api/openapi.json", None, json!(null)).await;
    assert_eq!(s, 200);
    for p in [
        "/auth/login",
        "/me",
        "/organisations",
        "/captcha",
        "/member-admission/applications",
        "/member-admission/progress/by-info",
        "/password/start",
        "/password/reset",
        "/me/profile",
        "/me/certificate",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} documented");
    }
    let ui = c.get("/api/docs/").await;
    assert_eq!(ui.status, 200);
}

#[tokio::test]
async fn a_mini_program_applies_and_follows_its_application() {
    use base64::Engine;
    let t = TestApp::new().await;
    let mut c = t.client();
    let (_, d) = c.json("GET", "/api/v1/member-admission/declarations", None, json!(null)).await;
    let n = d["declarations"].as_array().unwrap().len();
    let profile = serde_json::to_value(crate::admission::profile(61)).unwrap();
    let photo = base64::engine::general_purpose::STANDARD.encode(crate::admission::PHOTO);
    let mut body = json!({ "profile": profile, "declarations": (0..n).collect::<Vec<_>>(), "photo_base64": photo, "captcha_id": api_captcha(&mut c).await, "captcha": "bad" });
    let (s, e) = c.json("POST", "/api/v1/member-admission/applications", None, body.clone()).await;
    assert_eq!((s.as_u16(), e["fields"]["captcha"].as_str()), (422, Some("验证码错误或已过期，请刷新后重新输入")));
    body["captcha_id"] = json!(api_captcha(&mut c).await);
    body["captcha"] = json!(CAPTCHA);
    body["profile"]["postal_code"] = json!("123");
    let (s, e) = c.json("POST", "/api/v1/member-admission/applications", None, body.clone()).await;
    assert_eq!((s.as_u16(), e["fields"]["postal_code"].as_str()), (422, Some("邮政编码应为6位数字")));
    body["captcha_id"] = json!(api_captcha(&mut c).await);
    body["profile"]["postal_code"] = json!("310012");
    let (s, out) = c.json("POST", "/api/v1/member-admission/applications", None, body).await;
    assert_eq!(s, 200, "{out}");
    let no = out["business_no"].as_str().unwrap().to_owned();

    let q = json!({ "business_no": no, "captcha_id": api_captcha(&mut c).await, "captcha": CAPTCHA });
    let (s, p) = c.json("POST", "/api/v1/member-admission/progress/by-number", None, q).await;
    assert_eq!((s.as_u16(), p["state_label"].as_str()), (200, Some("地方注协待审核")));
    assert_eq!(p["trail"][0]["node"], "申请人提交申请");
}

#[tokio::test]
async fn a_mini_program_recovers_a_password_and_edits_the_profile() {
    use cmis_store::entity::member;
    use sea_orm::EntityTrait;
    let t = TestApp::new().await;
    let m = member::Entity::find().one(t.app.db.conn()).await.unwrap().unwrap();
    let mobile = t.app.pii.decrypt(m.mobile_enc.as_deref().unwrap()).unwrap();
    let mut c = t.client();
    let start = json!({ "user_type": "member", "login_name": m.cert_no, "captcha_id": api_captcha(&mut c).await, "captcha": CAPTCHA });
    let (s, r) = c.json("POST", "/api/v1/password/start", None, start).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["facts"], json!(["email", "exam_cert", "work_unit"]));
    let token = r["recovery_token"].as_str().unwrap().to_owned();
    let (s, e) = c
        .json(
            "POST",
            "/api/v1/password/reset",
            None,
            json!({ "recovery_token": token, "new_password": "Api2026xyz", "confirm": "Api2026xyz" }),
        )
        .await;
    assert_eq!((s.as_u16(), e["error"].as_str()), (422, Some("请先完成身份验证")));
    let (s, _) =
        c.json("POST", "/api/v1/password/sms", None, json!({ "recovery_token": token, "mobile": mobile })).await;
    assert_eq!(s, 204);
    let sms = cmis_app::deliveries::recent(&t.app, 1).await.unwrap().remove(0);
    let i = sms.body.find("验证码").unwrap() + "验证码".len();
    let code = &sms.body[i..i + 6];
    let (s, _) =
        c.json("POST", "/api/v1/password/verify-code", None, json!({ "recovery_token": token, "code": code })).await;
    assert_eq!(s, 204);
    let (s, r) = c
        .json(
            "POST",
            "/api/v1/password/reset",
            None,
            json!({ "recovery_token": token, "new_password": "Api2026xyz", "confirm": "Api2026xyz" }),
        )
        .await;
    assert_eq!((s.as_u16(), r["bound_now"].as_bool()), (200, Some(true)));

    let login = json!({ "user_type": "member", "login_name": m.cert_no, "password": "Api2026xyz", "captcha_id": api_captcha(&mut c).await, "captcha": CAPTCHA });
    let (_, l) = c.json("POST", "/api/v1/auth/login", None, login).await;
    let bearer = l["token"].as_str().unwrap().to_owned();
    let (s, p) = c.json("GET", "/api/v1/me/profile", Some(&bearer), json!(null)).await;
    assert_eq!(s, 200);
    assert!(p["missing"].as_array().unwrap().iter().any(|x| x == "邮政编码"));
    let mut profile = p["profile"].clone();
    for (k, v) in [
        ("ethnicity", "汉族"),
        ("political_status", "群众"),
        ("mailing_address", "广州市越秀区"),
        ("postal_code", "510000"),
        ("employment_status", "在职"),
        ("unit_nature", "其他"),
        ("education", "大学本科"),
        ("school", "暨南大学"),
    ] {
        profile[k] = json!(v);
    }
    profile["name"] = json!("改名");
    let (s, p) = c.json("PUT", "/api/v1/me/profile", Some(&bearer), profile).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["missing"], json!([]));
    assert_eq!(p["profile"]["name"], m.name.as_str(), "identity fields keep their values");
    // Complete now, but no photo: the certificate says where to take one.
    let (s, e) = c.json("GET", "/api/v1/me/certificate", Some(&bearer), json!(null)).await;
    assert_eq!((s.as_u16(), e["error"].as_str()), (422, Some("未获取到您的电子照片，请前往所属地方注协现场提交")));
}
