//! Self-validating access tokens for a client acting for itself
//! (client_credentials). Such a token carries what introspection needs and
//! a MAC over it, so issuing one writes nothing and checking one reads
//! nothing; revocation goes through a small deny-list kept until expiry.
//!
//! ```text
//! pc_at_<base64url(1 ‖ id(16) ‖ nonce(32) ‖ iat(8) ‖ exp(8)
//!                  ‖ len(1) ‖ client id ‖ len(2) ‖ scope ‖ HMAC-SHA256(32))>
//! ```
//!
//! The MAC covers the prefix and every byte before it. The token is still
//! opaque to clients (nothing in it is a promise); it has 256 random bits
//! like every other credential, and the id is time-ordered like row ids.
//! A row-backed access token decodes to exactly 48 bytes, a sealed one to
//! more than 100, so the two never collide.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

use crate::token::{Kind, RowId, SECRET_LEN};

const VERSION: u8 = 1;
const TAG_LEN: usize = 32;
/// Everything but the two variable fields.
const FIXED_LEN: usize = 1 + 16 + SECRET_LEN + 8 + 8 + 1 + 2 + TAG_LEN;

/// What a sealed access token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    pub id: RowId,
    pub issued_at: i64,
    pub expires_at: i64,
    pub client_id: String,
    /// The granted scope, space-separated.
    pub scope: String,
}

fn mac(key: &[u8]) -> hmac::Hmac<Sha256> {
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(Kind::AccessToken.prefix().as_bytes());
    mac
}

/// Seals a token. `None` when the client id or scope is too long to carry
/// (255 and 65,535 bytes); the caller then issues a row-backed token.
pub fn seal(token: &Sealed, nonce: &[u8; SECRET_LEN], key: &[u8]) -> Option<String> {
    let client = token.client_id.as_bytes();
    let scope = token.scope.as_bytes();
    let client_len = u8::try_from(client.len()).ok()?;
    let scope_len = u16::try_from(scope.len()).ok()?;
    let mut raw = Vec::with_capacity(FIXED_LEN + client.len() + scope.len());
    raw.push(VERSION);
    raw.extend_from_slice(token.id.as_bytes());
    raw.extend_from_slice(nonce);
    raw.extend_from_slice(&token.issued_at.to_be_bytes());
    raw.extend_from_slice(&token.expires_at.to_be_bytes());
    raw.push(client_len);
    raw.extend_from_slice(client);
    raw.extend_from_slice(&scope_len.to_be_bytes());
    raw.extend_from_slice(scope);
    let mut m = mac(key);
    m.update(&raw);
    raw.extend_from_slice(&m.finalize().into_bytes());
    let prefix = Kind::AccessToken.prefix();
    let mut out = String::with_capacity(prefix.len() + raw.len().div_ceil(3) * 4);
    out.push_str(prefix);
    URL_SAFE_NO_PAD.encode_string(&raw, &mut out);
    Some(out)
}

/// Opens a presented token: `Some` only for a sealed access token whose MAC
/// verifies under `key` (compared in constant time). Expiry and revocation
/// are the caller's to check.
pub fn open(presented: &str, key: &[u8]) -> Option<Sealed> {
    let body = presented.strip_prefix(Kind::AccessToken.prefix())?;
    // A row-backed token is 64 characters; anything this short is not sealed.
    if body.len() < (FIXED_LEN * 4).div_ceil(3) || body.len() > 90_000 {
        return None;
    }
    let raw = URL_SAFE_NO_PAD.decode(body).ok()?;
    let (signed, tag) = raw.split_at_checked(raw.len().checked_sub(TAG_LEN)?)?;
    let mut m = mac(key);
    m.update(signed);
    m.verify_slice(tag).ok()?;
    // Authentic: the layout below was written by `seal`.
    let mut rest = signed;
    let mut take = |n: usize| -> Option<&[u8]> {
        let (head, tail) = rest.split_at_checked(n)?;
        rest = tail;
        Some(head)
    };
    if take(1)? != [VERSION] {
        return None;
    }
    let id = RowId::from_slice(take(16)?)?;
    take(SECRET_LEN)?;
    let issued_at = i64::from_be_bytes(take(8)?.try_into().ok()?);
    let expires_at = i64::from_be_bytes(take(8)?.try_into().ok()?);
    let client_len = usize::from(take(1)?[0]);
    let client_id = String::from_utf8(take(client_len)?.to_vec()).ok()?;
    let scope_len = usize::from(u16::from_be_bytes(take(2)?.try_into().ok()?));
    let scope = String::from_utf8(take(scope_len)?.to_vec()).ok()?;
    if !rest.is_empty() {
        return None;
    }
    Some(Sealed {
        id,
        issued_at,
        expires_at,
        client_id,
        scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token;

    fn sample() -> Sealed {
        Sealed {
            id: RowId::new(1_700_000_000_000, [3; 10]),
            issued_at: 1_700_000_000,
            expires_at: 1_700_003_600,
            client_id: "client-123".into(),
            scope: "api:read api:write".into(),
        }
    }

    #[test]
    fn seal_and_open_round_trip() {
        let token = seal(&sample(), &[7; 32], b"key").unwrap();
        assert!(token.starts_with("pc_at_"));
        assert_eq!(open(&token, b"key"), Some(sample()));
        assert_eq!(
            token::row_id(Kind::AccessToken, &token),
            None,
            "never mistaken for a row-backed token"
        );
        let row_token = token::encode(Kind::AccessToken, sample().id, &[1; 32]);
        assert_eq!(open(&row_token, b"key"), None);
    }

    #[test]
    fn any_change_breaks_the_seal() {
        let token = seal(&sample(), &[7; 32], b"key").unwrap();
        assert_eq!(open(&token, b"other key"), None);
        let mut raw = URL_SAFE_NO_PAD.decode(&token[6..]).unwrap();
        for i in [0, 20, 60, raw.len() - 1] {
            raw[i] ^= 1;
            let forged = format!("pc_at_{}", URL_SAFE_NO_PAD.encode(&raw));
            assert_eq!(open(&forged, b"key"), None, "byte {i}");
            raw[i] ^= 1;
        }
        assert_eq!(open(&token.replace("pc_at_", "pc_rt_"), b"key"), None);
        assert_eq!(open(&token[..token.len() - 2], b"key"), None);
        assert_eq!(open("pc_at_", b"key"), None);
    }

    #[test]
    fn oversized_fields_are_not_sealed() {
        let long = Sealed {
            client_id: "c".repeat(256),
            ..sample()
        };
        assert_eq!(seal(&long, &[0; 32], b"key"), None);
    }
}
