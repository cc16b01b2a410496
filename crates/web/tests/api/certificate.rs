//! 下载会员证: the steps, the PDF, and the signed QR payload.

use base64::Engine;
use bytes::Bytes;
use cmis_app::certificate;
use cmis_app::member_admission;
use cmis_domain::UserType;

use crate::admission::{application, profile};
use crate::helpers::*;

/// A real JPEG: the captcha image is one.
pub async fn jpeg(t: &TestApp) -> Bytes {
    let c = cmis_app::captcha::issue(&t.app).await.unwrap();
    let b64 = c.image.split_once("base64,").unwrap().1;
    Bytes::from(base64::engine::general_purpose::STANDARD.decode(b64).unwrap())
}

#[tokio::test]
async fn a_member_without_a_photo_or_with_missing_fields_is_told_what_to_do() {
    let t = TestApp::new().await;
    let mut c = t.client();
    c.login("member", &t.login_of(UserType::NonPracticingMember).await, PASSWORD).await;
    let page = c.get("/certificate").await.body;
    assert!(page.contains("信息确认并下载会员证") && page.contains("暂无电子照片"));
    assert!(c.get("/certificate/confirm").await.body.contains("请前往所属地方注协"));
    let r = c.get("/certificate/download").await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("请先将基本信息中的必填信息补充完整"));
    let check = c.get("/certificate/check").await.body;
    assert!(check.contains("必填信息补充完整") && check.contains("href=\"/profile\""));
}

#[tokio::test]
async fn a_new_member_downloads_a_pdf_whose_qr_code_verifies_offline() {
    let t = TestApp::new().await;
    let mut a = application(profile(91));
    a.photo = Some(("photo.jpg".into(), jpeg(&t).await));
    let no = member_admission::submit(&t.app, a).await.unwrap();
    crate::admission::confirm(&t, &no).await;
    let creds = crate::admission::credentials_of(&t, &profile(91)).await;
    assert_eq!(member_admission::progress_by_business_no(&t.app, &no).await.unwrap().business_no, no);

    let mut c = t.client();
    c.login("member", &creds.login_name, creds.initial_password.as_deref().unwrap()).await;
    c.post(
        "/account/password",
        &[
            ("old_password", creds.initial_password.as_deref().unwrap()),
            ("new_password", "Cert2026xy"),
            ("confirm", "Cert2026xy"),
        ],
    )
    .await;
    c.login("member", &creds.login_name, "Cert2026xy").await;
    assert!(
        c.get("/certificate/confirm").await.body.contains("是否使用入会申请时上传的照片"),
        "no exam photo imported"
    );
    assert!(c.get("/certificate/check").await.body.contains("下载会员证"));
    let r = c.get("/certificate/download").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers.get("content-type").unwrap(), "application/pdf");
    assert!(r.body.starts_with("%PDF"));

    // The payload, checked offline with nothing but the published key.
    let payload = t.app.signer.payload(&creds.cert_no, t.app.today());
    let key_page = c.get("/certificate/public-key").await.body;
    let key_b64 = between(&key_page, "data-testid=\"public-key\">", "<");
    let key: [u8; 32] = base64::engine::general_purpose::STANDARD.decode(key_b64).unwrap().try_into().unwrap();
    let key = ed25519_dalek::VerifyingKey::from_bytes(&key).unwrap();
    assert_eq!(certificate::verify_with(&key, &payload).unwrap().0, creds.cert_no);
    let forged = payload.replacen(&creds.cert_no, "33202699999", 1);
    assert!(certificate::verify_with(&key, &forged).is_none(), "a changed number breaks the signature");

    let mut public = t.client();
    let page = public.get(&format!("/v/{payload}")).await.body;
    assert!(page.contains("该会员证有效") && page.contains(&creds.cert_no));
    assert!(page.contains("周**"), "the name is masked");
    assert!(public.get(&format!("/v/{forged}")).await.body.contains("二维码无效或已被篡改"));
}

#[tokio::test]
async fn the_association_uploads_and_approves_a_members_photo() {
    let t = TestApp::new().await;
    let member = t.login_of(UserType::NonPracticingMember).await;
    let photo = jpeg(&t).await;

    let mut beijing = t.client();
    beijing.login("staff", "staff11", PASSWORD).await;
    let r = beijing.get(&format!("/association/member-photo?cert_no={member}")).await;
    assert!(r.body.contains("本单位管辖范围内没有该会员编号的非执业会员"), "as if the member did not exist");

    let mut gd = t.client();
    gd.login("staff", "staff44", PASSWORD).await;
    let page = gd.get(&format!("/association/member-photo?cert_no={member}")).await.body;
    assert!(page.contains("暂无电子照片") && page.contains("上传并审核通过"));
    let r = gd
        .multipart_fields(
            "/association/member-photo",
            &[("cert_no", member.as_str())],
            &[("photo", "x.pdf", b"%PDF-1.4")],
        )
        .await;
    assert!(r.body.contains("照片应为jpg或png格式的图片"), "{}", r.body);
    let r = gd
        .multipart_fields("/association/member-photo", &[("cert_no", member.as_str())], &[("photo", "me.jpg", &photo)])
        .await;
    assert!(r.body.contains("照片已审核通过"), "{}", r.body);

    let mut m = t.client();
    m.login("member", &member, PASSWORD).await;
    let home = m.get("/home").await.body;
    assert_eq!(between(&home, "data-testid=\"unread\">", "<"), "1");
    let cert = m.get("/certificate").await.body;
    assert!(cert.contains("src=\"/certificate/photo\""));
    assert_eq!(m.get("/certificate/photo").await.status, 200);
    assert_eq!(m.get(&format!("/association/member-photo?cert_no={member}")).await.status, 403);
}

/// A PNG's signature and header declaring 100,000 × 100,000 16-bit RGBA: 69 bytes.
fn png_bomb() -> Vec<u8> {
    let mut p = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    p.extend_from_slice(&100_000u32.to_be_bytes());
    p.extend_from_slice(&100_000u32.to_be_bytes());
    p.extend_from_slice(&[16, 6, 0, 0, 0, 0, 0, 0, 0]);
    p.extend_from_slice(b"\x00\x00\x00\x00IDAT\x00\x00\x00\x00\x00\x00\x00\x00IEND\xaeB`\x82");
    p
}

// The attack: a 69-byte PNG declaring 100,000 × 100,000 pixels, sent as an
// admission photo or by a city association as a member's photo; the next
// certificate download asked the decoder for 80 GB and the process died.
#[tokio::test]
async fn a_photo_declaring_a_huge_image_is_refused_at_intake_and_never_decoded() {
    use object_store::ObjectStore;
    let t = TestApp::new().await;
    let bomb = png_bomb();

    let mut a = application(profile(93));
    a.photo = Some(("photo.png".into(), Bytes::from(bomb.clone())));
    match member_admission::submit(&t.app, a).await {
        Err(cmis_app::AppError::Invalid(e)) => assert!(e.get("photo").unwrap().contains("照片尺寸过大")),
        other => panic!("refused beside the photo: {other:?}"),
    }

    let member = t.login_of(UserType::NonPracticingMember).await;
    let mut city = t.client();
    city.login("staff", "staff4401", PASSWORD).await;
    let r = city
        .multipart_fields("/association/member-photo", &[("cert_no", member.as_str())], &[("photo", "me.png", &bomb)])
        .await;
    assert!(r.body.contains("照片尺寸过大") && !r.body.contains("照片已审核通过"), "{}", r.body);

    // A photo stored before intake looked at dimensions is refused before it is decoded.
    let mut a = application(profile(94));
    a.photo = Some(("photo.jpg".into(), jpeg(&t).await));
    let no = member_admission::submit(&t.app, a).await.unwrap();
    crate::admission::confirm(&t, &no).await;
    let creds = crate::admission::credentials_of(&t, &profile(94)).await;
    let m = cmis_app::member_profile::member_in_scope(
        &t.app,
        &cmis_app::auth::actor_for(&t.app, t.login_id("staffcicpa").await).await.unwrap().unwrap(),
        &creds.cert_no,
    )
    .await
    .unwrap();
    let key = object_store::path::Path::from(m.photo_key.unwrap().as_str());
    t.app.files.put(&key, bomb.into()).await.unwrap();
    let mut c = t.client();
    c.login("member", &creds.login_name, creds.initial_password.as_deref().unwrap()).await;
    let initial = creds.initial_password.as_deref().unwrap();
    c.post(
        "/account/password",
        &[("old_password", initial), ("new_password", "Cert2026xy"), ("confirm", "Cert2026xy")],
    )
    .await;
    c.login("member", &creds.login_name, "Cert2026xy").await;
    let r = c.get("/certificate/download").await;
    assert_ne!(r.headers.get("content-type").map(|v| v.to_str().unwrap()), Some("application/pdf"));
    assert!(r.body.contains("电子照片无法读取"), "{}", r.status);
    assert_eq!(c.get("/home").await.status, 200, "and the server goes on");
}
