//! The wire format of every secret Portcullis hands out.
//!
//! A credential is a short type prefix (so a leaked one is easy to scan for)
//! followed by base64url of a 16-byte row id and 32 random bytes:
//!
//! ```text
//! pc_at_<base64url(row id ‖ 256-bit secret)>
//! ```
//!
//! The row id starts with a millisecond timestamp, so new rows land at the
//! end of the store's index instead of on a random page. Only the SHA-256 of
//! the whole credential (its *verifier*) is ever stored; the row id finds the
//! row and the verifier is compared in constant time.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a credential is for. Each kind has its own prefix, so a refresh
/// token can never be presented as an access token or the other way round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    AccessToken,
    RefreshToken,
    AuthorizationCode,
    DeviceCode,
    PairingCode,
    ClientSecret,
    Session,
    PersonalAccessToken,
}

impl Kind {
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::AccessToken => "pc_at_",
            Kind::RefreshToken => "pc_rt_",
            Kind::AuthorizationCode => "pc_ac_",
            Kind::DeviceCode => "pc_dc_",
            Kind::PairingCode => "pc_pc_",
            Kind::ClientSecret => "pc_cs_",
            Kind::Session => "pc_ss_",
            Kind::PersonalAccessToken => "pc_pat_",
        }
    }
}

/// Bytes of randomness in every credential.
pub const SECRET_LEN: usize = 32;

/// A row key that sorts by creation time: 6 bytes of Unix milliseconds
/// (big-endian), then 10 random bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowId(pub [u8; 16]);

impl RowId {
    pub fn new(unix_millis: u64, random: [u8; 10]) -> RowId {
        let mut id = [0u8; 16];
        id[..6].copy_from_slice(&unix_millis.to_be_bytes()[2..]);
        id[6..].copy_from_slice(&random);
        RowId(id)
    }

    pub fn from_slice(bytes: &[u8]) -> Option<RowId> {
        bytes.try_into().ok().map(RowId)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for RowId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RowId({})", URL_SAFE_NO_PAD.encode(self.0))
    }
}

/// The SHA-256 of a credential: what the store keeps instead of it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Verifier(pub [u8; 32]);

impl Verifier {
    pub fn of(credential: &str) -> Verifier {
        Verifier(Sha256::digest(credential.as_bytes()).into())
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Verifier> {
        bytes.try_into().ok().map(Verifier)
    }

    /// Constant-time comparison with a presented credential.
    pub fn verify(&self, presented: &str) -> bool {
        Verifier::of(presented).0.ct_eq(&self.0).into()
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Verifier(..)")
    }
}

/// Encodes a credential that carries its row id.
pub fn encode(kind: Kind, id: RowId, secret: &[u8; SECRET_LEN]) -> String {
    let mut raw = [0u8; 16 + SECRET_LEN];
    raw[..16].copy_from_slice(&id.0);
    raw[16..].copy_from_slice(secret);
    let mut out = String::with_capacity(kind.prefix().len() + 64);
    out.push_str(kind.prefix());
    URL_SAFE_NO_PAD.encode_string(raw, &mut out);
    out
}

/// Encodes a credential that needs no row id (a client secret is found by its client id).
pub fn encode_secret(kind: Kind, secret: &[u8; SECRET_LEN]) -> String {
    let mut out = String::with_capacity(kind.prefix().len() + 43);
    out.push_str(kind.prefix());
    URL_SAFE_NO_PAD.encode_string(secret, &mut out);
    out
}

/// The row id of a presented credential of the given kind, or `None` when it
/// is not one (wrong prefix, wrong length, not base64url).
pub fn row_id(kind: Kind, presented: &str) -> Option<RowId> {
    let body = presented.strip_prefix(kind.prefix())?;
    if body.len() != 64 {
        return None;
    }
    let mut raw = [0u8; 16 + SECRET_LEN];
    let n = URL_SAFE_NO_PAD.decode_slice(body, &mut raw).ok()?;
    (n == raw.len())
        .then(|| RowId::from_slice(&raw[..16]))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_round_trip() {
        let id = RowId::new(1_700_000_000_123, [7; 10]);
        let token = encode(Kind::AccessToken, id, &[9; 32]);
        assert!(token.starts_with("pc_at_"));
        assert_eq!(token.len(), 6 + 64);
        assert_eq!(row_id(Kind::AccessToken, &token), Some(id));
        assert_eq!(row_id(Kind::RefreshToken, &token), None);
        assert_eq!(row_id(Kind::AccessToken, &token[..token.len() - 1]), None);
        assert_eq!(row_id(Kind::AccessToken, &format!("{token}A")), None);
        assert_eq!(row_id(Kind::AccessToken, "pc_at_!!"), None);
    }

    #[test]
    fn row_ids_sort_by_time() {
        let a = RowId::new(1_000, [0xff; 10]);
        let b = RowId::new(1_001, [0; 10]);
        assert!(a < b);
    }

    #[test]
    fn verifier_checks_the_whole_credential() {
        let secret = encode_secret(Kind::ClientSecret, &[1; 32]);
        assert!(secret.starts_with("pc_cs_"));
        let v = Verifier::of(&secret);
        assert!(v.verify(&secret));
        assert!(!v.verify(&secret[..secret.len() - 1]));
        assert!(!v.verify(""));
    }
}
