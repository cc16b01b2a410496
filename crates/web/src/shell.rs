//! The logged-in frame: on PC the left menu of the seeds, on phones the
//! mini-program's bottom tabs (首页 / 消息 / 我的). Menus list only pages
//! that exist.

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use cmis_app::{Actor, auth, messages};
use cmis_domain::UserType;
use tower_sessions::Session;

use crate::AppState;
use crate::csrf::CsrfToken;
use crate::error::WebError;

pub const SESSION_USER: &str = "uid";

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

pub fn menu_for(actor: &Actor) -> Vec<MenuGroup> {
    let mut groups = vec![MenuGroup {
        title: "首页",
        items: vec![item("首页", "/home")],
    }];
    groups.push(MenuGroup {
        title: "消息",
        items: vec![item("消息列表", "/messages")],
    });
    let mut account = vec![item("修改密码", "/account/password")];
    if actor.user_type != UserType::AssociationStaff {
        account.insert(0, item("我的", "/me"));
    }
    groups.push(MenuGroup {
        title: "个人设置",
        items: account,
    });
    groups.push(MenuGroup {
        title: "帮助",
        items: vec![item("联系方式", "/contacts")],
    });
    groups
}

/// The actor of a logged-in request. Pages redirect to the portal when there
/// is none, and to 修改密码 while an initial password is unchanged.
pub struct Auth(pub Actor);

impl FromRequestParts<AppState> for Auth {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|e| e.into_response())?;
        let uid: Option<i32> = session.get(SESSION_USER).await.ok().flatten();
        let Some(uid) = uid else {
            return Err(Redirect::to("/?expired=1").into_response());
        };
        let actor = match auth::actor_for(&state.app, uid).await {
            Ok(Some(a)) => a,
            Ok(None) => {
                let _ = session.flush().await;
                return Err(Redirect::to("/").into_response());
            }
            Err(e) => return Err(WebError::from(e).into_response()),
        };
        let path = parts.uri.path();
        if actor.must_change_password && path != "/account/password" && path != "/logout" {
            return Err(Redirect::to("/account/password").into_response());
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
    /// Whether a menu link is the current page, for highlighting.
    pub fn is_current(&self, href: &str) -> bool {
        self.path == href || (href != "/home" && self.path.starts_with(href))
    }

    pub fn tab(&self) -> &'static str {
        if self.path.starts_with("/messages") {
            "messages"
        } else if self.path.starts_with("/me") || self.path.starts_with("/account") || self.path.starts_with("/contacts")
        {
            "me"
        } else {
            "home"
        }
    }
}

impl FromRequestParts<AppState> for Shell {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Auth(actor) = Auth::from_request_parts(parts, state).await?;
        let csrf = parts
            .extensions
            .get::<CsrfToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        let path = parts
            .extensions
            .get::<OriginalUri>()
            .map_or_else(|| parts.uri.path().to_owned(), |u| u.path().to_owned());
        let unread = messages::unread_count(&state.app, &actor)
            .await
            .map_err(|e| WebError::from(e).into_response())?;
        let menu = menu_for(&actor);
        Ok(Shell {
            actor,
            csrf,
            unread,
            path,
            menu,
        })
    }
}
