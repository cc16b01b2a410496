//! Who is acting, and what their role and association let them do.

use cmis_domain::{AssociationLevel, UserType};
use serde::Serialize;

use crate::error::{AppError, AppResult};

/// A logged-in user, as loaded for one request.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    pub user_id: i32,
    pub user_type: UserType,
    pub login_name: String,
    pub display_name: String,
    pub association_id: i32,
    pub association_name: String,
    pub association_level: AssociationLevel,
    pub member_id: Option<i32>,
    pub cpa_id: Option<i32>,
    pub firm_id: Option<i32>,
    /// A firm: itself and its branches (分所), whose CPAs a head office sees;
    /// a branch: itself only. Empty for other users.
    pub firm_ids: Vec<i32>,
    /// Staff of a national accounting institute: which one.
    pub institute_id: Option<i32>,
    pub must_change_password: bool,
    /// Names the password this actor was loaded with: a session or token
    /// made with an earlier password carries another and is refused
    /// (`auth::still_current`), even one made while the password changed.
    pub credential: String,
}

impl Actor {
    pub fn require(&self, t: UserType) -> AppResult<()> {
        if self.user_type == t { Ok(()) } else { Err(AppError::Forbidden) }
    }

    pub fn is_staff(&self) -> bool {
        self.user_type == UserType::AssociationStaff
    }

    /// A label for the audit log and the approval trail: `type:login`.
    pub fn audit_name(&self) -> String {
        format!("{}:{}", self.user_type.code(), self.login_name)
    }

    /// The unit that acts, as the approval trail names it (办理单位) and a
    /// message is signed: a firm acts as itself, staff as their association.
    pub fn acting_unit(&self) -> &str {
        if self.user_type == cmis_domain::UserType::Firm { &self.display_name } else { &self.association_name }
    }

    /// What the shell shows as the role: 非执业会员, 注册会计师, 会计师事务所, or the staff's level.
    pub fn role_label(&self) -> &'static str {
        match self.user_type {
            UserType::AssociationStaff => self.association_level.label(),
            t => t.label(),
        }
    }
}
