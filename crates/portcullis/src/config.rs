//! Configuration: command-line flags > `PORTCULLIS_*` environment > TOML
//! file (`--config`) > defaults. The raw layers are read here; [`Settings`]
//! is the resolved, validated result.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use protocol::GrantType;
use serde::Deserialize;
use service::Policy;
use service::scopes::NewScope;

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
    /// A directory of page templates that replace the embedded ones by file name.
    pub templates_dir: Option<PathBuf>,
    /// Seconds a client is cached in memory (0 turns the cache off).
    pub client_cache_ttl: Option<i64>,
    /// Lifetimes, in seconds.
    #[serde(default)]
    pub tokens: TokensConfig,
    /// A dialect profile: another platform's paths, encodings and shapes.
    pub dialect: Option<web::DialectConfig>,
    /// Scopes created at start when missing (`[[scopes]]`).
    #[serde(default)]
    pub scopes: Vec<ScopeConfig>,
}

/// One `[[scopes]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeConfig {
    pub name: String,
    pub label: Option<String>,
    #[serde(default)]
    pub description: String,
    /// Claims a token request for this scope must carry.
    #[serde(default)]
    pub required_claims: Vec<String>,
}

/// The `[tokens]` table: lifetimes in seconds; what is left out keeps its default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokensConfig {
    pub access_token_ttl: Option<i64>,
    pub refresh_token_ttl: Option<i64>,
    pub refresh_token_idle_ttl: Option<i64>,
    pub code_ttl: Option<i64>,
    pub refresh_grace: Option<i64>,
    pub session_ttl: Option<i64>,
    pub device_code_ttl: Option<i64>,
    pub device_poll_interval: Option<i64>,
    pub pairing_code_ttl: Option<i64>,
    /// Per-grant access-token lifetimes: `[tokens.grants.client_credentials]`.
    #[serde(default)]
    pub grants: std::collections::BTreeMap<String, GrantTokensConfig>,
}

/// `[tokens.grants.<grant_type>]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantTokensConfig {
    pub access_token_ttl: Option<i64>,
}

impl TokensConfig {
    /// The policy these settings describe; each value is checked against a sane range.
    pub fn policy(&self) -> anyhow::Result<Policy> {
        let d = Policy::default();
        let day = 24 * 3600;
        let pick = |name: &str,
                    value: Option<i64>,
                    default: i64,
                    min: i64,
                    max: i64|
         -> anyhow::Result<i64> {
            match value {
                None => Ok(default),
                Some(v) if (min..=max).contains(&v) => Ok(v),
                Some(v) => bail!("tokens.{name}: {v} is outside {min}..={max} seconds"),
            }
        };
        let policy = Policy {
            access_token_ttl: pick(
                "access_token_ttl",
                self.access_token_ttl,
                d.access_token_ttl,
                60,
                7 * day,
            )?,
            refresh_token_ttl: pick(
                "refresh_token_ttl",
                self.refresh_token_ttl,
                d.refresh_token_ttl,
                60,
                3650 * day,
            )?,
            refresh_token_idle_ttl: pick(
                "refresh_token_idle_ttl",
                self.refresh_token_idle_ttl,
                d.refresh_token_idle_ttl,
                60,
                3650 * day,
            )?,
            code_ttl: pick("code_ttl", self.code_ttl, d.code_ttl, 10, 600)?,
            refresh_grace: pick("refresh_grace", self.refresh_grace, d.refresh_grace, 0, 60)?,
            session_ttl: pick(
                "session_ttl",
                self.session_ttl,
                d.session_ttl,
                300,
                90 * day,
            )?,
            device_code_ttl: pick(
                "device_code_ttl",
                self.device_code_ttl,
                d.device_code_ttl,
                60,
                3600,
            )?,
            device_poll_interval: pick(
                "device_poll_interval",
                self.device_poll_interval,
                d.device_poll_interval,
                1,
                60,
            )?,
            pairing_code_ttl: pick(
                "pairing_code_ttl",
                self.pairing_code_ttl,
                d.pairing_code_ttl,
                60,
                3600,
            )?,
            access_token_ttl_by_grant: Vec::new(),
            interaction_ttl: d.interaction_ttl,
            client_cache_ttl: d.client_cache_ttl,
        };
        let mut policy = policy;
        for (name, grant) in &self.grants {
            let Ok(grant_type) = name.parse::<GrantType>() else {
                bail!("tokens.grants.{name}: not a grant type Portcullis supports");
            };
            if let Some(ttl) = grant.access_token_ttl {
                let ttl = pick(
                    &format!("grants.{name}.access_token_ttl"),
                    Some(ttl),
                    d.access_token_ttl,
                    60,
                    7 * day,
                )?;
                policy.access_token_ttl_by_grant.push((grant_type, ttl));
            }
        }
        Ok(policy)
    }
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
    pub templates_dir: Option<PathBuf>,
    pub policy: Policy,
    /// The profile the server speaks ([`web::Dialect::native`] when none).
    pub dialect: Arc<web::Dialect>,
    /// Scopes to create at start when missing.
    pub scopes: Vec<NewScope>,
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
        let mut policy = file.tokens.policy()?;
        if let Some(ttl) = file.client_cache_ttl {
            if !(0..=300).contains(&ttl) {
                bail!("client_cache_ttl: {ttl} is outside 0..=300 seconds");
            }
            policy.client_cache_ttl = ttl;
        }
        let dialect = match &file.dialect {
            Some(c) => web::Dialect::from_config(c).map_err(anyhow::Error::msg)?,
            None => web::Dialect::native(),
        };
        let scopes = seeded_scopes(file.scopes)?;
        Ok(Settings {
            listen,
            database_url,
            issuer,
            templates_dir: file.templates_dir,
            policy,
            dialect: Arc::new(dialect),
            scopes,
        })
    }
}

/// Checks `[[scopes]]`: valid names, each name and label once (labels can
/// name scopes in requests, so they must be unambiguous).
fn seeded_scopes(entries: Vec<ScopeConfig>) -> anyhow::Result<Vec<NewScope>> {
    let mut out: Vec<NewScope> = Vec::with_capacity(entries.len());
    for (i, e) in entries.into_iter().enumerate() {
        let key = format!("scopes[{i}]");
        protocol::ScopeName::parse(&e.name).map_err(|err| anyhow::anyhow!("{key}.name: {err}"))?;
        let label = e.label.unwrap_or_else(|| e.name.clone());
        if out.iter().any(|s| s.name == e.name) {
            bail!("{key}.name: {:?} is listed twice", e.name);
        }
        if out
            .iter()
            .any(|s| s.label.as_deref() == Some(label.as_str()))
        {
            bail!("{key}.label: {label:?} is already the label of another scope");
        }
        out.push(NewScope {
            name: e.name,
            label: Some(label),
            description: e.description,
            required_claims: e.required_claims,
        });
    }
    Ok(out)
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
            ..FileConfig::default()
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
        let short: FileConfig = toml::from_str("[tokens]\ncode_ttl = 1\n").unwrap();
        let err = Settings::resolve(Overrides::default(), short).unwrap_err();
        assert!(
            err.to_string().starts_with("tokens.code_ttl: 1 is outside"),
            "{err}"
        );
        let tuned: FileConfig =
            toml::from_str("[tokens]\nrefresh_grace = 0\naccess_token_ttl = 600\n").unwrap();
        let s = Settings::resolve(Overrides::default(), tuned).unwrap();
        assert_eq!(
            (s.policy.refresh_grace, s.policy.access_token_ttl),
            (0, 600)
        );
        assert_eq!(s.policy.code_ttl, Policy::default().code_ttl);
        let per_grant: FileConfig =
            toml::from_str("[tokens.grants.client_credentials]\naccess_token_ttl = 300\n").unwrap();
        let s = Settings::resolve(Overrides::default(), per_grant).unwrap();
        assert_eq!(
            s.policy.access_token_ttl_by_grant,
            vec![(GrantType::ClientCredentials, 300)]
        );
        let bad_grant: FileConfig =
            toml::from_str("[tokens.grants.password]\naccess_token_ttl = 300\n").unwrap();
        let err = Settings::resolve(Overrides::default(), bad_grant).unwrap_err();
        assert!(
            err.to_string().starts_with("tokens.grants.password:"),
            "{err}"
        );
        let unknown: Result<FileConfig, _> = toml::from_str("lisen = \"x\"");
        assert!(unknown.unwrap_err().to_string().contains("lisen"));
    }
}
