//! Redirection URIs: what may be registered (RFC 6749 section 3.1.2, RFC 8252,
//! RFC 9700 section 2.1 and 2.6) and how a request's URI is matched against
//! the registered ones (exact string comparison, with the loopback port
//! exception of RFC 8252 section 7.3).

use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

/// Longest redirect URI accepted, in bytes.
pub const MAX_LEN: usize = 2000;

/// A redirection URI that may be registered for a client: absolute, without
/// a fragment or credentials, and never plain `http` except on a loopback host.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RedirectUri(String);

/// Why a URI cannot be registered as a redirection URI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRedirectUri {
    #[error("redirect URI {0:?} is not an absolute URI")]
    NotAbsolute(String),
    #[error("redirect URI {0:?} must not contain a fragment (#...)")]
    Fragment(String),
    #[error(
        "redirect URI {0:?} must use https; plain http is allowed only on a loopback host (127.0.0.1, [::1], localhost)"
    )]
    PlainHttp(String),
    #[error("redirect URI {0:?} must not contain a user name or password")]
    Credentials(String),
    #[error("redirect URI {0:?} uses the scheme {1:?}, which can run code in the browser")]
    DangerousScheme(String, String),
    #[error("redirect URI is longer than {MAX_LEN} bytes")]
    TooLong,
}

impl RedirectUri {
    pub fn parse(s: &str) -> Result<RedirectUri, InvalidRedirectUri> {
        if s.len() > MAX_LEN {
            return Err(InvalidRedirectUri::TooLong);
        }
        if s.contains('#') {
            return Err(InvalidRedirectUri::Fragment(s.to_owned()));
        }
        // `Url::parse` accepts surrounding whitespace and control characters
        // by stripping them; a registered URI must be exactly what is compared.
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(InvalidRedirectUri::NotAbsolute(s.to_owned()));
        }
        let url = Url::parse(s).map_err(|_| InvalidRedirectUri::NotAbsolute(s.to_owned()))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InvalidRedirectUri::Credentials(s.to_owned()));
        }
        match url.scheme() {
            "https" => {}
            "http" if !is_loopback(&url) => {
                return Err(InvalidRedirectUri::PlainHttp(s.to_owned()));
            }
            "http" => {}
            scheme @ ("javascript" | "data" | "vbscript" | "file" | "blob" | "about") => {
                return Err(InvalidRedirectUri::DangerousScheme(
                    s.to_owned(),
                    scheme.to_owned(),
                ));
            }
            // Private-use URI schemes of native apps (RFC 8252 section 7.1).
            _ => {}
        }
        Ok(RedirectUri(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `requested`, as sent in an authorization or token request,
    /// designates this registered URI.
    ///
    /// The comparison is exact, character for character. The one exception
    /// is RFC 8252 section 7.3: for an `http` loopback URI the port may
    /// differ, since a native app listens on whatever port the OS gives it.
    pub fn matches(&self, requested: &str) -> bool {
        if self.0 == requested {
            return true;
        }
        let Ok(registered) = Url::parse(&self.0) else {
            return false;
        };
        if registered.scheme() != "http" || !is_loopback_ip(&registered) {
            return false;
        }
        // The requested string must itself be a well-formed URI that
        // `Url` prints back unchanged, so no normalisation hides a difference.
        let Ok(mut asked) = Url::parse(requested) else {
            return false;
        };
        if asked.as_str() != requested || asked.scheme() != "http" {
            return false;
        }
        let mut registered = registered;
        if asked.set_port(None).is_err() || registered.set_port(None).is_err() {
            return false;
        }
        asked == registered
    }
}

fn is_loopback(url: &Url) -> bool {
    is_loopback_ip(url) || url.host() == Some(Host::Domain("localhost"))
}

fn is_loopback_ip(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        _ => false,
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// Finds the registered URI a request designates. When the request names no
/// URI, the client must have registered exactly one (RFC 6749 section 3.1.2.3).
pub fn select<'a>(
    registered: &'a [RedirectUri],
    requested: Option<&str>,
) -> Option<&'a RedirectUri> {
    match requested {
        Some(asked) => registered.iter().find(|r| r.matches(asked)),
        None if registered.len() == 1 => registered.first(),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) {
        assert_eq!(RedirectUri::parse(s).map(|r| r.0), Ok(s.to_owned()), "{s}");
    }

    #[test]
    fn accepts_what_may_be_registered() {
        ok("https://client.test/cb");
        ok("https://client.test/cb?tenant=a");
        ok("http://127.0.0.1:9000/cb");
        ok("http://127.0.0.1/cb");
        ok("http://[::1]/cb");
        ok("http://localhost:3000/callback");
        ok("com.example.app:/cb");
    }

    #[test]
    fn refuses_what_may_not_be_registered() {
        use InvalidRedirectUri::*;
        type Check = fn(&InvalidRedirectUri) -> bool;
        let cases: &[(&str, Check)] = &[
            ("/cb", |e| matches!(e, NotAbsolute(_))),
            ("client.test/cb", |e| matches!(e, NotAbsolute(_))),
            ("", |e| matches!(e, NotAbsolute(_))),
            (" https://client.test/cb", |e| matches!(e, NotAbsolute(_))),
            ("https://client.test/cb#x", |e| matches!(e, Fragment(_))),
            ("https://client.test/cb#", |e| matches!(e, Fragment(_))),
            ("http://client.test/cb", |e| matches!(e, PlainHttp(_))),
            ("http://127.0.0.1.nip.io/cb", |e| matches!(e, PlainHttp(_))),
            ("http://10.0.0.1/cb", |e| matches!(e, PlainHttp(_))),
            ("https://user:pw@client.test/cb", |e| {
                matches!(e, Credentials(_))
            }),
            ("javascript:alert(1)", |e| matches!(e, DangerousScheme(..))),
            ("data:text/html,x", |e| matches!(e, DangerousScheme(..))),
        ];
        for (uri, expected) in cases {
            let err = RedirectUri::parse(uri).unwrap_err();
            assert!(expected(&err), "{uri}: {err:?}");
        }
        let long = format!("https://client.test/{}", "a".repeat(MAX_LEN));
        assert_eq!(RedirectUri::parse(&long), Err(TooLong));
    }

    #[test]
    fn matching_is_exact() {
        let r = RedirectUri::parse("https://client.test/cb").unwrap();
        assert!(r.matches("https://client.test/cb"));
        for other in [
            "https://client.test/cb/",
            "https://client.test/CB",
            "https://CLIENT.test/cb",
            "https://client.test/cb?x=1",
            "https://client.test/cb#x",
            "https://client.test:443/cb",
            "https://client.test/cb/../cb",
            "https://client.test.evil/cb",
            "https://client.test/cb%2F",
            "http://client.test/cb",
        ] {
            assert!(!r.matches(other), "{other}");
        }
    }

    #[test]
    fn loopback_ip_may_differ_in_port_only() {
        let r = RedirectUri::parse("http://127.0.0.1/cb").unwrap();
        assert!(r.matches("http://127.0.0.1:51004/cb"));
        assert!(!r.matches("http://127.0.0.1:51004/cb2"));
        assert!(!r.matches("http://127.0.0.1:51004/cb?x"));
        assert!(!r.matches("http://127.0.0.2:51004/cb"));
        assert!(!r.matches("https://127.0.0.1:51004/cb"));
        let r6 = RedirectUri::parse("http://[::1]:80/cb").unwrap();
        assert!(r6.matches("http://[::1]:1234/cb"));
        let https = RedirectUri::parse("https://127.0.0.1/cb").unwrap();
        assert!(!https.matches("https://127.0.0.1:8443/cb"));
    }

    #[test]
    fn selection_without_a_requested_uri_needs_exactly_one() {
        let one = [RedirectUri::parse("https://a.test/cb").unwrap()];
        let two = [
            RedirectUri::parse("https://a.test/cb1").unwrap(),
            RedirectUri::parse("https://a.test/cb2").unwrap(),
        ];
        assert_eq!(select(&one, None), one.first());
        assert_eq!(select(&two, None), None);
        assert_eq!(select(&two, Some("https://a.test/cb2")), two.get(1));
        assert_eq!(select(&two, Some("https://a.test/cb3")), None);
    }
}
