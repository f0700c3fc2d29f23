//! The back-channel endpoints: token, revocation, introspection, userinfo
//! and metadata. Each extracts the parameters, makes one service call and
//! shapes the answer as its RFC says.

use std::net::SocketAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::{ErrorCode, OAuthError, Params};
use serde_json::{Value, json};
use service::Origin;
use service::oauth::TokenResponse;

use crate::AppState;

/// An RFC 6749 section 5.2 error response.
pub(crate) struct JsonError(pub OAuthError);

impl From<OAuthError> for JsonError {
    fn from(e: OAuthError) -> JsonError {
        JsonError(e)
    }
}

impl IntoResponse for JsonError {
    fn into_response(self) -> Response {
        let status = match self.0.code {
            ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        let body =
            json!({ "error": self.0.code.as_str(), "error_description": self.0.description });
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

/// The parameters of a back-channel request: a form body, or a JSON
/// object of strings with the same names. Anything else is `invalid_request`.
pub(crate) fn body_params(headers: &HeaderMap, body: &[u8]) -> Result<Params, OAuthError> {
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
        "application/x-www-form-urlencoded" => Params::from_urlencoded(body),
        "application/json" => {
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
                    _ => {
                        return Err(OAuthError::invalid_request(format!(
                            "parameter {k} must be a string"
                        )));
                    }
                }
            }
            Params::from_pairs(pairs)
        }
        _ => Err(OAuthError::invalid_request(
            "Content-Type must be application/x-www-form-urlencoded or application/json",
        )),
    }
}

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

pub(crate) fn token_json(t: &TokenResponse) -> Value {
    let mut body = json!({
        "access_token": t.access_token,
        "token_type": "Bearer",
        "expires_in": t.expires_in,
        "scope": t.scope.to_string(),
    });
    if let Some(refresh) = &t.refresh_token {
        body["refresh_token"] = json!(refresh);
    }
    body
}

pub(crate) async fn token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, JsonError> {
    let params = body_params(&headers, &body)?;
    let issued = state
        .service
        .token(authorization(&headers), &params, &origin(peer))
        .await?;
    Ok((no_store(), Json(token_json(&issued))).into_response())
}

pub(crate) async fn revoke(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, JsonError> {
    let params = body_params(&headers, &body)?;
    state
        .service
        .revoke(authorization(&headers), &params, &origin(peer))
        .await?;
    Ok((StatusCode::OK, no_store()).into_response())
}

pub(crate) async fn introspect(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, JsonError> {
    let params = body_params(&headers, &body)?;
    let body = match state
        .service
        .introspect(authorization(&headers), &params, &origin(peer))
        .await?
    {
        None => json!({ "active": false }),
        Some(t) => {
            let mut body = json!({
                "active": true,
                "scope": t.scope.to_string(),
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
            body
        }
    };
    Ok((no_store(), Json(body)).into_response())
}

/// RFC 8628 section 3.1 and 3.2.
pub(crate) async fn device_authorization(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, JsonError> {
    let params = body_params(&headers, &body)?;
    let started = state
        .service
        .device_authorization(authorization(&headers), &params, &origin(peer))
        .await?;
    let verification_uri = format!("{}/device", state.config.issuer);
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

/// RFC 6750 section 3: a bearer failure names itself in `WWW-Authenticate`.
fn bearer_error(error: Option<&OAuthError>) -> Response {
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
    let mut response = (status, no_store()).into_response();
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

pub(crate) async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let presented = match bearer(&headers) {
        Ok(Some(t)) => t,
        Ok(None) => return bearer_error(None),
        Err(e) => return bearer_error(Some(&e)),
    };
    match state.service.bearer_identity(presented).await {
        Ok(identity) => {
            let mut body = json!({ "sub": identity.sub, "client_id": identity.client_id });
            if let Some(username) = identity.username {
                body["preferred_username"] = json!(username);
            }
            if let Some(email) = identity.email {
                body["email"] = json!(email);
            }
            (no_store(), Json(body)).into_response()
        }
        Err(e) => bearer_error(Some(&e)),
    }
}

/// RFC 8414: exactly what this server supports.
pub(crate) async fn metadata(State(state): State<AppState>) -> Result<Response, JsonError> {
    let issuer = &state.config.issuer;
    let scopes: Vec<String> = state
        .service
        .list_scopes()
        .await
        .map_err(|e| JsonError(e.into()))?
        .into_iter()
        .map(|s| s.name)
        .collect();
    let auth_methods = ["client_secret_basic", "client_secret_post", "none"];
    let body = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth2/authorize"),
        "token_endpoint": format!("{issuer}/oauth2/token"),
        "revocation_endpoint": format!("{issuer}/oauth2/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth2/introspect"),
        "userinfo_endpoint": format!("{issuer}/oauth2/userinfo"),
        "device_authorization_endpoint": format!("{issuer}/oauth2/device_authorization"),
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
    Ok((
        [(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        )],
        Json(body),
    )
        .into_response())
}
