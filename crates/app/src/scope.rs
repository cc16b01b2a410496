//! The one scope policy: what an actor may see (their scope: everything, an
//! association and those below it, a firm, or what is their own), one way to
//! filter a query by it, one way to check a row against it, and the list of
//! permissions that the use cases and the menus both ask. A record outside
//! the scope answers 404, the same everywhere; a function the role does not
//! have answers 403.

use cmis_domain::review::Reviewer;
use cmis_domain::{AssociationLevel, UserType};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition};

use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// What an actor may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// 中注协: every association.
    Everything,
    /// A provincial or city association: it and the associations below it.
    Associations(Vec<i32>),
    /// A firm: its own records and its branches' (a branch: its own).
    Firm(Vec<i32>),
    /// A member or CPA: what is their own.
    Own { user_id: i32, member_id: Option<i32>, cpa_id: Option<i32> },
    /// Staff of a national accounting institute: its catalogue, and what its
    /// learners did there.
    Institute(i32),
}

/// Where a record is filed: the row check compares these with the scope.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filed {
    pub association_id: Option<i32>,
    pub city_association_id: Option<i32>,
    pub firm_id: Option<i32>,
    pub member_id: Option<i32>,
    pub user_id: Option<i32>,
    pub institute_id: Option<i32>,
}

/// The columns a table files its rows under, for the query filter.
pub struct Columns<C> {
    pub association: Option<C>,
    pub city: Option<C>,
    pub firm: Option<C>,
    pub member: Option<C>,
    pub user: Option<C>,
    pub institute: Option<C>,
}

impl<C> Default for Columns<C> {
    fn default() -> Self {
        Columns { association: None, city: None, firm: None, member: None, user: None, institute: None }
    }
}

impl Scope {
    pub fn of(app: &App, actor: &Actor) -> Scope {
        match (actor.user_type, actor.association_level) {
            (UserType::AssociationStaff, AssociationLevel::National) => Scope::Everything,
            (UserType::AssociationStaff, _) => Scope::Associations(app.orgs().scope(actor.association_id)),
            (UserType::Firm, _) if !actor.firm_ids.is_empty() => Scope::Firm(actor.firm_ids.clone()),
            (UserType::Firm, _) => Scope::Associations(vec![]),
            (UserType::InstituteStaff, _) => actor.institute_id.map_or(Scope::Associations(vec![]), Scope::Institute),
            _ => Scope::Own { user_id: actor.user_id, member_id: actor.member_id, cpa_id: actor.cpa_id },
        }
    }

    /// What is one's own, whatever the role: one's messages, one's jobs.
    pub fn own(actor: &Actor) -> Scope {
        Scope::Own { user_id: actor.user_id, member_id: None, cpa_id: None }
    }

    /// Whether a record filed so is in the scope.
    pub fn covers(&self, f: &Filed) -> bool {
        let within = |ids: &Vec<i32>, id: Option<i32>| id.is_some_and(|i| ids.contains(&i));
        match self {
            Scope::Everything => true,
            Scope::Associations(ids) => within(ids, f.association_id) || within(ids, f.city_association_id),
            Scope::Firm(ids) => f.firm_id.is_some_and(|f| ids.contains(&f)),
            Scope::Own { user_id, member_id, .. } => {
                f.user_id == Some(*user_id) || (member_id.is_some() && f.member_id == *member_id)
            }
            Scope::Institute(id) => f.institute_id == Some(*id),
        }
    }

    /// The record, or 404 naming `what` (the same answer as a record that does not exist).
    pub fn check(&self, f: &Filed, what: &'static str) -> AppResult<()> {
        if self.covers(f) { Ok(()) } else { Err(AppError::NotFound(what)) }
    }

    /// The condition that keeps a query's rows in scope (always true for everything).
    pub fn condition<C: ColumnTrait>(&self, cols: Columns<C>) -> Condition {
        let none = || Condition::all().add(Expr::val(1).eq(0));
        match self {
            Scope::Everything => Condition::all(),
            Scope::Associations(ids) => {
                let mut c = Condition::any();
                for col in [cols.association, cols.city].into_iter().flatten() {
                    c = c.add(col.is_in(ids.clone()));
                }
                if c.is_empty() { none() } else { c }
            }
            Scope::Firm(ids) => cols.firm.map_or_else(none, |col| Condition::all().add(col.is_in(ids.clone()))),
            Scope::Own { user_id, member_id, .. } => {
                let mut c = Condition::any();
                if let Some(col) = cols.user {
                    c = c.add(col.eq(*user_id));
                }
                if let (Some(col), Some(m)) = (cols.member, member_id) {
                    c = c.add(col.eq(*m));
                }
                if c.is_empty() { none() } else { c }
            }
            Scope::Institute(id) => cols.institute.map_or_else(none, |col| Condition::all().add(col.eq(*id))),
        }
    }

    /// The condition for a table filed only by association (and maybe city):
    /// None when everything is in scope.
    pub fn association_condition<C: ColumnTrait>(&self, association: C, city: Option<C>) -> Option<Condition> {
        (self != &Scope::Everything)
            .then(|| self.condition(Columns { association: Some(association), city, ..Columns::default() }))
    }
}

/// The level an actor reviews at, if they review at all.
pub fn reviewer(actor: &Actor) -> Option<Reviewer> {
    match (actor.user_type, actor.association_level) {
        (UserType::AssociationStaff, AssociationLevel::National) => Some(Reviewer::National),
        (UserType::AssociationStaff, AssociationLevel::Provincial) => Some(Reviewer::Province),
        (UserType::AssociationStaff, AssociationLevel::City) => Some(Reviewer::City),
        (UserType::Firm, _) => Some(Reviewer::Firm),
        _ => None,
    }
}

/// What a role may do. Use cases require them; menus list what they allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// 基本信息, 修改信息, 下载会员证: a member's own.
    OwnMemberProfile,
    /// 非执业会员年检申请, 年检信息查询, 年检二维码.
    ApplyMemberInspection,
    /// 入会申请审核 (provincial) and 入会申请确认 (national).
    ReviewMemberAdmissions,
    /// 年检审核: every association looks; the local one decides.
    ReviewMemberInspections,
    /// 会费确认: the local association.
    ConfirmFees,
    /// 年检设置: CICPA's defaults and each local association's own.
    InspectionSettings,
    /// 年检进度 and its export.
    InspectionProgress,
    /// 学时记录: by hand or from Excel.
    LearningLedger,
    /// 会员照片: the photo a member brings in person.
    MemberPhotos,
    /// 档案存放单位 of the association's CPAs.
    CpaRecords,
    /// 全科合格证电子照片: the exam system's photos, imported by CICPA.
    ExamPhotos,
    /// 通知公告与常见问题 of the portal.
    PortalNotices,
    /// 消息发送记录.
    DeliveryLog,
    /// 注册会计师年检申请, 年检信息查询, 年检二维码: a CPA's own.
    ApplyCpaCheck,
    /// 注师待审核 (the firm), and the associations' review of CPAs' checks.
    ReviewCpaChecks,
    /// 事务所年检复核 beyond 注师待审核: a firm's batches (申请, 撤回, 再次申请),
    /// 注师待申请 with its reminders, 年检信息查询.
    SendCpaBatches,
    /// 年检批次审核: the associations' review of firms' batches.
    ReviewCpaBatches,
    /// 注册会计师年检设置: CICPA's defaults and each local association's own.
    CpaCheckSettings,
    /// 线下人工核验: the association records a document seen in person.
    OfflineVerification,
    /// 注册会计师信息同步: the regulator's data, run and looked at by CICPA.
    RegulatorSync,
    /// 在线学习 and 学时查询: a CPA's or a non-practicing member's own.
    StudyOnline,
    /// 课程管理, 学员学习情况, 课程评价, 接口密钥: an institute's staff.
    TeachCourses,
    /// 在线学习情况: the association's learners' institutes and progress.
    LearningChoices,
    /// 解除锁定: a learner's institute of the year released, by a provincial
    /// association or CICPA.
    ReleaseLearningChoices,
    /// 学时入账: the nightly runs, looked at and run again by CICPA.
    CreditLearning,
}

impl Permission {
    pub fn allows(self, actor: &Actor) -> bool {
        use AssociationLevel::{City, National, Provincial};
        use Permission as P;
        let staff = actor.user_type == UserType::AssociationStaff;
        let level = actor.association_level;
        match self {
            P::OwnMemberProfile | P::ApplyMemberInspection => actor.user_type == UserType::NonPracticingMember,
            P::ReviewMemberAdmissions => staff && matches!(level, National | Provincial),
            P::ReviewMemberInspections | P::InspectionProgress | P::LearningLedger | P::MemberPhotos => staff,
            P::ConfirmFees => staff && level == Provincial,
            P::InspectionSettings | P::CpaRecords => staff && level != City,
            P::PortalNotices | P::ExamPhotos => staff && level == National,
            P::DeliveryLog => staff,
            P::ApplyCpaCheck => actor.user_type == UserType::Cpa,
            P::ReviewCpaChecks => staff || actor.user_type == UserType::Firm,
            P::SendCpaBatches => actor.user_type == UserType::Firm,
            P::ReviewCpaBatches => staff,
            P::CpaCheckSettings | P::OfflineVerification => staff && level != City,
            P::RegulatorSync | P::CreditLearning => staff && level == National,
            P::StudyOnline => matches!(actor.user_type, UserType::Cpa | UserType::NonPracticingMember),
            P::TeachCourses => actor.user_type == UserType::InstituteStaff && actor.institute_id.is_some(),
            P::LearningChoices => staff,
            P::ReleaseLearningChoices => staff && level != City,
        }
    }

    /// 403 unless the role has it.
    pub fn require(self, actor: &Actor) -> AppResult<()> {
        if self.allows(actor) { Ok(()) } else { Err(AppError::Forbidden) }
    }
}

impl Actor {
    pub fn can(&self, p: Permission) -> bool {
        p.allows(self)
    }
}
