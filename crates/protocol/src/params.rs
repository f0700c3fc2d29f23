//! Request parameters (RFC 6749 section 3.1 and 3.2): a parameter sent
//! without a value is treated as omitted, and one sent twice is an error.

use std::borrow::Cow;

use crate::OAuthError;

/// Most parameters one request may carry.
pub const MAX_PARAMS: usize = 64;

/// The parameters of one request, each present at most once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Result<Params, OAuthError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for (k, v) in pairs {
            let (k, v) = (k.into(), v.into());
            if seen.contains(&k) {
                return Err(OAuthError::invalid_request(format!(
                    "parameter {k} is repeated"
                )));
            }
            if seen.len() >= MAX_PARAMS {
                return Err(OAuthError::invalid_request("too many parameters"));
            }
            seen.push(k.clone());
            if !v.is_empty() {
                out.push((k, v));
            }
        }
        Ok(Params(out))
    }

    /// Parses `application/x-www-form-urlencoded` bytes (a body or a query string).
    pub fn from_urlencoded(bytes: &[u8]) -> Result<Params, OAuthError> {
        Params::from_pairs(
            url::form_urlencoded::parse(bytes).map(|(k, v): (Cow<str>, Cow<str>)| (k, v)),
        )
    }

    /// The parameters as (name, value) pairs, in their order.
    pub fn into_pairs(self) -> Vec<(String, String)> {
        self.0
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A parameter that must be present.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("missing parameter {name}")))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_refused_and_empty_values_omitted() {
        let p = Params::from_urlencoded(b"a=1&b=&c=%20x").unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some(" x"));
        let err = Params::from_urlencoded(b"a=1&a=2").unwrap_err();
        assert_eq!(err.description, "parameter a is repeated");
        assert!(
            Params::from_urlencoded(b"a=&a=2").is_err(),
            "repeated even when one is empty"
        );
        assert_eq!(
            p.require("b").unwrap_err().description,
            "missing parameter b"
        );
        let many: String = (0..=MAX_PARAMS).map(|i| format!("p{i}=1&")).collect();
        assert!(Params::from_urlencoded(many.as_bytes()).is_err());
    }
}
