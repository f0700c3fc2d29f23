//! The grant types Portcullis knows, named as in the RFCs and in metadata.

use std::fmt;
use std::str::FromStr;

/// A grant type a client may be allowed to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GrantType {
    /// RFC 6749 section 4.1.
    AuthorizationCode,
    /// RFC 6749 section 4.4.
    ClientCredentials,
    /// RFC 6749 section 6.
    RefreshToken,
    /// RFC 8628 section 3.4.
    DeviceCode,
    /// Portcullis's pairing code: a signed-in user obtains a short one-time
    /// code for an app and types it into a device, which exchanges it here.
    PairingCode,
}

impl GrantType {
    pub const ALL: [GrantType; 5] = [
        GrantType::AuthorizationCode,
        GrantType::ClientCredentials,
        GrantType::RefreshToken,
        GrantType::DeviceCode,
        GrantType::PairingCode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::RefreshToken => "refresh_token",
            GrantType::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
            GrantType::PairingCode => "urn:portcullis:params:oauth:grant-type:pairing_code",
        }
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not one of [`GrantType::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown grant type {0:?}; known grant types: {known}", known = known_names())]
pub struct UnknownGrantType(pub String);

fn known_names() -> String {
    GrantType::ALL.map(GrantType::as_str).join(", ")
}

impl FromStr for GrantType {
    type Err = UnknownGrantType;

    fn from_str(s: &str) -> Result<GrantType, UnknownGrantType> {
        GrantType::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| UnknownGrantType(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for g in GrantType::ALL {
            assert_eq!(g.as_str().parse::<GrantType>(), Ok(g));
        }
        let err = "password".parse::<GrantType>().unwrap_err();
        assert!(err.to_string().contains("\"password\""));
        assert!(err.to_string().contains("client_credentials"));
    }
}
