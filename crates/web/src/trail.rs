//! 查看审批信息: the approval trail as every workflow shows it, a row per
//! step with 查看详情 opening 节点, 办理单位, the opinion and 时间.

use askama::Template;
use cmis_app::approval::Step;

#[derive(Template)]
#[template(path = "approval/trail.html")]
pub struct TrailView {
    pub steps: Vec<Step>,
    /// What the opinion is called at this workflow: 审批意见, 退回原因, 暂缓信息 …
    pub opinion_label: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn shows_each_step_with_its_details_in_the_seed_words() {
        let at = chrono::Utc.with_ymd_and_hms(2022, 9, 6, 9, 32, 45).unwrap();
        let view = TrailView {
            steps: vec![Step {
                id: 1,
                node: "地方注协非执业会员审核暂缓退回".into(),
                unit: "浙江省注册会计师协会".into(),
                actor: "staff:33".into(),
                opinion: "请重新上传材料。".into(),
                at,
            }],
            opinion_label: "暂缓信息",
        };
        let html = view.render().unwrap();
        for s in
            ["查看审批信息", "节点", "办理单位", "查看详情", "暂缓信息：", "请重新上传材料。", "浙江省注册会计师协会"]
        {
            assert!(html.contains(s), "{s}");
        }
        assert!(html.contains("2022-09-06 17:32:45"), "shown in China Standard Time, as in seed 000");
        let empty = TrailView { steps: vec![], opinion_label: "审批意见" }.render().unwrap();
        assert!(empty.contains("暂无审批信息"));
    }
}
