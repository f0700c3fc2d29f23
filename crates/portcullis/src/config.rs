//! Configuration: command-line flags > `PORTCULLIS_*` environment > TOML
//! file (`--config`) > defaults. The raw layers are read here; [`Settings`]
//! is the resolved, validated result.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, bail};
use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./portcullis-data/portcullis.db";

/// The TOML file, exactly as the operator wrote it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Address to listen on, e.g. `0.0.0.0:8080`.
    pub listen: Option<String>,
    /// `sqlite://PATH` or `postgres://...`.
    pub database_url: Option<String>,
    /// The public base URL clients use, e.g. `https://auth.example.com`.
    pub issuer: Option<String>,
}

impl FileConfig {
    pub fn load(path: &Path) -> anyhow::Result<FileConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text)
            .with_context(|| format!("invalid configuration in {}", path.display()))
    }
}

/// The values the command line and environment gave (clap merges those two).
#[derive(Debug, Default)]
pub struct Overrides {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub issuer: Option<String>,
}

/// Resolved configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub database_url: String,
    /// `None`: derived from the address actually bound.
    pub issuer: Option<String>,
}

impl Settings {
    pub fn resolve(overrides: Overrides, file: FileConfig) -> anyhow::Result<Settings> {
        let listen = overrides
            .listen
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen: SocketAddr = listen
            .parse()
            .with_context(|| format!("listen: {listen:?} is not an address like 127.0.0.1:8080"))?;
        let database_url = overrides
            .database_url
            .or(file.database_url)
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        let issuer = overrides
            .issuer
            .or(file.issuer)
            .map(|i| parse_issuer(&i))
            .transpose()?;
        Ok(Settings {
            listen,
            database_url,
            issuer,
        })
    }
}

/// RFC 8414 section 2: an `https` URL (or `http` for a loopback host in
/// development) with no query or fragment. A trailing slash is dropped.
fn parse_issuer(s: &str) -> anyhow::Result<String> {
    let trimmed = s.trim_end_matches('/');
    let ok = (trimmed.starts_with("https://") || trimmed.starts_with("http://"))
        && !trimmed.contains(['?', '#'])
        && !trimmed.contains(char::is_whitespace);
    if !ok {
        bail!(
            "issuer: {s:?} must be an http(s) URL without query or fragment, e.g. https://auth.example.com"
        );
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_flags_then_file_then_defaults() {
        let file = FileConfig {
            listen: Some("0.0.0.0:9000".to_owned()),
            database_url: Some("postgres://db/p".to_owned()),
            issuer: None,
        };
        let s = Settings::resolve(
            Overrides {
                listen: Some("127.0.0.1:7000".to_owned()),
                ..Overrides::default()
            },
            file,
        )
        .unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:7000");
        assert_eq!(s.database_url, "postgres://db/p");
        assert_eq!(s.issuer, None);

        let d = Settings::resolve(Overrides::default(), FileConfig::default()).unwrap();
        assert_eq!(d.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(d.database_url, DEFAULT_DATABASE_URL);
    }

    #[test]
    fn bad_values_are_named() {
        let err = Settings::resolve(
            Overrides {
                listen: Some("nope".into()),
                ..Default::default()
            },
            FileConfig::default(),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("listen:"), "{err}");
        let err = Settings::resolve(
            Overrides {
                issuer: Some("ftp://x".into()),
                ..Default::default()
            },
            FileConfig::default(),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("issuer:"), "{err}");
        assert_eq!(parse_issuer("https://a.test/").unwrap(), "https://a.test");
        let unknown: Result<FileConfig, _> = toml::from_str("lisen = \"x\"");
        assert!(unknown.unwrap_err().to_string().contains("lisen"));
    }
}
