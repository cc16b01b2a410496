//! The screens against the seeds' words (issue: seed fidelity): labels,
//! links and steps a user of the existing system expects, each as the page
//! serves it.

use cmis_app::member_admission;

use crate::admission::{application, confirm, credentials_of, profile};
use crate::helpers::*;
use crate::inspection::{add_hours, inspection_id, member_and_staff, save_settings};

#[tokio::test]
async fn the_member_pages_use_the_seeds_labels() {
    let t = TestApp::new().await;
    let (mut m, mut s, cert) = member_and_staff(&t).await;
    add_hours(&mut s, &cert, "40").await;
    save_settings(&mut s, years("{N}-12-31").as_str(), "0", "", "申请成功").await;

    // A deferral: on PC 上一步 goes back to 信息完善 and the button is 确认申请;
    // the phone keeps its own step back and 确定提交 (seed 000 §2.2.2.3).
    let reason = m.get("/member-inspection/defer/reason?agreed=1").await.body;
    assert!(reason.contains(r#"class="button pc-only" href="/member-inspection/profile">上一步"#), "{reason}");
    assert!(reason.contains(r#"class="button phone-inline" href="/member-inspection/defer">上一步"#));
    assert!(reason.contains(">确认申请</button>") && reason.contains(">确定提交</button>"));
    m.post("/member-inspection/defer", &[("commitment", "1"), ("reason", "出国")]).await;
    let id = inspection_id(&t, &cert).await;
    s.post(
        &format!("/association/member-inspections/{id}/decide"),
        &[("action", "return_deferral"), ("reason", "请重新上传材料。")],
    )
    .await;

    // The returned deferral is the link 【地方注协退回】 for the member; staff keep it apart.
    let list = m.get("/member-inspection/history").await.body;
    let row = between(&list, "<tbody>", "</tbody>");
    assert!(row.contains(">地方注协退回</a>") && !row.contains("暂缓退回"), "{row}");
    assert!(list.contains("地方注协退回（暂缓年检）"), "the filter tells the two apart");
    let staff_view = s.get(&format!("/association/member-inspections/{id}")).await.body;
    assert!(staff_view.contains("地方注协暂缓退回"));
    // The trail's node keeps the seed's full name.
    let view = m.get(&format!("/member-inspection/{id}")).await.body;
    assert!(view.contains("地方注协非执业会员审核暂缓退回"));

    // 查看: 有效证件号码 (seed 000 §2.2.3); 基本信息 groups 考试信息 on its own (seed 002 §8).
    assert!(view.contains("<dt>有效证件号码</dt>"), "{view}");
    let profile = m.get("/profile").await.body;
    let exam = between(&profile, "<h2>考试信息</h2>", "</section>");
    assert!(exam.contains("<dt>全科合格年份</dt>"), "{profile}");
    assert!(!between(&profile, "<h2>资格取得信息</h2>", "</section>").contains("全科合格年份"));

    // The phone's tile opens a page of its own title.
    let home = m.get("/home").await.body;
    assert!(home.contains(r#"href="/member-inspection/results""#));
    let results = m.get("/member-inspection/results").await.body;
    assert!(
        results.contains("<title>历年年检结果查询")
            && results.contains(r#"<h1 class="page-title">历年年检结果查询</h1>"#)
    );
    assert!(results.contains(&years("{Y}")));
}

#[tokio::test]
async fn the_progress_query_offers_the_captcha_and_self_service_recovery() {
    let t = TestApp::new().await;
    let mut c = t.client();
    // Seed 003 §2.2: 获取验证码 beside the captcha of the query by number.
    let page = c.get("/member-admission/progress/number").await.body;
    let captcha = between(&page, r#"<div class="captcha-row">"#, "</div>");
    assert!(captcha.contains("获取验证码") && captcha.contains(r#"hx-get="/captcha""#), "{captcha}");

    // Once the new member has logged in, the page points to 忘记密码, not to the association.
    let p = profile(41);
    let no = member_admission::submit(&t.app, application(p.clone())).await.unwrap();
    confirm(&t, &no).await;
    let cr = credentials_of(&t, &p).await;
    let mut member = t.client();
    member.login("member", &cr.login_name, cr.initial_password.as_deref().unwrap()).await;
    let captcha_id = between(&page, r#"name="captcha_id" value=""#, "\"").to_owned();
    let r = c
        .post(
            "/member-admission/progress/number",
            &[("business_no", &no), ("captcha_id", &captcha_id), ("captcha", CAPTCHA)],
        )
        .await;
    assert!(r.body.contains(r#"<a href="/password/forgot">忘记密码</a>"#), "{}", r.body);
    assert!(!r.body.contains("请联系所属地方注协"));
    assert!(r.body.contains("会员批准文件号") && r.body.contains("会协〔2026〕12号"));
}

#[tokio::test]
async fn row_and_item_checkboxes_have_accessible_names() {
    let t = TestApp::new().await;
    let (mut m, mut s, cert) = member_and_staff(&t).await;
    add_hours(&mut s, &cert, "40").await;
    // 会费确认: a payment waiting for confirmation, its box named for the member.
    m.post("/member-inspection/fee-paid", &[]).await;
    let fees = s.get("/association/member-inspection-fees").await.body;
    let boxes: Vec<&str> = fees.split(r#"type="checkbox" name="id""#).skip(1).collect();
    assert!(!boxes.is_empty(), "{fees}");
    for b in boxes {
        let tag = &b[..b.find('>').unwrap()];
        assert!(tag.contains(r#"aria-label="选择"#), "{tag}");
    }
    // 批量通过: each row's box is named.
    save_settings(&mut s, years("{N}-12-31").as_str(), "0", "", "申请成功").await;
    let r = m.post("/member-inspection/apply", &[("commitment", "1")]).await;
    assert!(r.location().starts_with("/member-inspection/done/"), "{}", r.body);
    let queue = s.get("/association/member-inspections").await.body;
    let rows: Vec<&str> = queue.split(r#"type="checkbox" name="id""#).skip(1).collect();
    assert!(!rows.is_empty(), "{queue}");
    for b in rows {
        assert!(b[..b.find('>').unwrap()].contains(r#"aria-label="选择"#));
    }
    // 退回's items are inside their labels.
    let id = inspection_id(&t, &cert).await;
    let case = s.get(&format!("/association/member-inspections/{id}")).await.body;
    let items: Vec<&str> = case.split(r#"name="item""#).collect();
    assert!(items.len() > 1, "{case}");
    for before in &items[..items.len() - 1] {
        assert!(before.trim_end().ends_with(r#"<label class="check"><input type="checkbox""#), "{before}");
    }
}

/// A browser past 入会须知 and 填写验证信息, on the application form.
async fn on_the_form(t: &TestApp) -> Client {
    let mut c = t.client();
    c.get("/member-admission").await;
    c.post("/member-admission/accept", &[("accept", "1")]).await;
    let page = c.get("/member-admission/verify").await.body;
    let id = between(&page, r#"name="captcha_id" value=""#, "\"").to_owned();
    let r = c.post("/member-admission/verify", &[("captcha_id", &id), ("captcha", CAPTCHA)]).await;
    assert_eq!(r.location(), "/member-admission/apply");
    c
}

fn form_of(p: &cmis_domain::profile::Profile) -> Vec<(&'static str, String)> {
    let mut f: Vec<(&'static str, String)> =
        cmis_domain::profile::FIELDS.iter().map(|f| (f.key, p.get(f.key))).collect();
    for i in 0..member_admission::DECLARATIONS.len() {
        f.push(("declaration", i.to_string()));
    }
    f
}

#[tokio::test]
async fn a_large_photo_keeps_the_form_and_going_back_says_it_was_submitted() {
    let t = TestApp::new().await;
    let mut c = on_the_form(&t).await;
    let p = profile(42);
    let fields = form_of(&p);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // 2.5 MB: the form comes back with everything typed and the limit named.
    let mut big = crate::admission::PHOTO.to_vec();
    big.resize(2_500_000, 0);
    let r = c.multipart_fields("/member-admission/apply", &pairs, &[("photo", "大照片.jpg", &big)]).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("照片不能超过2MB，请压缩或更换照片后重新选择"), "{}", r.body);
    assert!(r.body.contains(&format!(r#"value="{}""#, p.work_unit)), "what was typed is kept");
    assert!(r.body.contains("data-max-bytes=\"2097152\""), "and the page says it before the upload");
    // A field of 100 KB, or a box repeated a hundred thousand times: the
    // form comes back (bounded), nothing is saved, no time is burnt.
    let mut long = fields.clone();
    long.retain(|(k, _)| *k != "work_unit");
    long.push(("work_unit", "单".repeat(40_000)));
    let pairs_long: Vec<(&str, &str)> = long.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = c
        .multipart_fields("/member-admission/apply", &pairs_long, &[("photo", "照片.jpg", crate::admission::PHOTO)])
        .await;
    assert!(r.body.contains("填写的内容过长，请检查后重新提交"), "{}", r.status);
    let flood: Vec<String> = (0..50_000).map(|i| format!("{i:x}")).collect();
    let mut many = pairs.clone();
    many.extend(flood.iter().map(|v| ("domestic_quals", v.as_str())));
    let started = std::time::Instant::now();
    let r =
        c.multipart_fields("/member-admission/apply", &many, &[("photo", "照片.jpg", crate::admission::PHOTO)]).await;
    assert!(r.body.contains("表单内容有误"), "{}", r.status);
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    // The right photo: submitted.
    let r =
        c.multipart_fields("/member-admission/apply", &pairs, &[("photo", "照片.jpg", crate::admission::PHOTO)]).await;
    assert!(r.location().starts_with("/member-admission/submitted?no="), "{}", r.body);
    let no = r.location().trim_start_matches("/member-admission/submitted?no=").to_owned();
    // 后退 to the form, or the form sent again: told it was submitted, with its number.
    let back = c.get("/member-admission/apply").await;
    assert_eq!(back.location(), format!("/member-admission/submitted?no={no}&again=1"));
    let page = c.get(back.location()).await.body;
    assert!(page.contains("您的入会申请已经提交") && page.contains(&no));
    let again =
        c.multipart_fields("/member-admission/apply", &pairs, &[("photo", "照片.jpg", crate::admission::PHOTO)]).await;
    assert_eq!(again.location(), format!("/member-admission/submitted?no={no}&again=1"));

    // 修改申请 with an ID that is not the application's stays on the query, beside the field.
    let page = c.get("/member-admission/progress/number").await.body;
    let captcha_id = between(&page, r#"name="captcha_id" value=""#, "\"").to_owned();
    let zj = crate::admission::staff(&t, "staff33").await;
    let id = crate::admission::id_of(&t, &no).await;
    crate::admission::decide(&t, &zj, id, cmis_domain::member_admission::AdmissionAction::LocalReturn, "请补充")
        .await
        .unwrap();
    c.post(
        "/member-admission/progress/number",
        &[("business_no", &no), ("captcha_id", &captcha_id), ("captcha", CAPTCHA)],
    )
    .await;
    let r = c.post("/member-admission/edit", &[("business_no", &no), ("id_number", "110101199001011237")]).await;
    assert_eq!(r.status, 200, "not a dead end");
    let field = between(&r.body, r#"<label for="edit-id">"#, "</div>");
    assert!(field.contains(r#"class="field-error""#), "{}", r.body);
    assert!(r.body.contains("修改申请"));
}

#[tokio::test]
async fn a_return_asks_only_what_the_member_can_change_and_the_menu_marks_one_page() {
    let t = TestApp::new().await;
    let (mut m, mut s, cert) = member_and_staff(&t).await;
    add_hours(&mut s, &cert, "40").await;
    save_settings(&mut s, years("{N}-12-31").as_str(), "0", "", "申请成功").await;
    m.post("/member-inspection/apply", &[("commitment", "1")]).await;
    let id = inspection_id(&t, &cert).await;
    let case = s.get(&format!("/association/member-inspections/{id}")).await.body;
    assert!(!case.contains(r#"name="item" value="姓名""#) && case.contains(r#"name="item" value="邮政编码""#));
    // A return naming an identity field (sent by hand) does not hold the member up.
    s.post(
        &format!("/association/member-inspections/{id}/decide"),
        &[("action", "return"), ("reason", "请核对"), ("item", "姓名"), ("item", "邮政编码")],
    )
    .await;
    let mut changed = crate::inspection::profile_form("apply");
    changed.retain(|(k, _)| *k != "postal_code");
    changed.push(("postal_code", "510630"));
    m.post("/member-inspection/profile", &changed).await;
    let r = m.post("/member-inspection/apply", &[("commitment", "1")]).await;
    assert!(r.location().starts_with("/member-inspection/done/"), "{}", r.body);

    // One menu entry is current, the longest above the page.
    let page = m.get("/member-inspection/history").await.body;
    let menu = between(&page, r#"class="sidemenu""#, "</nav>");
    assert_eq!(menu.matches(r#"class="current""#).count(), 1, "{menu}");
    assert!(
        menu.contains(r#"href="/member-inspection/history" class="current""#)
            || menu.contains(r#"class="current" href="/member-inspection/history""#),
        "{menu}"
    );
}
