//! The developer portal as a JSON API, for platforms that script it:
//! `/api/developer/apps...` and `/api/account/tokens...`.
//!
//! A caller authenticates with `Authorization: Bearer pc_pat_...` (a
//! personal access token), or with the browser session; then every request
//! that changes something must carry the CSRF cookie's value in an
//! `X-CSRF-Token` header. Another user's app is a 404.

use std::net::SocketAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use service::clients::{ClientChanges, ClientSpec};
use service::portal::TokenInfo;
use service::{Client, Origin, ServiceError, User};

use crate::AppState;
use crate::oauth::{bearer, origin};
use crate::pages::{csrf_ok, current_user};

/// An API error: a status, a stable code and a message (and the field, for input errors).
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<&'static str>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such app")
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> ApiError {
        match e {
            ServiceError::Invalid { field, message } => ApiError {
                status: StatusCode::BAD_REQUEST,
                code: "invalid",
                message,
                field: Some(field),
            },
            ServiceError::NotFound(what) => ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{what} not found"),
            ),
            ServiceError::Conflict(what) => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("{what} already exists"),
            ),
            other => {
                tracing::error!(error = %other, "API request failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "the server could not complete the request",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.code, "message": self.message });
        if let Some(field) = self.field {
            body["field"] = json!(field);
        }
        (self.status, Json(body)).into_response()
    }
}

/// The caller of an API request; a session caller changing something must
/// also show the CSRF token.
async fn caller(state: &AppState, method: &Method, headers: &HeaderMap) -> Result<User, ApiError> {
    let unauthenticated = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in, or send Authorization: Bearer with a personal access token",
        )
    };
    if let Some(token) = bearer(headers).map_err(|_| unauthenticated())? {
        return state
            .service
            .personal_access_token_user(token)
            .await?
            .ok_or_else(unauthenticated);
    }
    let user = current_user(state, headers)
        .await?
        .ok_or_else(unauthenticated)?
        .user;
    if method != Method::GET && method != Method::HEAD {
        let ok = csrf_ok(
            headers,
            headers.get("x-csrf-token").and_then(|v| v.to_str().ok()),
        );
        if !ok {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "send the portcullis_csrf cookie's value in X-CSRF-Token",
            ));
        }
    }
    Ok(user)
}

/// Who is acting, for the audit trail: the user, from this address.
pub(crate) fn acting(user: &User, peer: SocketAddr) -> Origin {
    Origin {
        user_id: Some(user.id.clone()),
        ..origin(peer)
    }
}

fn app_json(c: &Client, secret: Option<&str>) -> Value {
    let mut v = json!({
        "client_id": c.id,
        "name": c.name,
        "description": c.description,
        "homepage": c.homepage,
        "public": c.public,
        "redirect_uris": c.redirect_uris.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
        "scopes": c.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "grant_types": c.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    });
    if let Some(secret) = secret {
        v["client_secret"] = json!(secret);
    }
    v
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewApp {
    name: String,
    #[serde(default)]
    description: String,
    homepage: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    grant_types: Vec<String>,
    #[serde(default)]
    public: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppChanges {
    name: Option<String>,
    description: Option<String>,
    homepage: Option<String>,
    redirect_uris: Option<Vec<String>>,
    scopes: Option<Vec<String>>,
    grant_types: Option<Vec<String>>,
}

async fn owned(state: &AppState, user: &User, id: &str) -> Result<Client, ApiError> {
    state
        .service
        .owned_client(user, id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// `GET /api/developer/apps`.
pub(crate) async fn list_apps(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let user = caller(&state, &method, &headers).await?;
    let apps = state.service.list_clients(Some(&user.id)).await?;
    Ok(Json(Value::Array(
        apps.iter().map(|c| app_json(c, None)).collect(),
    ))
    .into_response())
}

/// `POST /api/developer/apps`: 201 with the secret, shown once.
pub(crate) async fn create_app(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let user = caller(&state, &method, &headers).await?;
    let new: NewApp = parse(&body)?;
    let spec = ClientSpec {
        name: new.name,
        description: new.description,
        homepage: new.homepage,
        redirect_uris: new.redirect_uris,
        scopes: new.scopes,
        grant_types: new.grant_types,
        public: new.public,
        owner: Some(user.username.clone()),
        lifetimes: Default::default(),
    };
    let created = state
        .service
        .create_client(spec, &acting(&user, peer))
        .await?;
    let mut body = app_json(&created.client, created.secret.as_deref());
    if created.secret.is_none() {
        body["client_secret"] = Value::Null;
    }
    Ok((
        StatusCode::CREATED,
        [("cache-control", "no-store")],
        Json(body),
    )
        .into_response())
}

/// `GET /api/developer/apps/{id}`.
pub(crate) async fn get_app(
    State(state): State<AppState>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let user = caller(&state, &method, &headers).await?;
    Ok(Json(app_json(&owned(&state, &user, &id).await?, None)).into_response())
}

/// `PATCH /api/developer/apps/{id}`: fields left out keep their value.
pub(crate) async fn update_app(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let user = caller(&state, &method, &headers).await?;
    let client = owned(&state, &user, &id).await?;
    let c: AppChanges = parse(&body)?;
    let changes = ClientChanges {
        name: c.name,
        description: c.description,
        homepage: c.homepage.map(|h| Some(h).filter(|h| !h.is_empty())),
        redirect_uris: c.redirect_uris,
        scopes: c.scopes,
        grant_types: c.grant_types,
        lifetimes: Default::default(),
    };
    let updated = state
        .service
        .update_client(&client.id, changes, &acting(&user, peer))
        .await?;
    Ok(Json(app_json(&updated, None)).into_response())
}

/// `DELETE /api/developer/apps/{id}`: the app and every token it holds.
pub(crate) async fn delete_app(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let user = caller(&state, &method, &headers).await?;
    let client = owned(&state, &user, &id).await?;
    state
        .service
        .delete_client(&client.id, &acting(&user, peer))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Rotation {
    #[serde(default)]
    overlap: i64,
}

/// `POST /api/developer/apps/{id}/rotate-secret`, body `{"overlap": SECONDS}` (optional).
pub(crate) async fn rotate_secret(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let user = caller(&state, &method, &headers).await?;
    let client = owned(&state, &user, &id).await?;
    let rotation: Rotation = if body.is_empty() {
        Rotation::default()
    } else {
        parse(&body)?
    };
    let secret = state
        .service
        .rotate_client_secret(&client.id, rotation.overlap, &acting(&user, peer))
        .await?;
    let body = json!({ "client_id": client.id, "client_secret": secret });
    Ok(([("cache-control", "no-store")], Json(body)).into_response())
}

fn token_json(t: &TokenInfo) -> Value {
    json!({ "id": t.id, "name": t.name, "created_at": t.created_at, "last_used_at": t.last_used_at })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
}

/// `POST /api/account/tokens`, body `{"name": ...}`: the token is shown once.
pub(crate) async fn create_token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let user = caller(&state, &method, &headers).await?;
    let new: NewToken = parse(&body)?;
    let (token, info) = state
        .service
        .create_personal_access_token(&user, &new.name, &acting(&user, peer))
        .await?;
    let mut body = token_json(&info);
    body["token"] = json!(token);
    Ok((
        StatusCode::CREATED,
        [("cache-control", "no-store")],
        Json(body),
    )
        .into_response())
}

/// `GET /api/account/tokens`.
pub(crate) async fn list_tokens(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let user = caller(&state, &method, &headers).await?;
    let tokens = state.service.personal_access_tokens(&user).await?;
    Ok(Json(Value::Array(tokens.iter().map(token_json).collect())).into_response())
}

/// `DELETE /api/account/tokens/{id}`.
pub(crate) async fn delete_token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let user = caller(&state, &method, &headers).await?;
    if state
        .service
        .delete_personal_access_token(&user, &id, &acting(&user, peer))
        .await?
    {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such token",
        ))
    }
}
