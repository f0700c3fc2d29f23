//! Self-validating tokens. A sealed token carries what checking it needs
//! and a MAC over it, so issuing one writes nothing. Two kinds are sealed:
//!
//! - **Access tokens.** A client's own token (client_credentials) is
//!   checked without a read; one issued from a user's grant names the grant,
//!   and checking it reads the grant (revoked? user disabled?).
//! - **Refresh tokens.** They name their grant and the grant's generation:
//!   rotating one is a single conditional update of the grant from that
//!   generation to the next, so a token is spent exactly once and a spent
//!   one is recognised for what it is.
//!
//! ```text
//! pc_at_ / pc_rt_ <base64url(version(1) ‖ id(16) ‖ nonce(32) ‖ iat(8) ‖ exp(8)
//!                   [‖ grant id(16) ‖ generation(8)]
//!                   ‖ len(1) ‖ client id ‖ len(2) ‖ scope ‖ HMAC-SHA256(32))>
//! ```
//!
//! Version 1 has no grant, version 2 has one. The MAC covers the prefix
//! and every byte before it, so a token of one kind never passes for the
//! other. The token is still opaque to clients (nothing in it is a
//! promise); it has 256 random bits like every other credential, and the
//! id is time-ordered like row ids. A row-backed token decodes to exactly
//! 48 bytes, a sealed one to more than 100, so the two never collide.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

use crate::token::{Kind, RowId, SECRET_LEN};

/// A client's own token: no grant.
const VERSION_CLIENT: u8 = 1;
/// A token issued from a user's grant.
const VERSION_GRANT: u8 = 2;
const TAG_LEN: usize = 32;
/// Everything but the grant and the two variable fields.
const FIXED_LEN: usize = 1 + 16 + SECRET_LEN + 8 + 8 + 1 + 2 + TAG_LEN;
const GRANT_LEN: usize = 16 + 8;

/// The grant a sealed token was issued from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrantRef {
    pub id: RowId,
    /// The grant's generation when the token was issued: a refresh token is
    /// live while the grant is still at it.
    pub generation: i64,
}

/// What a sealed token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    pub id: RowId,
    pub issued_at: i64,
    pub expires_at: i64,
    pub client_id: String,
    /// The granted scope, space-separated.
    pub scope: String,
    /// `None` for a client's own token.
    pub grant: Option<GrantRef>,
}

/// Which kinds may be sealed.
fn sealable(kind: Kind) -> bool {
    matches!(kind, Kind::AccessToken | Kind::RefreshToken)
}

fn mac(kind: Kind, key: &[u8]) -> hmac::Hmac<Sha256> {
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(kind.prefix().as_bytes());
    mac
}

/// Seals a token of `kind` (an access or refresh token). `None` when the
/// kind cannot be sealed, or the client id or scope is too long to carry
/// (255 and 65,535 bytes).
pub fn seal(kind: Kind, token: &Sealed, nonce: &[u8; SECRET_LEN], key: &[u8]) -> Option<String> {
    if !sealable(kind) {
        return None;
    }
    let client = token.client_id.as_bytes();
    let scope = token.scope.as_bytes();
    let client_len = u8::try_from(client.len()).ok()?;
    let scope_len = u16::try_from(scope.len()).ok()?;
    let mut raw = Vec::with_capacity(FIXED_LEN + GRANT_LEN + client.len() + scope.len());
    raw.push(match token.grant {
        None => VERSION_CLIENT,
        Some(_) => VERSION_GRANT,
    });
    raw.extend_from_slice(token.id.as_bytes());
    raw.extend_from_slice(nonce);
    raw.extend_from_slice(&token.issued_at.to_be_bytes());
    raw.extend_from_slice(&token.expires_at.to_be_bytes());
    if let Some(grant) = token.grant {
        raw.extend_from_slice(grant.id.as_bytes());
        raw.extend_from_slice(&grant.generation.to_be_bytes());
    }
    raw.push(client_len);
    raw.extend_from_slice(client);
    raw.extend_from_slice(&scope_len.to_be_bytes());
    raw.extend_from_slice(scope);
    Some(finish(kind, raw, key))
}

/// `raw` with its MAC appended, encoded behind the kind's prefix.
pub(crate) fn finish(kind: Kind, mut raw: Vec<u8>, key: &[u8]) -> String {
    let mut m = mac(kind, key);
    m.update(&raw);
    raw.extend_from_slice(&m.finalize().into_bytes());
    let prefix = kind.prefix();
    let mut out = String::with_capacity(prefix.len() + raw.len().div_ceil(3) * 4);
    out.push_str(prefix);
    URL_SAFE_NO_PAD.encode_string(&raw, &mut out);
    out
}

/// The signed bytes of a presented credential of `kind` (between `min`
/// and `max` decoded bytes, MAC included) whose MAC verifies under `key`,
/// compared in constant time; the MAC is cut off.
pub(crate) fn authentic(
    kind: Kind,
    presented: &str,
    key: &[u8],
    min: usize,
    max: usize,
) -> Option<Vec<u8>> {
    let body = presented.strip_prefix(kind.prefix())?;
    if body.len() < (min * 4).div_ceil(3) || body.len() > max.div_ceil(3) * 4 {
        return None;
    }
    let mut raw = URL_SAFE_NO_PAD.decode(body).ok()?;
    let signed = raw.len().checked_sub(TAG_LEN)?;
    let mut m = mac(kind, key);
    m.update(&raw[..signed]);
    m.verify_slice(&raw[signed..]).ok()?;
    raw.truncate(signed);
    Some(raw)
}

/// Reads the fields of authentic bytes in the order they were written.
pub(crate) struct Fields<'a>(pub(crate) &'a [u8]);

impl<'a> Fields<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.0.split_at_checked(n)?;
        self.0 = tail;
        Some(head)
    }

    pub(crate) fn byte(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    pub(crate) fn row_id(&mut self) -> Option<RowId> {
        RowId::from_slice(self.take(16)?)
    }

    pub(crate) fn int(&mut self) -> Option<i64> {
        Some(i64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }

    /// Text behind a length of one byte (`short`) or two.
    pub(crate) fn text(&mut self, short: bool) -> Option<String> {
        let len = if short {
            usize::from(self.byte()?)
        } else {
            usize::from(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
        };
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Opens a presented token: `Some` only for a sealed token of `kind` whose
/// MAC verifies under `key` (compared in constant time). Expiry and
/// revocation are the caller's to check.
pub fn open(kind: Kind, presented: &str, key: &[u8]) -> Option<Sealed> {
    if !sealable(kind) {
        return None;
    }
    // A row-backed token is 48 bytes; anything this short is not sealed.
    let raw = authentic(kind, presented, key, FIXED_LEN, 67_500)?;
    // Authentic: the layout below was written by `seal`.
    let mut f = Fields(&raw);
    let version = f.byte()?;
    if version != VERSION_CLIENT && version != VERSION_GRANT {
        return None;
    }
    let id = f.row_id()?;
    f.take(SECRET_LEN)?;
    let issued_at = f.int()?;
    let expires_at = f.int()?;
    let grant = if version == VERSION_GRANT {
        Some(GrantRef {
            id: f.row_id()?,
            generation: f.int()?,
        })
    } else {
        None
    };
    let client_id = f.text(true)?;
    let scope = f.text(false)?;
    if !f.is_empty() {
        return None;
    }
    Some(Sealed {
        id,
        issued_at,
        expires_at,
        client_id,
        scope,
        grant,
    })
}

/// A secret derived from a credential the client presented, for `label`:
/// `HMAC-SHA256(key, label ‖ presented)`. A rotation seals its successors
/// with nonces and ids derived this way, so a retry of the same request
/// can be answered with the same tokens without the server storing them.
pub fn derive(key: &[u8], label: &str, presented: &str) -> [u8; SECRET_LEN] {
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(label.as_bytes());
    mac.update(&[0]);
    mac.update(presented.as_bytes());
    mac.finalize().into_bytes().into()
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
            grant: None,
        }
    }

    fn of_grant() -> Sealed {
        Sealed {
            grant: Some(GrantRef {
                id: RowId::new(1_600_000_000_000, [9; 10]),
                generation: 41,
            }),
            ..sample()
        }
    }

    #[test]
    fn seal_and_open_round_trip() {
        let token = seal(Kind::AccessToken, &sample(), &[7; 32], b"key").unwrap();
        assert!(token.starts_with("pc_at_"));
        assert_eq!(open(Kind::AccessToken, &token, b"key"), Some(sample()));
        for kind in [Kind::AccessToken, Kind::RefreshToken] {
            let token = seal(kind, &of_grant(), &[7; 32], b"key").unwrap();
            assert!(token.starts_with(kind.prefix()));
            assert_eq!(open(kind, &token, b"key"), Some(of_grant()));
        }
        assert_eq!(
            token::row_id(Kind::AccessToken, &token),
            None,
            "never mistaken for a row-backed token"
        );
        let row_token = token::encode(Kind::AccessToken, sample().id, &[1; 32]);
        assert_eq!(open(Kind::AccessToken, &row_token, b"key"), None);
        assert_eq!(
            seal(Kind::AuthorizationCode, &sample(), &[7; 32], b"key"),
            None
        );
    }

    #[test]
    fn a_token_of_one_kind_never_opens_as_the_other() {
        let refresh = seal(Kind::RefreshToken, &of_grant(), &[7; 32], b"key").unwrap();
        let as_access = refresh.replacen("pc_rt_", "pc_at_", 1);
        assert_eq!(open(Kind::AccessToken, &as_access, b"key"), None);
        assert_eq!(open(Kind::AccessToken, &refresh, b"key"), None);
    }

    #[test]
    fn derivation_is_deterministic_keyed_and_labelled() {
        let a = derive(b"key", "refresh", "pc_rt_old");
        assert_eq!(a, derive(b"key", "refresh", "pc_rt_old"));
        assert_ne!(a, derive(b"other key", "refresh", "pc_rt_old"));
        assert_ne!(a, derive(b"key", "access", "pc_rt_old"));
        assert_ne!(a, derive(b"key", "refresh", "pc_rt_older"));
    }

    #[test]
    fn any_change_breaks_the_seal() {
        let token = seal(Kind::AccessToken, &of_grant(), &[7; 32], b"key").unwrap();
        let open = |t: &str, key: &[u8]| open(Kind::AccessToken, t, key);
        assert_eq!(open(&token, b"other key"), None);
        let mut raw = URL_SAFE_NO_PAD.decode(&token[6..]).unwrap();
        for i in [0, 20, 60, 90, raw.len() - 1] {
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
        assert_eq!(seal(Kind::AccessToken, &long, &[0; 32], b"key"), None);
    }
}
