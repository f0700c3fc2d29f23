//! Proof Key for Code Exchange (RFC 7636). Only `S256` is accepted; `plain`
//! offers no protection against an attacker who sees the authorization
//! request (RFC 9700 section 2.1.1).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{ErrorCode, OAuthError};

/// An S256 code challenge: base64url (no padding) of a SHA-256, 43 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// Parses `code_challenge` and `code_challenge_method` from an
    /// authorization request. The method defaults to `plain` in RFC 7636, so
    /// a missing method is refused just like an explicit `plain`.
    pub fn parse(challenge: &str, method: Option<&str>) -> Result<CodeChallenge, OAuthError> {
        match method {
            Some("S256") => {}
            Some("plain") | None => {
                return Err(OAuthError::invalid_request(
                    "code_challenge_method must be S256; plain is not supported",
                ));
            }
            Some(_) => {
                return Err(OAuthError::invalid_request(
                    "unsupported code_challenge_method; only S256 is supported",
                ));
            }
        }
        let mut digest = [0u8; 32];
        let valid =
            challenge.len() == 43 && URL_SAFE_NO_PAD.decode_slice(challenge, &mut digest) == Ok(32);
        if !valid {
            return Err(OAuthError::invalid_request(
                "code_challenge must be the base64url-encoded SHA-256 of the code verifier (43 characters)",
            ));
        }
        Ok(CodeChallenge(challenge.to_owned()))
    }

    /// Restores a challenge that was validated before it was stored.
    pub fn from_stored(challenge: String) -> CodeChallenge {
        CodeChallenge(challenge)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks a `code_verifier` from the token request (RFC 7636 section 4.6).
    pub fn verify(&self, verifier: &str) -> Result<(), OAuthError> {
        let well_formed = (43..=128).contains(&verifier.len())
            && verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if !well_formed {
            return Err(OAuthError::new(
                ErrorCode::InvalidGrant,
                "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]",
            ));
        }
        let digest = Sha256::digest(verifier.as_bytes());
        let computed = URL_SAFE_NO_PAD.encode(digest);
        if computed.as_bytes().ct_eq(self.0.as_bytes()).into() {
            Ok(())
        } else {
            Err(OAuthError::new(
                ErrorCode::InvalidGrant,
                "code_verifier does not match the code_challenge",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 appendix B.
    const V: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CH: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc_7636_known_answer() {
        let c = CodeChallenge::parse(CH, Some("S256")).unwrap();
        assert_eq!(c.verify(V), Ok(()));
        let wrong = format!("{}A", &V[..V.len() - 1]);
        assert_eq!(c.verify(&wrong).unwrap_err().code, ErrorCode::InvalidGrant);
        assert_eq!(c.verify("").unwrap_err().code, ErrorCode::InvalidGrant);
        assert_eq!(
            c.verify(&"a".repeat(129)).unwrap_err().code,
            ErrorCode::InvalidGrant
        );
    }

    #[test]
    fn refuses_plain_and_malformed_challenges() {
        for (ch, m) in [
            (CH, Some("plain")),
            (CH, None),
            (CH, Some("s256")),
            ("short", Some("S256")),
        ] {
            assert_eq!(
                CodeChallenge::parse(ch, m).unwrap_err().code,
                ErrorCode::InvalidRequest
            );
        }
        let padded = format!("{CH}=");
        assert!(CodeChallenge::parse(&padded, Some("S256")).is_err());
    }
}
