//! 年检批次 (seed 001 chapter 3, DOMAIN §4): the batch a firm sends the
//! provincial association — its CPAs' applications and the firm's own
//! materials (社保证明材料) — numbered {事务所编号}-{年度}-{序号}
//! (50010028-2025-3).
//!
//! The seed shows one 处理状态, 已审核, and says a batch may be withdrawn
//! (撤回) "在省注协未进行审核时" and comes back 已退回 with a reason. The
//! states in between are ours: 待审核 until a reviewer of the association
//! opens it or decides a CPA of it, then 审核中 (no more 撤回); the
//! association passes it (every CPA still waiting 年检通过) or returns it
//! whole (to the firm's 已退回, 再次申请-修改附件 sends it again under the same
//! number, 审核中 at once: the association has worked on it). A batch whose CPAs have all been decided one by one is 已审核 too.

use crate::review::{Refusal, Reviewer, Workflow};

crate::coded! {
    /// 处理状态
    pub enum BatchState {
        Submitted = ("submitted", "待审核"),
        InReview = ("in_review", "审核中"),
        Returned = ("returned", "已退回"),
        Withdrawn = ("withdrawn", "已撤回"),
        Decided = ("decided", "已审核"),
    }
}

crate::coded! {
    /// The provincial association's decisions on a whole batch.
    pub enum BatchAction {
        Pass = ("pass", "审核通过"),
        Return = ("return", "退回"),
    }
}

/// 撤回: only while the association has not started on it.
pub fn withdraw(state: BatchState) -> Result<BatchState, Refusal> {
    match state {
        BatchState::Submitted => Ok(BatchState::Withdrawn),
        s => Err(Refusal::NotNow { state: s.label(), action: "撤回" }),
    }
}

/// 再次申请-修改附件: a returned batch sent again.
/// The association has worked on it already: it comes back 审核中, and
/// 撤回 is no more.
pub fn resubmit(state: BatchState) -> Result<BatchState, Refusal> {
    match state {
        BatchState::Returned => Ok(BatchState::InReview),
        s => Err(Refusal::NotNow { state: s.label(), action: "再次申请" }),
    }
}

/// A reviewer opened the batch, or decided one of its CPAs: it is being reviewed.
pub fn opened(state: BatchState) -> BatchState {
    if state == BatchState::Submitted { BatchState::InReview } else { state }
}

/// The batch number: the firm's number, the year, the firm's sequence of the year.
pub fn batch_no(firm_no: &str, year: i32, seq: i64) -> String {
    format!("{firm_no}-{year}-{seq}")
}

pub struct InspectionBatch;

impl Workflow for InspectionBatch {
    type State = BatchState;
    type Action = BatchAction;
    const KIND: &'static str = "inspection_batch";

    fn reviewer(state: BatchState) -> Option<Reviewer> {
        matches!(state, BatchState::Submitted | BatchState::InReview).then_some(Reviewer::Province)
    }

    fn decisions(state: BatchState) -> &'static [BatchAction] {
        match state {
            BatchState::Submitted | BatchState::InReview => &[BatchAction::Pass, BatchAction::Return],
            _ => &[],
        }
    }

    fn needs_reason(action: BatchAction) -> bool {
        action == BatchAction::Return
    }

    fn node(action: BatchAction) -> &'static str {
        match action {
            BatchAction::Pass => "地方注协审核通过",
            BatchAction::Return => "地方注协退回",
        }
    }

    fn is_returned(state: BatchState) -> bool {
        state == BatchState::Returned
    }

    fn next(_: BatchState, action: BatchAction) -> BatchState {
        match action {
            BatchAction::Pass => BatchState::Decided,
            BatchAction::Return => BatchState::Returned,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BatchAction as A;
    use BatchState as S;
    type W = InspectionBatch;

    #[test]
    fn every_transition() {
        assert_eq!(withdraw(S::Submitted), Ok(S::Withdrawn));
        assert_eq!(opened(S::Submitted), S::InReview);
        assert_eq!(opened(S::Returned), S::Returned);
        assert_eq!(W::decide(S::Submitted, A::Pass, ""), Ok(S::Decided));
        assert_eq!(W::decide(S::InReview, A::Pass, ""), Ok(S::Decided));
        assert_eq!(W::decide(S::InReview, A::Return, "社保证明材料不清晰"), Ok(S::Returned));
        assert_eq!(resubmit(S::Returned), Ok(S::InReview));
        assert_eq!(W::reviewer(S::Submitted), Some(Reviewer::Province));
        assert_eq!(W::reviewer(S::Returned), None);
        assert_eq!(batch_no("50010028", 2025, 3), "50010028-2025-3", "seed 001 §3.1.4");
    }

    #[test]
    fn refusals() {
        assert_eq!(
            withdraw(S::InReview).unwrap_err().to_string(),
            "该申请当前状态为“审核中”，不能办理“撤回”",
            "not once the association has started"
        );
        for s in [S::Returned, S::Withdrawn, S::Decided] {
            assert!(withdraw(s).is_err());
        }
        assert!(resubmit(S::Submitted).is_err());
        assert_eq!(W::decide(S::Submitted, A::Return, " "), Err(Refusal::ReasonRequired));
        assert!(matches!(W::decide(S::Decided, A::Pass, ""), Err(Refusal::NotNow { .. })));
        assert!(matches!(W::decide(S::Withdrawn, A::Return, "x"), Err(Refusal::NotNow { .. })));
    }
}
