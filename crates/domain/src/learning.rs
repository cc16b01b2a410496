//! 继续教育 online learning (seed 004 chapters 1–2): courses of the national
//! accounting institutes, the order they are studied in, how progress is
//! counted from a player, and the 评价 a finished lesson waits for.

use crate::coded;

coded! {
    /// 必修 or 选修: required courses come before electives.
    pub enum CourseKind {
        Required = ("required", "必修"),
        Elective = ("elective", "选修"),
    }
}

coded! {
    /// Who a course is for.
    pub enum Audience {
        Cpa = ("cpa", "执业会员"),
        Member = ("member", "非执业会员"),
        Both = ("both", "执业会员和非执业会员"),
    }
}

coded! {
    /// 职业道德 or 专业: at least 4 hours a year must be ethics (part 2 counts it).
    pub enum Category {
        Professional = ("professional", "专业"),
        Ethics = ("ethics", "职业道德"),
    }
}

coded! {
    /// How the learning took place: online counts at most 24 hours a year (part 2).
    pub enum Form {
        Online = ("online", "网络"),
        FaceToFace = ("face_to_face", "面授"),
    }
}

coded! {
    pub enum CourseState {
        Draft = ("draft", "未发布"),
        Published = ("published", "已发布"),
        Withdrawn = ("withdrawn", "已撤回"),
    }
}

coded! {
    /// What a lesson is studied from.
    pub enum Material {
        Video = ("video", "视频"),
        Document = ("document", "文档"),
    }
}

/// A learner: practicing CPAs and non-practicing members see different courses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learner {
    Cpa,
    Member,
}

impl Audience {
    pub fn includes(self, l: Learner) -> bool {
        matches!((self, l), (Audience::Both, _) | (Audience::Cpa, Learner::Cpa) | (Audience::Member, Learner::Member))
    }

    /// The audiences whose courses a learner sees.
    pub fn of(l: Learner) -> [Audience; 2] {
        match l {
            Learner::Cpa => [Audience::Cpa, Audience::Both],
            Learner::Member => [Audience::Member, Audience::Both],
        }
    }
}

/// Seconds a lesson's progress may run ahead of the time its player has
/// been reporting, in all (the network and the player's rounding): granted
/// once a lesson, never once a report.
pub const SLACK_SECS: i64 = 5;
/// A tab that has not reported for this long no longer holds the lesson, and
/// no more than this counts between two reports.
pub const TAB_HOLD_SECS: i64 = 30;

/// Progress after a report: the time watched grows by what passed since the
/// last report of the same tab on the same lesson (at most `TAB_HOLD_SECS`),
/// and how far the learner has reached follows the player's `position` but
/// never past the time watched and the slack (skipping ahead, reporting
/// often, or from several lessons at once earns nothing), never back, never
/// past the end. Returns (reached, watched ms).
pub fn advance(reached: i32, watched_ms: i64, duration: i32, position: i32, elapsed_ms: i64) -> (i32, i64) {
    let watched = watched_ms + elapsed_ms.clamp(0, TAB_HOLD_SECS * 1000);
    let allowed = watched / 1000 + SLACK_SECS;
    let to = i64::from(position).min(allowed).min(i64::from(duration));
    (reached.max(to as i32), watched)
}

/// Whether a lesson of `reached` seconds out of `duration` is finished.
pub fn finished(reached: i32, duration: i32) -> bool {
    reached >= duration
}

/// Why a course cannot be opened yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("需先完成必修课程，才可以学习选修课程")]
    RequiredFirst,
}

/// Required courses come before electives: an elective opens once every
/// required course of the learner's catalogue is finished.
pub fn may_open(kind: CourseKind, required_left: usize) -> Result<(), OrderError> {
    if kind == CourseKind::Elective && required_left > 0 { Err(OrderError::RequiredFirst) } else { Ok(()) }
}

/// A 评价 as given: a rating of one to five and an optional comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub rating: i32,
    pub comment: String,
}

pub const COMMENT_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvaluationError {
    #[error("请选择评分（1至5星）")]
    Rating,
    #[error("评价内容不超过200字")]
    Comment,
}

impl Evaluation {
    pub fn parse(rating: &str, comment: &str) -> Result<Evaluation, EvaluationError> {
        let rating =
            rating.trim().parse::<i32>().ok().filter(|r| (1..=5).contains(r)).ok_or(EvaluationError::Rating)?;
        let comment = comment.trim();
        if crate::text::check(comment, COMMENT_CHARS, true).is_err() {
            return Err(EvaluationError::Comment);
        }
        Ok(Evaluation { rating, comment: comment.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watching_counts_time_not_jumps() {
        // Ten seconds played, ten seconds passed.
        assert_eq!(advance(0, 0, 60, 10, 10_000), (10, 10_000));
        // A jump to the end counts only the time watched, and the slack once.
        assert_eq!(advance(10, 10_000, 60, 60, 5_000), (20, 15_000));
        // Reports with no time between them earn nothing more, however many.
        let mut at = (0, 0);
        for _ in 0..1000 {
            at = advance(at.0, at.1, 2700, 2700, 0);
        }
        assert_eq!(at, (SLACK_SECS as i32, 0));
        // A long pause counts at most the hold.
        assert_eq!(advance(10, 10_000, 600, 500, 3_600_000).1, 10_000 + TAB_HOLD_SECS * 1000);
        // Seeking back never loses what was reached.
        assert_eq!(advance(40, 40_000, 60, 5, 5_000).0, 40);
        // Never past the end.
        assert_eq!(advance(58, 58_000, 60, 70, 10_000).0, 60);
        assert!(finished(60, 60) && !finished(59, 60));
    }

    #[test]
    fn electives_wait_for_required_courses() {
        assert_eq!(may_open(CourseKind::Elective, 1), Err(OrderError::RequiredFirst));
        assert!(may_open(CourseKind::Elective, 0).is_ok());
        assert!(may_open(CourseKind::Required, 3).is_ok());
    }

    #[test]
    fn audiences() {
        assert!(Audience::Both.includes(Learner::Member));
        assert!(!Audience::Cpa.includes(Learner::Member));
        assert!(Audience::Member.includes(Learner::Member));
    }

    #[test]
    fn evaluations() {
        assert_eq!(Evaluation::parse("5", " 很好 "), Ok(Evaluation { rating: 5, comment: "很好".into() }));
        assert_eq!(Evaluation::parse("0", ""), Err(EvaluationError::Rating));
        assert_eq!(Evaluation::parse("6", ""), Err(EvaluationError::Rating));
        assert_eq!(Evaluation::parse("4", &"好".repeat(201)), Err(EvaluationError::Comment));
        assert!(Evaluation::parse("3", "").is_ok());
    }
}
