//! The front channel: the authorization endpoint and the pages people see
//! (sign-in, consent, sign-out). Every form carries a CSRF token that must
//! match a cookie (double submit); every page forbids framing.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, OriginalUri, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use protocol::token::Verifier;
use protocol::{OAuthError, ScopeSet};
use service::authorize::{AuthorizationRequest, Checked};
use service::sessions::SignedIn;
use ui::{ConsentView, ErrorView, Layout, LoginView, ScopeChoice};

use crate::AppState;
use crate::dialect::Dialect;
use crate::oauth::origin;

pub(crate) const SESSION_COOKIE: &str = "portcullis_session";
const CSRF_COOKIE: &str = "portcullis_csrf";

/// Headers every page gets: no framing, no referrer, no caching.
fn page_headers(response: &mut Response) {
    let h = response.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub(crate) fn set_cookie(
    state: &AppState,
    name: &str,
    value: &str,
    max_age: Option<i64>,
) -> HeaderValue {
    let secure = if state.config.issuer.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let age = max_age
        .map(|a| format!("; Max-Age={a}"))
        .unwrap_or_default();
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{age}"
    ))
    .expect("cookie values are URL-safe")
}

/// A page response that also makes sure the browser holds a CSRF cookie.
pub(crate) struct Page {
    pub(crate) html: String,
    pub(crate) status: StatusCode,
    pub(crate) csrf_cookie: Option<HeaderValue>,
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut response = (self.status, Html(self.html)).into_response();
        if let Some(c) = self.csrf_cookie {
            response.headers_mut().append(header::SET_COOKIE, c);
        }
        page_headers(&mut response);
        response
    }
}

/// The CSRF token for the forms of this response: the browser's cookie, or a new one.
pub(crate) fn csrf(state: &AppState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match cookie(headers, CSRF_COOKIE).filter(|c| c.len() == 43) {
        Some(existing) => (existing.to_owned(), None),
        None => {
            let mut bytes = [0u8; 32];
            let _ = getrandom_fill(&mut bytes);
            let token = base64_url(&bytes);
            let header = set_cookie(state, CSRF_COOKIE, &token, None);
            (token, Some(header))
        }
    }
}

fn getrandom_fill(buf: &mut [u8]) -> Result<(), ()> {
    service::random_bytes(buf).map_err(|_| ())
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A submitted HTML form. Unlike OAuth parameters, a field may repeat
/// (the consent page's scope checkboxes).
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    pub(crate) fn parse(body: &[u8]) -> Form {
        Form(url::form_urlencoded::parse(body).into_owned().collect())
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Whether a submitted form's token matches the browser's CSRF cookie.
pub(crate) fn csrf_ok(headers: &HeaderMap, submitted: Option<&str>) -> bool {
    match (cookie(headers, CSRF_COOKIE), submitted) {
        (Some(c), Some(s)) => Verifier::of(c).verify(s),
        _ => false,
    }
}

pub(crate) fn error_page(
    state: &AppState,
    status: StatusCode,
    title: &str,
    message: &str,
) -> Response {
    let view = ErrorView {
        layout: layout(None, ""),
        status: status.as_u16(),
        title: title.to_owned(),
        message: message.to_owned(),
    };
    match state.pages.error(&view) {
        Ok(html) => Page {
            html,
            status,
            csrf_cookie: None,
        }
        .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot render the error page");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

pub(crate) fn internal(state: &AppState, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "request failed");
    error_page(
        state,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Please try again in a moment.",
    )
}

pub(crate) fn layout(user: Option<&SignedIn>, csrf_token: &str) -> Layout {
    Layout {
        site_name: "Portcullis".to_owned(),
        signed_in_as: user.map(|u| u.user.username.clone()),
        csrf_token: csrf_token.to_owned(),
    }
}

pub(crate) async fn current_user(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<SignedIn>, service::ServiceError> {
    match cookie(headers, SESSION_COOKIE) {
        Some(c) => state.service.signed_in(c).await,
        None => Ok(None),
    }
}

/// Appends the response parameters to the client's redirect URI, keeping
/// its own query, and adds `iss` (RFC 9207).
fn client_redirect(state: &AppState, redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(u) => u,
        Err(e) => return internal(state, e),
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
        q.append_pair("iss", &state.config.issuer);
    }
    Redirect::to(url.as_str()).into_response()
}

fn error_redirect(
    state: &AppState,
    dialect: &Dialect,
    redirect_uri: &str,
    st: Option<&str>,
    error: &OAuthError,
) -> Response {
    let mut params = dialect.redirect_error(error).to_vec();
    if let Some(s) = st {
        params.push(("state", s));
    }
    client_redirect(state, redirect_uri, &params)
}

fn code_redirect(state: &AppState, request: &AuthorizationRequest, code: &str) -> Response {
    let mut params = vec![("code", code)];
    if let Some(s) = &request.state {
        params.push(("state", s));
    }
    client_redirect(state, &request.redirect_uri, &params)
}

/// The registry entries of the scopes `offered` (all, when `None`), ticked
/// where `checked` has them: for the consent, device, portal and
/// Connections pages.
pub(crate) async fn scope_choices(
    state: &AppState,
    offered: Option<&ScopeSet>,
    checked: &ScopeSet,
) -> Result<Vec<ScopeChoice>, Response> {
    let all = state
        .service
        .list_scopes()
        .await
        .map_err(|e| internal(state, e))?;
    Ok(all
        .into_iter()
        .filter(|s| offered.is_none_or(|o| o.contains(&s.name)))
        .map(|s| ScopeChoice {
            checked: checked.contains(&s.name),
            name: s.name,
            label: s.label,
            description: s.description,
        })
        .collect())
}

/// The answer to a form whose CSRF token does not match.
pub(crate) fn expired_form(state: &AppState) -> Response {
    error_page(
        state,
        StatusCode::FORBIDDEN,
        "This form has expired",
        "Go back, reload the page and try again.",
    )
}

/// The username of a client's owner, for display.
pub(crate) async fn owner_name(state: &AppState, client: &service::Client) -> Option<String> {
    match &client.owner_id {
        Some(id) => state
            .service
            .user(id)
            .await
            .ok()
            .flatten()
            .map(|u| u.username),
        None => None,
    }
}

/// Sends the browser to sign in first, and back to `return_to` after.
pub(crate) fn to_login(return_to: &str) -> Response {
    let encoded: String = url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
    Redirect::to(&format!("/login?return_to={encoded}")).into_response()
}

/// `GET /oauth2/authorize`, or a profile's authorization path.
pub(crate) async fn authorize(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(dialect): Extension<Arc<Dialect>>,
    OriginalUri(uri): OriginalUri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let written = query.unwrap_or_default();
    let query = if !dialect.rewrites_requests() {
        written.clone()
    } else {
        match state.service.list_scopes().await {
            Ok(registry) => dialect.authorize_query(&written, &registry),
            Err(e) => return internal(&state, e),
        }
    };
    let request = match state.service.check_authorization(query.as_bytes()).await {
        Ok(Checked::Valid(r)) => r,
        Ok(Checked::ToUser(why)) => {
            return error_page(
                &state,
                StatusCode::BAD_REQUEST,
                "This sign-in link is not valid",
                dialect.untrusted_message(&why),
            );
        }
        Ok(Checked::ToClient {
            redirect_uri,
            state: st,
            error,
        }) => {
            return error_redirect(&state, &dialect, &redirect_uri, st.as_deref(), &error);
        }
        Err(e) => return internal(&state, e),
    };
    let user = match current_user(&state, &headers).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            return to_login(&format!("{}?{written}", uri.path()));
        }
        Err(e) => return internal(&state, e),
    };
    match state
        .service
        .approve_remembered(&user.user, &request, &origin(peer))
        .await
    {
        Ok(Some(code)) => code_redirect(&state, &request, &code),
        Ok(None) => consent_page(&state, &dialect, &headers, &user, &request, &query, None).await,
        Err(e) => internal(&state, e),
    }
}

async fn consent_page(
    state: &AppState,
    dialect: &Dialect,
    headers: &HeaderMap,
    user: &SignedIn,
    request: &AuthorizationRequest,
    query: &str,
    error: Option<String>,
) -> Response {
    let scopes = match state.service.scopes_for(request).await {
        Ok(s) => s,
        Err(e) => return internal(state, e),
    };
    let owner = owner_name(state, &request.client).await;
    let (csrf_token, csrf_cookie) = csrf(state, headers);
    let choose = request.requested.is_none();
    let view = ConsentView {
        layout: layout(Some(user), &csrf_token),
        action: dialect.consent_path().to_owned(),
        csrf_token,
        interaction: state.service.seal_interaction(user.session_id, query),
        app_name: request.client.name.clone(),
        app_description: request.client.description.clone(),
        app_homepage: request.client.homepage.clone(),
        owner,
        redirect_host: url::Url::parse(&request.redirect_uri)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| request.redirect_uri.clone()),
        scopes: scopes
            .into_iter()
            .map(|s| ScopeChoice {
                name: s.name,
                label: s.label,
                description: s.description,
                checked: true,
            })
            .collect(),
        choose,
        error,
    };
    match state.pages.consent(&view) {
        Ok(html) => Page {
            html,
            status: StatusCode::OK,
            csrf_cookie,
        }
        .into_response(),
        Err(e) => internal(state, e),
    }
}

/// `POST /oauth2/consent` (or a profile's authorization path): the user's decision.
pub(crate) async fn consent(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(dialect): Extension<Arc<Dialect>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let field = |name: &str| form.get(name);
    if !csrf_ok(&headers, field("csrf_token")) {
        return expired_form(&state);
    }
    let user = match current_user(&state, &headers).await {
        Ok(Some(u)) => u,
        Ok(None) => return Redirect::to("/login").into_response(),
        Err(e) => return internal(&state, e),
    };
    let Some(query) =
        field("interaction").and_then(|i| state.service.open_interaction(user.session_id, i))
    else {
        return error_page(
            &state,
            StatusCode::BAD_REQUEST,
            "This request has expired",
            "Go back to the app and start again.",
        );
    };
    let request = match state.service.check_authorization(query.as_bytes()).await {
        Ok(Checked::Valid(r)) => r,
        Ok(Checked::ToUser(why)) => {
            return error_page(
                &state,
                StatusCode::BAD_REQUEST,
                "This request is not valid",
                dialect.untrusted_message(&why),
            );
        }
        Ok(Checked::ToClient {
            redirect_uri,
            state: st,
            error,
        }) => {
            return error_redirect(&state, &dialect, &redirect_uri, st.as_deref(), &error);
        }
        Err(e) => return internal(&state, e),
    };
    if field("decision") != Some("approve") {
        state
            .service
            .deny(&user.user, &request, &origin(peer))
            .await;
        let denied = OAuthError::new(
            protocol::ErrorCode::AccessDenied,
            "the user denied the request",
        );
        return error_redirect(
            &state,
            &dialect,
            &request.redirect_uri,
            request.state.as_deref(),
            &denied,
        );
    }
    let granted = match &request.requested {
        // Named scopes are approved or denied as a whole.
        Some(requested) => requested.clone(),
        // Otherwise the user's ticks, within what the client may have.
        None => {
            let ticked = form.all("scope").collect::<Vec<_>>().join(" ");
            match ScopeSet::parse(&ticked) {
                Ok(t) => t.intersection(&request.client.scopes),
                Err(_) => ScopeSet::new(),
            }
        }
    };
    if granted.is_empty() && !request.client.scopes.is_empty() {
        let message = Some("Choose at least one permission, or deny.".to_owned());
        return consent_page(&state, &dialect, &headers, &user, &request, &query, message).await;
    }
    match state
        .service
        .approve(&user.user, &request, granted, &origin(peer))
        .await
    {
        Ok(code) => code_redirect(&state, &request, &code),
        Err(e) => internal(&state, e),
    }
}

/// A `return_to` that stays on this server.
fn local_path(p: Option<&str>) -> Option<&str> {
    p.filter(|p| {
        p.starts_with('/')
            && !p.starts_with("//")
            && !p.contains('\\')
            && !p.chars().any(char::is_control)
    })
}

/// `GET /login`.
pub(crate) async fn login_form(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = Form::parse(query.unwrap_or_default().as_bytes());
    let return_to = params.get("return_to");
    render_login(
        &state,
        &headers,
        local_path(return_to),
        "",
        None,
        StatusCode::OK,
    )
}

fn render_login(
    state: &AppState,
    headers: &HeaderMap,
    return_to: Option<&str>,
    username: &str,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let (csrf_token, csrf_cookie) = csrf(state, headers);
    let view = LoginView {
        layout: layout(None, &csrf_token),
        action: "/login".to_owned(),
        csrf_token,
        return_to: return_to.map(str::to_owned),
        username: username.to_owned(),
        error,
        app_name: None,
    };
    match state.pages.login(&view) {
        Ok(html) => Page {
            html,
            status,
            csrf_cookie,
        }
        .into_response(),
        Err(e) => internal(state, e),
    }
}

/// `POST /login`.
pub(crate) async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let field = |name: &str| form.get(name);
    let return_to = local_path(field("return_to"));
    let username = field("username").unwrap_or("");
    if !csrf_ok(&headers, field("csrf_token")) {
        let message = Some("The form expired. Please try again.".to_owned());
        return render_login(
            &state,
            &headers,
            return_to,
            username,
            message,
            StatusCode::FORBIDDEN,
        );
    }
    match state
        .service
        .sign_in(username, field("password").unwrap_or(""), &origin(peer))
        .await
    {
        Ok(service::sessions::SignIn::Started(session, _user)) => {
            let mut response = Redirect::to(return_to.unwrap_or("/")).into_response();
            let max_age = state.service.policy().session_ttl;
            response.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(&state, SESSION_COOKIE, &session, Some(max_age)),
            );
            response
        }
        Ok(service::sessions::SignIn::Throttled) => {
            let message =
                Some("Too many failed sign-ins. Wait 15 minutes, then try again.".to_owned());
            render_login(
                &state,
                &headers,
                return_to,
                username,
                message,
                StatusCode::TOO_MANY_REQUESTS,
            )
        }
        Ok(service::sessions::SignIn::Refused) => {
            let message = Some("Wrong username or password.".to_owned());
            render_login(
                &state,
                &headers,
                return_to,
                username,
                message,
                StatusCode::UNAUTHORIZED,
            )
        }
        Err(e) => internal(&state, e),
    }
}

/// `POST /logout`.
pub(crate) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !csrf_ok(&headers, Form::parse(&body).get("csrf_token")) {
        return expired_form(&state);
    }
    if let Some(c) = cookie(&headers, SESSION_COOKIE)
        && let Err(e) = state.service.sign_out(c).await
    {
        return internal(&state, e);
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, "", Some(0)),
    );
    response
}

/// `GET /`: the account page, or sign-in.
pub(crate) async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match current_user(&state, &headers).await {
        Ok(Some(_)) => Redirect::to("/account").into_response(),
        Ok(None) => Redirect::to("/login").into_response(),
        Err(e) => internal(&state, e),
    }
}

/// `GET /assets/portcullis.css`.
pub(crate) async fn stylesheet() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        ui::STYLESHEET,
    )
        .into_response()
}
