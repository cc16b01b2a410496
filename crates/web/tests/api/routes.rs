//! Every route of the router, for every role, with records of another scope:
//! the answer must be the policy's. The routes are read from the router
//! itself, so a route added without an entry in `expect` fails this test.
//!
//! The policy: no account → the login (pages) or 401 (API); a function the
//! role does not have → 403; a record outside the actor's scope → 404, as if
//! it did not exist; otherwise served (a page, a redirect, or a validation
//! message for the empty form sent here).

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Request, header};
use cmis_app::review::{self, QueueFilter};
use cmis_domain::UserType;
use cmis_domain::member_inspection::MemberInspection;
use cmis_store::entity::{member, notice, review_case, user};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::admission::{application, credentials_of, profile, staff};
use crate::helpers::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Anonymous,
    /// The first demo member (Guangdong).
    Member,
    Cpa,
    Firm,
    /// 广州市注协.
    City,
    /// 广东省注协.
    Province,
    /// 浙江省注协: the province of the records of another scope.
    OtherProvince,
    National,
    /// 北京国家会计学院's staff: the records of another scope are 上海's.
    Institute,
}
use Role::*;

const ROLES: [Role; 9] = [Anonymous, Member, Cpa, Firm, City, Province, OtherProvince, National, Institute];
const STAFF: &[Role] = &[City, Province, OtherProvince, National];
const PROVINCIAL: &[Role] = &[Province, OtherProvince];
const ABOVE_CITY: &[Role] = &[Province, OtherProvince, National];
const MEMBER: &[Role] = &[Member];
const NATIONAL: &[Role] = &[National];
const CPA: &[Role] = &[Cpa];
/// Who reviews CPAs' checks: their firm and the associations.
const CPA_REVIEW: &[Role] = &[Firm, City, Province, OtherProvince, National];
/// Who sees the records of Zhejiang: its association and CICPA.
const ZHEJIANG: &[Role] = &[OtherProvince, National];
const FIRM: &[Role] = &[Firm];
const LEARNERS: &[Role] = &[Member, Cpa];
const INSTITUTE: &[Role] = &[Institute];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// The login page (pages) or 401 (API).
    Login,
    Denied,
    Missing,
    Served,
    Error,
}

#[derive(Clone, Copy)]
enum Expect {
    /// Anyone, logged in or not: the same answer for every role, never a server error.
    Public,
    /// Any account.
    LoggedIn,
    /// These roles; the others 403.
    Only(&'static [Role]),
    /// A record of another scope: those that `see` it are served, those that
    /// `may` (have the function) but do not see it get 404, the rest 403.
    Scoped { may: &'static [Role], see: &'static [Role] },
    /// Nobody's: a record only its owner (none of the roles) has → 404 for every account.
    Others,
}

fn expected(e: Expect, role: Role) -> Option<Class> {
    use Class::*;
    Some(match (e, role) {
        (Expect::Public, _) => return None,
        (_, Anonymous) => Login,
        (Expect::LoggedIn, _) => Served,
        (Expect::Only(roles), r) => {
            if roles.contains(&r) {
                Served
            } else {
                Denied
            }
        }
        (Expect::Scoped { may, see }, r) => {
            if see.contains(&r) {
                Served
            } else if may.contains(&r) {
                Missing
            } else {
                Denied
            }
        }
        (Expect::Others, _) => Missing,
    })
}

/// The records of another scope the ids point at.
struct Ids {
    /// An admission application to 浙江省注协.
    admission: i32,
    /// A Zhejiang member's annual inspection.
    inspection: i32,
    /// A Zhejiang member's uploaded file.
    attachment: i32,
    /// A message to the Zhejiang member.
    message: i32,
    /// An export by 浙江省注协's staff.
    job: i32,
    /// The Zhejiang member's certificate number.
    cert_no: String,
    notice: i32,
    /// A Zhejiang CPA's annual check.
    cpa_check: i32,
    /// That CPA's face check.
    face_check: i32,
    /// A synchronisation run.
    run: i32,
    /// A batch of a Zhejiang firm, with that CPA's check.
    batch: i32,
    /// That CPA's number.
    cpa_no: String,
    /// A published course of 上海国家会计学院, its lesson, and its API key.
    course: i32,
    lesson: i32,
    key: i32,
    /// The Zhejiang member's choice of institute.
    choice: i32,
}

/// The concrete requests for a route: its address with ids of another scope
/// filled in, and what each role must get.
fn expect(path: &str, method: &str, ids: &Ids) -> Option<Vec<(String, Expect)>> {
    use Expect::*;
    let one = |p: String, e: Expect| Some(vec![(p, e)]);
    let same = |e: Expect| one(path.to_owned(), e);
    let admission = Scoped { may: ABOVE_CITY, see: ZHEJIANG };
    let inspection = Scoped { may: STAFF, see: ZHEJIANG };
    let job =
        Scoped { may: &[Member, Cpa, Firm, City, Province, OtherProvince, National, Institute], see: &[OtherProvince] };
    let with = |id: i32| path.replace("{id}", &id.to_string());
    match (method, path) {
        // The portal and what anyone may use.
        (
            _,
            "/" | "/login" | "/captcha" | "/captcha/login" | "/contacts" | "/notices" | "/favicon.ico" | "/healthz",
        ) => same(Public),
        (_, "/notices/{id}") => one(with(ids.notice), Public),
        (_, p) if p.starts_with("/member-admission") || p.starts_with("/password/") => same(Public),
        (_, p) if p.starts_with("/api/v1/member-admission/") || p.starts_with("/api/v1/password/") => same(Public),
        (_, "/api/v1/captcha" | "/api/v1/auth/login" | "/api/v1/organisations") => same(Public),
        (_, "/pay/notify" | "/dev/pay/orders" | "/dev/outbox") => same(Public),
        (_, "/dev/pay/cashier/{token}") => one("/dev/pay/cashier/x".into(), Public),
        (_, "/q/{payload}" | "/v/{payload}") => one(path.replace("{payload}", "AAAA"), Public),
        (_, "/certificate/public-key") => same(Public),
        (_, "/static/{*path}") => one("/static/app.css".into(), Public),
        (_, "/api/docs" | "/api/docs/" | "/api/openapi.json" | "/api/v1") => same(Public),
        (_, "/api/docs/{*rest}") => one("/api/docs/index.html".into(), Public),

        // Any account.
        // Logging out without an account goes to the portal, as with one.
        (_, "/logout") => same(Public),
        (_, "/home" | "/me" | "/messages" | "/messages/preview" | "/account/password" | "/jobs") => same(LoggedIn),
        (_, "/api/v1/me" | "/api/v1/auth/logout" | "/api/v1/auth/password") => same(LoggedIn),
        (_, "/messages/{id}") => one(with(ids.message), Others),
        (_, "/jobs/{id}/import") => one(with(ids.job), Scoped { may: STAFF, see: &[OtherProvince] }),
        (_, p) if p.starts_with("/jobs/{id}") => one(with(ids.job), job),

        // A learner's own.
        (_, "/api/v1/me/learning-hours") => same(Only(LEARNERS)),
        // A member's own.
        (_, "/profile" | "/profile/edit") => same(Only(MEMBER)),
        (_, p) if p.starts_with("/certificate") => same(Only(MEMBER)),
        (_, "/member-inspection/{id}" | "/member-inspection/done/{id}" | "/member-inspection/files/{id}/delete") => {
            let id = if path.contains("files") { ids.attachment } else { ids.inspection };
            one(with(id), Scoped { may: MEMBER, see: &[] })
        }
        (_, "/api/v1/me/member-inspections/{id}") => one(with(ids.inspection), Scoped { may: MEMBER, see: &[] }),
        // A CPA's own.
        (_, "/cpa-check/view/{id}" | "/cpa-check/done/{id}" | "/api/v1/me/cpa-checks/{id}") => {
            one(with(ids.cpa_check), Scoped { may: CPA, see: &[] })
        }
        (_, "/cpa-check/face/{id}" | "/cpa-check/face/{id}/status" | "/api/v1/me/cpa-check/face-checks/{id}") => {
            one(with(ids.face_check), Scoped { may: CPA, see: &[] })
        }
        (_, "/cpa-check/files/{id}/delete") => one(with(ids.attachment), Scoped { may: CPA, see: &[] }),
        (_, p) if p.starts_with("/cpa-check") || p.starts_with("/api/v1/me/cpa-check") => same(Only(CPA)),
        // The face provider's side: signed, or only with the development provider (off here).
        (_, "/api/v1/face/notify" | "/dev/face/api/start" | "/dev/face/api/result") => same(Public),
        (_, "/dev/face/h5/{biz}") => one("/dev/face/h5/x".into(), Public),
        (_, p) if p.starts_with("/face/{token}") => one(p.replace("{token}", "x"), Public),
        (_, p) if p.starts_with("/member-inspection") || p.starts_with("/api/v1/me/") => same(Only(MEMBER)),
        (_, "/attachments") => one("/attachments?context=inspection_materials".into(), Only(MEMBER)),
        ("GET", "/attachments/{id}") => one(
            with(ids.attachment),
            Scoped { may: &[Member, Cpa, Firm, City, Province, OtherProvince, National, Institute], see: ZHEJIANG },
        ),
        // Only the uploader removes a draft: another's is 404 to everyone.
        (_, "/attachments/{id}/delete") => one(with(ids.attachment), Others),

        // The associations' functions.
        (
            _,
            "/association/member-admissions"
            | "/association/member-admissions/batch"
            | "/association/member-admissions/export",
        ) => same(Only(ABOVE_CITY)),
        (_, p) if p.starts_with("/association/member-admissions/{id}") => one(with(ids.admission), admission),
        (
            _,
            "/association/member-inspections"
            | "/association/member-inspections/batch"
            | "/association/member-inspections/export",
        ) => same(Only(STAFF)),
        (_, p) if p.starts_with("/association/member-inspections/{id}") => one(with(ids.inspection), inspection),
        (_, "/association/member-inspection-fees" | "/api/v1/association/member-inspection-fees/confirm") => {
            same(Only(PROVINCIAL))
        }
        (_, p) if p.starts_with("/association/member-inspection-progress") => same(Only(STAFF)),
        (_, "/association/member-inspection-settings") => same(Only(ABOVE_CITY)),
        (_, p) if p.starts_with("/association/learning-records") => same(Only(STAFF)),
        (_, "/association/member-photo") => same(Only(STAFF)),
        (_, "/association/cpa-archive") => same(Only(ABOVE_CITY)),
        (_, "/association/exam-photos") => same(Only(NATIONAL)),
        (_, "/association/member-photo/image") => {
            one(format!("{path}?cert_no={}", ids.cert_no), Scoped { may: STAFF, see: ZHEJIANG })
        }
        (_, "/association/notices" | "/association/notices/new") => same(Only(NATIONAL)),
        (_, "/association/notices/{id}/edit") => one(with(ids.notice), Only(NATIONAL)),
        (_, "/association/deliveries") => same(Only(STAFF)),
        (_, "/association/cpa-check-settings" | "/association/offline-verifications") => same(Only(ABOVE_CITY)),
        (_, "/association/regulator") => same(Only(NATIONAL)),
        (_, "/association/regulator/{id}") => one(with(ids.run), Only(NATIONAL)),
        (_, "/firm/cpa-checks" | "/firm/cpa-checks/batch" | "/firm/cpa-checks/export") => same(Only(CPA_REVIEW)),
        (_, p) if p.starts_with("/firm/cpa-checks/{id}") => {
            one(with(ids.cpa_check), Scoped { may: CPA_REVIEW, see: ZHEJIANG })
        }
        // A firm's batches (another firm's are 404 to it) and the province's review of them.
        (
            _,
            "/firm/cpa-batches"
            | "/firm/cpa-batches/new"
            | "/firm/cpa-batches/returned"
            | "/firm/cpa-batches/files"
            | "/firm/cpa-review/not-applied"
            | "/firm/cpa-review/remind"
            | "/firm/cpa-status",
        ) => same(Only(FIRM)),
        (_, "/firm/cpa-batches/files/{id}/delete") => one(with(ids.attachment), Scoped { may: FIRM, see: &[] }),
        (_, p) if p.starts_with("/firm/cpa-batches/{id}") => one(with(ids.batch), Scoped { may: FIRM, see: &[] }),
        (_, p) if p.starts_with("/firm/cpa-qr/{cpa_no}") => {
            one(p.replace("{cpa_no}", &ids.cpa_no), Scoped { may: FIRM, see: &[] })
        }
        (_, "/association/cpa-batches" | "/association/cpa-batches/batch" | "/association/cpa-batches/export") => {
            same(Only(STAFF))
        }
        (_, p) if p.starts_with("/association/cpa-batches/{id}") => {
            one(with(ids.batch), Scoped { may: STAFF, see: ZHEJIANG })
        }
        (_, p) if p.starts_with("/association/cpa-check-progress") => same(Only(STAFF)),
        (_, "/association/cpa-check-delegation") => same(Only(PROVINCIAL)),
        (
            _,
            "/api/v1/firm/cpa-batches"
            | "/api/v1/firm/cpa-batch-materials"
            | "/api/v1/firm/cpa-batch-materials/files"
            | "/api/v1/firm/not-applied"
            | "/api/v1/firm/reminders"
            | "/api/v1/firm/cpas"
            | "/api/v1/firm/cpa-year",
        ) => same(Only(FIRM)),
        (_, p) if p.starts_with("/api/v1/firm/cpa-batches/{id}") => {
            one(with(ids.batch), Scoped { may: FIRM, see: &[] })
        }
        (_, "/api/v1/cpa-check-progress") => same(Only(STAFF)),
        (_, "/api/v1/cpa-review-delegation") => same(Only(PROVINCIAL)),

        // Online learning: the learners', the institutes' and the associations' sides.
        (_, "/learning" | "/learning/choose" | "/learning/hours") => same(Only(LEARNERS)),
        (_, "/learning/courses/{id}" | "/learning/courses/{id}/pay") => {
            one(with(ids.course), Scoped { may: LEARNERS, see: &[] })
        }
        (_, "/learning/lessons/{id}/material") => {
            one(with(ids.lesson), Scoped { may: &[Member, Cpa, Institute], see: &[] })
        }
        (_, p) if p.starts_with("/learning/lessons/{id}") => one(with(ids.lesson), Scoped { may: LEARNERS, see: &[] }),
        (
            _,
            "/institute/courses"
            | "/institute/courses/import"
            | "/institute/courses/template"
            | "/institute/learners"
            | "/institute/learners/export"
            | "/institute/ratings"
            | "/institute/keys",
        ) => same(Only(INSTITUTE)),
        (_, "/institute/keys/{id}/revoke") => one(with(ids.key), Scoped { may: INSTITUTE, see: &[] }),
        (_, p) if p.starts_with("/institute/courses/{id}") => one(
            p.replace("{id}", &ids.course.to_string()).replace("{lesson}", &ids.lesson.to_string()),
            Scoped { may: INSTITUTE, see: &[] },
        ),
        (_, "/association/learning") => same(Only(STAFF)),
        (_, "/association/learning/{id}/release") => one(with(ids.choice), Scoped { may: ABOVE_CITY, see: ZHEJIANG }),
        (_, "/association/learning-credits") => same(Only(NATIONAL)),
        (_, "/api/v1/institute/learning-records") => same(Public),

        // The reviews in the API, one pattern for every workflow.
        (_, "/api/v1/reviews/{workflow}" | "/api/v1/reviews/{workflow}/batch") => Some(vec![
            (path.replace("{workflow}", "member-admissions"), Only(ABOVE_CITY)),
            (path.replace("{workflow}", "member-inspections"), Only(STAFF)),
            (path.replace("{workflow}", "cpa-checks"), Only(CPA_REVIEW)),
            (path.replace("{workflow}", "cpa-batches"), Only(STAFF)),
        ]),
        (_, p) if p.starts_with("/api/v1/reviews/{workflow}/{id}") => Some(vec![
            (p.replace("{workflow}", "member-admissions").replace("{id}", &ids.admission.to_string()), admission),
            (p.replace("{workflow}", "member-inspections").replace("{id}", &ids.inspection.to_string()), inspection),
            (
                p.replace("{workflow}", "cpa-checks").replace("{id}", &ids.cpa_check.to_string()),
                Scoped { may: CPA_REVIEW, see: ZHEJIANG },
            ),
            (
                p.replace("{workflow}", "cpa-batches").replace("{id}", &ids.batch.to_string()),
                Scoped { may: STAFF, see: ZHEJIANG },
            ),
        ]),
        _ => None,
    }
}

/// The routes of the router and their methods, read from its description.
fn routes_of(router: &axum::Router) -> Vec<(String, Vec<String>)> {
    let text = format!("{router:?}");
    let mut methods: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut paths: BTreeMap<String, String> = BTreeMap::new();
    // `RouteId(n): MethodRouter(... allow_header: Bytes(b"GET,HEAD,POST") ...)` and `RouteId(n): "/path"`.
    let mut rest = text.as_str();
    while let Some(i) = rest.find("RouteId(") {
        rest = &rest[i + "RouteId(".len()..];
        let id = rest[..rest.find(')').unwrap()].to_owned();
        let after = &rest[rest.find(')').unwrap() + 1..];
        if let Some(p) = after.strip_prefix(": \"") {
            paths.insert(id, p[..p.find('"').unwrap()].to_owned());
        } else if after.starts_with(": MethodRouter") {
            let allow = &after[after.find("allow_header: ").unwrap()..];
            // `Skip`: a service mounted whole (the static files, the API's documentation), read with GET.
            let list = if allow.starts_with("allow_header: Bytes") {
                allow.split('"').nth(1).unwrap_or_default()
            } else {
                "GET"
            };
            methods.insert(id, list.split(',').filter(|m| !m.is_empty() && *m != "HEAD").map(str::to_owned).collect());
        }
    }
    let mut out: Vec<(String, Vec<String>)> = paths
        .into_iter()
        .filter(|(_, p)| !p.contains("__private__"))
        .map(|(id, p)| (p, methods.remove(&id).unwrap_or_default()))
        .collect();
    out.sort();
    out
}

fn class(r: &Response) -> Class {
    match r.status.as_u16() {
        401 => Class::Login,
        403 => Class::Denied,
        404 => Class::Missing,
        s if s >= 500 => Class::Error,
        _ if r.location().starts_with("/?expired") => Class::Login,
        _ => Class::Served,
    }
}

/// The routes that take a multipart upload.
const UPLOADS: &[&str] = &[
    "/attachments?",
    "/member-inspection/materials",
    "/member-inspection/proofs",
    "/association/member-photo",
    "/association/learning-records/import",
    "/association/exam-photos",
    "/cpa-check/files",
    "/association/regulator",
    "/api/v1/firm/cpa-batch-materials/files",
    "/institute/courses/import",
];

struct Actor {
    page: Client,
    token: Option<String>,
}

async fn log_in(t: &TestApp, role: Role) -> Actor {
    let (kind, login) = match role {
        Anonymous => {
            let mut page = t.client();
            page.get("/").await;
            return Actor { page, token: None };
        }
        Member => ("member", t.login_of(UserType::NonPracticingMember).await),
        Cpa => ("cpa", t.login_of(UserType::Cpa).await),
        Firm => ("firm", t.login_of(UserType::Firm).await),
        City => ("staff", "staff4401".to_owned()),
        Province => ("staff", "staff44".to_owned()),
        OtherProvince => ("staff", "staff33".to_owned()),
        National => ("staff", "staffcicpa".to_owned()),
        Institute => ("institute", "bnaistaff".to_owned()),
    };
    let mut page = t.client();
    let r = page.login(kind, &login, PASSWORD).await;
    assert_eq!(r.location(), "/home", "{role:?}");
    page.get("/home").await;
    let token = api_login(&mut page, kind, &login, PASSWORD).await;
    Actor { page, token: Some(token) }
}

async fn send(a: &mut Actor, method: &str, path: &str) -> Response {
    let mut b = Request::builder().method(method).uri(path);
    if path.starts_with("/api/v1") {
        if let Some(t) = &a.token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let body = if method == "GET" { Body::empty() } else { Body::from("{}") };
        return a.page.send(b.header(header::CONTENT_TYPE, "application/json").body(body).unwrap()).await;
    }
    if method == "GET" {
        return a.page.send(b.body(Body::empty()).unwrap()).await;
    }
    let token = a.page.fresh_csrf().await;
    // Uploads are multipart with the token first; other forms are urlencoded.
    // The batch's uploads: /firm/cpa-batches/files and /firm/cpa-batches/{id}/files.
    let batch_upload = (path.starts_with("/firm/cpa-batches/") && path.ends_with("/files"))
        || (path.starts_with("/institute/courses/") && (path.ends_with("/lessons") || path.ends_with("/material")));
    if UPLOADS.iter().any(|u| path.starts_with(u)) || batch_upload {
        let body = format!("--x\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{token}\r\n--x--\r\n");
        let b = b.header(header::CONTENT_TYPE, "multipart/form-data; boundary=x");
        return a.page.send(b.body(Body::from(body)).unwrap()).await;
    }
    let body = format!("_csrf={token}");
    a.page
        .send(b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(Body::from(body)).unwrap())
        .await
}

/// The records of another scope: a Zhejiang applicant who became a member,
/// with an inspection, a file and a message, and an export by Zhejiang's staff.
async fn records_of_another_scope(t: &TestApp) -> Ids {
    let p = profile(93);
    let no = cmis_app::member_admission::submit(&t.app, application(p.clone())).await.unwrap();
    crate::admission::confirm(t, &no).await;
    let creds = credentials_of(t, &p).await;
    let z = member::Entity::find()
        .filter(member::Column::CertNo.eq(&creds.cert_no))
        .one(t.app.db.conn())
        .await
        .unwrap()
        .unwrap();
    let z_user =
        user::Entity::find().filter(user::Column::MemberId.eq(z.id)).one(t.app.db.conn()).await.unwrap().unwrap();
    // A file the Zhejiang member uploads.
    let mut zc = t.client();
    zc.login("member", &creds.login_name, creds.initial_password.as_deref().unwrap()).await;
    let change = [
        ("old_password", creds.initial_password.as_deref().unwrap()),
        ("new_password", "Zhejiang2026"),
        ("confirm", "Zhejiang2026"),
    ];
    zc.post("/account/password", &change).await;
    zc.login("member", &creds.login_name, "Zhejiang2026").await;
    let r = zc.multipart("/attachments?context=inspection_materials", &[("材料.pdf", b"%PDF-1.4 z")]).await;
    let attachment: i32 = between(&r.body, "href=\"/attachments/", "\"").parse().unwrap();
    // Another application: a new one for another Zhejiang applicant.
    cmis_app::member_admission::submit(&t.app, application(profile(95))).await.unwrap();
    let admission = review_case::Entity::find()
        .filter(review_case::Column::Kind.eq("member_admission"))
        .filter(review_case::Column::State.eq("submitted"))
        .one(t.app.db.conn())
        .await
        .unwrap()
        .unwrap()
        .id;
    // The member's inspection, as the review kernel files it.
    let now = t.app.now();
    let case = review_case::ActiveModel {
        kind: Set("member_inspection".into()),
        state: Set("submitted".into()),
        year: Set(Some(inspected())),
        association_id: Set(z.association_id),
        city_association_id: Set(None),
        firm_id: Set(None),
        member_id: Set(Some(z.id)),
        applicant_user_id: Set(Some(z_user.id)),
        number: Set(z.cert_no.to_string()),
        name: Set(z.name.clone()),
        first_submitted_at: Set(now),
        submitted_at: Set(now),
        deadline: Set(now.date_naive()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(t.app.db.conn())
    .await
    .unwrap();
    cmis_store::entity::member_inspection::ActiveModel {
        case_id: Set(case.id),
        member_id: Set(z.id),
        year: Set(inspected()),
        hours_required_x100: Set(4000),
        hours_done_x100: Set(4000),
        fee_status: Set("confirmed".into()),
        deferral_reason: Set(None),
        flagged_enc: Set(None),
        profile_enc: Set(None),
    }
    .insert(t.app.db.conn())
    .await
    .unwrap();
    let tx = t.app.write().await.unwrap();
    cmis_app::messages::send(&tx, z_user.id, "通知", "正文", None).await.unwrap();
    tx.commit().await.unwrap();
    let message = cmis_store::entity::message::Entity::find()
        .filter(cmis_store::entity::message::Column::UserId.eq(z_user.id))
        .one(t.app.db.conn())
        .await
        .unwrap()
        .unwrap()
        .id;
    let zhejiang = staff(t, "staff33").await;
    let job = review::request_export::<MemberInspection>(&t.app, &zhejiang, &QueueFilter::default(), "年检审核")
        .await
        .unwrap();
    t.run_jobs().await;
    let notice = notice::Entity::find().one(t.app.db.conn()).await.unwrap().unwrap().id;
    // The first member's photo, for their certificate.
    let first = t.login_of(UserType::NonPracticingMember).await;
    let photo = crate::certificate::jpeg(t).await;
    cmis_app::certificate::approve_photo(&t.app, &staff(t, "staff44").await, &first, photo).await.unwrap();
    let (cpa_check, face_check, run) = crate::cpa_check::zhejiang_cpa_with_a_check(t).await;
    let firm = crate::cpa_check::actor_of(t, "33010999").await;
    let pdf = cmis_app::attachments::Incoming::whole("社保.pdf", bytes::Bytes::from_static(crate::inspection::PDF));
    cmis_app::cpa_check::batch::upload(&t.app, &firm, "社保证明材料", pdf).await.unwrap();
    let batch = cmis_app::cpa_check::batch::send(
        &t.app,
        &firm,
        &cmis_app::cpa_check::batch::Selection::Ticked(vec![cpa_check]),
    )
    .await
    .unwrap()
    .id;
    let other = crate::online::catalogue(t, "snaistaff").await;
    let key = {
        let a = crate::cpa_check::actor_of(t, "snaistaff").await;
        cmis_app::learning::records::create_key(&t.app, &a).await.unwrap();
        cmis_store::entity::institute_key::Entity::find().one(t.app.db.conn()).await.unwrap().unwrap().id
    };
    let z_actor = cmis_app::auth::actor_for(&t.app, z_user.id).await.unwrap().unwrap();
    let choice = cmis_app::learning::study::choose(&t.app, &z_actor, other.institute).await.unwrap().id;
    Ids {
        admission,
        inspection: case.id,
        attachment,
        message,
        job,
        cert_no: z.cert_no.to_string(),
        notice,
        cpa_check,
        face_check,
        run,
        batch,
        cpa_no: "330109990001".into(),
        course: other.required,
        lesson: other.lessons[0],
        key,
        choice,
    }
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_policy_says() {
    let t = TestApp::new().await;
    let ids = records_of_another_scope(&t).await;
    let mut actors = Vec::new();
    for role in ROLES {
        actors.push((role, log_in(&t, role).await));
    }
    let routes = routes_of(&t.router);
    assert!(routes.len() > 100, "the router was read: {} routes", routes.len());
    let mut wrong = Vec::new();
    let mut unlisted = Vec::new();
    let mut checked = 0;
    for (pattern, methods) in &routes {
        for method in methods {
            let Some(requests) = expect(pattern, method, &ids) else {
                unlisted.push(format!("{method} {pattern}"));
                continue;
            };
            for (path, e) in requests {
                let mut public: Vec<(Role, Class)> = Vec::new();
                for (role, actor) in actors.iter_mut() {
                    // Logging out ends the session: a fresh one for that.
                    let mut fresh;
                    let a = if pattern.ends_with("logout") && *role != Anonymous {
                        fresh = log_in(&t, *role).await;
                        &mut fresh
                    } else {
                        actor
                    };
                    let got = class(&send(a, method, &path).await);
                    checked += 1;
                    match expected(e, *role) {
                        Some(want) if want != got => {
                            wrong.push(format!("{method} {path} as {role:?}: {got:?}, not {want:?}"))
                        }
                        Some(_) => {}
                        None => public.push((*role, got)),
                    }
                }
                if let Some((_, first)) = public.first()
                    && (public.iter().any(|(_, c)| c != first) || *first == Class::Error || *first == Class::Denied)
                {
                    wrong.push(format!("{method} {path} (public): {public:?}"));
                }
            }
        }
    }
    assert!(unlisted.is_empty(), "routes without an entry in `expect`:\n{}", unlisted.join("\n"));
    assert!(wrong.is_empty(), "{} of {checked} answers differ from the policy:\n{}", wrong.len(), wrong.join("\n"));
}
