//! 非执业会员入会申请 (seed 003, DOMAIN §1): the application's states, the
//! decisions that move it, and who takes them. The local association reviews,
//! CICPA confirms; either may return it to the applicant, who corrects it and
//! submits again.

use crate::review::{Refusal, Reviewer, Workflow};

crate::coded! {
    /// 办理状态 (the words of the progress query, seed 003 §2.3–2.5).
    pub enum AdmissionState {
        /// The local association reviews.
        Submitted = ("submitted", "地方注协待审核"),
        /// CICPA confirms.
        LocalApproved = ("local_approved", "地方注协审核通过待中注协确认"),
        /// A member now.
        Confirmed = ("confirmed", "中注协审核通过"),
        /// The applicant corrects and resubmits.
        ReturnedByLocal = ("returned_local", "地方注协退回"),
        ReturnedByCicpa = ("returned_cicpa", "中注协退回"),
        /// Final.
        Rejected = ("rejected", "不予通过"),
    }
}

impl AdmissionState {
    pub fn is_returned(self) -> bool {
        matches!(self, AdmissionState::ReturnedByLocal | AdmissionState::ReturnedByCicpa)
    }

    /// Still in someone's hands: an ID or exam certificate in it cannot apply again.
    pub fn is_pending(self) -> bool {
        !matches!(self, AdmissionState::Confirmed | AdmissionState::Rejected)
    }
}

crate::coded! {
    /// The reviewers' decisions (the buttons).
    pub enum AdmissionAction {
        LocalApprove = ("local_approve", "通过"),
        LocalReturn = ("local_return", "退回"),
        LocalReject = ("local_reject", "不予通过"),
        CicpaConfirm = ("cicpa_confirm", "确认"),
        CicpaReturn = ("cicpa_return", "退回"),
    }
}

/// The node of the applicant's 再次提交 on the trail.
pub const RESUBMITTED: &str = "申请人再次提交";

/// 再次提交 after a return starts again at the local association.
pub fn resubmit(state: AdmissionState) -> Result<AdmissionState, Refusal> {
    if state.is_returned() {
        Ok(AdmissionState::Submitted)
    } else {
        Err(Refusal::NotNow { state: state.label(), action: "再次提交" })
    }
}

/// The workflow, for the review kernel.
pub struct MemberAdmission;

impl Workflow for MemberAdmission {
    type State = AdmissionState;
    type Action = AdmissionAction;
    const KIND: &'static str = "member_admission";

    fn reviewer(state: AdmissionState) -> Option<Reviewer> {
        match state {
            AdmissionState::Submitted => Some(Reviewer::Province),
            AdmissionState::LocalApproved => Some(Reviewer::National),
            _ => None,
        }
    }

    fn decisions(state: AdmissionState) -> &'static [AdmissionAction] {
        use AdmissionAction as A;
        match state {
            AdmissionState::Submitted => &[A::LocalApprove, A::LocalReturn, A::LocalReject],
            AdmissionState::LocalApproved => &[A::CicpaConfirm, A::CicpaReturn],
            _ => &[],
        }
    }

    fn needs_reason(action: AdmissionAction) -> bool {
        matches!(action, AdmissionAction::LocalReturn | AdmissionAction::LocalReject | AdmissionAction::CicpaReturn)
    }

    fn node(action: AdmissionAction) -> &'static str {
        match action {
            AdmissionAction::LocalApprove => "地方注协审核通过",
            AdmissionAction::LocalReturn => "地方注协退回",
            AdmissionAction::LocalReject => "地方注协不予通过",
            AdmissionAction::CicpaConfirm => "中注协审核通过",
            AdmissionAction::CicpaReturn => "中注协退回",
        }
    }

    fn is_returned(state: AdmissionState) -> bool {
        state.is_returned()
    }

    fn next(_: AdmissionState, action: AdmissionAction) -> AdmissionState {
        match action {
            AdmissionAction::LocalApprove => AdmissionState::LocalApproved,
            AdmissionAction::LocalReturn => AdmissionState::ReturnedByLocal,
            AdmissionAction::LocalReject => AdmissionState::Rejected,
            AdmissionAction::CicpaConfirm => AdmissionState::Confirmed,
            AdmissionAction::CicpaReturn => AdmissionState::ReturnedByCicpa,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AdmissionAction as A;
    use AdmissionState as S;
    type W = MemberAdmission;

    #[test]
    fn the_whole_path_to_a_member() {
        assert_eq!(W::reviewer(S::Submitted), Some(Reviewer::Province));
        let s = W::decide(S::Submitted, A::LocalApprove, "").unwrap();
        assert_eq!((s, W::reviewer(s)), (S::LocalApproved, Some(Reviewer::National)));
        assert_eq!(W::decide(s, A::CicpaConfirm, "").unwrap(), S::Confirmed);
        assert_eq!(W::reviewer(S::Confirmed), None);
    }

    #[test]
    fn returns_need_a_reason_and_come_back_to_the_local_association() {
        assert_eq!(W::decide(S::Submitted, A::LocalReturn, " "), Err(Refusal::ReasonRequired));
        let r = W::decide(S::Submitted, A::LocalReturn, "照片不清晰").unwrap();
        assert_eq!(r, S::ReturnedByLocal);
        assert_eq!(resubmit(r).unwrap(), S::Submitted);
        let r = W::decide(S::LocalApproved, A::CicpaReturn, "全科合格证号有误").unwrap();
        assert_eq!(resubmit(r).unwrap(), S::Submitted);
        assert_eq!(resubmit(S::Submitted), Err(Refusal::NotNow { state: "地方注协待审核", action: "再次提交" }));
    }

    #[test]
    fn every_other_pair_is_refused_with_the_current_state() {
        let allowed = [
            (S::Submitted, A::LocalApprove),
            (S::Submitted, A::LocalReturn),
            (S::Submitted, A::LocalReject),
            (S::LocalApproved, A::CicpaConfirm),
            (S::LocalApproved, A::CicpaReturn),
        ];
        for &s in S::ALL {
            for &a in A::ALL {
                let r = W::decide(s, a, "原因");
                if allowed.contains(&(s, a)) {
                    assert!(r.is_ok(), "{s:?} {a:?}");
                } else {
                    assert_eq!(r, Err(Refusal::NotNow { state: s.label(), action: a.label() }), "{s:?} {a:?}");
                }
            }
        }
    }

    #[test]
    fn only_confirmed_and_rejected_are_final() {
        let pending: Vec<_> = S::ALL.iter().copied().filter(|s| s.is_pending()).collect();
        assert_eq!(pending, [S::Submitted, S::LocalApproved, S::ReturnedByLocal, S::ReturnedByCicpa]);
        for &s in S::ALL {
            assert_eq!(S::parse(s.code()), Ok(s));
        }
        assert!(S::parse("reviewable").is_err(), "an unknown stored state is an error");
    }
}
