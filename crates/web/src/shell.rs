//! The logged-in frame: on PC the left menu of the seeds, on phones the
//! mini-program's bottom tabs (首页 / 消息 / 我的). Menus list only pages
//! that exist.

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use cmis_app::scope::Permission;
use cmis_app::{Actor, auth, messages};
use cmis_domain::{AssociationLevel, UserType};
use tower_sessions::Session;

use crate::AppState;
use crate::csrf::CsrfToken;
use crate::error::WebError;

pub const SESSION_USER: &str = "uid";
/// The stamp of the password the session logged in with (`auth::still_current`).
pub const SESSION_CREDENTIAL: &str = "cred";

pub struct MenuItem {
    pub label: &'static str,
    pub href: &'static str,
}

pub struct MenuGroup {
    pub title: &'static str,
    pub items: Vec<MenuItem>,
}

fn item(label: &'static str, href: &'static str) -> MenuItem {
    MenuItem { label, href }
}

/// The menu lists a page when the role has the permission its use case asks.
pub fn menu_for(actor: &Actor) -> Vec<MenuGroup> {
    use Permission as P;
    let can = |p: P| actor.can(p);
    let mut groups = vec![MenuGroup { title: "首页", items: vec![item("首页", "/home")] }];
    let mut add = |title: &'static str, items: Vec<Option<MenuItem>>| {
        let items: Vec<MenuItem> = items.into_iter().flatten().collect();
        if !items.is_empty() {
            groups.push(MenuGroup { title, items });
        }
    };
    let when = |p: P, label: &'static str, href: &'static str| can(p).then(|| item(label, href));
    add(
        "个人信息",
        vec![
            when(P::OwnMemberProfile, "基本信息", "/profile"),
            when(P::OwnMemberProfile, "下载会员证", "/certificate"),
        ],
    );
    add(
        "年检",
        vec![
            when(P::ApplyMemberInspection, "非执业会员年检申请", "/member-inspection"),
            when(P::ApplyMemberInspection, "年检信息查询", "/member-inspection/history"),
            when(P::ApplyMemberInspection, "年检二维码", "/member-inspection/qr"),
            when(P::ApplyCpaCheck, "注册会计师年检申请", "/cpa-check"),
            when(P::ApplyCpaCheck, "年检信息查询", "/cpa-check/history"),
            when(P::ApplyCpaCheck, "二维码", "/cpa-check/qr"),
            (actor.user_type == UserType::Firm).then(|| item("事务所年检复核", "/firm/cpa-checks")),
            (actor.user_type == UserType::Firm).then(|| item("年检信息查询", "/firm/cpa-status")),
        ],
    );
    let admissions =
        if actor.association_level == AssociationLevel::National { "入会申请确认" } else { "入会申请审核" };
    add(
        "会员管理",
        vec![
            when(P::ReviewMemberAdmissions, admissions, "/association/member-admissions"),
            when(P::MemberPhotos, "会员照片", "/association/member-photo"),
            when(P::CpaRecords, "档案存放单位", "/association/cpa-archive"),
            when(P::RegulatorSync, "注册会计师信息同步", "/association/regulator"),
            when(P::ExamPhotos, "全科合格证电子照片", "/association/exam-photos"),
        ],
    );
    add(
        "非执业会员年检",
        vec![
            when(P::ReviewMemberInspections, "年检审核", "/association/member-inspections"),
            when(P::ConfirmFees, "会费确认", "/association/member-inspection-fees"),
            when(P::InspectionProgress, "年检进度", "/association/member-inspection-progress"),
            when(P::InspectionSettings, "年检设置", "/association/member-inspection-settings"),
        ],
    );
    add(
        "注册会计师年检",
        vec![
            when(P::ReviewCpaBatches, "年检批次审核", "/association/cpa-batches"),
            (actor.is_staff() && actor.can(P::ReviewCpaChecks)).then(|| item("注册会计师年检查询", "/firm/cpa-checks")),
            (actor.is_staff() && actor.can(P::InspectionProgress))
                .then(|| item("注册会计师年检进度", "/association/cpa-check-progress")),
            when(P::OfflineVerification, "线下人工核验", "/association/offline-verifications"),
            when(P::CpaCheckSettings, "注册会计师年检设置", "/association/cpa-check-settings"),
        ],
    );
    add(
        "继续教育",
        vec![
            when(P::StudyOnline, "在线学习", "/learning"),
            when(P::StudyOnline, "学时查询", "/learning/hours"),
            when(P::LearningChoices, "在线学习情况", "/association/learning"),
            when(P::CreditLearning, "学时入账", "/association/learning-credits"),
            // The ledger both inspections read: face-to-face training an
            // association runs itself is entered here.
            when(P::LearningLedger, "学时记录", "/association/learning-records"),
        ],
    );
    add(
        "课程管理",
        vec![
            when(P::TeachCourses, "课程管理", "/institute/courses"),
            when(P::TeachCourses, "学员学习情况", "/institute/learners"),
            when(P::TeachCourses, "课程评价", "/institute/ratings"),
            when(P::TeachCourses, "接口密钥", "/institute/keys"),
        ],
    );
    add("门户管理", vec![when(P::PortalNotices, "通知公告与常见问题", "/association/notices")]);
    add(
        "消息",
        vec![Some(item("消息列表", "/messages")), when(P::DeliveryLog, "消息发送记录", "/association/deliveries")],
    );
    let staff = actor.user_type == UserType::AssociationStaff;
    add(
        "个人设置",
        vec![
            (!staff).then(|| item("我的", "/me")),
            staff.then(|| item("导入导出记录", "/jobs")),
            Some(item("修改密码", "/account/password")),
        ],
    );
    add("帮助", vec![Some(item("联系方式", "/contacts"))]);
    groups
}

/// The permission a route asks (`needs`), checked by the extractor of the
/// actor, before any form or upload is read: a role without it gets 403
/// however its request is made. The use case asks again.
#[derive(Clone, Copy, Debug)]
pub struct Needs(pub Permission);

/// The layer that marks the routes of a router as needing `p`.
pub fn needs(p: Permission) -> axum::Extension<Needs> {
    axum::Extension(Needs(p))
}

/// The actor of a logged-in request. Pages redirect to the portal when there
/// is none, and to 修改密码 while an initial password is unchanged.
pub struct Auth(pub Actor);

impl FromRequestParts<AppState> for Auth {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state).await.map_err(|e| e.into_response())?;
        let uid: Option<i32> = session.get(SESSION_USER).await.ok().flatten();
        let Some(uid) = uid else {
            return Err(Redirect::to("/?expired=1").into_response());
        };
        let credential: String = session.get(SESSION_CREDENTIAL).await.ok().flatten().unwrap_or_default();
        let actor = match auth::still_current(&state.app, uid, &credential).await {
            Ok(Some(a)) => a,
            Ok(None) => {
                let _ = session.flush().await;
                return Err(Redirect::to("/?expired=1").into_response());
            }
            Err(e) => return Err(WebError::from(e).into_response()),
        };
        let path = parts.uri.path();
        if actor.must_change_password && path != "/account/password" && path != "/logout" {
            return Err(Redirect::to("/account/password").into_response());
        }
        if let Some(Needs(p)) = parts.extensions.get::<Needs>()
            && !actor.can(*p)
        {
            return Err(WebError::from(cmis_app::AppError::Forbidden).into_response());
        }
        Ok(Auth(actor))
    }
}

/// What every logged-in page template gets.
pub struct Shell {
    pub actor: Actor,
    pub csrf: String,
    pub unread: u64,
    pub path: String,
    pub menu: Vec<MenuGroup>,
}

impl Shell {
    /// Whether a menu link is the current page, for highlighting: the one
    /// link whose address is the page's or the longest one above it
    /// (/member-inspection/history is 年检信息查询, not 年检申请 as well).
    pub fn is_current(&self, href: &str) -> bool {
        let under = |h: &str| self.path == h || (h != "/home" && within(&self.path, h));
        under(href) && !self.menu.iter().flat_map(|g| &g.items).any(|i| i.href.len() > href.len() && under(i.href))
    }

    pub fn tab(&self) -> &'static str {
        if within(&self.path, "/messages") {
            "messages"
        } else if ["/me", "/account", "/contacts", "/profile", "/member-inspection/qr", "/cpa-check/qr"]
            .iter()
            .any(|p| within(&self.path, p))
        {
            "me"
        } else {
            "home"
        }
    }
}

/// Whether `path` is `base` or a page under it (/me is not above /member-inspection).
fn within(path: &str, base: &str) -> bool {
    path.strip_prefix(base).is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
}

impl FromRequestParts<AppState> for Shell {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Auth(actor) = Auth::from_request_parts(parts, state).await?;
        let csrf = parts.extensions.get::<CsrfToken>().map(|t| t.0.clone()).unwrap_or_default();
        let path =
            parts.extensions.get::<OriginalUri>().map_or_else(|| parts.uri.path().to_owned(), |u| u.path().to_owned());
        let unread = messages::unread_count(&state.app, &actor).await.map_err(|e| WebError::from(e).into_response())?;
        let menu = menu_for(&actor);
        Ok(Shell { actor, csrf, unread, path, menu })
    }
}

/// Inline SVG icons (Feather, MIT), so that no page depends on an emoji font.
pub fn icon(name: &str) -> &'static str {
    match name {
        "bell" => {
            r#"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M18 8A6 6 0 0 0 6 8c0 7-3 9-3 9h18s-3-2-3-9"/><path d="M13.73 21a2 2 0 0 1-3.46 0"/></svg>"#
        }
        "mail" => {
            r#"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16c1.1 0 2 .9 2 2v12c0 1.1-.9 2-2 2H4c-1.1 0-2-.9-2-2V6c0-1.1.9-2 2-2z"/><polyline points="22,6 12,13 2,6"/></svg>"#
        }
        "key" => {
            r#"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M21 2l-2 2m-7.61 7.61a5.5 5.5 0 1 1-7.778 7.778 5.5 5.5 0 0 1 7.777-7.777zm0 0L15.5 7.5m0 0l3 3L22 7l-3-3m-3.5 3.5L19 4"/></svg>"#
        }
        "phone" => {
            r#"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M22 16.92v3a2 2 0 0 1-2.18 2 19.79 19.79 0 0 1-8.63-3.07 19.5 19.5 0 0 1-6-6 19.79 19.79 0 0 1-3.07-8.67A2 2 0 0 1 4.11 2h3a2 2 0 0 1 2 1.72 12.84 12.84 0 0 0 .7 2.81 2 2 0 0 1-.45 2.11L8.09 9.91a16 16 0 0 0 6 6l1.27-1.27a2 2 0 0 1 2.11-.45 12.84 12.84 0 0 0 2.81.7A2 2 0 0 1 22 16.92z"/></svg>"#
        }
        "home" => {
            r#"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M3 9l9-7 9 7v11a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z"/><polyline points="9 22 9 12 15 12 15 22"/></svg>"#
        }
        "check" => {
            r#"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M22 11.08V12a10 10 0 1 1-5.93-9.14"/><polyline points="22 4 12 14.01 9 11.01"/></svg>"#
        }
        "list" => {
            r#"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><line x1="8" y1="6" x2="21" y2="6"/><line x1="8" y1="12" x2="21" y2="12"/><line x1="8" y1="18" x2="21" y2="18"/><line x1="3" y1="6" x2="3.01" y2="6"/><line x1="3" y1="12" x2="3.01" y2="12"/><line x1="3" y1="18" x2="3.01" y2="18"/></svg>"#
        }
        "grid" => {
            r#"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><rect x="3" y="3" width="7" height="7"/><rect x="14" y="3" width="7" height="7"/><rect x="14" y="14" width="7" height="7"/><rect x="3" y="14" width="7" height="7"/></svg>"#
        }
        "user" => {
            r#"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M20 21v-2a4 4 0 0 0-4-4H8a4 4 0 0 0-4 4v2"/><circle cx="12" cy="7" r="4"/></svg>"#
        }
        _ => "",
    }
}
