//! Client registration rules shared by the admin CLI and the developer portal.

/// Longest client id accepted, in bytes.
pub const MAX_CLIENT_ID_LEN: usize = 128;
/// Longest client (app) name accepted, in characters.
pub const MAX_NAME_LEN: usize = 100;

/// Whether a presented client id could be one: printable ASCII without
/// spaces, quotes or backslashes. Anything else is rejected before it
/// reaches the store.
pub fn is_valid_client_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_CLIENT_ID_LEN
        && id
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidName {
    #[error("name must not be empty")]
    Empty,
    #[error("name is longer than {MAX_NAME_LEN} characters")]
    TooLong,
    #[error("name must not contain control characters")]
    ControlCharacter,
}

/// Validates a display name (of an app or a scope label) and trims it.
pub fn parse_display_name(name: &str) -> Result<String, InvalidName> {
    let name = name.trim();
    if name.is_empty() {
        return Err(InvalidName::Empty);
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(InvalidName::TooLong);
    }
    if name.chars().any(char::is_control) {
        return Err(InvalidName::ControlCharacter);
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids() {
        assert!(is_valid_client_id("conf-basic"));
        assert!(is_valid_client_id("an:identifier"));
        assert!(!is_valid_client_id(""));
        assert!(!is_valid_client_id("a b"));
        assert!(!is_valid_client_id("a\u{0}"));
        assert!(!is_valid_client_id("cl\u{0456}ent"));
        assert!(!is_valid_client_id(&"a".repeat(129)));
    }

    #[test]
    fn display_names() {
        assert_eq!(parse_display_name("  My App "), Ok("My App".to_owned()));
        assert_eq!(parse_display_name("   "), Err(InvalidName::Empty));
        assert_eq!(
            parse_display_name("a\nb"),
            Err(InvalidName::ControlCharacter)
        );
        assert_eq!(
            parse_display_name(&"x".repeat(101)),
            Err(InvalidName::TooLong)
        );
    }
}
