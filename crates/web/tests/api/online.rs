//! 在线学习 (seed 004 chapters 1–2): the institute of the year is locked,
//! required courses come first, progress counts time and not jumps, one tab
//! at a time, hours wait for 评价 and are credited the next day once, a
//! member pays first, and institutes post signed, idempotent batches.

use axum::body::Body;
use axum::http::Request;
use chrono::Duration;
use cmis_app::attachments::Incoming;
use cmis_app::learning::catalogue::{self, CourseForm, LessonForm};
use cmis_app::learning::study;
use cmis_app::learning::{credit, ledger, records, reports};
use cmis_app::{Actor, AppError};
use cmis_domain::learning::CourseState;
use cmis_domain::{Hours, UserType};

use crate::cpa_check::actor_of;
use crate::helpers::*;

/// A few bytes that are an mp4 by their content.
pub const MP4: &[u8] = b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41\0\0\0\x08free";

pub struct Catalogue {
    pub institute: i32,
    pub required: i32,
    pub elective: i32,
    /// The required course's lessons (60 s and 30 s), then the elective's.
    pub lessons: Vec<i32>,
}

/// Publishes, as the institute's staff `login`, a required course of two
/// lessons and an elective of one, for both audiences, this year.
pub async fn catalogue(t: &TestApp, login: &str) -> Catalogue {
    // Noon of the test's day: the minutes of study stay in its year, whatever the clock.
    t.clock.set(credit::start_of(t.app.today()) + Duration::hours(12));
    let staff = actor_of(t, login).await;
    let year = cmis_app::learning::year_of(&t.app).to_string();
    let course = |title: &str, kind: &str, fee: &str| CourseForm {
        year: year.clone(),
        title: title.into(),
        kind: kind.into(),
        audience: "both".into(),
        category: if kind == "required" { "ethics".into() } else { "professional".into() },
        form: "online".into(),
        fee: fee.into(),
        intro: String::new(),
    };
    let required = catalogue::create(&t.app, &staff, &course("职业道德守则", "required", "")).await.unwrap();
    let elective = catalogue::create(&t.app, &staff, &course("审计数据分析", "elective", "120")).await.unwrap();
    let mut lessons = Vec::new();
    for (c, title, hours, duration) in
        [(required, "第一讲", "1", "1:00"), (required, "第二讲", "0.5", "0:30"), (elective, "第一讲", "2", "0:20")]
    {
        let f = LessonForm { title: title.into(), hours: hours.into(), duration: duration.into() };
        let file = Incoming::whole("lesson.mp4", bytes::Bytes::from_static(MP4));
        lessons.push(catalogue::add_lesson(&t.app, &staff, c, &f, file).await.unwrap());
    }
    for c in [required, elective] {
        catalogue::set_state(&t.app, &staff, c, CourseState::Published).await.unwrap();
    }
    Catalogue { institute: staff.institute_id.unwrap(), required, elective, lessons }
}

async fn cpa(t: &TestApp) -> Actor {
    actor_of(t, &t.login_of(UserType::Cpa).await).await
}

/// Watches a lesson to its end from `tab`, reporting every five seconds.
async fn watch(t: &TestApp, a: &Actor, lesson: i32, tab: &str, secs: i32) {
    let mut at = 0;
    while at < secs {
        t.clock.advance(Duration::seconds(5));
        at += 5;
        study::beat(&t.app, a, lesson, tab, at.min(secs)).await.unwrap();
    }
}

#[tokio::test]
async fn the_institute_of_the_year_is_locked_until_the_association_releases_it() {
    let t = TestApp::new().await;
    let c = catalogue(&t, "bnaistaff").await;
    let a = cpa(&t).await;
    assert!(study::catalogue(&t.app, &a).await.unwrap().is_none(), "nothing before a choice");
    let chosen = study::choose(&t.app, &a, c.institute).await.unwrap();
    assert_eq!(chosen.institute.name, "北京国家会计学院");
    let other = cmis_app::learning::institutes(&t.app).await.unwrap()[1].id;
    match study::choose(&t.app, &a, other).await {
        Err(AppError::Refused(m)) => assert!(m.contains("当年不可更改"), "{m}"),
        r => panic!("a second choice: {:?}", r.map(|c| c.institute.name)),
    }
    // Twenty choices at once by a member: one stands.
    let m = actor_of(&t, &t.login_of(UserType::NonPracticingMember).await).await;
    let tries = (0..20).map(|i| {
        let (app, m) = (t.app.clone(), m.clone());
        tokio::spawn(async move { study::choose(&app, &m, 1 + i % 3).await.is_ok() })
    });
    let ok = futures::future::join_all(tries).await.into_iter().filter(|r| *r.as_ref().unwrap()).count();
    assert_eq!(ok, 1);
    // 在线学习情况: the learner's city association sees the choice, another city does not.
    let year = cmis_app::learning::year_of(&t.app);
    let (mine, elsewhere) = city_staff(&t, a.cpa_id.unwrap()).await;
    let f = reports::LearnerFilter::default();
    let seen = |staff: Actor| {
        let app = t.app.clone();
        let f = f.clone();
        async move { reports::association_learners(&app, &staff, &f, year).await.unwrap().items }
    };
    assert!(seen(actor_of(&t, &mine).await).await.iter().any(|r| r.choice_id == chosen.id));
    assert!(!seen(actor_of(&t, &elsewhere).await).await.iter().any(|r| r.choice_id == chosen.id));
    // A city cannot release; another province does not see it; CICPA releases, with a reason.
    let choice = chosen.id;
    let city = actor_of(&t, "staff4401").await;
    assert!(matches!(study::release(&t.app, &city, choice, "调动").await, Err(AppError::Forbidden)));
    let national = actor_of(&t, "staffcicpa").await;
    assert!(matches!(study::release(&t.app, &national, choice, " ").await, Err(AppError::Invalid(_))));
    study::release(&t.app, &national, choice, "学员申请更换学院").await.unwrap();
    assert!(study::release(&t.app, &national, choice, "再次").await.is_err(), "once");
    let again = study::choose(&t.app, &a, other).await.unwrap();
    assert_eq!(again.institute.name, "上海国家会计学院");
    // Now 上海's catalogue (empty): 北京's courses are not open to the learner.
    assert!(matches!(study::open_course(&t.app, &a, c.required).await, Err(AppError::NotFound(_))));
}

/// The login of a staff member of the CPA's city association, and of another city's.
async fn city_staff(t: &TestApp, cpa_id: i32) -> (String, String) {
    use cmis_store::entity::{association, cpa, user};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let db = t.app.db.conn();
    let city = cpa::Entity::find_by_id(cpa_id).one(db).await.unwrap().unwrap().city_association_id.expect("a city");
    let cities: Vec<i32> = association::Entity::find()
        .filter(association::Column::Level.eq(cmis_domain::AssociationLevel::City.code()))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    let staff = user::Entity::find()
        .filter(user::Column::UserType.eq(UserType::AssociationStaff.code()))
        .filter(user::Column::AssociationId.is_in(cities))
        .all(db)
        .await
        .unwrap();
    let mine = staff.iter().find(|u| u.association_id == city).expect("staff of the city").login_name.clone();
    let other = staff.iter().find(|u| u.association_id != city).expect("another city's staff").login_name.clone();
    (mine, other)
}

#[tokio::test]
async fn required_courses_come_first_and_progress_counts_time_not_jumps() {
    let t = TestApp::new().await;
    let c = catalogue(&t, "bnaistaff").await;
    let a = cpa(&t).await;
    study::choose(&t.app, &a, c.institute).await.unwrap();
    match study::open_course(&t.app, &a, c.elective).await {
        Err(AppError::Refused(m)) => assert_eq!(m, "需先完成必修课程，才可以学习选修课程"),
        _ => panic!("an elective before the required course"),
    }
    let first = c.lessons[0];
    // A jump to the end counts what passed: nothing yet, then five seconds and the slack.
    let b = study::beat(&t.app, &a, first, "tab-aaaaaaaa", 60).await.unwrap();
    assert!(b.reached <= 5 && !b.finished, "{b:?}");
    t.clock.advance(Duration::seconds(5));
    let b = study::beat(&t.app, &a, first, "tab-aaaaaaaa", 60).await.unwrap();
    assert!(b.reached <= 15, "{b:?}");
    // Reports with no time between them earn nothing, however many.
    for _ in 0..50 {
        study::beat(&t.app, &a, first, "tab-aaaaaaaa", 60).await.unwrap();
    }
    assert!(study::beat(&t.app, &a, first, "tab-aaaaaaaa", 60).await.unwrap().reached <= 15);
    // A second tab is refused while the first one plays, and gets the lesson once it stops.
    t.clock.advance(Duration::seconds(5));
    match study::beat(&t.app, &a, first, "tab-bbbbbbbb", 20).await {
        Err(AppError::Refused(m)) => assert!(m.contains("同一时间只能学习一节课"), "{m}"),
        r => panic!("two tabs at once: {r:?}"),
    }
    // Two lessons at once from two tabs: the same.
    assert!(study::beat(&t.app, &a, c.lessons[1], "tab-bbbbbbbb", 5).await.is_err());
    let before = study::beat(&t.app, &a, first, "tab-aaaaaaaa", 15).await.unwrap().reached;
    t.clock.advance(Duration::seconds(cmis_domain::learning::TAB_HOLD_SECS + 1));
    let taken = study::beat(&t.app, &a, first, "tab-bbbbbbbb", 60).await.unwrap();
    let slack = cmis_domain::learning::SLACK_SECS as i32;
    assert!(taken.reached <= before + slack, "a tab that takes over earns nothing for the time before: {taken:?}");
    // 评价 waits for the end.
    match study::evaluate(&t.app, &a, first, "5", "").await {
        Err(AppError::Refused(m)) => assert!(m.contains("学完"), "{m}"),
        _ => panic!("evaluated before the end"),
    }
    watch(&t, &a, first, "tab-bbbbbbbb", 60).await;
    watch(&t, &a, c.lessons[1], "tab-bbbbbbbb", 30).await;
    assert!(study::open_course(&t.app, &a, c.elective).await.is_err(), "finished but not evaluated");
    assert!(matches!(study::evaluate(&t.app, &a, first, "6", "").await, Err(AppError::Invalid(_))));
    study::evaluate(&t.app, &a, first, "5", "讲得清楚").await.unwrap();
    study::evaluate(&t.app, &a, c.lessons[1], "4", "").await.unwrap();
    assert!(study::evaluate(&t.app, &a, first, "3", "").await.is_err(), "once");
    // The elective opens, and its lessons (the fee is the member's, not the CPA's).
    assert!(study::open_course(&t.app, &a, c.elective).await.is_ok());
    assert!(study::open_lesson(&t.app, &a, c.lessons[2]).await.unwrap().is_ok());
}

#[tokio::test]
async fn hours_wait_for_evaluation_and_are_credited_the_next_day_once() {
    let t = TestApp::new().await;
    // The year of the courses: the clock moves on (into the next year, at the turn of one).
    let year = cmis_app::learning::year_of(&t.app);
    let c = catalogue(&t, "bnaistaff").await;
    let a = cpa(&t).await;
    study::choose(&t.app, &a, c.institute).await.unwrap();
    watch(&t, &a, c.lessons[0], "tab-aaaaaaaa", 60).await;
    watch(&t, &a, c.lessons[1], "tab-aaaaaaaa", 30).await;
    study::evaluate(&t.app, &a, c.lessons[0], "5", "").await.unwrap();
    let total = || ledger::total(t.app.db.conn(), a.cpa_id, None, year);
    let before = total().await.unwrap();
    // Evaluated today: tomorrow's run credits it.
    assert_eq!(credit::run(&t.app, t.app.today(), "test").await.unwrap().0, 0);
    t.clock.advance(Duration::days(1));
    // Runs at once on two instances credit each lesson once.
    let second = t.second_instance_app().await;
    let today = t.app.today();
    let (x, y) = tokio::join!(credit::run(&t.app, today, "a"), credit::run(&second, today, "b"));
    assert_eq!(x.unwrap().0 + y.unwrap().0, 1);
    assert_eq!(credit::run(&t.app, today, "again").await.unwrap().0, 0, "a run again credits nothing");
    assert_eq!(total().await.unwrap(), before + Hours::whole(1), "the unevaluated lesson is not recorded");
    // The API's 学时查询 says the same.
    let mut client = t.client();
    let token = api_login(&mut client, "cpa", &a.login_name, PASSWORD).await;
    let r = client
        .send(
            Request::get(format!("/api/v1/me/learning-hours?year={year}"))
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let j: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(j["done"], (before + Hours::whole(1)).to_string(), "{j}");
    let entries = ledger::mine(&t.app, &a, year).await.unwrap();
    assert!(entries.iter().any(|e| e.source == "北京国家会计学院" && e.form == "网络"));
    // 学员学习情况 (and its Excel), 课程评价 and the association's 在线学习情况 count the same.
    let staff = actor_of(&t, "bnaistaff").await;
    let f = reports::LearnerFilter::default();
    let learners = reports::institute_learners(&t.app, &staff, &f, year).await.unwrap();
    let row = learners.items.iter().find(|r| r.number == a.login_name).expect("the learner");
    assert_eq!((row.completed, row.evaluated, row.credited), (2, 1, Hours::whole(1)));
    let other = actor_of(&t, "snaistaff").await;
    assert!(reports::institute_learners(&t.app, &other, &f, year).await.unwrap().items.is_empty());
    let (_, xlsx) = reports::export(&t.app, &staff, year).await.unwrap();
    assert!(xlsx.starts_with(b"PK"));
    let rated = reports::ratings(&t.app, &staff, year).await.unwrap();
    let first = rated.iter().find(|r| r.lesson == "第一讲" && r.course == "职业道德守则").unwrap();
    assert_eq!((first.completed, first.evaluated, first.average()), (1, 1, "5.00".to_owned()));
    let national = actor_of(&t, "staffcicpa").await;
    let all = reports::association_learners(&t.app, &national, &f, year).await.unwrap();
    assert!(all.items.iter().any(|r| r.number == a.login_name && r.credited == Hours::whole(1)));
    // When the year ends, its courses close.
    t.clock.set(credit::start_of(chrono::NaiveDate::from_ymd_opt(year + 1, 1, 1).unwrap()) + Duration::hours(9));
    assert!(matches!(study::open_course(&t.app, &a, c.required).await, Err(AppError::NotFound(_))));
    assert!(study::beat(&t.app, &a, c.lessons[1], "tab-aaaaaaaa", 10).await.is_err());
    t.clock.set(credit::start_of(today) + Duration::hours(12));
    // The scheduled run of the day exists with its counts.
    assert_eq!(credit::run_due(&t.app).await.unwrap(), 0);
    let national = actor_of(&t, "staffcicpa").await;
    let runs = credit::runs(&t.app, &national, 1).await.unwrap();
    assert_eq!(runs.items[0].credited, 1);
    assert_eq!(runs.items[0].runs, 3);
    // The next day's scheduled run, then 立即入账 by CICPA's staff: 执行人
    // names who ran it last.
    t.clock.set(credit::start_of(today.succ_opt().unwrap()) + Duration::hours(1));
    assert_eq!(credit::run_due(&t.app).await.unwrap(), 0);
    let runs = credit::runs(&t.app, &national, 1).await.unwrap();
    assert_eq!((runs.items[0].runs, runs.items[0].by_label()), (1, "系统定时".to_owned()));
    assert_eq!(credit::run_now(&t.app, &national).await.unwrap().0, 0);
    let runs = credit::runs(&t.app, &national, 1).await.unwrap();
    assert_eq!((runs.items[0].runs, runs.items[0].by_label()), (2, "staffcicpa".to_owned()));
}

#[tokio::test]
async fn a_non_practicing_member_pays_for_a_course_before_studying_it() {
    let t = TestApp::served(|s, _| {
        s.payment.provider = "dev".into();
        s.payment.secret = "test-payment-secret-01".into();
    })
    .await;
    let c = catalogue(&t, "bnaistaff").await;
    let m = actor_of(&t, &t.login_of(UserType::NonPracticingMember).await).await;
    study::choose(&t.app, &m, c.institute).await.unwrap();
    for l in &c.lessons[..2] {
        watch(&t, &m, *l, "tab-mmmmmmmm", 60).await;
        study::evaluate(&t.app, &m, *l, "5", "").await.unwrap();
    }
    // The course opens (its lessons and fee); its lessons wait for 交费.
    assert!(study::open_course(&t.app, &m, c.elective).await.unwrap().0.fee_due);
    assert!(study::open_lesson(&t.app, &m, c.lessons[2]).await.unwrap().is_err());
    assert!(study::beat(&t.app, &m, c.lessons[2], "tab-mmmmmmmm", 5).await.is_err(), "no study before paying");
    let old = cmis_app::learning::fees::start(&t.app, &m, c.elective).await.unwrap();
    assert_eq!(old.amount, "120.00");
    // The institute raises the fee before the member pays: the order follows it.
    let staff = actor_of(&t, "bnaistaff").await;
    let mut f = catalogue::detail(&t.app, &staff, c.elective).await.unwrap();
    f.course.fee_cents = 15000;
    let form = CourseForm {
        year: f.course.year.to_string(),
        title: f.course.title.clone(),
        kind: f.course.kind.code().into(),
        audience: f.course.audience.code().into(),
        category: f.course.category.code().into(),
        form: f.course.form.code().into(),
        fee: "150".into(),
        intro: String::new(),
    };
    catalogue::update(&t.app, &staff, c.elective, &form).await.unwrap();
    let p = cmis_app::learning::fees::start(&t.app, &m, c.elective).await.unwrap();
    assert_eq!(p.amount, "150.00");
    assert_ne!(p.order_no, old.order_no, "the old order's notification matches nothing");
    let n = cmis_app::payment::Notification {
        order_no: p.order_no.clone(),
        amount_cents: 15000,
        txn_id: "T1".into(),
        paid_at: t.app.now(),
    };
    let (body, sig) = cmis_app::payment::dev::sign_notification(&t.app.settings, &n);
    assert!(cmis_app::member_inspection::fees::notify(&t.app, &body, "0000").await.is_err(), "a forged notice");
    cmis_app::member_inspection::fees::notify(&t.app, &body, &sig).await.unwrap();
    cmis_app::member_inspection::fees::notify(&t.app, &body, &sig).await.unwrap();
    assert!(study::open_lesson(&t.app, &m, c.lessons[2]).await.unwrap().is_ok());
    assert!(cmis_app::learning::fees::start(&t.app, &m, c.elective).await.is_err(), "paid once");
}

async fn post(t: &TestApp, key: &str, secret: &str, at: i64, body: &str) -> Response {
    let path = "/api/v1/institute/learning-records";
    let mut req = Request::builder().method("POST").uri(path).header("content-type", "application/json");
    for (h, v) in records::headers(key, secret, path, at, body.as_bytes()) {
        req = req.header(h, v);
    }
    t.client().send(req.body(Body::from(body.to_owned())).unwrap()).await
}

/// 北京国家会计学院's staff with a new key, and a CPA to post records for,
/// at the test's clock.
struct Posting {
    staff: Actor,
    key: String,
    secret: String,
    cpa_no: String,
    cpa: Actor,
    year: i32,
    on: chrono::NaiveDate,
    now: i64,
}

impl Posting {
    async fn new(t: &TestApp) -> Posting {
        let staff = actor_of(t, "bnaistaff").await;
        let (key, secret) = records::create_key(&t.app, &staff).await.unwrap();
        Posting {
            staff,
            key,
            secret,
            cpa_no: t.login_of(UserType::Cpa).await,
            cpa: cpa(t).await,
            year: cmis_app::learning::year_of(&t.app),
            on: t.app.today(),
            now: t.app.now().timestamp(),
        }
    }
}

/// One online record of a CPA as an institute's platform sends it.
fn record(id: &str, cpa_no: &str, hours: &str, year: i32, on: chrono::NaiveDate) -> String {
    format!(
        r#"{{"record_id":"{id}","learner_type":"cpa","learner_no":"{cpa_no}","year":{year},"hours":"{hours}","category":"professional","form":"online","title":"审计实务","learned_on":"{on}"}}"#
    )
}

#[tokio::test]
async fn institutes_post_signed_idempotent_batches_with_reversals() {
    let t = TestApp::new().await;
    let Posting { staff, key, secret, cpa_no, cpa: a, year, on, now } = Posting::new(&t).await;
    let row = |id: &str, no: &str, hours: &str| record(id, no, hours, year, on);
    let body = format!(
        r#"{{"records":[{},{},{}]}}"#,
        row("R1", &cpa_no, "2.5"),
        row("R2", "110000000000", "1"),
        row("R3", &cpa_no, "abc")
    );
    // Forged, stale and unknown-key calls change nothing.
    assert_eq!(post(&t, &key, "wrong-secret", now, &body).await.status, 401);
    assert_eq!(post(&t, &key, &secret, now - 600, &body).await.status, 401);
    assert_eq!(post(&t, "ik_unknown", &secret, now, &body).await.status, 401);
    let total = || ledger::total(t.app.db.conn(), a.cpa_id, None, year);
    let before = total().await.unwrap();
    let r = post(&t, &key, &secret, now, &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let j: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(j["accepted"], 1);
    assert_eq!(j["refused"][0]["record_id"], "R2");
    assert!(j["refused"][0]["reason"].as_str().unwrap().contains("学员不存在"));
    assert_eq!(j["refused"][1]["index"], 2);
    // The same call again: nothing new.
    let j: serde_json::Value = serde_json::from_str(&post(&t, &key, &secret, now, &body).await.body).unwrap();
    assert_eq!((j["accepted"].as_u64(), j["duplicates"].as_u64()), (Some(0), Some(1)));
    assert_eq!(total().await.unwrap(), before + Hours::from_hundredths(250));
    // Read back as the ledger keeps it: the day, the form, the institute.
    let entries = ledger::mine(&t.app, &a, year).await.unwrap();
    let e = entries.iter().find(|e| e.hours == Hours::from_hundredths(250)).expect("the posted record");
    assert_eq!((e.learned_on, e.form, e.source.as_str()), (Some(on), "网络", "北京国家会计学院"));
    // A reversal takes it back, once; another institute's record cannot be taken back.
    let rev = format!(
        r#"{{"records":[{{"record_id":"X1","learner_type":"cpa","learner_no":"{cpa_no}","year":{year},"reverses":"R1"}},{{"record_id":"X2","learner_type":"cpa","learner_no":"{cpa_no}","year":{year},"reverses":"R1"}},{{"record_id":"X3","learner_type":"cpa","learner_no":"{cpa_no}","year":{year},"reverses":"R404"}}]}}"#
    );
    let j: serde_json::Value = serde_json::from_str(&post(&t, &key, &secret, now, &rev).await.body).unwrap();
    assert_eq!(j["accepted"], 1, "{j}");
    assert!(j["refused"][0]["reason"].as_str().unwrap().contains("已被冲销"), "{j}");
    assert!(j["refused"][1]["reason"].as_str().unwrap().contains("不存在"), "{j}");
    assert_eq!(total().await.unwrap(), before);
    // Hours as a JSON number are read from their text, never rounded through a float.
    let numbers = format!(
        r#"{{"records":[{},{}]}}"#,
        row("N1", &cpa_no, "1.5").replace(r#""hours":"1.5""#, r#""hours":1.5"#),
        row("N2", &cpa_no, "2").replace(r#""hours":"2""#, r#""hours":2.00000000000000000001"#)
    );
    let loose = format!(r#"{{"records":[{}]}}"#, row("D1", &cpa_no, "1").replace(&on.to_string(), &format!("+{on}")));
    let j: serde_json::Value = serde_json::from_str(&post(&t, &key, &secret, now, &numbers).await.body).unwrap();
    assert_eq!((j["accepted"].as_u64(), j["refused"][0]["record_id"].as_str()), (Some(1), Some("N2")), "{j}");
    assert_eq!(total().await.unwrap(), before + Hours::from_hundredths(150));
    // A day not written YYYY-MM-DD is refused, not read leniently.
    let j: serde_json::Value = serde_json::from_str(&post(&t, &key, &secret, now, &loose).await.body).unwrap();
    assert!(j["refused"][0]["reason"].as_str().unwrap().contains("YYYY-MM-DD"), "{j}");
    // A revoked key signs nothing; more than 10,000 rows are refused whole.
    let many = format!(r#"{{"records":[{}]}}"#, vec![row("M", &cpa_no, "1"); 10_001].join(","));
    assert_eq!(post(&t, &key, &secret, now, &many).await.status, 422);
    let id = records::keys(&t.app, &staff).await.unwrap()[0].id;
    records::revoke_key(&t.app, &staff, id).await.unwrap();
    assert_eq!(post(&t, &key, &secret, now, &body).await.status, 401);
    // Another institute's staff cannot revoke or see it.
    let other = actor_of(&t, "snaistaff").await;
    assert!(records::keys(&t.app, &other).await.unwrap().is_empty());
}

/// An institute's platform sending many batches at once would queue every
/// other write behind them: two run at once, a third is told to wait (429)
/// and saves nothing, and the count is exact.
#[tokio::test]
async fn an_institute_runs_two_batches_at_once_and_a_third_waits() {
    let t = TestApp::new().await;
    let Posting { key, secret, cpa_no, cpa: a, year, on, now, .. } = Posting::new(&t).await;
    let batch = |call: usize| {
        let rows: Vec<String> =
            (0..records::MAX_ROWS).map(|i| record(&format!("C{call}-{i}"), &cpa_no, "0.01", year, on)).collect();
        format!(r#"{{"records":[{}]}}"#, rows.join(","))
    };
    let bodies: Vec<String> = (0..8).map(batch).collect();
    let before = ledger::total(t.app.db.conn(), a.cpa_id, None, year).await.unwrap();
    let answers = futures::future::join_all(bodies.iter().map(|b| post(&t, &key, &secret, now, b))).await;
    let done = answers.iter().filter(|r| r.status == 200).count();
    let waiting: Vec<_> = answers.iter().filter(|r| r.status == 429).collect();
    assert_eq!(done + waiting.len(), 8, "{:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
    assert!(done >= 2 && !waiting.is_empty(), "{done} done, {} waiting", waiting.len());
    assert!(waiting[0].body.contains("请在其返回后再提交"), "{}", waiting[0].body);
    let after = ledger::total(t.app.db.conn(), a.cpa_id, None, year).await.unwrap();
    assert_eq!(
        after,
        before + Hours::from_hundredths((done * records::MAX_ROWS) as i64),
        "exactly the batches answered 200"
    );
    // Once they have returned, the next is taken.
    assert_eq!(post(&t, &key, &secret, now, &batch(8)).await.status, 200);
}

#[tokio::test]
async fn lesson_material_is_checked_by_content_and_streamed_in_ranges() {
    let t = TestApp::new().await;
    let c = catalogue(&t, "bnaistaff").await;
    let staff = actor_of(&t, "bnaistaff").await;
    let f = LessonForm { title: "x".into(), hours: "1".into(), duration: "1:00".into() };
    let draft = catalogue::create(
        &t.app,
        &staff,
        &CourseForm {
            year: cmis_app::learning::year_of(&t.app).to_string(),
            title: "草稿".into(),
            kind: "elective".into(),
            audience: "cpa".into(),
            category: "professional".into(),
            form: "online".into(),
            ..CourseForm::default()
        },
    )
    .await
    .unwrap();
    let exe = Incoming::whole("lesson.mp4", bytes::Bytes::from_static(b"MZ\x90\0\x03\0\0\0"));
    assert!(matches!(catalogue::add_lesson(&t.app, &staff, draft, &f, exe).await, Err(AppError::Invalid(_))));
    let misnamed = Incoming::whole("lesson.pdf", bytes::Bytes::from_static(MP4));
    assert!(matches!(catalogue::add_lesson(&t.app, &staff, draft, &f, misnamed).await, Err(AppError::Invalid(_))));
    assert!(catalogue::set_state(&t.app, &staff, draft, CourseState::Published).await.is_err(), "no lessons");
    // A published course takes no new lessons.
    let late = Incoming::whole("lesson.mp4", bytes::Bytes::from_static(MP4));
    assert!(catalogue::add_lesson(&t.app, &staff, c.required, &f, late).await.is_err());
    // The learner's player asks for ranges.
    let login = t.login_of(UserType::Cpa).await;
    let a = actor_of(&t, &login).await;
    study::choose(&t.app, &a, c.institute).await.unwrap();
    let mut s = t.client();
    s.login("cpa", &login, PASSWORD).await;
    let url = format!("/learning/lessons/{}/material", c.lessons[0]);
    let r = s.send(Request::get(&url).header("range", "bytes=4-7").body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, 206);
    assert_eq!(r.body, "ftyp");
    let r = s.send(Request::get(&url).header("range", "bytes=9999-").body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, 416);
    // An elective's material stays closed until the required course is done.
    assert_eq!(s.get(&format!("/learning/lessons/{}/material", c.lessons[2])).await.status, 422);
}

#[tokio::test]
async fn a_catalogue_is_imported_from_excel_all_or_nothing_then_its_lessons_get_their_material() {
    use cmis_app::learning::catalogue_import::{self, HEADER};
    let t = TestApp::new().await;
    let staff = actor_of(&t, "bnaistaff").await;
    let y = cmis_app::learning::year_of(&t.app).to_string();
    let book = |rows: &[[&str; 11]]| {
        let mut b = rust_xlsxwriter::Workbook::new();
        let s = b.add_worksheet();
        for (r, row) in std::iter::once(&HEADER).chain(rows).enumerate() {
            for (c, v) in row.iter().enumerate() {
                s.write_string(r as u32, c as u16, *v).unwrap();
            }
        }
        bytes::Bytes::from(b.save_to_buffer().unwrap())
    };
    let good = [&y as &str, "风险导向审计", "选修", "执业会员", "专业", "网络", "0", "", "第一讲", "1.5", "45:00"];
    let second = [&y as &str, "风险导向审计", "选修", "执业会员", "专业", "网络", "0", "", "第二讲", "1.5", "45:00"];
    let mut differs = second;
    differs[6] = "30";
    let bad = [&y as &str, "审计沟通", "必须", "执业会员", "专业", "网络", "-1", "", "", "x", "1:99"];
    // One wrong row: nothing saved, every wrong row named.
    match catalogue_import::import(&t.app, &staff, book(&[good, differs, bad])).await {
        Err(AppError::Invalid(e)) => {
            let m = e.get("catalogue").unwrap();
            assert!(m.contains("第3行：同一课程") && m.contains("第4行：课程类型应为必修或选修"), "{m}");
        }
        r => panic!("a wrong workbook: {r:?}"),
    }
    assert!(catalogue::list(&t.app, &staff, &Default::default()).await.unwrap().items.is_empty());
    assert_eq!(catalogue_import::import(&t.app, &staff, book(&[good, second])).await.unwrap(), (1, 2));
    match catalogue_import::import(&t.app, &staff, book(&[good])).await {
        Err(AppError::Invalid(e)) => assert!(e.get("catalogue").unwrap().contains("已存在")),
        r => panic!("imported twice: {r:?}"),
    }
    // A file that is not a workbook.
    assert!(catalogue_import::import(&t.app, &staff, bytes::Bytes::from_static(b"MZ")).await.is_err());
    // Not published until every lesson has its material.
    let id = catalogue::list(&t.app, &staff, &Default::default()).await.unwrap().items[0].course.id;
    match catalogue::set_state(&t.app, &staff, id, CourseState::Published).await {
        Err(AppError::Refused(m)) => assert!(m.contains("尚未上传"), "{m}"),
        r => panic!("published without material: {r:?}"),
    }
    for l in catalogue::detail(&t.app, &staff, id).await.unwrap().lessons {
        let file = Incoming::whole("lesson.mp4", bytes::Bytes::from_static(MP4));
        catalogue::attach_material(&t.app, &staff, id, l.id, file).await.unwrap();
    }
    catalogue::set_state(&t.app, &staff, id, CourseState::Published).await.unwrap();
    // Another institute's staff do not see it.
    let other = actor_of(&t, "snaistaff").await;
    assert!(matches!(catalogue::detail(&t.app, &other, id).await, Err(AppError::NotFound(_))));
    let file = Incoming::whole("lesson.mp4", bytes::Bytes::from_static(MP4));
    assert!(catalogue::attach_material(&t.app, &other, id, 1, file).await.is_err());
}

#[tokio::test]
async fn an_operator_adds_institute_staff_who_must_change_the_initial_password() {
    let t = TestApp::new().await;
    let pw = cmis_app::learning::add_staff(&t.app, "cli:test", "xnai", "xnai_li", "李老师").await.unwrap();
    assert!(cmis_app::learning::add_staff(&t.app, "cli:test", "xnai", "xnai_li", "").await.is_err(), "once");
    assert!(cmis_app::learning::add_staff(&t.app, "cli:test", "nope", "x_1234", "").await.is_err());
    let mut s = t.client();
    let r = s.login("institute", "xnai_li", &pw).await;
    assert_eq!(r.location(), "/account/password");
    assert_eq!(s.get("/institute/courses").await.location(), "/account/password");
    let a = actor_of(&t, "xnai_li").await;
    assert_eq!(a.association_name, "厦门国家会计学院");
}
