//! The HTTP edge: axum routes that turn requests into `service` calls and
//! results into responses. No SQL and no protocol rules live here.

mod api;
mod device;
pub mod dialect;
mod health;
mod oauth;
mod pages;
mod portal;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::routing::MethodRouter;
use axum::{Extension, Router};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use dialect::Endpoint;
pub use dialect::{Dialect, DialectConfig};
pub use service::Service;

/// What the HTTP edge needs to know about its deployment.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// The issuer identifier (RFC 8414), e.g. `https://auth.example.com`.
    pub issuer: String,
}

/// Shared by every handler. Every request clones it (axum hands each
/// handler its own copy), so it is one `Arc`: one reference count touched
/// per request rather than one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] shares; its fields read through the state.
pub struct Shared {
    pub service: Service,
    pub config: WebConfig,
    pub pages: ui::Pages,
    /// The profile the server speaks at its paths ([`Dialect::native`] when none).
    pub dialect: Arc<Dialect>,
}

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// Largest request body accepted, in bytes.
const BODY_LIMIT: usize = 64 * 1024;

/// Every route, with the layers every response gets. No socket here, so
/// tests can call it directly.
pub fn router(state: AppState) -> Router {
    use axum::routing::{get, post};
    let native = Arc::new(Dialect::native());
    let mut router = Router::new();
    for (endpoint, path, profile) in state.dialect.routes() {
        let dialect = if profile {
            Arc::clone(&state.dialect)
        } else {
            Arc::clone(&native)
        };
        router = router.route(
            &path,
            endpoint_routes(endpoint, profile).layer(Extension(dialect)),
        );
    }
    router
        .merge(health::routes())
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth::metadata),
        )
        .route(
            "/oauth2/consent",
            post(pages::consent).layer(Extension(native)),
        )
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/", get(pages::home))
        .route(ui::STYLESHEET_PATH, get(pages::stylesheet))
        .route("/developer/apps/{id}", get(portal::app))
        .route(
            "/developer/apps/{id}/edit",
            get(portal::edit_app).post(portal::update_app),
        )
        .route(
            "/developer/apps/{id}/rotate-secret",
            post(portal::rotate_secret),
        )
        .route(
            "/developer/apps/{id}/delete",
            get(portal::confirm_delete).post(portal::delete_app),
        )
        .route("/account", get(portal::account))
        .route(
            "/account/connections/{id}/revoke",
            post(portal::revoke_connection),
        )
        .route(
            "/api/developer/apps",
            get(api::list_apps).post(api::create_app),
        )
        .route(
            "/api/developer/apps/{id}",
            get(api::get_app)
                .patch(api::update_app)
                .delete(api::delete_app),
        )
        .route(
            "/api/developer/apps/{id}/rotate-secret",
            post(api::rotate_secret),
        )
        .route(
            "/api/account/tokens",
            get(api::list_tokens).post(api::create_token),
        )
        .route(
            "/api/account/tokens/{id}",
            axum::routing::delete(api::delete_token),
        )
        .fallback(portal::fallback)
        .with_state(state)
        .layer(axum::middleware::from_fn(run_to_completion))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(TraceLayer::new_for_http())
}

/// Runs each request's handler in a task of its own, so a client that
/// hangs up (or the timeout) cannot cancel it halfway: a transaction is
/// either committed or rolled back, never abandoned on a pooled connection.
async fn run_to_completion(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "a request handler failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The handlers of one endpoint. A profile's authorization path also takes
/// the consent form's POST, so the decision is answered in that dialect.
fn endpoint_routes(endpoint: Endpoint, profile: bool) -> MethodRouter<AppState> {
    use axum::routing::{get, post};
    match endpoint {
        Endpoint::Authorize if profile => get(pages::authorize).post(pages::consent),
        Endpoint::Authorize => get(pages::authorize),
        Endpoint::Token => post(oauth::token),
        Endpoint::Revoke => post(oauth::revoke),
        Endpoint::Introspect => post(oauth::introspect),
        Endpoint::Userinfo => get(oauth::userinfo).post(oauth::userinfo),
        Endpoint::DeviceAuthorization => post(oauth::device_authorization),
        Endpoint::DevicePage => get(device::device_form).post(device::device_submit),
        Endpoint::PairingPage => get(device::pairing_form).post(device::pairing_submit),
        Endpoint::DeveloperApps => get(portal::apps).post(portal::create_app),
        Endpoint::DeveloperNewApp => get(portal::new_app),
        Endpoint::Connections => get(portal::connections),
    }
}

/// Serves [`router`] on a bound listener until `shutdown` resolves; requests
/// in flight then finish before this returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
