use cmis_domain::UserType;

use crate::helpers::*;

#[tokio::test]
async fn contacts_list_the_32_local_associations_cicpa_lines_and_guangdong_cities() {
    let t = TestApp::new().await;
    let mut c = t.client();
    let r = c.get("/contacts").await;
    assert_eq!(r.status, 200);
    let provincial = between(&r.body, "data-testid=\"provincial-contacts\"", "</table>");
    assert_eq!(provincial.matches("<tr>").count(), 1 + 32, "header + 32 rows");
    assert!(provincial.contains("深圳市注册会计师协会") && provincial.contains("0755-83515412"));
    assert!(provincial.contains("吉林省注册会计师协会") && provincial.contains("0431-88591826"));
    let cities = between(&r.body, "data-testid=\"city-contacts\"", "</table>");
    assert_eq!(cities.matches("<tr>").count(), 1 + 21, "header + 省注协 + 20 cities");
    assert!(cities.contains("东莞市南城区胜和路3号胜和广场B栋10楼10B"));
    assert!(r.body.contains("中国注册会计师协会驻港联络处"));
    assert!(r.body.contains("shilei@cicpa.org.cn"));
}

#[tokio::test]
async fn the_shell_has_the_pc_menu_and_the_phone_tabs_and_no_dead_links() {
    let t = TestApp::new().await;
    let login = t.login_of(UserType::NonPracticingMember).await;
    let mut c = t.client();
    c.login("member", &login, PASSWORD).await;
    let home = c.get("/home").await.body;
    assert!(home.contains("class=\"sidemenu\""));
    let tabs = between(&home, "class=\"tabbar\"", "</nav>");
    for tab in ["首页", "消息", "我的"] {
        assert!(tabs.contains(tab));
    }
    // Every link of the page leads somewhere.
    let mut rest = home.as_str();
    let mut hrefs = Vec::new();
    while let Some(i) = rest.find("href=\"/") {
        rest = &rest[i + 6..];
        let end = rest.find('"').unwrap();
        hrefs.push(rest[..end].to_owned());
        rest = &rest[end..];
    }
    assert!(hrefs.len() > 8);
    for h in hrefs {
        let r = c.get(&h).await;
        assert!(r.status == 200, "{h} answered {}", r.status);
    }
}

#[tokio::test]
async fn the_bell_counts_unread_messages_and_reading_one_clears_it() {
    let t = TestApp::new().await;
    let login = t.login_of(UserType::NonPracticingMember).await;
    let mut c = t.client();
    c.login("member", &login, PASSWORD).await;
    assert!(c.get("/messages").await.body.contains("暂无消息"));

    let uid = {
        use cmis_store::entity::user;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        user::Entity::find().filter(user::Column::LoginName.eq(&login)).one(t.app.db.conn()).await.unwrap().unwrap().id
    };
    let tx = t.app.write().await.unwrap();
    for i in 0..12 {
        cmis_app::messages::send(&tx, uid, &format!("年检申请已退回{i}"), "退回原因：请重新上传材料。", Some("/home"))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let home = c.get("/home").await.body;
    assert_eq!(between(&home, "data-testid=\"unread\">", "<"), "12");
    let list = c.get("/messages").await.body;
    assert!(list.contains("共 12 条，第 1/2 页"));
    assert!(list.contains("年检申请已退回11"), "newest first");
    // 🔔: the latest five, newest first, unread marked, and 【更多】 to the list.
    let home = c.get("/home").await.body;
    assert!(home.contains(r#"hx-get="/messages/preview""#));
    let preview = c.get("/messages/preview").await.body;
    assert_eq!(preview.matches("<li").count(), 5, "{preview}");
    assert!(preview.contains("年检申请已退回11") && !preview.contains("年检申请已退回6<"));
    assert!(preview.contains(r#"<a href="/messages">【更多】</a>"#) && preview.contains(r#"class="unread""#));
    assert!(!preview.contains("<html"), "a fragment");
    let page2 = c.get("/messages?page=2").await.body;
    assert!(page2.contains("年检申请已退回0"));
    let id = between(&list, "href=\"/messages/", "\"").to_owned();
    let detail = c.get(&format!("/messages/{id}")).await.body;
    assert!(detail.contains("退回原因：请重新上传材料。"));
    assert_eq!(between(&detail, "data-testid=\"unread\">", "<"), "11");

    // Someone else's message is not found.
    let mut other = t.client();
    other.login("cpa", &t.login_of(UserType::Cpa).await, PASSWORD).await;
    assert_eq!(other.get(&format!("/messages/{id}")).await.status, 404);
}

#[tokio::test]
async fn personal_information_is_encrypted_at_rest_and_masked_on_screen() {
    use cmis_store::entity::member;
    use sea_orm::EntityTrait;
    let t = TestApp::new().await;
    let m = member::Entity::find().one(t.app.db.conn()).await.unwrap().unwrap();
    assert!(m.id_number_enc.starts_with("v1:"));
    let plain = t.app.pii.decrypt(&m.id_number_enc).unwrap();
    assert!(cmis_domain::ResidentId::parse(&plain).is_ok(), "demo IDs are valid");
    assert_eq!(m.id_number_digest, t.app.pii.digest(&plain));
    let mut c = t.client();
    c.login("member", &m.cert_no, PASSWORD).await;
    let home = c.get("/home").await.body;
    assert!(!home.contains(&plain), "full ID never in a list page");
    assert!(home.contains(&cmis_domain::mask::id_number(&plain)));
}

#[tokio::test]
async fn operations_endpoints_answer() {
    let t = TestApp::new().await;
    let mut c = t.client();
    let h = c.get("/healthz").await;
    assert_eq!((h.status.as_u16(), h.body.as_str()), (200, "{\"status\":\"ok\"}"));
    c.get("/").await;
    // Metrics are served on a listener of their own, never on the public address.
    assert_eq!(c.get("/metrics").await.status, 404);
    let m = tower::ServiceExt::oneshot(
        cmis_web::ops::metrics_router(),
        axum::http::Request::get("/metrics").body(axum::body::Body::empty()).unwrap(),
    )
    .await
    .unwrap();
    let body = http_body_util::BodyExt::collect(m.into_body()).await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("http_requests_total"));
    assert_eq!(c.get("/nowhere").await.status, 404);
    assert!(c.get("/static/app.css").await.body.contains("--brand"));
    let r = c.get("/").await;
    assert!(r.headers.get("content-security-policy").unwrap().to_str().unwrap().contains("default-src 'self'"));
    assert!(r.headers.get("x-request-id").is_some());
}

#[tokio::test]
async fn the_dev_outbox_shows_what_was_sent_only_when_switched_on() {
    let t = TestApp::new().await;
    {
        use cmis_app::deliveries::{self, Channel, Outgoing, Purpose};
        let tx = t.app.write().await.unwrap();
        let sms = Outgoing {
            channel: Channel::Sms,
            purpose: Purpose::ResetCode,
            to: "13800000000",
            subject: "找回密码",
            body: "您的验证码为 123456",
            association_id: None,
        };
        deliveries::queue(&t.app, &tx, sms).await.unwrap();
        tx.commit().await.unwrap();
    }
    let mut c = t.client();
    assert!(c.get("/dev/outbox").await.body.contains("您的验证码为 123456"));

    let (db, _dir) = database().await;
    let mut s = settings();
    s.dev_outbox = false;
    let app = std::sync::Arc::new(app_on(db, s).await);
    let router = cmis_web::router(app, cmis_web::WebOptions { secure_cookies: false, trusted_proxies: 0 });
    let mut off = Client { router, cookies: Default::default(), address: "10.9.9.9".into(), token: None };
    assert_eq!(off.get("/dev/outbox").await.status, 404);
}
