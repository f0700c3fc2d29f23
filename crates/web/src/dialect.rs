//! Dialect profiles: request and response adapters that let the one engine
//! speak an existing platform's documented API (its paths, body encodings,
//! grant-type names, scope syntax, and response and error shapes).
//!
//! A profile applies to the paths it mounts; the native paths keep the
//! standards-exact behaviour of [`Dialect::native`]. Nothing here decides
//! who gets a token: every request still goes through the same service
//! calls, and the only departures from the RFCs are the explicit
//! [`Relaxations`].

use std::collections::BTreeMap;

use axum::http::{HeaderMap, header};
use protocol::{ErrorCode, GrantType, OAuthError, Params, ScopeSet};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use service::Scope;
use service::oauth::{Relaxations, TokenResponse};

/// The endpoints a profile can mount at its own paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Authorize,
    Token,
    Revoke,
    Introspect,
    Userinfo,
    DeviceAuthorization,
    DevicePage,
    PairingPage,
    DeveloperApps,
    DeveloperNewApp,
    Connections,
}

impl Endpoint {
    pub const ALL: [Endpoint; 11] = [
        Endpoint::Authorize,
        Endpoint::Token,
        Endpoint::Revoke,
        Endpoint::Introspect,
        Endpoint::Userinfo,
        Endpoint::DeviceAuthorization,
        Endpoint::DevicePage,
        Endpoint::PairingPage,
        Endpoint::DeveloperApps,
        Endpoint::DeveloperNewApp,
        Endpoint::Connections,
    ];

    /// The key that names it in a profile's `[dialect.paths]`.
    pub fn key(self) -> &'static str {
        match self {
            Endpoint::Authorize => "authorize",
            Endpoint::Token => "token",
            Endpoint::Revoke => "revoke",
            Endpoint::Introspect => "introspect",
            Endpoint::Userinfo => "userinfo",
            Endpoint::DeviceAuthorization => "device_authorization",
            Endpoint::DevicePage => "device",
            Endpoint::PairingPage => "pairing",
            Endpoint::DeveloperApps => "developer_apps",
            Endpoint::DeveloperNewApp => "developer_new_app",
            Endpoint::Connections => "connections",
        }
    }

    /// Where the native dialect mounts it.
    pub fn native_path(self) -> &'static str {
        match self {
            Endpoint::Authorize => "/oauth2/authorize",
            Endpoint::Token => "/oauth2/token",
            Endpoint::Revoke => "/oauth2/revoke",
            Endpoint::Introspect => "/oauth2/introspect",
            Endpoint::Userinfo => "/oauth2/userinfo",
            Endpoint::DeviceAuthorization => "/oauth2/device_authorization",
            Endpoint::DevicePage => "/device",
            Endpoint::PairingPage => "/get-access",
            Endpoint::DeveloperApps => "/developer/apps",
            Endpoint::DeveloperNewApp => "/developer/apps/new",
            Endpoint::Connections => "/account/connections",
        }
    }

    /// Back-channel endpoints a profile may unmount from their native
    /// paths; the pages always stay where the native forms post.
    fn is_back_channel(self) -> bool {
        matches!(
            self,
            Endpoint::Authorize
                | Endpoint::Token
                | Endpoint::Revoke
                | Endpoint::Introspect
                | Endpoint::Userinfo
                | Endpoint::DeviceAuthorization
        )
    }
}

/// The `[dialect]` table of a configuration file, as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialectConfig {
    /// A short name, shown in logs and in the banner.
    pub name: String,
    /// Whether the native back-channel paths (`/oauth2/...`) stay mounted.
    #[serde(default = "yes")]
    pub native_paths: bool,
    #[serde(default)]
    pub paths: BTreeMap<String, String>,
    #[serde(default)]
    pub requests: RequestsConfig,
    #[serde(default)]
    pub responses: ResponsesConfig,
    /// Numeric codes for the envelope error style, by OAuth error code.
    #[serde(default)]
    pub error_codes: BTreeMap<String, i64>,
    /// Messages that replace the default descriptions, by OAuth error code
    /// or by `missing_client_id` / `unknown_client`.
    #[serde(default)]
    pub error_messages: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

/// `[dialect.requests]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestsConfig {
    /// Body encodings the back channel accepts: `form`, `json` (default both).
    pub encodings: Option<Vec<String>>,
    /// Extra names for grant types: alias to native `grant_type`.
    #[serde(default)]
    pub grant_type_aliases: BTreeMap<String, String>,
    /// `" "` (default) or `","`.
    pub scope_separator: Option<String>,
    /// Whether scopes may be named by their label as well as their name.
    #[serde(default)]
    pub scope_labels: bool,
    /// `required` (default, RFC 6749) or `optional`.
    pub token_redirect_uri: Option<String>,
    /// `required` (default, RFC 7009) or `optional`.
    pub revocation_client_auth: Option<String>,
}

/// `[dialect.responses]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponsesConfig {
    /// Token-response members to rename: native name to new name.
    #[serde(default)]
    pub token_rename: BTreeMap<String, String>,
    /// Constant members added to every token response.
    #[serde(default)]
    pub token_extra: Map<String, Value>,
    /// The userinfo body: member name to a template over the identity.
    pub userinfo: Option<BTreeMap<String, String>>,
    /// `rfc6749` (default) or `envelope`.
    pub errors: Option<String>,
    /// Endpoints whose successful answers are wrapped in the envelope.
    #[serde(default)]
    pub envelope: Vec<String>,
    /// `rfc6749` (default) or `flag` (`error=1` and a `message`).
    pub redirect_errors: Option<String>,
}

/// How back-channel errors are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorStyle {
    /// RFC 6749 section 5.2: `{"error", "error_description"}`.
    Rfc6749,
    /// `{"status": "error", "data": null, "errors": [{"message", "code"}]}`.
    Envelope,
}

/// How errors are sent back on the redirect URI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedirectErrorStyle {
    /// RFC 6749 section 4.1.2.1: `error`, `error_description`.
    Rfc6749,
    /// `error=1` and a human `message`.
    Flag,
}

/// The identity fields a userinfo template may use.
const USERINFO_FIELDS: [&str; 6] = ["sub", "sub_uuid", "username", "email", "client_id", "scope"];

/// A validated profile.
#[derive(Clone, Debug)]
pub struct Dialect {
    pub name: String,
    native_paths: bool,
    mounts: Vec<(Endpoint, String)>,
    form: bool,
    json: bool,
    grant_aliases: Vec<(String, String)>,
    separator: char,
    labels: bool,
    pub relaxations: Relaxations,
    token_rename: Vec<(String, String)>,
    token_extra: Map<String, Value>,
    userinfo: Option<Vec<(String, String)>>,
    errors: ErrorStyle,
    envelope: Vec<Endpoint>,
    redirect_errors: RedirectErrorStyle,
    error_codes: Vec<(ErrorCode, i64)>,
    error_messages: BTreeMap<String, String>,
}

impl Default for Dialect {
    fn default() -> Dialect {
        Dialect::native()
    }
}

/// Paths the server mounts itself, which no profile may take.
pub(crate) const RESERVED_PATHS: [&str; 11] = [
    "/",
    "/login",
    "/logout",
    "/healthz",
    "/readyz",
    "/account",
    "/oauth2/consent",
    "/.well-known/oauth-authorization-server",
    "/api/developer/apps",
    "/api/account/tokens",
    ui::STYLESHEET_PATH,
];

impl Dialect {
    /// Standards-exact: what every native path speaks.
    pub fn native() -> Dialect {
        Dialect {
            name: "native".to_owned(),
            native_paths: true,
            mounts: Vec::new(),
            form: true,
            json: true,
            grant_aliases: Vec::new(),
            separator: ' ',
            labels: false,
            relaxations: Relaxations::default(),
            token_rename: Vec::new(),
            token_extra: Map::new(),
            userinfo: None,
            errors: ErrorStyle::Rfc6749,
            envelope: Vec::new(),
            redirect_errors: RedirectErrorStyle::Rfc6749,
            error_codes: Vec::new(),
            error_messages: BTreeMap::new(),
        }
    }

    /// Validates a profile. The error names the key and the problem.
    pub fn from_config(c: &DialectConfig) -> Result<Dialect, String> {
        let name = c.name.trim();
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(format!(
                "dialect.name: {:?} must be letters, digits, '-' or '_'",
                c.name
            ));
        }
        let mut mounts: Vec<(Endpoint, String)> = Vec::new();
        for (key, path) in &c.paths {
            let key_name = format!("dialect.paths.{key}");
            let Some(endpoint) = Endpoint::ALL.into_iter().find(|e| e.key() == key) else {
                let known: Vec<&str> = Endpoint::ALL.iter().map(|e| e.key()).collect();
                return Err(format!(
                    "{key_name}: unknown endpoint; known: {}",
                    known.join(", ")
                ));
            };
            let valid = path.starts_with('/')
                && path.len() > 1
                && !path.ends_with('/')
                && !path.contains("//")
                && path
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/-_.~".contains(&b));
            if !valid {
                return Err(format!(
                    "{key_name}: {path:?} must be an absolute path of letters, digits and '/-_.~', without a trailing '/'"
                ));
            }
            if RESERVED_PATHS.contains(&path.as_str())
                || path.starts_with("/developer/apps/")
                || path.starts_with("/account/connections/")
            {
                return Err(format!(
                    "{key_name}: {path:?} is a path Portcullis mounts itself"
                ));
            }
            if let Some((other, _)) = mounts.iter().find(|(_, p)| p == path) {
                return Err(format!(
                    "{key_name}: {path:?} is already the path of {}",
                    other.key()
                ));
            }
            mounts.push((endpoint, path.clone()));
        }
        let r = &c.requests;
        let (mut form, mut json) = (true, true);
        if let Some(encodings) = &r.encodings {
            (form, json) = (false, false);
            for e in encodings {
                match e.as_str() {
                    "form" => form = true,
                    "json" => json = true,
                    other => {
                        return Err(format!(
                            "dialect.requests.encodings: {other:?} is not form or json"
                        ));
                    }
                }
            }
            if !form && !json {
                return Err("dialect.requests.encodings: name at least one of form, json".into());
            }
        }
        let mut grant_aliases = Vec::new();
        for (alias, target) in &r.grant_type_aliases {
            if target.parse::<GrantType>().is_err() {
                return Err(format!(
                    "dialect.requests.grant_type_aliases.{alias}: {target:?} is not a grant type Portcullis supports"
                ));
            }
            if alias.parse::<GrantType>().is_ok() {
                return Err(format!(
                    "dialect.requests.grant_type_aliases.{alias}: an alias cannot hide a native grant type"
                ));
            }
            grant_aliases.push((alias.clone(), target.clone()));
        }
        let separator = match r.scope_separator.as_deref() {
            None | Some(" ") => ' ',
            Some(",") => ',',
            Some(other) => {
                return Err(format!(
                    "dialect.requests.scope_separator: {other:?} must be \" \" or \",\""
                ));
            }
        };
        let relaxations = Relaxations {
            token_redirect_uri_optional: required_or_optional(
                "dialect.requests.token_redirect_uri",
                r.token_redirect_uri.as_deref(),
            )?,
            revocation_without_client_auth: required_or_optional(
                "dialect.requests.revocation_client_auth",
                r.revocation_client_auth.as_deref(),
            )?,
        };
        let s = &c.responses;
        let native_members = [
            "access_token",
            "token_type",
            "expires_in",
            "scope",
            "refresh_token",
        ];
        let mut token_rename = Vec::new();
        for (from, to) in &s.token_rename {
            if !native_members.contains(&from.as_str()) {
                return Err(format!(
                    "dialect.responses.token_rename.{from}: not a token-response member; known: {}",
                    native_members.join(", ")
                ));
            }
            if to.is_empty() || native_members.contains(&to.as_str()) {
                return Err(format!(
                    "dialect.responses.token_rename.{from}: {to:?} must be a new, non-empty name"
                ));
            }
            token_rename.push((from.clone(), to.clone()));
        }
        for key in s.token_extra.keys() {
            if native_members.contains(&key.as_str()) {
                return Err(format!(
                    "dialect.responses.token_extra.{key}: cannot replace a member the server computes"
                ));
            }
        }
        let userinfo = match &s.userinfo {
            None => None,
            Some(template) => {
                let mut fields = Vec::new();
                for (member, text) in template {
                    check_template(member, text)?;
                    fields.push((member.clone(), text.clone()));
                }
                Some(fields)
            }
        };
        let errors = match s.errors.as_deref() {
            None | Some("rfc6749") => ErrorStyle::Rfc6749,
            Some("envelope") => ErrorStyle::Envelope,
            Some(other) => {
                return Err(format!(
                    "dialect.responses.errors: {other:?} must be rfc6749 or envelope"
                ));
            }
        };
        let mut envelope = Vec::new();
        for key in &s.envelope {
            match Endpoint::ALL
                .into_iter()
                .find(|e| e.key() == key && matches!(e, Endpoint::Userinfo | Endpoint::Introspect))
            {
                Some(e) => envelope.push(e),
                None => {
                    return Err(format!(
                        "dialect.responses.envelope: {key:?} must be userinfo or introspect"
                    ));
                }
            }
        }
        let redirect_errors = match s.redirect_errors.as_deref() {
            None | Some("rfc6749") => RedirectErrorStyle::Rfc6749,
            Some("flag") => RedirectErrorStyle::Flag,
            Some(other) => {
                return Err(format!(
                    "dialect.responses.redirect_errors: {other:?} must be rfc6749 or flag"
                ));
            }
        };
        let mut error_codes = Vec::new();
        for (code, number) in &c.error_codes {
            let Some(code) = ErrorCode::from_name(code) else {
                return Err(format!(
                    "dialect.error_codes.{code}: not an OAuth error code"
                ));
            };
            error_codes.push((code, *number));
        }
        if errors == ErrorStyle::Envelope
            && let Some(missing) = ErrorCode::ALL
                .into_iter()
                .find(|code| !error_codes.iter().any(|(c, _)| c == code))
        {
            return Err(format!(
                "dialect.error_codes: the envelope style needs a number for every error code; {missing} has none"
            ));
        }
        for (key, message) in &c.error_messages {
            let known = ErrorCode::from_name(key).is_some()
                || key == "missing_client_id"
                || key == "unknown_client";
            if !known {
                return Err(format!(
                    "dialect.error_messages.{key}: not an OAuth error code, missing_client_id or unknown_client"
                ));
            }
            if message.trim().is_empty() {
                return Err(format!("dialect.error_messages.{key}: must not be empty"));
            }
        }
        Ok(Dialect {
            name: name.to_owned(),
            native_paths: c.native_paths,
            mounts,
            form,
            json,
            grant_aliases,
            separator,
            labels: r.scope_labels,
            relaxations,
            token_rename,
            token_extra: s.token_extra.clone(),
            userinfo,
            errors,
            envelope,
            redirect_errors,
            error_codes,
            error_messages: c.error_messages.clone(),
        })
    }

    /// Every (endpoint, path, is-this-profile) the server mounts: the
    /// native paths (unless turned off), then this profile's, which win
    /// where both name the same path.
    pub fn routes(&self) -> Vec<(Endpoint, String, bool)> {
        let mut routes: Vec<(Endpoint, String, bool)> = Endpoint::ALL
            .into_iter()
            .filter(|e| self.native_paths || !e.is_back_channel())
            .map(|e| (e, e.native_path().to_owned(), false))
            .filter(|(_, path, _)| !self.mounts.iter().any(|(_, p)| p == path))
            .collect();
        routes.extend(self.mounts.iter().map(|(e, p)| (*e, p.clone(), true)));
        routes
    }

    /// The path metadata advertises for an endpoint: the profile's, or
    /// the native one while it is mounted.
    pub fn advertised(&self, endpoint: Endpoint) -> Option<&str> {
        match self.mounts.iter().find(|(e, _)| *e == endpoint) {
            Some((_, path)) => Some(path),
            None if self.native_paths || !endpoint.is_back_channel() => {
                Some(endpoint.native_path())
            }
            None => None,
        }
    }

    /// Where the consent form of this dialect's authorization requests posts.
    pub fn consent_path(&self) -> &str {
        match self.mounts.iter().find(|(e, _)| *e == Endpoint::Authorize) {
            Some((_, path)) => path,
            None => "/oauth2/consent",
        }
    }

    /// Whether requests need rewriting into native terms (grant-type
    /// aliases, scope syntax); when not, they pass through untouched.
    pub fn rewrites_requests(&self) -> bool {
        !self.grant_aliases.is_empty() || self.separator != ' ' || self.labels
    }

    /// The parameters of a back-channel body in an accepted encoding.
    pub fn body_params(&self, headers: &HeaderMap, body: &[u8]) -> Result<Params, OAuthError> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        match content_type.as_str() {
            "application/x-www-form-urlencoded" if self.form => Params::from_urlencoded(body),
            "application/json" if self.json => json_params(body),
            _ => Err(OAuthError::invalid_request(match (self.form, self.json) {
                (true, true) => {
                    "Content-Type must be application/x-www-form-urlencoded or application/json"
                }
                (true, false) => "Content-Type must be application/x-www-form-urlencoded",
                _ => "Content-Type must be application/json",
            })),
        }
    }

    /// A token request in native terms: grant-type aliases resolved, and
    /// the scope written with spaces and names.
    pub fn token_params(&self, params: Params, registry: &[Scope]) -> Result<Params, OAuthError> {
        if !self.rewrites_requests() {
            return Ok(params);
        }
        let mut pairs = params.into_pairs();
        for (k, v) in &mut pairs {
            if k == "grant_type"
                && let Some((_, target)) = self.grant_aliases.iter().find(|(a, _)| a == v)
            {
                *v = target.clone();
            }
            if k == "scope" {
                *v = self.native_scope(v, registry)?;
            }
        }
        Params::from_pairs(pairs)
    }

    /// An authorization request's query in native terms (its scope).
    pub fn authorize_query(&self, query: &str, registry: &[Scope]) -> String {
        if !self.rewrites_requests() {
            return query.to_owned();
        }
        let Ok(params) = Params::from_urlencoded(query.as_bytes()) else {
            // Let the native checks describe what is wrong.
            return query.to_owned();
        };
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in params.into_pairs() {
            if k == "scope" {
                match self.native_scope(&v, registry) {
                    Ok(native) => out.append_pair(&k, &native),
                    Err(_) => out.append_pair(&k, &v),
                };
            } else {
                out.append_pair(&k, &v);
            }
        }
        out.finish()
    }

    /// `read,trade` or `Create Address Lists,Complete Claims` as the native
    /// space-separated names. Labels are matched exactly; an unknown label
    /// is kept as written so the scope check names it.
    fn native_scope(&self, written: &str, registry: &[Scope]) -> Result<String, OAuthError> {
        let parts: Vec<&str> = if self.separator == ',' {
            written
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect()
        } else {
            written.split(' ').filter(|p| !p.is_empty()).collect()
        };
        let mut names = Vec::with_capacity(parts.len());
        for part in parts {
            let by_label = self
                .labels
                .then(|| registry.iter().find(|s| s.label == part))
                .flatten();
            match by_label {
                Some(scope) => names.push(scope.name.as_str()),
                None if part.contains(' ') => {
                    return Err(OAuthError::new(
                        ErrorCode::InvalidScope,
                        format!("unknown scope {part}"),
                    ));
                }
                None => names.push(part),
            }
        }
        Ok(names.join(" "))
    }

    /// A scope set as this dialect writes it.
    pub fn scope_text(&self, scopes: &ScopeSet, registry: &[Scope]) -> String {
        if self.separator == ' ' && !self.labels {
            return scopes.to_string();
        }
        let separator = if self.separator == ',' { "," } else { " " };
        scopes
            .iter()
            .map(|name| {
                let name = name.as_str();
                self.labels
                    .then(|| registry.iter().find(|s| s.name == name))
                    .flatten()
                    .map_or(name, |s| s.label.as_str())
            })
            .collect::<Vec<_>>()
            .join(separator)
    }

    pub fn envelopes_errors(&self) -> bool {
        self.errors == ErrorStyle::Envelope
    }

    /// Whether writing scopes needs the registry (for labels).
    pub fn needs_registry(&self) -> bool {
        self.labels
    }

    /// The token response body (RFC 6749 section 5.1, reshaped).
    pub fn token_body(&self, t: &TokenResponse, registry: &[Scope]) -> Value {
        let mut body = Map::new();
        body.insert("access_token".into(), json!(t.access_token));
        body.insert("token_type".into(), json!("Bearer"));
        body.insert("expires_in".into(), json!(t.expires_in));
        body.insert("scope".into(), json!(self.scope_text(&t.scope, registry)));
        if let Some(refresh) = &t.refresh_token {
            body.insert("refresh_token".into(), json!(refresh));
        }
        if let Some(details) = &t.claims.authorization_details {
            body.insert("authorization_details".into(), details.clone());
        }
        for (from, to) in &self.token_rename {
            if let Some(v) = body.remove(from) {
                body.insert(to.clone(), v);
            }
        }
        for (k, v) in &self.token_extra {
            body.insert(k.clone(), v.clone());
        }
        Value::Object(body)
    }

    /// The userinfo body, from the profile's template or the native shape.
    pub fn userinfo_body(&self, identity: &service::oauth::Identity, registry: &[Scope]) -> Value {
        let body = match &self.userinfo {
            None => {
                let mut body = json!({ "sub": identity.sub, "client_id": identity.client_id });
                if let Some(username) = &identity.username {
                    body["preferred_username"] = json!(username);
                }
                if let Some(email) = &identity.email {
                    body["email"] = json!(email);
                }
                body
            }
            Some(template) => {
                let scope = self.scope_text(&identity.scope, registry);
                let value = |field: &str| -> Option<String> {
                    match field {
                        "sub" => Some(identity.sub.clone()),
                        "sub_uuid" => Some(uuid_text(&identity.sub)),
                        "username" => identity.username.clone(),
                        "email" => identity.email.clone(),
                        "client_id" => Some(identity.client_id.clone()),
                        "scope" => Some(scope.clone()),
                        _ => None,
                    }
                };
                let mut body = Map::new();
                for (member, text) in template {
                    body.insert(
                        member.clone(),
                        render(text, value).map_or(Value::Null, Value::String),
                    );
                }
                Value::Object(body)
            }
        };
        self.wrap(Endpoint::Userinfo, body)
    }

    /// A successful answer, in the envelope when the profile asks for it.
    pub fn wrap(&self, endpoint: Endpoint, body: Value) -> Value {
        if self.envelope.contains(&endpoint) {
            json!({ "status": "success", "data": [body], "errors": null })
        } else {
            body
        }
    }

    /// A back-channel error body in this dialect's style.
    pub fn error_body(&self, e: &OAuthError) -> Value {
        let message = self.message(e);
        match self.errors {
            ErrorStyle::Rfc6749 => {
                json!({ "error": e.code.as_str(), "error_description": message })
            }
            ErrorStyle::Envelope => {
                let code = self
                    .error_codes
                    .iter()
                    .find(|(c, _)| *c == e.code)
                    .map_or(0, |(_, n)| *n);
                json!({
                    "status": "error",
                    "data": null,
                    "errors": [{ "message": message, "code": code }],
                })
            }
        }
    }

    fn message<'a>(&'a self, e: &'a OAuthError) -> &'a str {
        self.error_messages
            .get(e.code.as_str())
            .map_or(e.description.as_str(), String::as_str)
    }

    /// What to tell the user when a request cannot go back to the client.
    pub fn untrusted_message<'a>(&'a self, why: &'a service::authorize::Untrusted) -> &'a str {
        use service::authorize::Untrusted;
        let key = match why {
            Untrusted::MissingClientId => "missing_client_id",
            Untrusted::UnknownClient => "unknown_client",
            Untrusted::Other(_) => "",
        };
        self.error_messages
            .get(key)
            .map_or_else(|| why.message(), String::as_str)
    }

    /// The parameters of an error sent back on the redirect URI.
    pub fn redirect_error<'a>(&'a self, e: &'a OAuthError) -> [(&'static str, &'a str); 2] {
        match self.redirect_errors {
            RedirectErrorStyle::Rfc6749 => [
                ("error", e.code.as_str()),
                ("error_description", self.message(e)),
            ],
            RedirectErrorStyle::Flag => [("error", "1"), ("message", self.message(e))],
        }
    }
}

fn required_or_optional(key: &str, value: Option<&str>) -> Result<bool, String> {
    match value {
        None | Some("required") => Ok(false),
        Some("optional") => Ok(true),
        Some(other) => Err(format!("{key}: {other:?} must be required or optional")),
    }
}

fn check_template(member: &str, text: &str) -> Result<(), String> {
    let key = format!("dialect.responses.userinfo.{member}");
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            return Err(format!("{key}: an unclosed '{{' in {text:?}"));
        };
        let field = &rest[open + 1..open + close];
        if !USERINFO_FIELDS.contains(&field) {
            return Err(format!(
                "{key}: unknown field {{{field}}}; known: {}",
                USERINFO_FIELDS.join(", ")
            ));
        }
        rest = &rest[open + close + 1..];
    }
    if rest.contains('}') {
        return Err(format!("{key}: a '}}' without its '{{' in {text:?}"));
    }
    Ok(())
}

/// Fills `{field}`s; `None` when a field has no value for this identity.
fn render(text: &str, value: impl Fn(&str) -> Option<String>) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let close = open + rest[open..].find('}')?;
        out.push_str(&rest[..open]);
        out.push_str(&value(&rest[open + 1..close])?);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// A 16-byte identifier (base64url, as user ids are) written as a UUID;
/// any other identifier unchanged.
fn uuid_text(id: &str) -> String {
    use base64::Engine as _;
    match base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(id) {
        Ok(bytes) if bytes.len() == 16 => {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!(
                "{}-{}-{}-{}-{}",
                &hex[0..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..32]
            )
        }
        _ => id.to_owned(),
    }
}

/// A JSON object of strings, read as request parameters.
pub(crate) fn json_params(body: &[u8]) -> Result<Params, OAuthError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| OAuthError::invalid_request("the body is not valid JSON"))?;
    let Value::Object(map) = value else {
        return Err(OAuthError::invalid_request(
            "the JSON body must be an object",
        ));
    };
    let mut pairs = Vec::with_capacity(map.len());
    for (k, v) in map {
        match v {
            Value::String(s) => pairs.push((k, s)),
            Value::Null => {}
            // RFC 9396 `authorization_details` may arrive as JSON itself.
            Value::Array(_) if k == "authorization_details" => {
                let text = v.to_string();
                pairs.push((k, text));
            }
            _ => {
                return Err(OAuthError::invalid_request(format!(
                    "parameter {k} must be a string"
                )));
            }
        }
    }
    Params::from_pairs(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> DialectConfig {
        #[derive(Deserialize)]
        struct File {
            dialect: DialectConfig,
        }
        toml_free_parse::<File>(text).dialect
    }

    // The web crate does not depend on a TOML parser; tests build the
    // configuration from JSON with the same shape.
    fn toml_free_parse<T: serde::de::DeserializeOwned>(json_text: &str) -> T {
        serde_json::from_str(json_text).expect("valid test configuration")
    }

    fn scope(name: &str, label: &str) -> Scope {
        Scope {
            name: name.into(),
            label: label.into(),
            description: String::new(),
            required_claims: Vec::new(),
            created_at: 0,
        }
    }

    #[test]
    fn labels_and_commas_become_native_scopes() {
        let d = Dialect::from_config(&config(
            r#"{"dialect": {"name": "b", "requests": {"scope_separator": ",", "scope_labels": true}}}"#,
        ))
        .unwrap();
        let registry = vec![
            scope("lists:write", "Create Address Lists"),
            scope("claims", "Complete Claims"),
        ];
        assert_eq!(
            d.native_scope("Create Address Lists,Complete Claims", &registry)
                .unwrap(),
            "lists:write claims"
        );
        assert_eq!(
            d.native_scope("claims, lists:write", &registry).unwrap(),
            "claims lists:write"
        );
        assert_eq!(
            d.native_scope("No Such Label", &registry).unwrap_err().code,
            ErrorCode::InvalidScope
        );
        let set = ScopeSet::parse("claims lists:write").unwrap();
        assert_eq!(
            d.scope_text(&set, &registry),
            "Complete Claims,Create Address Lists"
        );
        let q = d.authorize_query(
            "client_id=c&scope=Create%20Address%20Lists%2CComplete%20Claims&state=s",
            &registry,
        );
        assert_eq!(q, "client_id=c&scope=lists%3Awrite+claims&state=s");
    }

    #[test]
    fn bad_profiles_name_the_key() {
        let cases = [
            (
                r#"{"name": "x", "paths": {"tokne": "/t"}}"#,
                "dialect.paths.tokne",
            ),
            (
                r#"{"name": "x", "paths": {"token": "t"}}"#,
                "dialect.paths.token",
            ),
            (
                r#"{"name": "x", "paths": {"token": "/login"}}"#,
                "dialect.paths.token",
            ),
            (
                r#"{"name": "x", "paths": {"token": "/a", "revoke": "/a"}}"#,
                "dialect.paths.token",
            ),
            (
                r#"{"name": "x", "requests": {"grant_type_aliases": {"code": "password"}}}"#,
                "dialect.requests.grant_type_aliases.code",
            ),
            (
                r#"{"name": "x", "requests": {"scope_separator": ";"}}"#,
                "dialect.requests.scope_separator",
            ),
            (
                r#"{"name": "x", "responses": {"userinfo": {"id": "{nope}"}}}"#,
                "dialect.responses.userinfo.id",
            ),
            (
                r#"{"name": "x", "responses": {"errors": "envelope"}}"#,
                "dialect.error_codes",
            ),
            (
                r#"{"name": "x", "error_codes": {"oops": 1}}"#,
                "dialect.error_codes.oops",
            ),
            (r#"{"name": "a b"}"#, "dialect.name"),
        ];
        for (json_text, key) in cases {
            let c: DialectConfig = toml_free_parse(json_text);
            let e = Dialect::from_config(&c).unwrap_err();
            assert!(e.starts_with(key), "{json_text}: {e}");
        }
    }

    #[test]
    fn profile_paths_replace_native_ones() {
        let c: DialectConfig = toml_free_parse(
            r#"{"name": "x", "native_paths": false, "paths": {"token": "/v1/oauth2/token", "userinfo": "/oauth2/userinfo"}}"#,
        );
        let d = Dialect::from_config(&c).unwrap();
        let routes = d.routes();
        assert!(routes.contains(&(Endpoint::Token, "/v1/oauth2/token".into(), true)));
        assert!(routes.contains(&(Endpoint::Userinfo, "/oauth2/userinfo".into(), true)));
        assert!(!routes.iter().any(|(_, p, _)| p == "/oauth2/token"));
        assert!(routes.iter().any(|(e, _, _)| *e == Endpoint::DevicePage));
        assert_eq!(d.advertised(Endpoint::Revoke), None);
        assert_eq!(d.advertised(Endpoint::Token), Some("/v1/oauth2/token"));
    }

    #[test]
    fn templates_render_identity_fields() {
        assert_eq!(
            uuid_text("4NQp8mNbQYyLdEpVT4LAvA"),
            "e0d429f2-635b-418c-8b74-4a554f82c0bc"
        );
        assert_eq!(uuid_text("not-16-bytes"), "not-16-bytes");
        let v = |f: &str| (f == "sub_uuid").then(|| "u".to_owned());
        assert_eq!(
            render("bits:customer::{sub_uuid}", v).as_deref(),
            Some("bits:customer::u")
        );
        assert_eq!(render("{email}", v), None);
    }
}
