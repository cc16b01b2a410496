//! 非执业会员年检 (seed 000, DOMAIN §3): the states of one member's
//! inspection for one year, the actions that move it, the fee status and the
//! hours a member owes.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InspectionState {
    /// 地方注协待审核
    Submitted,
    /// 年检通过
    Passed,
    /// 地方注协退回: the member corrects and applies again (再次申请).
    Returned,
    /// 年检不予通过: membership is cancelled.
    Failed,
    /// 暂缓年检待审核
    DeferralSubmitted,
    /// 暂缓年检通过
    Deferred,
    /// 地方注协暂缓退回
    DeferralReturned,
}

impl InspectionState {
    pub const ALL: [InspectionState; 7] = [
        InspectionState::Submitted,
        InspectionState::Passed,
        InspectionState::Returned,
        InspectionState::Failed,
        InspectionState::DeferralSubmitted,
        InspectionState::Deferred,
        InspectionState::DeferralReturned,
    ];

    pub fn code(self) -> &'static str {
        match self {
            InspectionState::Submitted => "submitted",
            InspectionState::Passed => "passed",
            InspectionState::Returned => "returned",
            InspectionState::Failed => "failed",
            InspectionState::DeferralSubmitted => "deferral_submitted",
            InspectionState::Deferred => "deferred",
            InspectionState::DeferralReturned => "deferral_returned",
        }
    }

    pub fn from_code(code: &str) -> Option<InspectionState> {
        InspectionState::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The 审核状态 column of seed 000.
    pub fn label(self) -> &'static str {
        match self {
            InspectionState::Submitted => "地方注协待审核",
            InspectionState::Passed => "年检通过",
            InspectionState::Returned => "地方注协退回",
            InspectionState::Failed => "年检不予通过",
            InspectionState::DeferralSubmitted => "暂缓年检待审核",
            InspectionState::Deferred => "暂缓年检通过",
            InspectionState::DeferralReturned => "地方注协暂缓退回",
        }
    }

    pub fn is_returned(self) -> bool {
        matches!(self, InspectionState::Returned | InspectionState::DeferralReturned)
    }

    /// Waiting for the association.
    pub fn is_pending(self) -> bool {
        matches!(self, InspectionState::Submitted | InspectionState::DeferralSubmitted)
    }

    pub fn is_deferral(self) -> bool {
        matches!(
            self,
            InspectionState::DeferralSubmitted | InspectionState::Deferred | InspectionState::DeferralReturned
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InspectionAction {
    /// 确认申请 (first time, or 再次申请 after a return).
    Apply,
    /// 暂缓年检申请 → 确定提交.
    Defer,
    /// 年检通过
    Pass,
    /// 退回
    Return,
    /// 年检不予通过
    Fail,
    /// 暂缓通过
    ApproveDeferral,
    /// 暂缓退回
    ReturnDeferral,
}

impl InspectionAction {
    pub const DECISIONS: [InspectionAction; 5] = [
        InspectionAction::Pass,
        InspectionAction::Return,
        InspectionAction::Fail,
        InspectionAction::ApproveDeferral,
        InspectionAction::ReturnDeferral,
    ];

    pub fn code(self) -> &'static str {
        match self {
            InspectionAction::Apply => "apply",
            InspectionAction::Defer => "defer",
            InspectionAction::Pass => "pass",
            InspectionAction::Return => "return",
            InspectionAction::Fail => "fail",
            InspectionAction::ApproveDeferral => "approve_deferral",
            InspectionAction::ReturnDeferral => "return_deferral",
        }
    }

    pub fn from_code(code: &str) -> Option<InspectionAction> {
        [InspectionAction::Apply, InspectionAction::Defer].into_iter().chain(Self::DECISIONS).find(|a| a.code() == code)
    }

    /// The button.
    pub fn label(self) -> &'static str {
        match self {
            InspectionAction::Apply => "确认申请",
            InspectionAction::Defer => "暂缓年检申请",
            InspectionAction::Pass => "年检通过",
            InspectionAction::Return => "退回",
            InspectionAction::Fail => "年检不予通过",
            InspectionAction::ApproveDeferral => "暂缓通过",
            InspectionAction::ReturnDeferral => "暂缓退回",
        }
    }

    /// The node on the approval trail (节点).
    pub fn node(self, again: bool) -> &'static str {
        match (self, again) {
            (InspectionAction::Apply, false) => "非执业会员提交年检申请",
            (InspectionAction::Apply, true) => "非执业会员再次提交年检申请",
            (InspectionAction::Defer, false) => "非执业会员提交暂缓年检申请",
            (InspectionAction::Defer, true) => "非执业会员再次提交暂缓年检申请",
            (InspectionAction::Pass, _) => "地方注协非执业会员审核通过",
            (InspectionAction::Return, _) => "地方注协非执业会员审核退回",
            (InspectionAction::Fail, _) => "地方注协非执业会员审核不予通过",
            (InspectionAction::ApproveDeferral, _) => "地方注协非执业会员审核暂缓通过",
            (InspectionAction::ReturnDeferral, _) => "地方注协非执业会员审核暂缓退回",
        }
    }

    pub fn needs_reason(self) -> bool {
        matches!(self, InspectionAction::Return | InspectionAction::Fail | InspectionAction::ReturnDeferral)
    }

    pub fn by_member(self) -> bool {
        matches!(self, InspectionAction::Apply | InspectionAction::Defer)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InspectionRefusal {
    #[error("{0}年度年检已申请，当前状态为“{1}”，不能重复申请")]
    AlreadyApplied(i32, &'static str),
    #[error("当前状态为“{0}”，不能办理“{1}”")]
    NotAllowed(&'static str, &'static str),
    #[error("请填写原因")]
    ReasonRequired,
}

/// The state after `action`, from `current` (None: nothing applied for this year yet).
pub fn transition(
    year: i32,
    current: Option<InspectionState>,
    action: InspectionAction,
    reason: &str,
) -> Result<InspectionState, InspectionRefusal> {
    use InspectionAction as A;
    use InspectionState as S;
    if action.needs_reason() && reason.trim().is_empty() {
        return Err(InspectionRefusal::ReasonRequired);
    }
    match (current, action) {
        (None | Some(S::Returned | S::DeferralReturned), A::Apply) => Ok(S::Submitted),
        (None | Some(S::Returned | S::DeferralReturned), A::Defer) => Ok(S::DeferralSubmitted),
        (Some(s), A::Apply | A::Defer) => Err(InspectionRefusal::AlreadyApplied(year, s.label())),
        (Some(S::Submitted), A::Pass) => Ok(S::Passed),
        (Some(S::Submitted), A::Return) => Ok(S::Returned),
        (Some(S::Submitted), A::Fail) => Ok(S::Failed),
        (Some(S::DeferralSubmitted), A::ApproveDeferral) => Ok(S::Deferred),
        (Some(S::DeferralSubmitted), A::ReturnDeferral) => Ok(S::DeferralReturned),
        (s, a) => Err(InspectionRefusal::NotAllowed(s.map_or("未申请", |s| s.label()), a.label())),
    }
}

/// 缴费情况.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FeeStatus {
    /// 免会费: not collected this year, or the member is exempt.
    Exempt,
    /// 已确认: paid online, or confirmed by the association.
    Confirmed,
    /// 去支付: not paid.
    Unpaid,
    /// 待确认: the member says they paid elsewhere; the association confirms.
    PendingConfirmation,
}

impl FeeStatus {
    pub fn code(self) -> &'static str {
        match self {
            FeeStatus::Exempt => "exempt",
            FeeStatus::Confirmed => "confirmed",
            FeeStatus::Unpaid => "unpaid",
            FeeStatus::PendingConfirmation => "pending_confirmation",
        }
    }

    pub fn from_code(code: &str) -> Option<FeeStatus> {
        [FeeStatus::Exempt, FeeStatus::Confirmed, FeeStatus::Unpaid, FeeStatus::PendingConfirmation]
            .into_iter()
            .find(|s| s.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            FeeStatus::Exempt => "免会费",
            FeeStatus::Confirmed => "已确认",
            FeeStatus::Unpaid => "去支付",
            FeeStatus::PendingConfirmation => "待确认",
        }
    }

    /// 免会费 and 已确认 let the member continue.
    pub fn settled(self) -> bool {
        matches!(self, FeeStatus::Exempt | FeeStatus::Confirmed)
    }
}

/// Hours owed for `year` (DOMAIN §6): the annual requirement for members
/// admitted by 1 July, half for those admitted after it, nothing for those
/// admitted later than the year; reductions granted come off, never below 0.
pub fn hours_required(annual: f64, admitted_on: NaiveDate, year: i32, reductions: f64) -> f64 {
    let base = if admitted_on.year() > year {
        0.0
    } else if admitted_on.year() == year && admitted_on > NaiveDate::from_ymd_opt(year, 7, 1).expect("valid date") {
        annual / 2.0
    } else {
        annual
    };
    (base - reductions).max(0.0)
}

/// Hours still to do before the member may apply.
pub fn hours_short(required: f64, done: f64) -> f64 {
    ((required - done) * 100.0).round().max(0.0) / 100.0
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

    #[test]
    fn every_transition() {
        assert_eq!(transition(2025, None, A::Apply, ""), Ok(S::Submitted));
        assert_eq!(transition(2025, None, A::Defer, ""), Ok(S::DeferralSubmitted));
        assert_eq!(transition(2025, Some(S::Submitted), A::Pass, ""), Ok(S::Passed));
        assert_eq!(transition(2025, Some(S::Submitted), A::Return, "补材料"), Ok(S::Returned));
        assert_eq!(transition(2025, Some(S::Submitted), A::Fail, "不符合"), Ok(S::Failed));
        assert_eq!(transition(2025, Some(S::Returned), A::Apply, ""), Ok(S::Submitted));
        assert_eq!(transition(2025, Some(S::Returned), A::Defer, ""), Ok(S::DeferralSubmitted));
        assert_eq!(transition(2025, Some(S::DeferralSubmitted), A::ApproveDeferral, ""), Ok(S::Deferred));
        assert_eq!(transition(2025, Some(S::DeferralSubmitted), A::ReturnDeferral, "x"), Ok(S::DeferralReturned));
        assert_eq!(transition(2025, Some(S::DeferralReturned), A::Apply, ""), Ok(S::Submitted));
    }

    #[test]
    fn refusals() {
        assert_eq!(
            transition(2025, Some(S::Submitted), A::Apply, "").unwrap_err().to_string(),
            "2025年度年检已申请，当前状态为“地方注协待审核”，不能重复申请"
        );
        assert!(matches!(transition(2025, Some(S::Passed), A::Defer, ""), Err(InspectionRefusal::AlreadyApplied(..))));
        assert_eq!(transition(2025, Some(S::Submitted), A::Return, " "), Err(InspectionRefusal::ReasonRequired));
        assert_eq!(transition(2025, Some(S::Submitted), A::ReturnDeferral, ""), Err(InspectionRefusal::ReasonRequired));
        assert!(matches!(transition(2025, Some(S::Passed), A::Pass, ""), Err(InspectionRefusal::NotAllowed(..))));
        assert!(matches!(
            transition(2025, Some(S::DeferralSubmitted), A::Pass, ""),
            Err(InspectionRefusal::NotAllowed(..))
        ));
        assert!(matches!(transition(2025, None, A::Pass, ""), Err(InspectionRefusal::NotAllowed("未申请", _))));
    }

    #[test]
    fn hours_follow_admission_date_and_reductions() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(hours_required(40.0, d(2020, 3, 1), 2025, 0.0), 40.0);
        assert_eq!(hours_required(40.0, d(2025, 7, 1), 2025, 0.0), 40.0);
        assert_eq!(hours_required(40.0, d(2025, 7, 2), 2025, 0.0), 20.0);
        assert_eq!(hours_required(40.0, d(2026, 1, 5), 2025, 0.0), 0.0);
        assert_eq!(hours_required(40.0, d(2020, 3, 1), 2025, 16.0), 24.0);
        assert_eq!(hours_required(40.0, d(2020, 3, 1), 2025, 60.0), 0.0);
        assert_eq!(hours_short(40.0, 20.0), 20.0, "seed 000 §2.2.2.2: 40 required, 20 done, 20 more");
        assert_eq!(hours_short(40.0, 80.0), 0.0);
        assert!(takes_part(d(2025, 12, 31), 2025));
        assert!(!takes_part(d(2026, 1, 1), 2025));
    }

    #[test]
    fn codes_round_trip() {
        for s in S::ALL {
            assert_eq!(S::from_code(s.code()), Some(s));
        }
        for a in [A::Apply, A::Defer].into_iter().chain(A::DECISIONS) {
            assert_eq!(A::from_code(a.code()), Some(a));
        }
        assert_eq!(FeeStatus::Unpaid.label(), "去支付");
        assert!(FeeStatus::Exempt.settled() && !FeeStatus::PendingConfirmation.settled());
    }
}
