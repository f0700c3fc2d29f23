//! Sealed authorization codes. A code carries the authorization it stands
//! for (client, user, scope, redirect URI, PKCE challenge, lifetime) under
//! a MAC, so issuing one writes nothing and redeeming one reads nothing.
//!
//! ```text
//! pc_ac_<base64url(version(1) ‖ id(16) ‖ [consent id(16)] ‖ nonce(32) ‖ iat(8) ‖ exp(8)
//!                  ‖ flags(1) ‖ len(1) ‖ client id ‖ len(1) ‖ user id ‖ len(2) ‖ scope
//!                  ‖ len(2) ‖ redirect URI ‖ len(1) ‖ code challenge ‖ HMAC-SHA256(32))>
//! ```
//!
//! Version 2 carries the id of the consent the code was issued under (the
//! code issues a grant only while that very consent stands); version 1,
//! sealed before it, does not, and is checked against the consent's time.
//!
//! Single use comes from the store, not the code: the grant a code issues
//! takes the code's id as its own, so of two redemptions only the first
//! can store it, and the second knows which grant to revoke. The code is
//! opaque to clients (nothing in it is a promise), has 256 random bits
//! like every other credential, and a time-ordered id.

use crate::sealed::{Fields, authentic, finish};
use crate::token::{Kind, RowId, SECRET_LEN};

const VERSION: u8 = 1;
const VERSION_WITH_CONSENT: u8 = 2;
/// Everything but the variable fields (and the consent's id).
const FIXED_LEN: usize = 1 + 16 + SECRET_LEN + 8 + 8 + 1 + 1 + 1 + 2 + 2 + 1 + 32;
/// The authorization request named `redirect_uri`.
const REDIRECT_URI_GIVEN: u8 = 1;

/// What a sealed authorization code says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedCode {
    /// The code's id, and the id of the grant it issues.
    pub id: RowId,
    /// The consent the code was issued under (`None` only in codes sealed
    /// before codes named it).
    pub consent_id: Option<RowId>,
    pub issued_at: i64,
    pub expires_at: i64,
    pub client_id: String,
    pub user_id: String,
    /// The granted scope, space-separated.
    pub scope: String,
    pub redirect_uri: String,
    /// Whether the authorization request named `redirect_uri` (then the
    /// token request must repeat it, RFC 6749 section 4.1.3).
    pub redirect_uri_given: bool,
    /// The PKCE S256 challenge, when the request had one.
    pub code_challenge: Option<String>,
}

/// Seals a code. `None` when a field is too long to carry (client and
/// user ids and the challenge 255 bytes, scope and redirect URI 65,535).
pub fn seal(code: &SealedCode, nonce: &[u8; SECRET_LEN], key: &[u8]) -> Option<String> {
    let client = code.client_id.as_bytes();
    let user = code.user_id.as_bytes();
    let scope = code.scope.as_bytes();
    let redirect = code.redirect_uri.as_bytes();
    let challenge = code.code_challenge.as_deref().unwrap_or("").as_bytes();
    let variable = client.len() + user.len() + scope.len() + redirect.len() + challenge.len();
    let mut raw = Vec::with_capacity(FIXED_LEN + 16 + variable);
    raw.push(if code.consent_id.is_some() {
        VERSION_WITH_CONSENT
    } else {
        VERSION
    });
    raw.extend_from_slice(code.id.as_bytes());
    if let Some(consent) = code.consent_id {
        raw.extend_from_slice(consent.as_bytes());
    }
    raw.extend_from_slice(nonce);
    raw.extend_from_slice(&code.issued_at.to_be_bytes());
    raw.extend_from_slice(&code.expires_at.to_be_bytes());
    raw.push(if code.redirect_uri_given {
        REDIRECT_URI_GIVEN
    } else {
        0
    });
    raw.push(u8::try_from(client.len()).ok()?);
    raw.extend_from_slice(client);
    raw.push(u8::try_from(user.len()).ok()?);
    raw.extend_from_slice(user);
    raw.extend_from_slice(&u16::try_from(scope.len()).ok()?.to_be_bytes());
    raw.extend_from_slice(scope);
    raw.extend_from_slice(&u16::try_from(redirect.len()).ok()?.to_be_bytes());
    raw.extend_from_slice(redirect);
    raw.push(u8::try_from(challenge.len()).ok()?);
    raw.extend_from_slice(challenge);
    Some(finish(Kind::AuthorizationCode, raw, key))
}

/// Opens a presented code: `Some` only for a code whose MAC verifies under
/// `key` (compared in constant time). Expiry, the client and single use
/// are the caller's to check.
pub fn open(presented: &str, key: &[u8]) -> Option<SealedCode> {
    let raw = authentic(Kind::AuthorizationCode, presented, key, FIXED_LEN, 150_000)?;
    // Authentic: the layout below was written by `seal`.
    let mut f = Fields(&raw);
    let version = f.byte()?;
    let id = f.row_id()?;
    let consent_id = match version {
        VERSION => None,
        VERSION_WITH_CONSENT => Some(f.row_id()?),
        _ => return None,
    };
    f.take(SECRET_LEN)?;
    let issued_at = f.int()?;
    let expires_at = f.int()?;
    let flags = f.byte()?;
    let client_id = f.text(true)?;
    let user_id = f.text(true)?;
    let scope = f.text(false)?;
    let redirect_uri = f.text(false)?;
    let challenge = f.text(true)?;
    if !f.is_empty() {
        return None;
    }
    Some(SealedCode {
        id,
        consent_id,
        issued_at,
        expires_at,
        client_id,
        user_id,
        scope,
        redirect_uri,
        redirect_uri_given: flags & REDIRECT_URI_GIVEN != 0,
        code_challenge: (!challenge.is_empty()).then_some(challenge),
    })
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;
    use crate::sealed;

    fn sample() -> SealedCode {
        SealedCode {
            id: RowId::new(1_700_000_000_000, [3; 10]),
            consent_id: Some(RowId::new(1_699_000_000_000, [5; 10])),
            issued_at: 1_700_000_000,
            expires_at: 1_700_000_060,
            client_id: "client-123".into(),
            user_id: "user-456".into(),
            scope: "api:read api:write".into(),
            redirect_uri: "https://app.example/cb?x=1".into(),
            redirect_uri_given: true,
            code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        }
    }

    #[test]
    fn seal_and_open_round_trip() {
        let code = seal(&sample(), &[7; 32], b"key").unwrap();
        assert!(code.starts_with("pc_ac_"));
        assert_eq!(open(&code, b"key"), Some(sample()));
        let plain = SealedCode {
            redirect_uri_given: false,
            code_challenge: None,
            ..sample()
        };
        assert_eq!(
            open(&seal(&plain, &[7; 32], b"key").unwrap(), b"key"),
            Some(plain)
        );
        // A code of the first version names no consent.
        let plain = SealedCode {
            consent_id: None,
            ..sample()
        };
        assert_eq!(
            open(&seal(&plain, &[7; 32], b"key").unwrap(), b"key"),
            Some(plain)
        );
    }

    #[test]
    fn any_change_breaks_the_seal() {
        let code = seal(&sample(), &[7; 32], b"key").unwrap();
        assert_eq!(open(&code, b"other key"), None);
        let mut raw = URL_SAFE_NO_PAD.decode(&code[6..]).unwrap();
        for i in [0, 20, 60, 75, 90, raw.len() - 1] {
            raw[i] ^= 1;
            let forged = format!("pc_ac_{}", URL_SAFE_NO_PAD.encode(&raw));
            assert_eq!(open(&forged, b"key"), None, "byte {i}");
            raw[i] ^= 1;
        }
        assert_eq!(open(&code[..code.len() - 2], b"key"), None);
        assert_eq!(open("pc_ac_", b"key"), None);
    }

    #[test]
    fn an_unknown_version_does_not_open_even_when_authentic() {
        let code = seal(&sample(), &[7; 32], b"key").unwrap();
        let mut raw = URL_SAFE_NO_PAD.decode(&code[6..]).unwrap();
        raw.truncate(raw.len() - 32);
        let resealed = finish(Kind::AuthorizationCode, raw.clone(), b"key");
        assert_eq!(open(&resealed, b"key"), Some(sample()));
        raw[0] = VERSION_WITH_CONSENT + 1;
        let unknown = finish(Kind::AuthorizationCode, raw, b"key");
        assert_eq!(open(&unknown, b"key"), None);
    }

    #[test]
    fn a_token_never_opens_as_a_code() {
        let token = sealed::Sealed {
            id: sample().id,
            issued_at: 1,
            expires_at: 2,
            client_id: "client-123".into(),
            scope: "a".repeat(200),
            grant: None,
        };
        let token = sealed::seal(Kind::AccessToken, &token, &[7; 32], b"key").unwrap();
        assert_eq!(open(&token.replacen("pc_at_", "pc_ac_", 1), b"key"), None);
    }

    #[test]
    fn oversized_fields_are_not_sealed() {
        let long = SealedCode {
            user_id: "u".repeat(256),
            ..sample()
        };
        assert_eq!(seal(&long, &[0; 32], b"key"), None);
    }
}
