//! How a client authenticates at the token, revocation and introspection
//! endpoints (RFC 6749 section 2.3): HTTP Basic, or `client_id` and
//! `client_secret` in the body, or (public clients) `client_id` alone.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::params::Params;
use crate::{ErrorCode, OAuthError};

/// The credentials a request presents.
#[derive(Clone, PartialEq, Eq)]
pub enum Presented {
    /// `client_secret_basic`.
    Basic { client_id: String, secret: String },
    /// `client_secret_post`.
    Post { client_id: String, secret: String },
    /// `none`: a public client names itself.
    None { client_id: String },
}

impl Presented {
    pub fn client_id(&self) -> &str {
        match self {
            Presented::Basic { client_id, .. }
            | Presented::Post { client_id, .. }
            | Presented::None { client_id } => client_id,
        }
    }

    pub fn secret(&self) -> Option<&str> {
        match self {
            Presented::Basic { secret, .. } | Presented::Post { secret, .. } => Some(secret),
            Presented::None { .. } => None,
        }
    }

    pub fn is_basic(&self) -> bool {
        matches!(self, Presented::Basic { .. })
    }
}

impl std::fmt::Debug for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let method = match self {
            Presented::Basic { .. } => "Basic",
            Presented::Post { .. } => "Post",
            Presented::None { .. } => "None",
        };
        write!(
            f,
            "Presented::{method}({:?}, secret redacted)",
            self.client_id()
        )
    }
}

/// A client-authentication failure, remembering whether Basic was tried
/// (then the answer is 401 with `WWW-Authenticate: Basic`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthError {
    pub error: OAuthError,
    pub basic: bool,
}

fn invalid_client(description: &str, basic: bool) -> AuthError {
    AuthError {
        error: OAuthError::new(ErrorCode::InvalidClient, description),
        basic,
    }
}

/// Reads the credentials of a request from its `Authorization` header and
/// parameters. `Ok(None)`: the request presents none at all.
pub fn presented(
    authorization: Option<&str>,
    params: &Params,
) -> Result<Option<Presented>, AuthError> {
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    if let Some(header) = authorization {
        let (scheme, value) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(invalid_client(
                "unsupported Authorization scheme; use Basic",
                false,
            ));
        }
        let decoded = STANDARD
            .decode(value.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| invalid_client("malformed Basic credentials", true))?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(|| invalid_client("malformed Basic credentials", true))?;
        // RFC 6749 section 2.3.1: both parts are form-urlencoded first.
        let id = form_decode(id);
        let secret = form_decode(secret);
        if id.is_empty() {
            return Err(invalid_client("malformed Basic credentials", true));
        }
        if body_secret.is_some() {
            return Err(AuthError {
                error: OAuthError::invalid_request(
                    "use one client authentication method, not Basic and client_secret",
                ),
                basic: true,
            });
        }
        if body_id.is_some_and(|b| b != id) {
            return Err(invalid_client(
                "client_id does not match the Basic credentials",
                true,
            ));
        }
        return Ok(Some(Presented::Basic {
            client_id: id,
            secret,
        }));
    }
    match (body_id, body_secret) {
        (Some(id), Some(secret)) => Ok(Some(Presented::Post {
            client_id: id.to_owned(),
            secret: secret.to_owned(),
        })),
        (Some(id), None) => Ok(Some(Presented::None {
            client_id: id.to_owned(),
        })),
        (None, Some(_)) => Err(invalid_client("client_secret without client_id", false)),
        (None, None) => Ok(None),
    }
}

fn form_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(id_secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(id_secret))
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        // RFC 6749 section 2.3.1, as in the security battery's `an:identifier` fixture.
        let header = basic("an%3Aidentifier:some+secure+%26+non-standard+secret");
        let p = presented(Some(&header), &Params::default())
            .unwrap()
            .unwrap();
        assert_eq!(p.client_id(), "an:identifier");
        assert_eq!(p.secret(), Some("some secure & non-standard secret"));
        assert!(p.is_basic());
        let lower = format!("basic {}", STANDARD.encode("a:b"));
        assert!(
            presented(Some(&lower), &Params::default()).is_ok(),
            "the scheme is case-insensitive"
        );
    }

    #[test]
    fn body_credentials_and_mixtures() {
        let post = Params::from_urlencoded(b"client_id=a&client_secret=s").unwrap();
        assert_eq!(
            presented(None, &post).unwrap(),
            Some(Presented::Post {
                client_id: "a".into(),
                secret: "s".into()
            })
        );
        let public = Params::from_urlencoded(b"client_id=a").unwrap();
        assert_eq!(
            presented(None, &public).unwrap(),
            Some(Presented::None {
                client_id: "a".into()
            })
        );
        assert_eq!(presented(None, &Params::default()).unwrap(), None);

        let both = presented(Some(&basic("a:s")), &post).unwrap_err();
        assert_eq!(both.error.code, ErrorCode::InvalidRequest);
        let other = Params::from_urlencoded(b"client_id=b").unwrap();
        assert_eq!(
            presented(Some(&basic("a:s")), &other)
                .unwrap_err()
                .error
                .code,
            ErrorCode::InvalidClient
        );
        for bad in [
            "Basic !!!",
            "Basic",
            &basic("nocolon"),
            &basic(":s"),
            "Bearer x",
        ] {
            assert_eq!(
                presented(Some(bad), &Params::default())
                    .unwrap_err()
                    .error
                    .code,
                ErrorCode::InvalidClient,
                "{bad}"
            );
        }
    }
}
