//! What every reviewed workflow is, as rules: its states and decisions (coded
//! enums), who decides in each state, and the transition as a `match` over
//! (state, action). The review kernel (`cmis_app::review`) runs the queue,
//! the detail, the decision and its trail for any type that implements this.

use crate::coded::Coded;

/// Who decides a case in a given state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reviewer {
    /// 会计师事务所 (its own CPAs' applications).
    Firm,
    /// 市注协, where a province delegates.
    City,
    /// 省注协 (the 32 local associations).
    Province,
    /// 中注协
    National,
}

/// Why a decision cannot be taken, in the words the screen shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("请填写原因")]
    ReasonRequired,
    #[error("该申请当前状态为“{state}”，不能办理“{action}”")]
    NotNow { state: &'static str, action: &'static str },
    #[error("{year}年度年检已申请，当前状态为“{state}”，不能重复申请")]
    AlreadyApplied { year: i32, state: &'static str },
}

pub trait Workflow: Sized + Send + Sync + 'static {
    type State: Coded;
    type Action: Coded;
    /// The kind of case, as stored and as the trail names its subject.
    const KIND: &'static str;

    /// Who must decide now; None when nobody does (returned, or final).
    fn reviewer(state: Self::State) -> Option<Reviewer>;
    /// Who may still change a decided state that waits for nobody (seed 000
    /// §2.2.3: special states the provincial association resolves); such
    /// cases are not in anyone's queue of work.
    fn revisable(_state: Self::State) -> Option<Reviewer> {
        None
    }
    /// The decisions open to that reviewer in this state (buttons, in order).
    fn decisions(state: Self::State) -> &'static [Self::Action];
    /// Whether the decision must carry a reason (退回, 不予通过).
    fn needs_reason(action: Self::Action) -> bool;
    /// The node written on the approval trail.
    fn node(action: Self::Action) -> &'static str;
    /// The applicant may correct and submit again.
    fn is_returned(state: Self::State) -> bool;
    /// The next state after a decision, or why not.
    fn decide(state: Self::State, action: Self::Action, reason: &str) -> Result<Self::State, Refusal> {
        if !Self::decisions(state).contains(&action) {
            return Err(Refusal::NotNow { state: state.label(), action: action.label() });
        }
        if Self::needs_reason(action) && reason.trim().is_empty() {
            return Err(Refusal::ReasonRequired);
        }
        Ok(Self::next(state, action))
    }
    /// Where a decision open in `state` leads (`decide` has checked it is open).
    fn next(state: Self::State, action: Self::Action) -> Self::State;
}
