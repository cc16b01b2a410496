//! Free text typed into a form: a length limit and no control characters.
//! A NUL byte or an escape sequence has no place in a name or an address
//! (PostgreSQL refuses NUL outright); only multi-line boxes keep line breaks
//! and tabs.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextError {
    TooLong(usize),
    Control,
}

impl std::fmt::Display for TextError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TextError::TooLong(max) => write!(f, "不超过{max}个字"),
            TextError::Control => f.write_str("含有不可见或不能使用的字符，请删除后重新填写"),
        }
    }
}

/// Checks one value: at most `max` characters, no control characters (but
/// line breaks and tabs when `multiline`).
pub fn check(value: &str, max: usize, multiline: bool) -> Result<(), TextError> {
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if value.chars().any(|c| (c.is_control() && !allowed(c)) || invisible(c)) {
        return Err(TextError::Control);
    }
    if value.chars().count() > max {
        return Err(TextError::TooLong(max));
    }
    Ok(())
}

/// A reason typed by staff, to be followed by "。" in a sentence: without the
/// full stop (or other closing punctuation) it may already end with, so that
/// "…全称。" does not become "…全称。。".
pub fn clause(reason: &str) -> &str {
    reason.trim().trim_end_matches(['。', '.', '；', ';', '，', ',', '！', '!'])
}

/// The signature of a message sent for an association, as SMS carry it: the
/// association's name shortened the usual way (中国注册会计师协会 → 中注协,
/// 广东省注册会计师协会 → 广东省注协), in 【】.
pub fn signature(association_name: &str) -> String {
    let name = association_name.trim();
    let short = match name {
        "中国注册会计师协会" | "" => "中注协".to_owned(),
        n => match n.strip_suffix("注册会计师协会") {
            Some(place) => format!("{place}注协"),
            None => n.to_owned(),
        },
    };
    format!("【{short}】")
}

/// Characters that show nothing or turn text around: zero-width spaces and
/// joiners, bidirectional overrides and isolates, the byte-order mark. Typed
/// into a field they make two values look the same ("changed" when nothing
/// visible changed) or a certificate number read backwards.
pub fn invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_characters_are_refused() {
        assert_eq!(check("广州市天河区\u{200B}", 50, false), Err(TextError::Control));
        assert_eq!(check("会协〔2026〕\u{202E}12号", 50, false), Err(TextError::Control));
        assert_eq!(check("广州市天河区", 50, false), Ok(()));
    }

    #[test]
    fn reasons_end_once_and_messages_are_signed_by_who_acted() {
        assert_eq!(format!("原因：{}。", clause("请填写单位全称。")), "原因：请填写单位全称。");
        assert_eq!(clause(" 补材料；"), "补材料");
        assert_eq!(clause("无"), "无");
        assert_eq!(signature("中国注册会计师协会"), "【中注协】");
        assert_eq!(signature("广东省注册会计师协会"), "【广东省注协】");
        assert_eq!(signature("北京注册会计师协会"), "【北京注协】");
        assert_eq!(signature("广州市注册会计师协会"), "【广州市注协】");
    }

    #[test]
    fn length_and_control_characters() {
        assert_eq!(check("北京市朝阳区", 10, false), Ok(()));
        assert_eq!(check("北京市朝阳区", 5, false), Err(TextError::TooLong(5)));
        assert_eq!(check("a\0b", 10, false), Err(TextError::Control));
        assert_eq!(check("a\u{1b}[31m", 10, true), Err(TextError::Control));
        assert_eq!(check("第一行\n第二行", 10, false), Err(TextError::Control));
        assert_eq!(check("第一行\r\n第二行", 10, true), Ok(()));
    }
}
