//! 非执业会员入会申请: submission rules, review, confirmation, return and resubmission.

use bytes::Bytes;
use chrono::NaiveDate;
use cmis_app::member_admission::{self, Application, InfoQuery};
use cmis_app::review::{self, QueueFilter};
use cmis_app::{Actor, AppError, auth};
use cmis_domain::member_admission::{AdmissionAction, AdmissionState, MemberAdmission};
use cmis_domain::profile::Profile;
use cmis_domain::{ResidentId, UserType};

use crate::helpers::*;

/// A JPEG's headers (JFIF, a 3 × 4 frame, the scan): what intake reads.
pub const PHOTO: &[u8] = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\
\xFF\xC0\x00\x11\x08\x00\x04\x00\x03\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01\
\xFF\xDA\x00\x08\x01\x01\x00\x00\x3F\x00\xFF\xD9";

pub fn profile(seq: u16) -> Profile {
    let birth = NaiveDate::from_ymd_opt(1990, 3, 7).unwrap();
    let id = ResidentId::compose("330106", birth, seq).unwrap();
    Profile {
        name: "周晓梅".into(),
        sex: id.sex().code().into(),
        id_type: "resident".into(),
        id_number: id.as_str().into(),
        birth_date: Some(birth),
        ethnicity: "汉族".into(),
        political_status: "群众".into(),
        region: "33".into(),
        mobile: "13912345678".into(),
        email: "zhou@example.cn".into(),
        mailing_address: "杭州市西湖区文三路100号".into(),
        postal_code: "310012".into(),
        employment_status: "在职".into(),
        work_unit: "浙江某集团有限公司".into(),
        unit_nature: "民营企业".into(),
        education: "大学本科".into(),
        school: "浙江财经大学".into(),
        qualification_method: "exam".into(),
        exam_cert_no: format!("QZ2333{:05}", seq),
        exam_year: Some(2023),
        domestic_quals: vec!["税务师".into()],
        ..Profile::default()
    }
}

pub fn application(p: Profile) -> Application {
    Application {
        profile: p,
        declarations: (0..member_admission::DECLARATIONS.len()).collect(),
        photo: Some(("photo.jpg".into(), Bytes::from_static(PHOTO))),
    }
}

pub async fn staff(t: &TestApp, login: &str) -> Actor {
    use cmis_store::entity::user;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let u = user::Entity::find().filter(user::Column::LoginName.eq(login)).one(t.app.db.conn()).await.unwrap().unwrap();
    auth::actor_for(&t.app, u.id).await.unwrap().unwrap()
}

fn field(e: AppError, key: &str) -> String {
    match e {
        AppError::Invalid(f) => f.get(key).unwrap_or_default().to_owned(),
        other => panic!("{other:?}"),
    }
}

/// A reviewer's decision on an application, through the review kernel.
pub async fn decide(
    t: &TestApp,
    actor: &Actor,
    id: i32,
    action: AdmissionAction,
    reason: &str,
) -> Result<AdmissionState, AppError> {
    let inputs = if action == AdmissionAction::CicpaConfirm { approval(t.app.today()) } else { vec![] };
    review::decide::<MemberAdmission>(&t.app, actor, id, action.code(), reason, &[], &inputs).await
}

/// The approval document CICPA's confirmation carries, dated `today`.
pub fn approval(today: chrono::NaiveDate) -> Vec<(String, String)> {
    vec![("approval_doc_no".into(), "会协〔2026〕12号".into()), ("approval_date".into(), today.to_string())]
}

/// The local association approves and CICPA confirms the application.
pub async fn confirm(t: &TestApp, business_no: &str) {
    let id = id_of(t, business_no).await;
    decide(t, &staff(t, "staff33").await, id, AdmissionAction::LocalApprove, "").await.unwrap();
    decide(t, &staff(t, "staffcicpa").await, id, AdmissionAction::CicpaConfirm, "").await.unwrap();
}

/// The local association returns the application.
pub async fn return_it(t: &TestApp, business_no: &str) {
    let id = id_of(t, business_no).await;
    decide(t, &staff(t, "staff33").await, id, AdmissionAction::LocalReturn, "请补充工作单位全称").await.unwrap();
}

pub async fn id_of(t: &TestApp, business_no: &str) -> i32 {
    use cmis_store::entity::member_admission as row;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    row::Entity::find()
        .filter(row::Column::BusinessNo.eq(business_no))
        .one(t.app.db.conn())
        .await
        .unwrap()
        .unwrap()
        .case_id
}

/// 会员编号, 登录名 and 初始密码, as 基本信息查询 shows them to the applicant.
pub async fn credentials_of(t: &TestApp, p: &cmis_domain::profile::Profile) -> member_admission::Credentials {
    let q = InfoQuery {
        name: p.name.clone(),
        id_type: p.id_type.clone(),
        id_number: p.id_number.clone(),
        qualification_method: p.qualification_method.clone(),
        exam_cert_no: p.exam_cert_no.clone(),
    };
    member_admission::progress_by_info(&t.app, &q).await.unwrap().credentials.unwrap()
}

#[tokio::test]
async fn a_valid_application_gets_a_business_number_and_waits_for_the_local_association() {
    let t = TestApp::new().await;
    let no = member_admission::submit(&t.app, application(profile(11))).await.unwrap();
    assert_eq!(no.len(), 18, "the date and ten random digits: {no}");
    let p = member_admission::progress_by_business_no(&t.app, &no).await.unwrap();
    assert_eq!(p.state.label(), "地方注协待审核");
    assert_eq!(p.association, "浙江省注册会计师协会");
    assert!(p.credentials.is_none());
    let second = member_admission::submit(&t.app, application(profile(13))).await.unwrap();
    assert_eq!(second[..8], no[..8], "the same day");
    assert_ne!(second.parse::<u64>().unwrap(), no.parse::<u64>().unwrap() + 1, "the next number cannot be guessed");
}

// Identifiers are parsed once, at the door: what is stored is their normal
// form whatever was typed, and a malformed one in a query is told beside its
// field without spending one of the five tries.
#[tokio::test]
async fn identifiers_are_stored_in_their_normal_form_and_malformed_queries_are_not_tries() {
    use cmis_store::entity::member_admission as payload;
    use sea_orm::EntityTrait;
    let t = TestApp::new().await;
    let mut p = profile(17);
    let (id, cert) = (p.id_number.clone(), p.exam_cert_no.clone());
    p.id_number = format!(" {} ", id.to_lowercase());
    p.exam_cert_no = format!(" {} ", cert.to_lowercase());
    p.name = format!(" {} ", p.name);
    let no = member_admission::submit(&t.app, application(p.clone())).await.unwrap();
    let row = payload::Entity::find().all(t.app.db.conn()).await.unwrap().into_iter().find(|r| r.business_no == no);
    let row = row.unwrap();
    assert_eq!(row.exam_cert_no, cert.to_uppercase());
    assert_eq!(t.app.pii.decrypt(&row.id_number_enc).unwrap(), id.to_uppercase());

    let query = |id_number: &str, exam_cert_no: &str| InfoQuery {
        name: p.name.trim().into(),
        id_type: "resident".into(),
        id_number: id_number.into(),
        qualification_method: "exam".into(),
        exam_cert_no: exam_cert_no.into(),
    };
    for _ in 0..8 {
        match member_admission::progress_by_info(&t.app, &query(&id, "QZ12")).await {
            Err(AppError::Invalid(e)) => assert!(e.get("exam_cert_no").unwrap().contains("QZ或QY加9位数字")),
            other => panic!("a malformed number is told beside its field: {other:?}"),
        }
    }
    match member_admission::progress_by_info(&t.app, &query("4401", &cert)).await {
        Err(AppError::Invalid(e)) => assert_eq!(e.get("id_number"), Some("身份证号码应为18位")),
        other => panic!("{other:?}"),
    }
    let found = member_admission::progress_by_info(&t.app, &query(&id.to_lowercase(), &cert.to_lowercase())).await;
    assert_eq!(found.unwrap().business_no, no, "eight malformed queries spent none of the five tries");
}

#[tokio::test]
async fn the_form_rules_and_uniqueness_are_checked_before_anything_is_saved() {
    let t = TestApp::new().await;
    let mut a = application(profile(21));
    a.declarations.pop();
    a.photo = Some(("x.pdf".into(), Bytes::from_static(b"%PDF-1.4")));
    a.profile.region = "4401".into();
    let e = member_admission::submit(&t.app, a).await.unwrap_err();
    let AppError::Invalid(f) = e else { panic!() };
    assert_eq!(f.get("declarations"), Some("请阅读并勾选全部声明事项"));
    assert_eq!(f.get("photo"), Some("照片应为jpg或png格式的图片"));
    assert_eq!(f.get("region"), Some("请选择所在地区"), "a city is not a local association");

    let mut a = application(profile(21));
    a.photo = None;
    assert_eq!(field(member_admission::submit(&t.app, a).await.unwrap_err(), "photo"), "请上传本人近期免冠证件照片");

    // An ID that belongs to a member.
    let m = {
        use cmis_store::entity::member;
        use sea_orm::EntityTrait;
        member::Entity::find().one(t.app.db.conn()).await.unwrap().unwrap()
    };
    let mut p = profile(23);
    p.id_number = t.app.pii.decrypt(&m.id_number_enc).unwrap();
    let id = ResidentId::parse(&p.id_number).unwrap();
    p.birth_date = Some(id.birth_date());
    p.sex = id.sex().code().into();
    assert_eq!(
        field(member_admission::submit(&t.app, application(p)).await.unwrap_err(), "id_number"),
        "该证件号码已是非执业会员，无需重复申请"
    );
    let mut p = profile(25);
    p.exam_cert_no = m.exam_cert_no.clone().unwrap();
    assert_eq!(
        field(member_admission::submit(&t.app, application(p)).await.unwrap_err(), "exam_cert_no"),
        "该全科合格证号已属于一名会员，请核对"
    );

    // An ID with an application under way.
    let no = member_admission::submit(&t.app, application(profile(27))).await.unwrap();
    let mut again = profile(27);
    again.exam_cert_no = "QZ233399999".into();
    let msg = field(member_admission::submit(&t.app, application(again)).await.unwrap_err(), "id_number");
    assert!(msg.contains(&no), "{msg}");

    let n = {
        use cmis_store::entity::member_admission as payload;
        use sea_orm::{EntityTrait, PaginatorTrait};
        payload::Entity::find().count(t.app.db.conn()).await.unwrap()
    };
    assert_eq!(n, 1, "nothing saved half-way");
}

#[tokio::test]
async fn local_approval_then_cicpa_confirmation_makes_a_member_who_must_change_the_password() {
    let t = TestApp::new().await;
    let no = member_admission::submit(&t.app, application(profile(31))).await.unwrap();
    let zj = staff(&t, "staff33").await;
    let cicpa = staff(&t, "staffcicpa").await;

    let queue = |a: Actor| {
        let t = &t;
        async move { review::queue::<MemberAdmission>(&t.app, &a, &QueueFilter::default()).await.unwrap().rows }
    };
    let q = queue(zj.clone()).await;
    assert_eq!(q.total, 1);
    let row = &q.items[0];
    assert_eq!((row.case.number.as_str(), row.days_left), (no.as_str(), Some(20)));
    assert!(row.cells[0].contains("********"), "masked in the list");
    assert_eq!(queue(cicpa.clone()).await.total, 0);
    let id = row.case.id;

    // Only the province's own staff may decide: another province and a city
    // are out of scope (as if the application did not exist).
    let e = decide(&t, &staff(&t, "staff44").await, id, AdmissionAction::LocalApprove, "").await;
    assert!(matches!(e, Err(AppError::NotFound(_))), "another province");
    let e = decide(&t, &staff(&t, "staff4401").await, id, AdmissionAction::LocalApprove, "").await;
    assert!(matches!(e, Err(AppError::Forbidden)), "a city does not review admissions");
    let e = decide(&t, &cicpa, id, AdmissionAction::LocalApprove, "").await;
    assert!(matches!(e, Err(AppError::Forbidden)));
    assert!(matches!(decide(&t, &zj, id, AdmissionAction::CicpaConfirm, "").await, Err(AppError::Forbidden)));

    let mut browser_zj = t.client();
    browser_zj.login("staff", "staff33", PASSWORD).await;
    assert_eq!(
        between(&browser_zj.get("/home").await.body, "data-testid=\"awaiting\">", "<"),
        "入会申请审核：待本单位办理 1 件"
    );
    let s = decide(&t, &zj, id, AdmissionAction::LocalApprove, "").await.unwrap();
    assert!(browser_zj.get("/home").await.body.contains("待本单位办理 0 件"));
    assert_eq!(s, AdmissionState::LocalApproved);
    assert_eq!(
        member_admission::progress_by_business_no(&t.app, &no).await.unwrap().state.label(),
        "地方注协审核通过待中注协确认"
    );
    let q = queue(cicpa.clone()).await;
    assert_eq!((q.total, q.items[0].days_left), (1, Some(10)));

    // The approval document is asked for: without it, or with a date to
    // come, nothing is confirmed.
    let without = review::decide::<MemberAdmission>(&t.app, &cicpa, id, "cicpa_confirm", "", &[], &[]).await;
    let Err(AppError::Invalid(f)) = without else { panic!("{without:?}") };
    assert_eq!(f.get("approval_doc_no"), Some("请填写会员批准文件号"));
    assert_eq!(f.get("approval_date"), Some("请填写会员批准日期"));
    let tomorrow = (t.app.today() + chrono::Days::new(1)).to_string();
    let later = [("approval_doc_no".to_owned(), "会协〔2026〕12号".to_owned()), ("approval_date".to_owned(), tomorrow)];
    let e = review::decide::<MemberAdmission>(&t.app, &cicpa, id, "cicpa_confirm", "", &[], &later).await;
    assert_eq!(field(e.unwrap_err(), "approval_date"), "会员批准日期不能晚于今天");
    // The province cannot confirm, with or without the document: forbidden, not a form's message.
    let e = review::decide::<MemberAdmission>(&t.app, &zj, id, "cicpa_confirm", "", &[], &[]).await;
    assert!(matches!(e, Err(AppError::Forbidden)), "{e:?}");
    assert_eq!(
        member_admission::progress_by_business_no(&t.app, &no).await.unwrap().state,
        AdmissionState::LocalApproved
    );
    decide(&t, &cicpa, id, AdmissionAction::CicpaConfirm, "").await.unwrap();
    let p = member_admission::progress_by_info(
        &t.app,
        &InfoQuery {
            name: "周晓梅".into(),
            id_type: "resident".into(),
            id_number: profile(31).id_number,
            qualification_method: "exam".into(),
            exam_cert_no: profile(31).exam_cert_no.to_lowercase(),
        },
    )
    .await
    .unwrap();
    assert_eq!(p.state.label(), "中注协审核通过");
    let c = p.credentials.unwrap();
    assert_eq!(c.login_name, c.cert_no);
    assert_eq!((c.approval_doc_no.as_str(), c.approval_date), ("会协〔2026〕12号", Some(t.app.today())));
    assert!(c.cert_no.starts_with("33"), "numbered in Zhejiang: {}", c.cert_no);
    let initial = c.initial_password.unwrap();
    let by_number =
        member_admission::progress_by_business_no(&t.app, &p.business_no).await.unwrap().credentials.unwrap();
    assert_eq!(
        (by_number.initial_password, by_number.password_withheld),
        (None, true),
        "the number alone is not enough"
    );
    let steps: Vec<_> = p.trail.iter().map(|s| s.node.as_str()).collect();
    assert_eq!(steps, ["申请人提交申请", "地方注协审核通过", "中注协审核通过"]);
    assert_eq!(p.trail[1].unit, "浙江省注册会计师协会");

    let mut browser = t.client();
    assert_eq!(browser.login("member", &c.login_name, &initial).await.location(), "/account/password");
    let again = member_admission::progress_by_business_no(&t.app, &no).await.unwrap();
    assert_eq!(again.credentials.unwrap().initial_password, None, "shown only until the first login");
    let sent = cmis_app::deliveries::recent(&t.app, 10).await.unwrap();
    assert!(sent.iter().any(|m| m.recipient == "13912345678" && m.body.contains(&c.cert_no)));
}

#[tokio::test]
async fn a_returned_application_is_corrected_and_resubmitted_under_the_same_number() {
    let t = TestApp::new().await;
    let no = member_admission::submit(&t.app, application(profile(41))).await.unwrap();
    let zj = staff(&t, "staff33").await;
    let id =
        review::queue::<MemberAdmission>(&t.app, &zj, &QueueFilter::default()).await.unwrap().rows.items[0].case.id;
    let e = decide(&t, &zj, id, AdmissionAction::LocalReturn, " ").await.unwrap_err();
    assert_eq!(field(e, "reason"), "请填写原因");
    decide(&t, &zj, id, AdmissionAction::LocalReturn, "工作单位请填写全称").await.unwrap();

    let p = member_admission::progress_by_business_no(&t.app, &no).await.unwrap();
    assert_eq!((p.state.label(), p.return_reason.as_deref()), ("地方注协退回", Some("工作单位请填写全称")));
    let sms = cmis_app::deliveries::recent(&t.app, 5).await.unwrap();
    assert!(sms[0].body.contains("工作单位请填写全称"));

    let id_number = profile(41).id_number;
    let wrong = member_admission::returned_for_edit(&t.app, &no, "11010519491231002X").await.unwrap_err();
    assert_eq!(field(wrong, "id_number"), "业务编号或证件号码不正确，请核对");
    let unknown = member_admission::returned_for_edit(&t.app, "202601010000000000", &id_number).await.unwrap_err();
    assert_eq!(field(unknown, "id_number"), "业务编号或证件号码不正确，请核对", "the same answer");
    let mut p = member_admission::returned_for_edit(&t.app, &no, &id_number).await.unwrap();
    assert_eq!(p.work_unit, "浙江某集团有限公司");
    p.work_unit = "浙江某集团有限公司杭州分公司".into();
    let a = Application { photo: None, ..application(p) };
    member_admission::resubmit(&t.app, &no, &id_number, a).await.unwrap();

    let p = member_admission::progress_by_business_no(&t.app, &no).await.unwrap();
    assert_eq!(p.state, AdmissionState::Submitted);
    assert_eq!(p.trail.last().unwrap().node, "申请人再次提交");
    let d = member_admission::sent(&t.app, &zj, id).await.unwrap();
    assert_eq!(d.profile.work_unit, "浙江某集团有限公司杭州分公司");
    assert_eq!(review::open::<MemberAdmission>(&t.app, &zj, id).await.unwrap().decisions.len(), 3);
    // Resubmitting what was not returned is refused.
    let again = Application { photo: None, ..application(d.profile.clone()) };
    assert!(matches!(member_admission::resubmit(&t.app, &no, &id_number, again).await, Err(AppError::Refused(_))));
    // And a refusal is final.
    decide(&t, &zj, id, AdmissionAction::LocalReject, "不符合入会条件").await.unwrap();
    let e = decide(&t, &zj, id, AdmissionAction::LocalApprove, "").await.unwrap_err();
    assert_eq!(e.to_string(), "该申请当前状态为“不予通过”，不能办理“通过”");
}

#[tokio::test]
async fn the_queue_filters_by_keyword_and_overdue() {
    use cmis_store::entity::review_case;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let t = TestApp::new().await;
    let first = member_admission::submit(&t.app, application(profile(51))).await.unwrap();
    let mut p = profile(53);
    p.name = "陈立".into();
    member_admission::submit(&t.app, application(p)).await.unwrap();
    review_case::Entity::update_many()
        .col_expr(review_case::Column::Deadline, Expr::value(t.app.today() - chrono::Duration::days(30)))
        .filter(review_case::Column::Id.eq(id_of(&t, &first).await))
        .exec(t.app.db.conn())
        .await
        .unwrap();
    let zj = staff(&t, "staff33").await;
    let queue = |f: QueueFilter| {
        let zj = zj.clone();
        let t = &t;
        async move { review::queue::<MemberAdmission>(&t.app, &zj, &f).await.map(|q| q.rows) }
    };
    let all = queue(QueueFilter::default()).await.unwrap();
    assert_eq!(all.total, 2);
    assert_eq!(all.items[0].case.number, first, "overdue first");
    assert!(all.items[0].days_left.unwrap() < 0);
    let overdue = queue(QueueFilter { overdue: true, ..Default::default() }).await.unwrap();
    assert_eq!(overdue.total, 1);
    let by_name = queue(QueueFilter { keyword: "陈立".into(), ..Default::default() }).await.unwrap();
    assert_eq!(by_name.total, 1);
    let by_id = queue(QueueFilter { keyword: profile(51).id_number, ..Default::default() }).await.unwrap();
    assert_eq!(by_id.items[0].case.number, first);
    let member = staff(&t, &t.login_of(UserType::NonPracticingMember).await).await;
    let refused = review::queue::<MemberAdmission>(&t.app, &member, &QueueFilter::default()).await;
    assert!(matches!(refused, Err(AppError::Forbidden)));
}

#[tokio::test]
async fn every_field_rule_refuses_through_the_submission_on_this_database() {
    use cmis_store::entity::member_admission as payload;
    use sea_orm::{EntityTrait, PaginatorTrait};
    let t = TestApp::new().await;
    type Change = fn(&mut Profile);
    let cases: &[(&str, Change, &str)] = &[
        ("name", |p| p.name.clear(), "请填写姓名"),
        ("sex", |p| p.sex.clear(), "请选择性别"),
        ("sex", |p| p.sex = if p.sex == "M" { "F".into() } else { "M".into() }, "性别与身份证号码不一致"),
        ("id_type", |p| p.id_type = "unknown".into(), "请选择证件类型"),
        ("id_number", |p| p.id_number = "33010619900307".into(), "身份证号码应为18位"),
        ("id_number", |p| p.id_number = "3301061990030710Y1".into(), "身份证号码前17位应为数字，最后一位为数字或X"),
        ("id_number", |p| p.id_number = "990106199003071012".into(), "身份证号码的地区码不正确"),
        ("id_number", |p| p.id_number = "330106199013071012".into(), "身份证号码中的出生日期不正确"),
        (
            "id_number",
            |p| p.id_number.replace_range(17.., if p.id_number.ends_with('0') { "1" } else { "0" }),
            "身份证号码校验位不正确，请核对",
        ),
        ("birth_date", |p| p.birth_date = NaiveDate::from_ymd_opt(1991, 3, 7), "出生日期与身份证号码不一致"),
        ("birth_date", |p| p.birth_date = None, "请填写出生日期"),
        ("ethnicity", |p| p.ethnicity.clear(), "请填写民族"),
        ("political_status", |p| p.political_status.clear(), "请选择政治面貌"),
        ("region", |p| p.region = "4401".into(), "请选择所在地区"),
        ("mobile", |p| p.mobile = "1391234567".into(), "手机号码应为11位数字，以1开头"),
        ("office_phone", |p| p.office_phone = "办公室".into(), "办公电话格式不正确，如010-88250337"),
        ("email", |p| p.email = "zhou.example.cn".into(), "电子邮件格式不正确，如name@example.com"),
        ("mailing_address", |p| p.mailing_address.clear(), "请填写通讯地址"),
        ("postal_code", |p| p.postal_code = "31001a".into(), "邮政编码应为6位数字"),
        ("qq", |p| p.qq = "12".into(), "QQ号应为5至12位数字"),
        ("employment_status", |p| p.employment_status.clear(), "请选择职业状态"),
        ("work_unit", |p| p.work_unit.clear(), "请填写工作单位"),
        ("unit_nature", |p| p.unit_nature.clear(), "请选择单位性质"),
        ("education", |p| p.education.clear(), "请选择学历"),
        ("school", |p| p.school.clear(), "请填写毕业院校"),
        ("qualification_method", |p| p.qualification_method = "luck".into(), "请选择资格取得方式"),
        ("exam_cert_no", |p| p.exam_cert_no = "QZ2333".into(), "全科合格证号格式应为QZ或QY加9位数字，如QZ234400123"),
        (
            "exam_cert_no",
            |p| {
                p.qualification_method = "assessment".into();
                p.exam_cert_no = " ".into();
            },
            "请填写全科合格证号或考核批准文号",
        ),
        ("exam_year", |p| p.exam_year = Some(1985), "全科合格年份应在1991至2026之间"),
        ("international_quals", |p| p.international_quals = vec!["火星会计师".into()], "未知的国际资格：火星会计师"),
        ("achievements", |p| p.achievements = "成".repeat(501), "不超过500个字"),
    ];
    for (field, change, message) in cases {
        let mut p = profile(81);
        change(&mut p);
        let e = member_admission::submit(&t.app, application(p)).await.unwrap_err();
        // The upper bound of the exam year is this year.
        let expected = message.replace("2026", &chrono::Datelike::year(&t.app.today()).to_string());
        assert_eq!(field_of(e, field), expected, "{field}");
    }
    let n = payload::Entity::find().count(t.app.db.conn()).await.unwrap();
    assert_eq!(n, 0, "no refused application was saved");
}

fn field_of(e: AppError, key: &str) -> String {
    match e {
        AppError::Invalid(f) => f.get(key).unwrap_or("(no message)").to_owned(),
        other => panic!("{other:?}"),
    }
}
