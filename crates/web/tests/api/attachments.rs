use cmis_domain::UserType;

use crate::helpers::*;

pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

#[tokio::test]
async fn uploads_are_checked_by_content_size_and_count() {
    let t = TestApp::new().await;
    let mut c = member_client(&t).await;
    let ctx = "/attachments?context=inspection_materials";

    let r = c.multipart(ctx, &[("社保证明.png", PNG)]).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("社保证明.png"));

    let r = c.multipart(ctx, &[("伪装.pdf", b"<html>not a pdf</html>")]).await;
    assert!(r.body.contains("“伪装.pdf”不是允许的文件类型"), "{}", r.body);

    let big = [b"%PDF-1.4\n".as_slice(), &vec![b'x'; 5 * 1024 * 1024]].concat();
    let r = c.multipart(ctx, &[("大文件.pdf", &big)]).await;
    assert!(r.body.contains("单个附件大小不能超过5MB"));

    for i in 0..4 {
        let r = c.multipart(ctx, &[(&format!("{i}.pdf"), b"%PDF-1.4 small")]).await;
        assert!(!r.body.contains("field-error"), "{i}: {}", r.body);
    }
    let r = c.multipart(ctx, &[("第六个.pdf", b"%PDF-1.4 small")]).await;
    assert!(r.body.contains("最多可上传5个附件"));
    assert_eq!(r.body.matches("/delete?").count(), 5);

    // Deferral proof allows 50 MB.
    let r = c.multipart("/attachments?context=deferral_proof", &[("证明.pdf", &big)]).await;
    assert!(!r.body.contains("field-error"), "{}", r.body);
}

#[tokio::test]
async fn downloads_are_for_the_uploader_and_staff_over_them_only() {
    let t = TestApp::new().await;
    let mut owner = member_client(&t).await;
    let r = owner.multipart("/attachments?context=inspection_materials", &[("材料.pdf", b"%PDF-1.4 hello")]).await;
    let id = between(&r.body, "href=\"/attachments/", "\"").to_owned();
    let path = format!("/attachments/{id}");

    let mine = owner.get(&path).await;
    assert_eq!(mine.status, 200);
    assert_eq!(mine.body, "%PDF-1.4 hello");
    assert_eq!(mine.headers.get("content-type").unwrap(), "application/pdf");

    let mut cpa = t.client();
    cpa.login("cpa", &t.login_of(UserType::Cpa).await, PASSWORD).await;
    assert_eq!(cpa.get(&path).await.status, 404, "another's file, as if absent");

    // The first demo member belongs to Guangdong (广州).
    let mut gd = t.client();
    gd.login("staff", "staff44", PASSWORD).await;
    assert_eq!(gd.get(&path).await.status, 200);
    let mut national = t.client();
    national.login("staff", "staffcicpa", PASSWORD).await;
    assert_eq!(national.get(&path).await.status, 200);
    let mut beijing = t.client();
    beijing.login("staff", "staff11", PASSWORD).await;
    assert_eq!(beijing.get(&path).await.status, 404, "out of scope, as if absent");

    let mut anonymous = t.client();
    assert_eq!(anonymous.get(&path).await.location(), "/?expired=1");
}

#[tokio::test]
async fn a_draft_attachment_can_be_deleted_by_its_uploader() {
    let t = TestApp::new().await;
    let mut c = member_client(&t).await;
    let box_of = "/attachments?context=inspection_materials";
    let r = c.multipart(box_of, &[("第一份.png", PNG)]).await;
    let id = between(&r.body, "href=\"/attachments/", "\"").to_owned();
    for i in 2..=5 {
        c.multipart(box_of, &[(&format!("第{i}份.png"), PNG)]).await;
    }
    let r = c.multipart(box_of, &[("第六份.png", PNG)]).await;
    assert!(r.body.contains("最多可上传5个附件"));
    let r = c.post(&format!("/attachments/{id}/delete?context=inspection_materials"), &[]).await;
    assert!(!r.body.contains(&format!("href=\"/attachments/{id}\"")), "{}", r.body);
    assert_eq!(c.get(&format!("/attachments/{id}")).await.status, 404);
    // A member has no business in a firm's box or the association's photo.
    for ctx in ["firm_batch", "photo"] {
        assert_eq!(c.multipart(&format!("/attachments?context={ctx}"), &[("x.png", PNG)]).await.status, 403);
    }
}

/// The S3 configuration path, against a real S3-compatible server on
/// loopback. scripts/test starts one (moto) and runs this test.
#[tokio::test]
#[ignore = "needs an S3-compatible server: scripts/test starts one and sets CMIS_TEST_S3_ENDPOINT"]
async fn s3_attachments_round_trip_through_an_s3_compatible_store() {
    use futures::TryStreamExt;
    let endpoint = std::env::var("CMIS_TEST_S3_ENDPOINT").expect("CMIS_TEST_S3_ENDPOINT");
    let (db, _dir) = database().await;
    let mut s = settings();
    s.storage = cmis_app::settings::StorageSettings {
        kind: "s3".into(),
        bucket: "cmis-test".into(),
        endpoint,
        access_key_id: "test".into(),
        secret_access_key: "test".into(),
        allow_http: true,
        ..Default::default()
    };
    let app = app_on(db, s).await.with_fixed_captcha(CAPTCHA);
    cmis_app::demo::generate(&app, &demo_options(), &|_, _, _| {}).await.unwrap();
    let app = std::sync::Arc::new(app);
    let router = cmis_web::router(app.clone(), cmis_web::WebOptions { secure_cookies: false, trusted_proxies: 1 });
    let mut c = Client { router, cookies: Default::default(), address: "10.7.7.7".into(), token: None };
    let login = {
        use cmis_store::entity::user;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        user::Entity::find()
            .filter(user::Column::UserType.eq("member"))
            .one(app.db.conn())
            .await
            .unwrap()
            .unwrap()
            .login_name
    };
    assert_eq!(c.login("member", &login, PASSWORD).await.location(), "/home");
    let r = c.multipart("/attachments?context=inspection_materials", &[("材料.pdf", b"%PDF-1.4 in the bucket")]).await;
    let id = between(&r.body, "href=\"/attachments/", "\"").to_owned();
    assert_eq!(c.get(&format!("/attachments/{id}")).await.body, "%PDF-1.4 in the bucket");
    let stored: Vec<_> = app.files.list(None).try_collect().await.unwrap();
    assert!(stored.iter().any(|o| o.location.as_ref().starts_with("inspection_materials/")), "{stored:?}");
    // A proof of 12 MiB goes to the bucket as a multipart upload, and comes back whole.
    let mut big = b"%PDF-1.4\n".to_vec();
    big.extend((0..12 * 1024 * 1024).map(|i| (i % 251) as u8));
    let r = c.multipart("/attachments?context=deferral_proof", &[("证明.pdf", &big)]).await;
    let id = between(&r.body, "href=\"/attachments/", "\"").to_owned();
    let back = c.get(&format!("/attachments/{id}")).await;
    assert_eq!(back.status, 200);
    assert!(back.bytes.as_ref() == big.as_slice(), "the whole file, in order");
}
