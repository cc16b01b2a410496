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
    for p in ["/auth/login", "/me", "/organisations", "/captcha"] {
        assert!(doc["paths"][p].is_object(), "{p} documented");
    }
    let ui = c.get("/api/docs/").await;
    assert_eq!(ui.status, 200);
}
