//! The error codes of RFC 6749 (sections 4.1.2.1 and 5.2), RFC 6750 (section
//! 3.1), RFC 7009 (section 2.2.1), RFC 8628 (section 3.5) and RFC 9396
//! (section 5).

use std::fmt;

/// An error code as it travels on the wire, in the words of the RFC that defines it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The request is missing a required parameter, includes an unsupported
    /// parameter value, repeats a parameter, or is otherwise malformed.
    InvalidRequest,
    /// Client authentication failed (unknown client, no client authentication
    /// included, or unsupported authentication method).
    InvalidClient,
    /// The provided authorization grant or refresh token is invalid, expired,
    /// revoked, does not match the redirection URI used in the authorization
    /// request, or was issued to another client.
    InvalidGrant,
    /// The authenticated client is not authorized to use this grant type or
    /// to request a code with this method.
    UnauthorizedClient,
    /// The grant type is not supported by the authorization server.
    UnsupportedGrantType,
    /// The requested scope is invalid, unknown, malformed, or exceeds the
    /// scope granted by the resource owner.
    InvalidScope,
    /// The resource owner or authorization server denied the request.
    AccessDenied,
    /// The authorization server does not support obtaining a code with this `response_type`.
    UnsupportedResponseType,
    /// An unexpected condition prevented the server from fulfilling the request.
    ServerError,
    /// The server is temporarily unable to handle the request.
    TemporarilyUnavailable,
    /// RFC 6750: the access token is expired, revoked, malformed or invalid.
    InvalidToken,
    /// RFC 6750: the request requires higher privileges than the token provides.
    InsufficientScope,
    /// RFC 7009: the server does not support revoking this token type.
    UnsupportedTokenType,
    /// RFC 8628: the user has not yet completed the authorization step.
    AuthorizationPending,
    /// RFC 8628: the client polls faster than its interval allows.
    SlowDown,
    /// RFC 8628: the device code has expired.
    ExpiredToken,
    /// RFC 9396: `authorization_details` is malformed or names an unknown type.
    InvalidAuthorizationDetails,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 17] = [
        ErrorCode::InvalidRequest,
        ErrorCode::InvalidClient,
        ErrorCode::InvalidGrant,
        ErrorCode::UnauthorizedClient,
        ErrorCode::UnsupportedGrantType,
        ErrorCode::InvalidScope,
        ErrorCode::AccessDenied,
        ErrorCode::UnsupportedResponseType,
        ErrorCode::ServerError,
        ErrorCode::TemporarilyUnavailable,
        ErrorCode::InvalidToken,
        ErrorCode::InsufficientScope,
        ErrorCode::UnsupportedTokenType,
        ErrorCode::AuthorizationPending,
        ErrorCode::SlowDown,
        ErrorCode::ExpiredToken,
        ErrorCode::InvalidAuthorizationDetails,
    ];

    /// The code with this wire name.
    pub fn from_name(name: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The code as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            ErrorCode::AuthorizationPending => "authorization_pending",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::InvalidAuthorizationDetails => "invalid_authorization_details",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refusal: an error code and a human-readable description.
///
/// The description is restricted to the characters RFC 6749 section 5.2
/// allows (`%x20-21 / %x23-5B / %x5D-7E`); anything else is replaced by a
/// space when the error is built, so no caller can smuggle a quote, a
/// backslash or a line break into a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: String,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl AsRef<str>) -> OAuthError {
        let description = description
            .as_ref()
            .chars()
            .map(|c| match c {
                '\x20'..='\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E' => c,
                _ => ' ',
            })
            .collect();
        OAuthError { code, description }
    }

    pub fn invalid_request(description: impl AsRef<str>) -> OAuthError {
        OAuthError::new(ErrorCode::InvalidRequest, description)
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl std::error::Error for OAuthError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_name() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_name(code.as_str()), Some(code));
        }
        assert_eq!(ErrorCode::from_name("no_such_error"), None);
    }

    #[test]
    fn description_is_restricted_to_the_rfc_character_set() {
        let e = OAuthError::new(ErrorCode::InvalidRequest, "bad \"x\"\r\n\\é\tend");
        assert_eq!(e.description, "bad  x      end");
    }
}
