//! 非执业会员入会申请 (seed 003, DOMAIN §1): the application's states and the
//! decisions that move it, as a `match` over (state, action).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AdmissionState {
    /// 地方注协待审核
    Submitted,
    /// 地方注协审核通过待中注协确认
    LocalApproved,
    /// 中注协审核通过: a member now.
    Confirmed,
    /// 地方注协退回: the applicant corrects and resubmits.
    ReturnedByLocal,
    /// 中注协退回: the applicant corrects and resubmits.
    ReturnedByCicpa,
    /// 不予通过: final.
    Rejected,
}

impl AdmissionState {
    pub const ALL: [AdmissionState; 6] = [
        AdmissionState::Submitted,
        AdmissionState::LocalApproved,
        AdmissionState::Confirmed,
        AdmissionState::ReturnedByLocal,
        AdmissionState::ReturnedByCicpa,
        AdmissionState::Rejected,
    ];

    pub fn code(self) -> &'static str {
        match self {
            AdmissionState::Submitted => "submitted",
            AdmissionState::LocalApproved => "local_approved",
            AdmissionState::Confirmed => "confirmed",
            AdmissionState::ReturnedByLocal => "returned_local",
            AdmissionState::ReturnedByCicpa => "returned_cicpa",
            AdmissionState::Rejected => "rejected",
        }
    }

    pub fn from_code(code: &str) -> Option<AdmissionState> {
        AdmissionState::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The words of the progress query (seed 003 §2.3–2.5).
    pub fn label(self) -> &'static str {
        match self {
            AdmissionState::Submitted => "地方注协待审核",
            AdmissionState::LocalApproved => "地方注协审核通过待中注协确认",
            AdmissionState::Confirmed => "中注协审核通过",
            AdmissionState::ReturnedByLocal => "地方注协退回",
            AdmissionState::ReturnedByCicpa => "中注协退回",
            AdmissionState::Rejected => "不予通过",
        }
    }

    pub fn is_returned(self) -> bool {
        matches!(self, AdmissionState::ReturnedByLocal | AdmissionState::ReturnedByCicpa)
    }

    /// Still in someone's hands: an ID or exam certificate in it cannot apply again.
    pub fn is_pending(self) -> bool {
        !matches!(self, AdmissionState::Confirmed | AdmissionState::Rejected)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdmissionAction {
    /// 地方注协: 通过
    LocalApprove,
    /// 地方注协: 退回 (with a reason)
    LocalReturn,
    /// 地方注协: 不予通过 (with a reason)
    LocalReject,
    /// 中注协: 确认
    CicpaConfirm,
    /// 中注协: 退回 (with a reason)
    CicpaReturn,
    /// 申请人: 再次提交 after a return
    Resubmit,
}

impl AdmissionAction {
    /// The node written on the approval trail.
    pub fn node(self) -> &'static str {
        match self {
            AdmissionAction::LocalApprove => "地方注协审核通过",
            AdmissionAction::LocalReturn => "地方注协退回",
            AdmissionAction::LocalReject => "地方注协不予通过",
            AdmissionAction::CicpaConfirm => "中注协审核通过",
            AdmissionAction::CicpaReturn => "中注协退回",
            AdmissionAction::Resubmit => "申请人再次提交",
        }
    }

    pub fn needs_reason(self) -> bool {
        matches!(self, AdmissionAction::LocalReturn | AdmissionAction::LocalReject | AdmissionAction::CicpaReturn)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionRefusal {
    #[error("该申请当前状态为“{0}”，不能进行此操作")]
    WrongState(&'static str),
    #[error("请填写原因")]
    ReasonRequired,
}

/// The next state, or why not. `reason` is the 退回 / 不予通过 text.
pub fn transition(
    state: AdmissionState,
    action: AdmissionAction,
    reason: &str,
) -> Result<AdmissionState, AdmissionRefusal> {
    use AdmissionAction as A;
    use AdmissionState as S;
    if action.needs_reason() && reason.trim().is_empty() {
        return Err(AdmissionRefusal::ReasonRequired);
    }
    match (state, action) {
        (S::Submitted, A::LocalApprove) => Ok(S::LocalApproved),
        (S::Submitted, A::LocalReturn) => Ok(S::ReturnedByLocal),
        (S::Submitted, A::LocalReject) => Ok(S::Rejected),
        (S::LocalApproved, A::CicpaConfirm) => Ok(S::Confirmed),
        (S::LocalApproved, A::CicpaReturn) => Ok(S::ReturnedByCicpa),
        // A corrected application starts again at the local association.
        (S::ReturnedByLocal | S::ReturnedByCicpa, A::Resubmit) => Ok(S::Submitted),
        (s, _) => Err(AdmissionRefusal::WrongState(s.label())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AdmissionAction as A;
    use AdmissionState as S;

    #[test]
    fn the_whole_path_to_a_member() {
        let s = transition(S::Submitted, A::LocalApprove, "").unwrap();
        assert_eq!(s, S::LocalApproved);
        assert_eq!(transition(s, A::CicpaConfirm, "").unwrap(), S::Confirmed);
    }

    #[test]
    fn returns_need_a_reason_and_come_back_to_the_local_association() {
        assert_eq!(transition(S::Submitted, A::LocalReturn, " "), Err(AdmissionRefusal::ReasonRequired));
        let r = transition(S::Submitted, A::LocalReturn, "照片不清晰").unwrap();
        assert_eq!(r, S::ReturnedByLocal);
        assert_eq!(transition(r, A::Resubmit, "").unwrap(), S::Submitted);
        let r = transition(S::LocalApproved, A::CicpaReturn, "全科合格证号有误").unwrap();
        assert_eq!(transition(r, A::Resubmit, "").unwrap(), S::Submitted);
    }

    #[test]
    fn every_other_pair_is_refused_with_the_current_state() {
        let allowed = [
            (S::Submitted, A::LocalApprove),
            (S::Submitted, A::LocalReturn),
            (S::Submitted, A::LocalReject),
            (S::LocalApproved, A::CicpaConfirm),
            (S::LocalApproved, A::CicpaReturn),
            (S::ReturnedByLocal, A::Resubmit),
            (S::ReturnedByCicpa, A::Resubmit),
        ];
        let actions = [A::LocalApprove, A::LocalReturn, A::LocalReject, A::CicpaConfirm, A::CicpaReturn, A::Resubmit];
        for s in S::ALL {
            for a in actions {
                let r = transition(s, a, "原因");
                if allowed.contains(&(s, a)) {
                    assert!(r.is_ok(), "{s:?} {a:?}");
                } else {
                    assert_eq!(r, Err(AdmissionRefusal::WrongState(s.label())), "{s:?} {a:?}");
                }
            }
        }
    }

    #[test]
    fn only_confirmed_and_rejected_are_final() {
        let pending: Vec<_> = S::ALL.into_iter().filter(|s| s.is_pending()).collect();
        assert_eq!(pending, [S::Submitted, S::LocalApproved, S::ReturnedByLocal, S::ReturnedByCicpa]);
        for s in S::ALL {
            assert_eq!(S::from_code(s.code()), Some(s));
        }
    }
}
