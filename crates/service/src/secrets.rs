//! Random credentials and password hashing.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use protocol::token::{self, Kind, RowId, SECRET_LEN};

use crate::ServiceError;

/// Fills a buffer from the operating system's CSPRNG.
pub(crate) fn random<const N: usize>() -> Result<[u8; N], ServiceError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf)
        .map_err(|e| ServiceError::Internal(format!("OS random number generator: {e}")))?;
    Ok(buf)
}

/// A fresh, time-ordered row id.
pub(crate) fn row_id(now_millis: u64) -> Result<RowId, ServiceError> {
    Ok(RowId::new(now_millis, random()?))
}

/// A new credential that carries its row id, with 256 random bits.
pub(crate) fn credential(kind: Kind, id: RowId) -> Result<String, ServiceError> {
    Ok(token::encode(kind, id, &random::<SECRET_LEN>()?))
}

/// A new client secret: 256 random bits, prefixed.
pub(crate) fn client_secret() -> Result<String, ServiceError> {
    Ok(token::encode_secret(
        Kind::ClientSecret,
        &random::<SECRET_LEN>()?,
    ))
}

/// A random, URL-safe identifier of `N` random bytes. It never starts with
/// `-` or `_`, so it can follow a command-line flag without being taken for one.
pub(crate) fn identifier<const N: usize>() -> Result<String, ServiceError> {
    loop {
        let id = URL_SAFE_NO_PAD.encode(random::<N>()?);
        if id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Ok(id);
        }
    }
}

/// Hashes a human password with Argon2id (on a blocking thread: it is slow on purpose).
pub(crate) async fn hash_password(password: String) -> Result<String, ServiceError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| ServiceError::Internal(format!("password hashing: {e}")))
    })
    .await
    .map_err(|e| ServiceError::Internal(e.to_string()))?
}

/// A hash of a password nobody knows, verified when the user does not
/// exist so both cases take the same time.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$ZHVtbXlzYWx0ZHVtbXk$3HH7EmH1oU9Bzq+oIZ3ReOoSMDfEDhyJqMHJPcWkLS8";

/// Verifies a password against a PHC string, or against a dummy hash when
/// there is none, so the time taken does not reveal whether a user exists.
pub(crate) async fn verify_password(password: String, hash: Option<String>) -> bool {
    let known = hash.is_some();
    let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
    let ok = tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false);
    known && ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords() {
        let hash = hash_password("correct horse".to_owned()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".to_owned(), Some(hash.clone())).await);
        assert!(!verify_password("wrong".to_owned(), Some(hash)).await);
        assert!(!verify_password("correct horse".to_owned(), None).await);
    }

    #[test]
    fn dummy_hash_is_a_valid_argon2id_hash() {
        // Otherwise the unknown-user path would fail fast and leak timing.
        let parsed = argon2::PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        assert!(Argon2::default().verify_password(b"x", &parsed).is_err());
    }

    #[test]
    fn identifiers_and_secrets() {
        let a = identifier::<16>().unwrap();
        assert_eq!(a.len(), 22);
        assert_ne!(a, identifier::<16>().unwrap());
        for _ in 0..500 {
            let id = identifier::<16>().unwrap();
            assert!(id.starts_with(|c: char| c.is_ascii_alphanumeric()), "{id}");
        }
        let s = client_secret().unwrap();
        assert!(s.starts_with("pc_cs_") && s.len() == 6 + 43);
    }
}
