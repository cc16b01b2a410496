//! 通知公告 / 常见问题: CICPA publishes and withdraws; the portal lists what is published.

use crate::helpers::*;

#[tokio::test]
async fn cicpa_publishes_and_withdraws_and_the_portal_follows() {
    let t = TestApp::new().await;
    let mut public = t.client();
    let portal = public.get("/").await.body;
    assert!(portal.contains("关于非执业会员入会指南"), "the demo's entries");

    let mut staff = t.client();
    staff.login("staff", "staffcicpa", PASSWORD).await;
    let r = staff
        .post("/association/notices/new", &[("kind", "faq"), ("title", ""), ("body", ""), ("action", "publish")])
        .await;
    assert!(r.body.contains("请填写标题") && r.body.contains("请填写正文"));
    let r = staff
        .post(
            "/association/notices/new",
            &[
                ("kind", "faq"),
                ("title", "年检缴费如何确认"),
                ("body", "缴费后点击“确认已缴费”。"),
                ("action", "draft"),
            ],
        )
        .await;
    assert_eq!(r.location(), "/association/notices");
    assert!(!public.get("/").await.body.contains("年检缴费如何确认"), "a draft is not public");
    let list = staff.get("/association/notices?kind=faq").await.body;
    let row = &list[list.find("年检缴费如何确认").unwrap()..];
    let id = between(row, "href=\"/association/notices/", "/edit").to_owned();
    assert_eq!(public.get(&format!("/notices/{id}")).await.status, 404);

    staff
        .post(
            &format!("/association/notices/{id}/edit"),
            &[
                ("kind", "faq"),
                ("title", "年检缴费如何确认"),
                ("body", "缴费后点击“确认已缴费”。"),
                ("action", "publish"),
            ],
        )
        .await;
    assert!(public.get("/").await.body.contains("年检缴费如何确认"));
    let page = public.get(&format!("/notices/{id}")).await;
    assert!(page.body.contains("缴费后点击“确认已缴费”。"));
    assert!(public.get("/notices?kind=faq").await.body.contains("年检缴费如何确认"));

    // Withdrawn again by saving it as a draft.
    staff
        .post(
            &format!("/association/notices/{id}/edit"),
            &[("kind", "faq"), ("title", "年检缴费如何确认"), ("body", "x"), ("action", "draft")],
        )
        .await;
    assert_eq!(public.get(&format!("/notices/{id}")).await.status, 404);

    // Only CICPA edits the portal.
    let mut province = t.client();
    province.login("staff", "staff44", PASSWORD).await;
    assert_eq!(province.get("/association/notices").await.status, 403);
    let r = province
        .post("/association/notices/new", &[("kind", "faq"), ("title", "t"), ("body", "b"), ("action", "publish")])
        .await;
    assert_eq!(r.status, 403);
}
