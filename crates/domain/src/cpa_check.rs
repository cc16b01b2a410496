//! 注册会计师年检 / 任职资格检查 (seed 001, DOMAIN §4): the states of one
//! CPA's check for one year, the decisions that move it, and the rules of
//! the face authentication that stands before the first submission.
//!
//! The CPA applies (确认申请); the face check (or an in-person verification
//! at the association) passes; the application goes to the firm (事务所审核)
//! on its own. The firm returns it to the CPA or sends it in a batch to the
//! provincial association (the batch is the firm's own workflow); the
//! association passes, defers, fails or returns it.

use crate::IdType;
use crate::review::{Refusal, Reviewer, Workflow};

crate::coded! {
    /// 审核状态, in the words of seed 001 §2.3.2 (事务所退回 / 地方注协退回).
    pub enum CheckState {
        /// Face check passed (or verified in person): waiting for the firm.
        FirmReview = ("firm_review", "事务所待审核"),
        FirmReturned = ("firm_returned", "事务所退回"),
        /// Sent by the firm in a batch.
        ProvinceReview = ("province_review", "地方注协待审核"),
        ProvinceReturned = ("province_returned", "地方注协退回"),
        Passed = ("passed", "年检通过"),
        /// 暂缓通过 (会协[2008]9号): a serious failure of member duties, the
        /// firm suspended, continuing education incomplete.
        Deferred = ("deferred", "暂缓通过"),
        Failed = ("failed", "年检不予通过"),
        /// The regulator cancelled the CPA's registration while the check
        /// was open: nobody decides it any more.
        Closed = ("closed", "注册已注销，年检终止"),
    }
}

impl CheckState {
    pub fn is_returned(self) -> bool {
        matches!(self, CheckState::FirmReturned | CheckState::ProvinceReturned)
    }

    /// Still open: someone will act on it (the firm, the association, or the
    /// CPA after a return).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            CheckState::FirmReview
                | CheckState::FirmReturned
                | CheckState::ProvinceReview
                | CheckState::ProvinceReturned
        )
    }
}

crate::coded! {
    /// The decisions: the firm's (退回) and the provincial association's.
    pub enum CheckAction {
        FirmReturn = ("firm_return", "退回"),
        Pass = ("pass", "年检通过"),
        Defer = ("defer", "暂缓通过"),
        Fail = ("fail", "年检不予通过"),
        Return = ("return", "退回"),
    }
}

/// 确认申请 for `year` from the current state (None: nothing applied for):
/// a first application, or one that was returned (再次申请).
pub fn apply(year: i32, current: Option<CheckState>) -> Result<CheckState, Refusal> {
    match current {
        None => Ok(CheckState::FirmReview),
        Some(s) if s.is_returned() => Ok(CheckState::FirmReview),
        Some(s) => Err(Refusal::AlreadyApplied { year, state: s.label() }),
    }
}

/// The firm's 申请: an application waiting for the firm goes to the
/// provincial association in a batch.
pub fn send(state: CheckState) -> Result<CheckState, Refusal> {
    match state {
        CheckState::FirmReview => Ok(CheckState::ProvinceReview),
        s => Err(Refusal::NotNow { state: s.label(), action: "申请" }),
    }
}

/// Its batch withdrawn (撤回): the application waits for the firm again.
pub fn withdrawn(state: CheckState) -> Option<CheckState> {
    (state == CheckState::ProvinceReview).then_some(CheckState::FirmReview)
}

/// How a CPA's identity was confirmed for the year's first submission.
/// A resubmission after a return needs neither again (seed 001 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityCheck {
    /// The provider's liveness check and comparison with the ID photo passed.
    Face,
    /// 线下人工核验: the association saw the document in person.
    InPerson,
}

/// What the first submission needs before it may go to the firm.
pub fn identity_needed(again: bool, verified_in_person: bool) -> Option<IdentityCheck> {
    if again || verified_in_person { None } else { Some(IdentityCheck::Face) }
}

/// Only these documents can be checked online (seed 001 §2.1.6); holders of
/// any other go to the association in person.
pub fn face_supported(id_type: IdType) -> bool {
    matches!(id_type, IdType::ResidentId | IdType::ResidencePermit)
}

/// Face checks a CPA may start in one day (seed 001 §2.2.4: 每天可生成20次,
/// 总次数没有限制).
pub const FACE_CHECKS_A_DAY: u32 = 20;

/// The trail's node for the CPA's submission.
pub fn submission_node(again: bool, how: Option<IdentityCheck>) -> &'static str {
    match (again, how) {
        (true, _) => "注册会计师再次提交年检申请",
        (false, Some(IdentityCheck::InPerson)) => "注册会计师提交年检申请（线下人工核验）",
        (false, _) => "注册会计师提交年检申请（人脸认证通过）",
    }
}

/// The provider's verdict, as its result codes say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaceVerdict {
    Passed,
    Failed,
}

/// A provider's final code: 0 is a pass, anything else a failure.
pub fn verdict(code: i32) -> FaceVerdict {
    if code == 0 { FaceVerdict::Passed } else { FaceVerdict::Failed }
}

/// The workflow, for the review kernel.
pub struct CpaCheck;

impl Workflow for CpaCheck {
    type State = CheckState;
    type Action = CheckAction;
    const KIND: &'static str = "cpa_check";

    fn reviewer(state: CheckState) -> Option<Reviewer> {
        match state {
            CheckState::FirmReview => Some(Reviewer::Firm),
            CheckState::ProvinceReview => Some(Reviewer::Province),
            _ => None,
        }
    }

    fn decisions(state: CheckState) -> &'static [CheckAction] {
        use CheckAction as A;
        match state {
            // The firm's other act, 申请, sends a batch: the batch workflow's.
            CheckState::FirmReview => &[A::FirmReturn],
            CheckState::ProvinceReview => &[A::Pass, A::Defer, A::Fail, A::Return],
            _ => &[],
        }
    }

    fn needs_reason(action: CheckAction) -> bool {
        !matches!(action, CheckAction::Pass)
    }

    fn node(action: CheckAction) -> &'static str {
        match action {
            CheckAction::FirmReturn => "事务所审核退回",
            CheckAction::Pass => "地方注协审核通过",
            CheckAction::Defer => "地方注协审核暂缓通过",
            CheckAction::Fail => "地方注协审核不予通过",
            CheckAction::Return => "地方注协审核退回",
        }
    }

    fn is_returned(state: CheckState) -> bool {
        state.is_returned()
    }

    fn next(_: CheckState, action: CheckAction) -> CheckState {
        match action {
            CheckAction::FirmReturn => CheckState::FirmReturned,
            CheckAction::Pass => CheckState::Passed,
            CheckAction::Defer => CheckState::Deferred,
            CheckAction::Fail => CheckState::Failed,
            CheckAction::Return => CheckState::ProvinceReturned,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CheckAction as A;
    use CheckState as S;
    type W = CpaCheck;

    #[test]
    fn every_transition() {
        assert_eq!(apply(2025, None), Ok(S::FirmReview));
        assert_eq!(W::reviewer(S::FirmReview), Some(Reviewer::Firm));
        assert_eq!(W::decide(S::FirmReview, A::FirmReturn, "缺少材料"), Ok(S::FirmReturned));
        assert_eq!(apply(2025, Some(S::FirmReturned)), Ok(S::FirmReview));
        assert_eq!(W::reviewer(S::ProvinceReview), Some(Reviewer::Province));
        assert_eq!(W::decide(S::ProvinceReview, A::Pass, ""), Ok(S::Passed));
        assert_eq!(W::decide(S::ProvinceReview, A::Defer, "学时不足"), Ok(S::Deferred));
        assert_eq!(W::decide(S::ProvinceReview, A::Fail, "受到刑事处罚"), Ok(S::Failed));
        assert_eq!(W::decide(S::ProvinceReview, A::Return, "材料不清晰"), Ok(S::ProvinceReturned));
        assert_eq!(apply(2025, Some(S::ProvinceReturned)), Ok(S::FirmReview));
        for s in [S::Passed, S::Deferred, S::Failed, S::Closed, S::FirmReturned, S::ProvinceReturned] {
            assert_eq!(W::reviewer(s), None, "{s:?} waits for nobody");
        }
    }

    #[test]
    fn the_firm_sends_and_takes_back() {
        assert_eq!(send(S::FirmReview), Ok(S::ProvinceReview));
        assert_eq!(withdrawn(S::ProvinceReview), Some(S::FirmReview));
        for s in [S::FirmReturned, S::ProvinceReview, S::ProvinceReturned, S::Passed, S::Closed] {
            assert!(matches!(send(s), Err(Refusal::NotNow { .. })), "{s:?}");
        }
        assert_eq!(withdrawn(S::Passed), None, "a CPA decided meanwhile stays decided");
    }

    #[test]
    fn refusals() {
        assert_eq!(
            apply(2025, Some(S::FirmReview)).unwrap_err().to_string(),
            "2025年度年检已申请，当前状态为“事务所待审核”，不能重复申请"
        );
        for s in [S::ProvinceReview, S::Passed, S::Deferred, S::Failed, S::Closed] {
            assert!(matches!(apply(2025, Some(s)), Err(Refusal::AlreadyApplied { .. })));
        }
        assert_eq!(W::decide(S::FirmReview, A::FirmReturn, " "), Err(Refusal::ReasonRequired));
        assert_eq!(W::decide(S::ProvinceReview, A::Defer, ""), Err(Refusal::ReasonRequired));
        assert!(matches!(W::decide(S::FirmReview, A::Pass, ""), Err(Refusal::NotNow { .. })));
        assert!(matches!(W::decide(S::ProvinceReview, A::FirmReturn, "x"), Err(Refusal::NotNow { .. })));
        assert!(matches!(W::decide(S::Closed, A::Return, "x"), Err(Refusal::NotNow { .. })));
        assert!(matches!(W::decide(S::FirmReturned, A::FirmReturn, "x"), Err(Refusal::NotNow { .. })));
    }

    #[test]
    fn a_resubmission_or_an_in_person_check_needs_no_face() {
        assert_eq!(identity_needed(false, false), Some(IdentityCheck::Face));
        assert_eq!(identity_needed(true, false), None, "seed 001 §2.3.1: 重新提交年检时不需要再次进行人脸认证");
        assert_eq!(identity_needed(false, true), None);
        assert_eq!(submission_node(false, Some(IdentityCheck::Face)), "注册会计师提交年检申请（人脸认证通过）");
        assert_eq!(submission_node(false, Some(IdentityCheck::InPerson)), "注册会计师提交年检申请（线下人工核验）");
        assert_eq!(submission_node(true, None), "注册会计师再次提交年检申请");
    }

    #[test]
    fn only_two_documents_authenticate_online() {
        assert!(face_supported(IdType::ResidentId));
        assert!(face_supported(IdType::ResidencePermit));
        for t in IdType::ALL.into_iter().filter(|t| !matches!(t, IdType::ResidentId | IdType::ResidencePermit)) {
            assert!(!face_supported(t), "{t:?}");
        }
        assert_eq!(verdict(0), FaceVerdict::Passed);
        assert_eq!(verdict(-1), FaceVerdict::Failed);
        assert_eq!(verdict(2001), FaceVerdict::Failed);
    }

    #[test]
    fn codes_round_trip() {
        for &s in S::ALL {
            assert_eq!(S::parse(s.code()), Ok(s));
        }
        for &a in A::ALL {
            assert_eq!(A::parse(a.code()), Ok(a));
        }
        assert!(S::parse("passsed").is_err());
    }
}
