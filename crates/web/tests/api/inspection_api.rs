//! The member's inspection and the association's review through the JSON API.

use cmis_store::entity::fee_payment;
use sea_orm::EntityTrait;

use crate::helpers::*;
use crate::inspection::*;

async fn api_token(c: &mut Client, user_type: &str, login: &str) -> String {
    use serde_json::json;
    let (_, cap) = c.json("GET", "/api/v1/captcha", None, json!(null)).await;
    let id = cap["id"].as_str().unwrap().to_owned();
    let (s, body) = c
        .json("POST", "/api/v1/auth/login", None, json!({ "user_type": user_type, "login_name": login, "password": PASSWORD, "captcha_id": id, "captcha": CAPTCHA }))
        .await;
    assert_eq!(s, 200, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_whole_flow_through_the_api() {
    use base64::Engine;
    use serde_json::json;
    let t = TestApp::new().await;
    let (_, mut s, cert) = member_and_staff(&t).await;
    add_hours(&mut s, &cert, "40").await;
    let mut c = t.client();
    let member = api_token(&mut c, "member", &cert).await;
    let staff = api_token(&mut c, "staff", "staff44").await;

    let (st, o) = c.json("GET", "/api/v1/me/member-inspection", Some(&member), json!(null)).await;
    assert_eq!(st, 200, "{o}");
    assert_eq!((o["year"].as_i64(), o["fee_status"].as_str()), (Some(inspected() as i64), Some("unpaid")));
    assert_eq!(o["fee_blocker"], "请先缴纳会费");
    let (st, e) = c.json("POST", "/api/v1/me/member-inspection", Some(&member), json!({ "commitment": true })).await;
    assert_eq!((st.as_u16(), e["error"].as_str()), (422, Some("请先缴纳会费")));
    let (_, f) = c.json("POST", "/api/v1/me/member-inspection/fee/paid", Some(&member), json!({})).await;
    assert_eq!(f["fee_status"], "pending_confirmation");
    let fee_id = fee_payment::Entity::find().one(t.app.db.conn()).await.unwrap().unwrap().id;
    let (_, n) = c
        .json("POST", "/api/v1/association/member-inspection-fees/confirm", Some(&staff), json!({ "ids": [fee_id] }))
        .await;
    assert_eq!(n["confirmed"], 1);
    let b64 = base64::engine::general_purpose::STANDARD.encode(PDF);
    let (st, e) = c
        .json(
            "POST",
            "/api/v1/me/member-inspection/proofs",
            Some(&member),
            json!({ "file_name": "x.txt", "data_base64": "aGVsbG8=" }),
        )
        .await;
    assert_eq!(st, 422, "checked by content: {e}");
    let (st, _) = c
        .json(
            "POST",
            "/api/v1/me/member-inspection/proofs",
            Some(&member),
            json!({ "file_name": "证明.pdf", "data_base64": b64 }),
        )
        .await;
    assert_eq!(st, 200);
    let (st, d) = c.json("POST", "/api/v1/me/member-inspection", Some(&member), json!({ "commitment": true })).await;
    assert_eq!(st, 200, "{d}");
    assert_eq!(d["state"]["code"], "submitted");
    let id = d["id"].as_i64().unwrap();

    let (_, q) =
        c.json("GET", years("/api/v1/reviews/member-inspections?year={Y}").as_str(), Some(&staff), json!(null)).await;
    assert!(q["items"].as_array().unwrap().iter().any(|r| r["id"].as_i64() == Some(id)), "{q}");
    let (_, det) = c.json("GET", &format!("/api/v1/reviews/member-inspections/{id}"), Some(&staff), json!(null)).await;
    let codes: Vec<&str> = det["actions"].as_array().unwrap().iter().map(|a| a["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["pass", "return", "fail"]);
    let (st, e) = c
        .json(
            "POST",
            &format!("/api/v1/reviews/member-inspections/{id}/decision"),
            Some(&staff),
            json!({ "action": "return" }),
        )
        .await;
    assert_eq!((st.as_u16(), e["fields"]["reason"].as_str()), (422, Some("请填写退回原因")));
    let (st, e) = c
        .json(
            "POST",
            &format!("/api/v1/reviews/member-inspections/{id}/decision"),
            Some(&member),
            json!({ "action": "pass" }),
        )
        .await;
    assert_eq!(st, 403, "members do not decide: {e}");
    // The attack: one id three times was three decisions, three trail steps, three SMS.
    let messages = || async {
        use cmis_store::entity::message;
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        let user = t.login_id(&cert).await;
        message::Entity::find().filter(message::Column::UserId.eq(user)).count(t.app.db.conn()).await.unwrap()
    };
    let before = messages().await;
    let batch = json!({ "ids": [id, id, id], "action": "pass" });
    let (_, r) = c.json("POST", "/api/v1/reviews/member-inspections/batch", Some(&staff), batch).await;
    assert_eq!(r["decided"], 1, "{r}");
    assert_eq!(messages().await, before + 1, "one message");
    let (_, h) = c.json("GET", "/api/v1/me/member-inspections", Some(&member), json!(null)).await;
    assert_eq!(h[0]["state"]["label"], "年检通过");
    let (_, v) = c.json("GET", &format!("/api/v1/me/member-inspections/{id}"), Some(&member), json!(null)).await;
    assert_eq!(v["trail"].as_array().unwrap().len(), 2);
    let (_, qr) = c.json("GET", "/api/v1/me/member-inspection-qr", Some(&member), json!(null)).await;
    assert!(qr["url"].as_str().unwrap().ends_with(qr["payload"].as_str().unwrap()));
    let (_, doc) = c.json("GET", "/api/openapi.json", None, json!(null)).await;
    for path in [
        "/me/member-inspection",
        "/me/member-inspection/fee/order",
        "/reviews/{workflow}/{id}/decision",
        "/reviews/{workflow}/batch",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
}
