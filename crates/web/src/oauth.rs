//! The back-channel endpoints: token, revocation, introspection, userinfo
//! and metadata. Each extracts the parameters, makes one service call and
//! shapes the answer as its RFC says.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use protocol::{ErrorCode, OAuthError};
use serde_json::json;
use service::{Origin, Scope};

use crate::AppState;
use crate::dialect::{Dialect, Endpoint};

/// An RFC 6749 section 5.2 error response, in a dialect's shape.
pub(crate) struct JsonError(pub OAuthError, pub Arc<Dialect>);

impl IntoResponse for JsonError {
    fn into_response(self) -> Response {
        let status = match self.0.code {
            ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        let body = self.1.error_body(&self.0);
        let mut response = (status, no_store(), Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"portcullis\""),
            );
        }
        response
    }
}

/// `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 section 5.1).
fn no_store() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

pub(crate) fn origin(peer: SocketAddr) -> Origin {
    Origin {
        user_id: None,
        ip: Some(peer.ip().to_string()),
    }
}

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

/// The scope registry, when the dialect writes scopes by label.
async fn registry(state: &AppState, dialect: &Dialect) -> Result<Vec<Scope>, OAuthError> {
    if dialect.needs_registry() {
        state.service.list_scopes().await.map_err(OAuthError::from)
    } else {
        Ok(Vec::new())
    }
}

pub(crate) async fn token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(dialect): Extension<Arc<Dialect>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = async {
        let registry = registry(&state, &dialect).await?;
        let params = dialect.token_params(dialect.body_params(&headers, &body)?, &registry)?;
        let issued = state
            .service
            .token_relaxed(
                authorization(&headers),
                &params,
                &origin(peer),
                dialect.relaxations,
            )
            .await?;
        Ok::<_, OAuthError>(dialect.token_body(&issued, &registry))
    }
    .await;
    match answer {
        Ok(body) => (no_store(), Json(body)).into_response(),
        Err(e) => JsonError(e, dialect).into_response(),
    }
}

pub(crate) async fn revoke(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(dialect): Extension<Arc<Dialect>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = async {
        let params = dialect.body_params(&headers, &body)?;
        state
            .service
            .revoke_relaxed(
                authorization(&headers),
                &params,
                &origin(peer),
                dialect.relaxations,
            )
            .await
    }
    .await;
    match answer {
        Ok(()) => (StatusCode::OK, no_store()).into_response(),
        Err(e) => JsonError(e, dialect).into_response(),
    }
}

pub(crate) async fn introspect(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(dialect): Extension<Arc<Dialect>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = async {
        let params = dialect.body_params(&headers, &body)?;
        let active = state
            .service
            .introspect(authorization(&headers), &params, &origin(peer))
            .await?;
        let registry = registry(&state, &dialect).await?;
        Ok::<_, OAuthError>(match active {
            None => json!({ "active": false }),
            Some(t) => {
                let mut body = json!({
                    "active": true,
                    "scope": dialect.scope_text(&t.scope, &registry),
                    "client_id": t.client_id,
                    "token_type": if t.kind == protocol::token::Kind::AccessToken { "Bearer" } else { "refresh_token" },
                    "exp": t.exp,
                    "iat": t.iat,
                    "sub": t.sub,
                    "iss": state.config.issuer,
                });
                if let Some(username) = t.username {
                    body["username"] = json!(username);
                }
                // Claims bound by scopes that require them (none is reserved).
                for (name, value) in &t.claims.values {
                    body[name] = value.clone();
                }
                if let Some(details) = t.claims.authorization_details {
                    body["authorization_details"] = details;
                }
                body
            }
        })
    }
    .await;
    match answer {
        Ok(body) => (no_store(), Json(dialect.wrap(Endpoint::Introspect, body))).into_response(),
        Err(e) => JsonError(e, dialect).into_response(),
    }
}

/// RFC 8628 section 3.1 and 3.2.
pub(crate) async fn device_authorization(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(dialect): Extension<Arc<Dialect>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, JsonError> {
    let fail = |e: OAuthError| JsonError(e, Arc::clone(&dialect));
    let registry = registry(&state, &dialect).await.map_err(fail)?;
    let params = dialect
        .body_params(&headers, &body)
        .and_then(|p| dialect.token_params(p, &registry))
        .map_err(fail)?;
    let started = state
        .service
        .device_authorization(authorization(&headers), &params, &origin(peer))
        .await
        .map_err(fail)?;
    let page = dialect
        .advertised(Endpoint::DevicePage)
        .unwrap_or("/device");
    let verification_uri = format!("{}{page}", state.config.issuer);
    let body = json!({
        "device_code": started.device_code,
        "user_code": started.user_code,
        "verification_uri": verification_uri,
        "verification_uri_complete": format!("{verification_uri}?user_code={}", started.user_code),
        "expires_in": started.expires_in,
        "interval": started.interval,
    });
    Ok((no_store(), Json(body)).into_response())
}

/// RFC 6750 section 3: a bearer failure names itself in `WWW-Authenticate`
/// (and, in the envelope style, in the body too).
fn bearer_error(dialect: &Dialect, error: Option<&OAuthError>) -> Response {
    let (status, challenge) = match error {
        None => (
            StatusCode::UNAUTHORIZED,
            "Bearer realm=\"portcullis\"".to_owned(),
        ),
        Some(e) => {
            let status = match e.code {
                ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
                ErrorCode::InvalidRequest => StatusCode::BAD_REQUEST,
                ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::UNAUTHORIZED,
            };
            (
                status,
                format!(
                    "Bearer realm=\"portcullis\", error=\"{}\", error_description=\"{}\"",
                    e.code, e.description
                ),
            )
        }
    };
    let mut response = match (dialect.envelopes_errors(), error) {
        (true, Some(e)) => (status, no_store(), Json(dialect.error_body(e))).into_response(),
        (true, None) => {
            let missing = OAuthError::new(ErrorCode::InvalidToken, "an access token is required");
            (status, no_store(), Json(dialect.error_body(&missing))).into_response()
        }
        (false, _) => (status, no_store()).into_response(),
    };
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

/// The bearer token of a request (RFC 6750 section 2.1; the header only,
/// never the query string).
pub(crate) fn bearer(headers: &HeaderMap) -> Result<Option<&str>, OAuthError> {
    let Some(value) = authorization(headers) else {
        return Ok(None);
    };
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(OAuthError::invalid_request(
            "use Authorization: Bearer <token>",
        ));
    }
    Ok(Some(token.trim()))
}

pub(crate) async fn userinfo(
    State(state): State<AppState>,
    Extension(dialect): Extension<Arc<Dialect>>,
    headers: HeaderMap,
) -> Response {
    let presented = match bearer(&headers) {
        Ok(Some(t)) => t,
        Ok(None) => return bearer_error(&dialect, None),
        Err(e) => return bearer_error(&dialect, Some(&e)),
    };
    let answer = async {
        let identity = state.service.bearer_identity(presented).await?;
        let registry = registry(&state, &dialect).await?;
        Ok::<_, OAuthError>(dialect.userinfo_body(&identity, &registry))
    }
    .await;
    match answer {
        Ok(body) => (no_store(), Json(body)).into_response(),
        Err(e) => bearer_error(&dialect, Some(&e)),
    }
}

/// RFC 8414: exactly what this server supports.
pub(crate) async fn metadata(State(state): State<AppState>) -> Result<Response, JsonError> {
    let issuer = &state.config.issuer;
    let dialect = &state.dialect;
    let scopes: Vec<String> = state
        .service
        .list_scopes()
        .await
        .map_err(|e| JsonError(e.into(), Arc::new(Dialect::native())))?
        .into_iter()
        .map(|s| s.name)
        .collect();
    let auth_methods = ["client_secret_basic", "client_secret_post", "none"];
    let mut body = json!({
        "issuer": issuer,
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": protocol::GrantType::ALL.map(protocol::GrantType::as_str),
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
    });
    let endpoints = [
        ("authorization_endpoint", Endpoint::Authorize),
        ("token_endpoint", Endpoint::Token),
        ("revocation_endpoint", Endpoint::Revoke),
        ("introspection_endpoint", Endpoint::Introspect),
        ("userinfo_endpoint", Endpoint::Userinfo),
        (
            "device_authorization_endpoint",
            Endpoint::DeviceAuthorization,
        ),
    ];
    for (member, endpoint) in endpoints {
        if let Some(path) = dialect.advertised(endpoint) {
            body[member] = json!(format!("{issuer}{path}"));
        }
    }
    Ok((
        [(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        )],
        Json(body),
    )
        .into_response())
}
