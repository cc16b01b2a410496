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
            TextError::Control => f.write_str("含有不能使用的控制字符，请删除后重新填写"),
        }
    }
}

/// Checks one value: at most `max` characters, no control characters (but
/// line breaks and tabs when `multiline`).
pub fn check(value: &str, max: usize, multiline: bool) -> Result<(), TextError> {
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(TextError::Control);
    }
    if value.chars().count() > max {
        return Err(TextError::TooLong(max));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
