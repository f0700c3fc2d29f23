//! Codes people type: RFC 8628 user codes and pairing codes.
//!
//! They use 20 consonants (RFC 8628 section 6.1): no vowels, so no words,
//! and none of the look-alikes 0/O, 1/I/L. Entry ignores case, dashes and
//! spaces. An 8-character user code carries 34.5 bits; guessing one within
//! its lifetime is hopeless once entry attempts are rate limited.

/// The alphabet, in the order random values map onto it.
pub const ALPHABET: &[u8; 20] = b"BCDFGHJKMNPQRSTVWXZY";

/// Characters in an RFC 8628 user code.
pub const USER_CODE_LEN: usize = 8;
/// Characters in a pairing code.
pub const PAIRING_CODE_LEN: usize = 12;

/// Turns random bytes into a code of `len` characters, shown in groups of
/// four joined by dashes. Bytes at or above 240 are skipped so every
/// character is equally likely; `None` when the bytes run out first.
pub fn from_random(random: &[u8], len: usize) -> Option<String> {
    let chars: Vec<u8> = random
        .iter()
        .filter(|b| **b < 240)
        .map(|b| ALPHABET[usize::from(*b % 20)])
        .take(len)
        .collect();
    (chars.len() == len).then(|| format_groups(&chars))
}

fn format_groups(chars: &[u8]) -> String {
    chars
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// The canonical form of what someone typed: upper case, without dashes or
/// spaces. `None` when it cannot be a code of `len` characters.
pub fn normalize(typed: &str, len: usize) -> Option<String> {
    let canonical: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = canonical.len() == len && canonical.bytes().all(|b| ALPHABET.contains(&b));
    valid.then_some(canonical)
}

/// The display form (`WDJB-MJHT`) of a canonical code.
pub fn display(canonical: &str) -> String {
    format_groups(canonical.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_and_unambiguous() {
        let code = from_random(&[0, 1, 2, 3, 4, 5, 6, 7, 250, 19], USER_CODE_LEN).unwrap();
        assert_eq!(code, "BCDF-GHJK");
        assert!(
            from_random(&[250; 20], USER_CODE_LEN).is_none(),
            "biased bytes are skipped"
        );
        let long = from_random(&[9; 12], PAIRING_CODE_LEN).unwrap();
        assert_eq!(long, "NNNN-NNNN-NNNN");
        for c in b"0O1IL5AEU" {
            assert!(!ALPHABET.contains(c), "{}", *c as char);
        }
    }

    #[test]
    fn entry_ignores_case_dashes_and_spaces() {
        assert_eq!(
            normalize("wdjb-mjht", USER_CODE_LEN).as_deref(),
            Some("WDJBMJHT")
        );
        assert_eq!(
            normalize(" WDJB MJHT ", USER_CODE_LEN).as_deref(),
            Some("WDJBMJHT")
        );
        assert_eq!(normalize("WDJB-MJH", USER_CODE_LEN), None);
        assert_eq!(normalize("WDJB-MJH0", USER_CODE_LEN), None);
        assert_eq!(normalize("WDJB-MJHTX", USER_CODE_LEN), None);
        assert_eq!(display("WDJBMJHT"), "WDJB-MJHT");
    }
}
