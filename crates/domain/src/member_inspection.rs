//! 非执业会员年检 (seed 000, DOMAIN §3): the states of one member's
//! inspection for one year, the actions that move it, the fee status and the
//! hours a member owes.

use chrono::{Datelike, NaiveDate};

use crate::Hours;
use crate::review::{Refusal, Reviewer, Workflow};

crate::coded! {
    /// 审核状态 (the column of seed 000).
    pub enum InspectionState {
        Submitted = ("submitted", "地方注协待审核"),
        Passed = ("passed", "年检通过"),
        /// The member corrects and applies again (再次申请).
        Returned = ("returned", "地方注协退回"),
        /// Decided, not yet final: the association may reverse it or turn it
        /// into 年检通过 until the period it set runs out.
        Failed = ("failed", "年检不予通过"),
        /// Final: membership is cancelled.
        FailedFinal = ("failed_final", "年检不予通过（已生效）"),
        DeferralSubmitted = ("deferral_submitted", "暂缓年检待审核"),
        Deferred = ("deferred", "暂缓年检通过"),
        DeferralReturned = ("deferral_returned", "地方注协暂缓退回"),
    }
}

impl InspectionState {
    pub fn is_returned(self) -> bool {
        matches!(self, InspectionState::Returned | InspectionState::DeferralReturned)
    }

    /// Waiting for the association.
    pub fn is_pending(self) -> bool {
        matches!(self, InspectionState::Submitted | InspectionState::DeferralSubmitted)
    }

    /// The status as the member's own pages show it: a returned deferral is
    /// the link 【地方注协退回】 (seed 000 §2.2.2.4), as a returned
    /// application is; staff lists keep the two apart.
    pub fn shown(self) -> &'static str {
        match self {
            InspectionState::DeferralReturned => InspectionState::Returned.label(),
            InspectionState::FailedFinal => InspectionState::Failed.label(),
            s => s.label(),
        }
    }

    pub fn is_deferral(self) -> bool {
        matches!(
            self,
            InspectionState::DeferralSubmitted | InspectionState::Deferred | InspectionState::DeferralReturned
        )
    }
}

crate::coded! {
    /// The local association's decisions (the buttons).
    pub enum InspectionAction {
        Pass = ("pass", "年检通过"),
        Return = ("return", "退回"),
        Fail = ("fail", "年检不予通过"),
        ApproveDeferral = ("approve_deferral", "暂缓通过"),
        ReturnDeferral = ("return_deferral", "暂缓退回"),
        /// A special state (暂缓年检通过, a 年检不予通过 not yet final) resolved
        /// to 年检通过 (seed 000 §2.2.3).
        ResolvePass = ("resolve_pass", "转为年检通过"),
        /// A mistaken 年检不予通过 taken back within its period: the
        /// application waits for a decision again.
        ReverseFail = ("reverse_fail", "撤销不予通过"),
    }
}

/// 确认申请 or 暂缓年检申请 for `year`, from the current state (None: nothing
/// applied for yet): only a first application or one that was returned.
pub fn apply(year: i32, current: Option<InspectionState>, deferral: bool) -> Result<InspectionState, Refusal> {
    match current {
        None => {}
        Some(s) if s.is_returned() => {}
        Some(s) => return Err(Refusal::AlreadyApplied { year, state: s.label() }),
    }
    Ok(if deferral { InspectionState::DeferralSubmitted } else { InspectionState::Submitted })
}

/// The trail's node for the member's submission.
pub fn submission_node(deferral: bool, again: bool) -> &'static str {
    match (deferral, again) {
        (false, false) => "非执业会员提交年检申请",
        (false, true) => "非执业会员再次提交年检申请",
        (true, false) => "非执业会员提交暂缓年检申请",
        (true, true) => "非执业会员再次提交暂缓年检申请",
    }
}

/// The workflow, for the review kernel.
pub struct MemberInspection;

impl Workflow for MemberInspection {
    type State = InspectionState;
    type Action = InspectionAction;
    const KIND: &'static str = "member_inspection";

    fn reviewer(state: InspectionState) -> Option<Reviewer> {
        state.is_pending().then_some(Reviewer::Province)
    }

    /// Seed 000 §2.2.3: other special states need the provincial association
    /// to become 年检通过.
    fn revisable(state: InspectionState) -> Option<Reviewer> {
        matches!(state, InspectionState::Failed | InspectionState::Deferred).then_some(Reviewer::Province)
    }

    fn decisions(state: InspectionState) -> &'static [InspectionAction] {
        use InspectionAction as A;
        match state {
            InspectionState::Submitted => &[A::Pass, A::Return, A::Fail],
            InspectionState::DeferralSubmitted => &[A::ApproveDeferral, A::ReturnDeferral],
            InspectionState::Failed => &[A::ResolvePass, A::ReverseFail],
            InspectionState::Deferred => &[A::ResolvePass],
            _ => &[],
        }
    }

    fn needs_reason(action: InspectionAction) -> bool {
        !matches!(action, InspectionAction::Pass | InspectionAction::ApproveDeferral)
    }

    fn node(action: InspectionAction) -> &'static str {
        match action {
            InspectionAction::Pass => "地方注协非执业会员审核通过",
            InspectionAction::Return => "地方注协非执业会员审核退回",
            InspectionAction::Fail => "地方注协非执业会员审核不予通过",
            InspectionAction::ApproveDeferral => "地方注协非执业会员审核暂缓通过",
            InspectionAction::ReturnDeferral => "地方注协非执业会员审核暂缓退回",
            InspectionAction::ResolvePass => "地方注协非执业会员特殊状态转为年检通过",
            InspectionAction::ReverseFail => "地方注协撤销年检不予通过",
        }
    }

    fn is_returned(state: InspectionState) -> bool {
        state.is_returned()
    }

    fn next(_: InspectionState, action: InspectionAction) -> InspectionState {
        match action {
            InspectionAction::Pass => InspectionState::Passed,
            InspectionAction::Return => InspectionState::Returned,
            InspectionAction::Fail => InspectionState::Failed,
            InspectionAction::ApproveDeferral => InspectionState::Deferred,
            InspectionAction::ReturnDeferral => InspectionState::DeferralReturned,
            InspectionAction::ResolvePass => InspectionState::Passed,
            InspectionAction::ReverseFail => InspectionState::Submitted,
        }
    }
}

crate::coded! {
    /// 缴费情况.
    pub enum FeeStatus {
        /// Not collected this year, or the member is exempt.
        Exempt = ("exempt", "免会费"),
        /// Paid online, or confirmed by the association.
        Confirmed = ("confirmed", "已确认"),
        Unpaid = ("unpaid", "去支付"),
        /// The member says they paid elsewhere; the association confirms.
        PendingConfirmation = ("pending_confirmation", "待确认"),
    }
}

impl FeeStatus {
    /// 免会费 and 已确认 let the member continue.
    pub fn settled(self) -> bool {
        matches!(self, FeeStatus::Exempt | FeeStatus::Confirmed)
    }
}

/// Hours owed for `year` (DOMAIN §6): the annual requirement for members
/// admitted by 1 July, half for those admitted after it, nothing for those
/// admitted later than the year; reductions granted come off, never below 0.
pub fn hours_required(annual: Hours, admitted_on: NaiveDate, year: i32, reductions: Hours) -> Hours {
    let base = if admitted_on.year() > year {
        Hours::ZERO
    } else if admitted_on.year() == year && admitted_on > NaiveDate::from_ymd_opt(year, 7, 1).expect("valid date") {
        annual.half()
    } else {
        annual
    };
    base.saturating_sub(reductions)
}

/// Hours still to do before the member may apply.
pub fn hours_short(required: Hours, done: Hours) -> Hours {
    required.saturating_sub(done)
}

/// Inspection year Y is inspected in Y+1; everyone admitted by 31 Dec of Y takes part.
pub fn takes_part(admitted_on: NaiveDate, year: i32) -> bool {
    admitted_on.year() <= year
}

#[cfg(test)]
mod tests {
    use super::*;
    use InspectionAction as A;
    use InspectionState as S;
    type W = MemberInspection;

    #[test]
    fn every_transition() {
        assert_eq!(apply(2025, None, false), Ok(S::Submitted));
        assert_eq!(apply(2025, None, true), Ok(S::DeferralSubmitted));
        assert_eq!(W::decide(S::Submitted, A::Pass, ""), Ok(S::Passed));
        assert_eq!(W::decide(S::Submitted, A::Return, "补材料"), Ok(S::Returned));
        assert_eq!(W::decide(S::Submitted, A::Fail, "不符合"), Ok(S::Failed));
        assert_eq!(apply(2025, Some(S::Returned), false), Ok(S::Submitted));
        assert_eq!(apply(2025, Some(S::Returned), true), Ok(S::DeferralSubmitted));
        assert_eq!(W::decide(S::DeferralSubmitted, A::ApproveDeferral, ""), Ok(S::Deferred));
        assert_eq!(W::decide(S::DeferralSubmitted, A::ReturnDeferral, "x"), Ok(S::DeferralReturned));
        assert_eq!(apply(2025, Some(S::DeferralReturned), false), Ok(S::Submitted));
        assert_eq!(W::reviewer(S::Submitted), Some(Reviewer::Province));
        assert_eq!(W::reviewer(S::Passed), None);
    }

    #[test]
    fn special_states_resolve_to_passed_and_a_failure_can_be_taken_back() {
        assert_eq!(W::decide(S::Deferred, A::ResolvePass, "已补足学时"), Ok(S::Passed));
        assert_eq!(W::decide(S::Failed, A::ResolvePass, "复核后通过"), Ok(S::Passed));
        assert_eq!(W::decide(S::Failed, A::ReverseFail, "误操作"), Ok(S::Submitted));
        assert_eq!(W::decide(S::Failed, A::ReverseFail, " "), Err(Refusal::ReasonRequired));
        assert!(matches!(W::decide(S::FailedFinal, A::ReverseFail, "x"), Err(Refusal::NotNow { .. })));
        assert!(matches!(W::decide(S::Deferred, A::ReverseFail, "x"), Err(Refusal::NotNow { .. })));
        assert_eq!(W::revisable(S::Failed), Some(Reviewer::Province));
        assert_eq!(W::revisable(S::FailedFinal), None);
        assert_eq!(W::reviewer(S::Failed), None, "not in anyone's queue of work");
        assert_eq!(S::FailedFinal.shown(), "年检不予通过");
        assert_eq!(S::DeferralReturned.shown(), "地方注协退回");
    }

    #[test]
    fn refusals() {
        assert_eq!(
            apply(2025, Some(S::Submitted), false).unwrap_err().to_string(),
            "2025年度年检已申请，当前状态为“地方注协待审核”，不能重复申请"
        );
        assert!(matches!(apply(2025, Some(S::Passed), true), Err(Refusal::AlreadyApplied { .. })));
        assert_eq!(W::decide(S::Submitted, A::Return, " "), Err(Refusal::ReasonRequired));
        assert!(matches!(W::decide(S::Submitted, A::ReturnDeferral, ""), Err(Refusal::NotNow { .. })));
        assert!(matches!(W::decide(S::Passed, A::Pass, ""), Err(Refusal::NotNow { .. })));
        assert_eq!(
            W::decide(S::DeferralSubmitted, A::Pass, "").unwrap_err().to_string(),
            "该申请当前状态为“暂缓年检待审核”，不能办理“年检通过”"
        );
    }

    #[test]
    fn hours_follow_admission_date_and_reductions() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let h = Hours::whole;
        assert_eq!(hours_required(h(40), d(2020, 3, 1), 2025, Hours::ZERO), h(40));
        assert_eq!(hours_required(h(40), d(2025, 7, 1), 2025, Hours::ZERO), h(40));
        assert_eq!(hours_required(h(40), d(2025, 7, 2), 2025, Hours::ZERO), h(20));
        assert_eq!(hours_required(h(40), d(2026, 1, 5), 2025, Hours::ZERO), Hours::ZERO);
        assert_eq!(hours_required(h(40), d(2020, 3, 1), 2025, h(16)), h(24));
        assert_eq!(hours_required(h(40), d(2020, 3, 1), 2025, h(60)), Hours::ZERO);
        assert_eq!(hours_short(h(40), h(20)), h(20), "seed 000 §2.2.2.2: 40 required, 20 done, 20 more");
        assert_eq!(hours_short(h(40), h(80)), Hours::ZERO);
        assert!(takes_part(d(2025, 12, 31), 2025));
        assert!(!takes_part(d(2026, 1, 1), 2025));
    }

    #[test]
    fn codes_round_trip_and_unknown_codes_are_errors() {
        for &s in S::ALL {
            assert_eq!(S::parse(s.code()), Ok(s));
        }
        for &a in A::ALL {
            assert_eq!(A::parse(a.code()), Ok(a));
        }
        assert!(S::parse("sumbitted").is_err());
        assert_eq!(FeeStatus::Unpaid.label(), "去支付");
        assert!(FeeStatus::Exempt.settled() && !FeeStatus::PendingConfirmation.settled());
    }
}
