//! Masking of personal information for lists: only the person and staff who
//! need them see full values.

/// `110101199003071234` → `110101********1234`. Short values keep only their last character.
pub fn id_number(value: &str) -> String {
    keep_ends(value, 6, 4)
}

/// `13812348628` → `138****8628`.
pub fn phone(value: &str) -> String {
    keep_ends(value, 3, 4)
}

/// `张三丰` → `张**`.
pub fn name(value: &str) -> String {
    keep_ends(value, 1, 0)
}

fn keep_ends(value: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    if n == 0 {
        return String::new();
    }
    if n <= head + tail {
        // Too short to keep both ends: hide all but the last character.
        let mut s: String = "*".repeat(n - 1);
        s.push(chars[n - 1]);
        return s;
    }
    let mut s: String = chars[..head].iter().collect();
    s.push_str(&"*".repeat(n - head - tail));
    s.extend(&chars[n - tail..]);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_an_id_number_as_the_architecture_shows() {
        assert_eq!(id_number("110101199003071234"), "110101********1234");
    }

    #[test]
    fn masks_a_phone() {
        assert_eq!(phone("13812348628"), "138****8628");
    }

    #[test]
    fn masks_names_by_character_not_byte() {
        assert_eq!(name("张三丰"), "张**");
        assert_eq!(name("李"), "李");
    }

    #[test]
    fn short_values_do_not_leak() {
        assert_eq!(id_number("12345"), "****5");
        assert_eq!(phone(""), "");
    }
}
