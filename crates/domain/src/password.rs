//! The password rule users see when they set or change a password.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("密码长度应为8至32位")]
    Length,
    #[error("密码须同时包含字母和数字")]
    Composition,
    #[error("新密码不能与用户名相同")]
    SameAsLogin,
    #[error("两次输入的密码不一致")]
    Mismatch,
    #[error("新密码不能与原密码相同")]
    Unchanged,
}

/// Checks a new password against the rule and its confirmation.
pub fn check_new(password: &str, confirm: &str, login_name: &str) -> Result<(), PasswordError> {
    let n = password.chars().count();
    if !(8..=32).contains(&n) {
        return Err(PasswordError::Length);
    }
    let letters = password.chars().any(|c| c.is_ascii_alphabetic());
    let digits = password.chars().any(|c| c.is_ascii_digit());
    if !letters || !digits {
        return Err(PasswordError::Composition);
    }
    if password.eq_ignore_ascii_case(login_name) {
        return Err(PasswordError::SameAsLogin);
    }
    if password != confirm {
        return Err(PasswordError::Mismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_good_password() {
        assert_eq!(check_new("Abcd1234", "Abcd1234", "440020260001"), Ok(()));
    }

    #[test]
    fn refuses_bad_passwords_with_the_reason() {
        assert_eq!(check_new("a1", "a1", "x"), Err(PasswordError::Length));
        assert_eq!(check_new("abcdefgh", "abcdefgh", "x"), Err(PasswordError::Composition));
        assert_eq!(check_new("12345678", "12345678", "x"), Err(PasswordError::Composition));
        assert_eq!(check_new("abc12345", "abc12345", "ABC12345"), Err(PasswordError::SameAsLogin));
        assert_eq!(check_new("abc12345", "abc12346", "x"), Err(PasswordError::Mismatch));
    }
}
