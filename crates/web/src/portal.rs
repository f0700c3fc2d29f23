//! The pages a signed-in user manages: their own apps (`/developer/...`),
//! the apps they authorized (`/account/connections`) and their account.
//! Another user's app is a 404, exactly like an app that does not exist.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, OriginalUri, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use protocol::{GrantType, ScopeSet};
use service::clients::{ClientChanges, ClientSpec};
use service::sessions::SignedIn;
use service::{Client, ServiceError};
use ui::{
    AccountView, AppFormView, AppSummary, AppView, AppsView, ConfirmDeleteView, Connection,
    ConnectionsView, FieldError, Flash, GrantChoice, OverlapOption,
};

use crate::AppState;
use crate::oauth::origin;
use crate::pages::{
    Form, Page, cookie, csrf, csrf_ok, current_user, error_page, expired_form, internal, layout,
    scope_choices, set_cookie, to_login,
};

const FLASH_COOKIE: &str = "portcullis_flash";

/// The value of a `Result<T, Response>`, or that response, returned at once.
macro_rules! page_or_return {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(response) => return response,
        }
    };
}

/// `YYYY-MM-DD` of a Unix time (UTC), from the civil calendar algorithm.
pub(crate) fn date(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// A message for the next page, carried in a short-lived cookie.
fn with_flash(state: &AppState, mut response: Response, flash: Flash) -> Response {
    let value: String = url::form_urlencoded::byte_serialize(
        format!("{}|{}", flash.kind, flash.message).as_bytes(),
    )
    .collect();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(state, FLASH_COOKIE, &value, Some(60)),
    );
    response
}

/// The pending flash message, if any; the page that shows it clears the cookie.
fn take_flash(headers: &HeaderMap) -> Option<Flash> {
    let raw = cookie(headers, FLASH_COOKIE)?;
    let decoded: String = url::form_urlencoded::parse(format!("x={raw}").as_bytes())
        .next()?
        .1
        .into_owned();
    let (kind, message) = decoded.split_once('|')?;
    Some(match kind {
        "success" => Flash::success(message),
        _ => Flash::error(message),
    })
}

/// A rendered page, clearing a flash cookie it consumed.
fn page(
    state: &AppState,
    html: Result<String, ui::UiError>,
    status: StatusCode,
    csrf_cookie: Option<HeaderValue>,
    flashed: bool,
) -> Response {
    let mut response = match html {
        Ok(html) => Page {
            html,
            status,
            csrf_cookie,
        }
        .into_response(),
        Err(e) => return internal(state, e),
    };
    if flashed {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(state, FLASH_COOKIE, "", Some(0)),
        );
    }
    response
}

fn not_found(state: &AppState) -> Response {
    error_page(
        state,
        StatusCode::NOT_FOUND,
        "Not found",
        "There is nothing here. Check the address, or go back.",
    )
}

/// The signed-in user, or a redirect to sign in and come back.
async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    uri: &OriginalUri,
) -> Result<SignedIn, Response> {
    match current_user(state, headers).await {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err(to_login(uri.0.path_and_query().map_or("/", |p| p.as_str()))),
        Err(e) => Err(internal(state, e)),
    }
}

/// The signed-in user of a form submission, whose CSRF token must match.
async fn submitting(
    state: &AppState,
    headers: &HeaderMap,
    form: &Form,
    uri: &OriginalUri,
) -> Result<SignedIn, Response> {
    if !csrf_ok(headers, form.get("csrf_token")) {
        return Err(expired_form(state));
    }
    signed_in(state, headers, uri).await
}

async fn owned(state: &AppState, user: &SignedIn, id: &str) -> Result<Client, Response> {
    match state.service.owned_client(&user.user, id).await {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(not_found(state)),
        Err(e) => Err(internal(state, e)),
    }
}

fn grant_label(g: GrantType) -> &'static str {
    match g {
        GrantType::AuthorizationCode => "Authorization code (users sign in through your app)",
        GrantType::RefreshToken => "Refresh tokens (stay signed in)",
        GrantType::ClientCredentials => "Client credentials (your app acts for itself)",
        GrantType::DeviceCode => "Device code (TVs, consoles and command-line tools)",
        GrantType::PairingCode => "Pairing code (users get a code for a device)",
    }
}

fn grant_choices(checked: &[String]) -> Vec<GrantChoice> {
    GrantType::ALL
        .iter()
        .map(|g| GrantChoice {
            value: g.as_str().to_owned(),
            label: grant_label(*g).to_owned(),
            checked: checked.iter().any(|c| c == g.as_str()),
        })
        .collect()
}

/// What the app form submitted, kept to show it again with its errors.
struct Submitted {
    name: String,
    description: String,
    homepage: String,
    redirect_uris: String,
    public: bool,
    scopes: Vec<String>,
    grant_types: Vec<String>,
}

impl Submitted {
    fn from_form(form: &Form) -> Submitted {
        let text = |k: &str| form.get(k).unwrap_or("").to_owned();
        Submitted {
            name: text("name"),
            description: text("description"),
            homepage: text("homepage"),
            redirect_uris: text("redirect_uris"),
            public: form.get("public").is_some(),
            scopes: form.all("scope").map(str::to_owned).collect(),
            grant_types: form.all("grant_type").map(str::to_owned).collect(),
        }
    }

    fn from_client(c: &Client) -> Submitted {
        Submitted {
            name: c.name.clone(),
            description: c.description.clone(),
            homepage: c.homepage.clone().unwrap_or_default(),
            redirect_uris: c
                .redirect_uris
                .iter()
                .map(|u| u.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            public: c.public,
            scopes: c.scopes.iter().map(|s| s.to_string()).collect(),
            grant_types: c.grant_types.iter().map(|g| g.to_string()).collect(),
        }
    }

    fn redirect_uri_list(&self) -> Vec<String> {
        self.redirect_uris
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

async fn app_form(
    state: &AppState,
    headers: &HeaderMap,
    user: &SignedIn,
    action: String,
    editing: bool,
    s: &Submitted,
    errors: Vec<FieldError>,
) -> Response {
    let checked = ScopeSet::parse(&s.scopes.join(" ")).unwrap_or_default();
    let scopes = page_or_return!(scope_choices(state, None, &checked).await);
    let (csrf_token, csrf_cookie) = csrf(state, headers);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let view = AppFormView {
        layout: layout(Some(user), &csrf_token),
        action,
        csrf_token,
        editing,
        name: s.name.clone(),
        description: s.description.clone(),
        homepage: s.homepage.clone(),
        redirect_uris: s.redirect_uris.clone(),
        public: s.public,
        scopes,
        grant_types: grant_choices(&s.grant_types),
        errors,
    };
    page(
        state,
        state.pages.app_form(&view),
        status,
        csrf_cookie,
        false,
    )
}

/// A refusal from the service as errors next to the fields.
fn field_errors(e: ServiceError) -> Result<Vec<FieldError>, ServiceError> {
    match e {
        ServiceError::Invalid { field, message } => Ok(vec![FieldError {
            field: field.to_owned(),
            message,
        }]),
        ServiceError::Conflict(_) => Ok(vec![FieldError {
            field: "name".to_owned(),
            message: "You already have an app with this name.".to_owned(),
        }]),
        other => Err(other),
    }
}

fn overlap_options() -> Vec<OverlapOption> {
    [
        (0, "Stop the old secret now"),
        (3600, "Keep the old secret for 1 hour"),
        (86_400, "Keep the old secret for 1 day"),
        (604_800, "Keep the old secret for 7 days"),
    ]
    .into_iter()
    .map(|(seconds, label)| OverlapOption {
        seconds,
        label: label.to_owned(),
    })
    .collect()
}

async fn app_page(
    state: &AppState,
    headers: &HeaderMap,
    user: &SignedIn,
    client: &Client,
    flash: Option<Flash>,
    new_secret: Option<String>,
    flashed: bool,
) -> Response {
    let scopes = page_or_return!(scope_choices(state, Some(&client.scopes), &client.scopes).await);
    let usage = match state.service.usage_of_owned_clients(&user.user).await {
        Ok(u) => u.get(&client.id).copied().unwrap_or_default(),
        Err(e) => return internal(state, e),
    };
    let (csrf_token, csrf_cookie) = csrf(state, headers);
    let view = AppView {
        layout: layout(Some(user), &csrf_token),
        flash,
        csrf_token,
        client_id: client.id.clone(),
        name: client.name.clone(),
        description: client.description.clone(),
        homepage: client.homepage.clone(),
        public: client.public,
        redirect_uris: client.redirect_uris.iter().map(|u| u.to_string()).collect(),
        scopes,
        grant_types: client
            .grant_types
            .iter()
            .map(|g| grant_label(*g).to_owned())
            .collect(),
        users: usage.users,
        last_used: usage.last_used_at.map(date),
        new_secret,
        rotate_overlap_options: overlap_options(),
    };
    let mut response = page(
        state,
        state.pages.app(&view),
        StatusCode::OK,
        csrf_cookie,
        flashed,
    );
    // A page that may show a secret is never cached.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /developer/apps`.
pub(crate) async fn apps(
    State(state): State<AppState>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let user = page_or_return!(signed_in(&state, &headers, &uri).await);
    let (clients, usage) = match (
        state.service.list_clients(Some(&user.user.id)).await,
        state.service.usage_of_owned_clients(&user.user).await,
    ) {
        (Ok(c), Ok(u)) => (c, u),
        (Err(e), _) | (_, Err(e)) => return internal(&state, e),
    };
    let flash = take_flash(&headers);
    let (csrf_token, csrf_cookie) = csrf(&state, &headers);
    let view = AppsView {
        layout: layout(Some(&user), &csrf_token),
        flash: flash.clone(),
        apps: clients
            .iter()
            .map(|c| AppSummary {
                client_id: c.id.clone(),
                name: c.name.clone(),
                public: c.public,
                users: usage.get(&c.id).map_or(0, |u| u.users),
                created: date(c.created_at),
            })
            .collect(),
    };
    page(
        &state,
        state.pages.apps(&view),
        StatusCode::OK,
        csrf_cookie,
        flash.is_some(),
    )
}

/// `GET /developer/apps/new`.
pub(crate) async fn new_app(
    State(state): State<AppState>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let user = page_or_return!(signed_in(&state, &headers, &uri).await);
    let blank = Submitted {
        name: String::new(),
        description: String::new(),
        homepage: String::new(),
        redirect_uris: String::new(),
        public: false,
        scopes: Vec::new(),
        grant_types: vec![
            GrantType::AuthorizationCode.to_string(),
            GrantType::RefreshToken.to_string(),
        ],
    };
    app_form(
        &state,
        &headers,
        &user,
        "/developer/apps".to_owned(),
        false,
        &blank,
        Vec::new(),
    )
    .await
}

/// `POST /developer/apps`: register; the secret is shown on the answer, once.
pub(crate) async fn create_app(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let user = page_or_return!(submitting(&state, &headers, &form, &uri).await);
    let s = Submitted::from_form(&form);
    let spec = ClientSpec {
        name: s.name.clone(),
        description: s.description.clone(),
        homepage: Some(s.homepage.clone()),
        redirect_uris: s.redirect_uri_list(),
        scopes: s.scopes.clone(),
        grant_types: s.grant_types.clone(),
        public: s.public,
        owner: Some(user.user.username.clone()),
        lifetimes: Default::default(),
    };
    let origin = crate::api::acting(&user.user, peer);
    match state.service.create_client(spec, &origin).await {
        Ok(created) => {
            let flash = Some(Flash::success(format!(
                "{} is registered.",
                created.client.name
            )));
            app_page(
                &state,
                &headers,
                &user,
                &created.client,
                flash,
                created.secret,
                false,
            )
            .await
        }
        Err(e) => match field_errors(e) {
            Ok(errors) => {
                app_form(
                    &state,
                    &headers,
                    &user,
                    "/developer/apps".to_owned(),
                    false,
                    &s,
                    errors,
                )
                .await
            }
            Err(e) => internal(&state, e),
        },
    }
}

/// `GET /developer/apps/{id}`.
pub(crate) async fn app(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let user = page_or_return!(signed_in(&state, &headers, &uri).await);
    let client = page_or_return!(owned(&state, &user, &id).await);
    let flash = take_flash(&headers);
    let flashed = flash.is_some();
    app_page(&state, &headers, &user, &client, flash, None, flashed).await
}

/// `GET /developer/apps/{id}/edit`.
pub(crate) async fn edit_app(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let user = page_or_return!(signed_in(&state, &headers, &uri).await);
    let client = page_or_return!(owned(&state, &user, &id).await);
    let action = format!("/developer/apps/{}/edit", client.id);
    app_form(
        &state,
        &headers,
        &user,
        action,
        true,
        &Submitted::from_client(&client),
        Vec::new(),
    )
    .await
}

/// `POST /developer/apps/{id}/edit`.
pub(crate) async fn update_app(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let user = page_or_return!(submitting(&state, &headers, &form, &uri).await);
    let client = page_or_return!(owned(&state, &user, &id).await);
    let mut s = Submitted::from_form(&form);
    s.public = client.public;
    let changes = ClientChanges {
        name: Some(s.name.clone()),
        description: Some(s.description.clone()),
        homepage: Some(Some(s.homepage.clone()).filter(|h| !h.trim().is_empty())),
        redirect_uris: Some(s.redirect_uri_list()),
        scopes: Some(s.scopes.clone()),
        grant_types: Some(s.grant_types.clone()),
        lifetimes: Default::default(),
    };
    let origin = crate::api::acting(&user.user, peer);
    match state
        .service
        .update_client(&client.id, changes, &origin)
        .await
    {
        Ok(updated) => {
            let to = Redirect::to(&format!("/developer/apps/{}", updated.id)).into_response();
            with_flash(&state, to, Flash::success("Your changes are saved."))
        }
        Err(e) => match field_errors(e) {
            Ok(errors) => {
                let action = format!("/developer/apps/{}/edit", client.id);
                app_form(&state, &headers, &user, action, true, &s, errors).await
            }
            Err(e) => internal(&state, e),
        },
    }
}

/// `POST /developer/apps/{id}/rotate-secret`: the new secret is shown once.
pub(crate) async fn rotate_secret(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let user = page_or_return!(submitting(&state, &headers, &form, &uri).await);
    let client = page_or_return!(owned(&state, &user, &id).await);
    let overlap = form
        .get("overlap")
        .and_then(|o| o.parse::<i64>().ok())
        .unwrap_or(0);
    let origin = crate::api::acting(&user.user, peer);
    match state
        .service
        .rotate_client_secret(&client.id, overlap, &origin)
        .await
    {
        Ok(secret) => {
            let message = if overlap > 0 {
                "A new secret is ready. The old one keeps working for the period you chose."
            } else {
                "A new secret is ready. The old one no longer works."
            };
            app_page(
                &state,
                &headers,
                &user,
                &client,
                Some(Flash::success(message)),
                Some(secret),
                false,
            )
            .await
        }
        Err(ServiceError::Invalid { message, .. }) => {
            app_page(
                &state,
                &headers,
                &user,
                &client,
                Some(Flash::error(message)),
                None,
                false,
            )
            .await
        }
        Err(e) => internal(&state, e),
    }
}

/// `GET /developer/apps/{id}/delete`: confirm first.
pub(crate) async fn confirm_delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let user = page_or_return!(signed_in(&state, &headers, &uri).await);
    let client = page_or_return!(owned(&state, &user, &id).await);
    let users = match state.service.usage_of_owned_clients(&user.user).await {
        Ok(u) => u.get(&client.id).map_or(0, |u| u.users),
        Err(e) => return internal(&state, e),
    };
    let (csrf_token, csrf_cookie) = csrf(&state, &headers);
    let view = ConfirmDeleteView {
        layout: layout(Some(&user), &csrf_token),
        action: format!("/developer/apps/{}/delete", client.id),
        csrf_token,
        name: client.name.clone(),
        users,
    };
    page(
        &state,
        state.pages.confirm_delete(&view),
        StatusCode::OK,
        csrf_cookie,
        false,
    )
}

/// `POST /developer/apps/{id}/delete`: the app and every token it holds go.
pub(crate) async fn delete_app(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let user = page_or_return!(submitting(&state, &headers, &form, &uri).await);
    let client = page_or_return!(owned(&state, &user, &id).await);
    let origin = crate::api::acting(&user.user, peer);
    match state.service.delete_client(&client.id, &origin).await {
        Ok(()) => with_flash(
            &state,
            Redirect::to("/developer/apps").into_response(),
            Flash::success(format!("{} is deleted.", client.name)),
        ),
        Err(e) => internal(&state, e),
    }
}

/// `GET /account`.
pub(crate) async fn account(
    State(state): State<AppState>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let user = page_or_return!(signed_in(&state, &headers, &uri).await);
    let flash = take_flash(&headers);
    let (csrf_token, csrf_cookie) = csrf(&state, &headers);
    let view = AccountView {
        layout: layout(Some(&user), &csrf_token),
        flash: flash.clone(),
        csrf_token,
        username: user.user.username.clone(),
        email: user.user.email.clone(),
        member_since: date(user.user.created_at),
    };
    page(
        &state,
        state.pages.account(&view),
        StatusCode::OK,
        csrf_cookie,
        flash.is_some(),
    )
}

/// `GET /account/connections`.
pub(crate) async fn connections(
    State(state): State<AppState>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let user = page_or_return!(signed_in(&state, &headers, &uri).await);
    let connections = match state.service.connections(&user.user).await {
        Ok(c) => c,
        Err(e) => return internal(&state, e),
    };
    let mut items = Vec::with_capacity(connections.len());
    for c in connections {
        let scopes = page_or_return!(
            scope_choices(&state, Some(&c.consent.scopes), &c.consent.scopes).await
        );
        items.push(Connection {
            client_id: c.client.id.clone(),
            app_name: c.client.name.clone(),
            owner: c.owner,
            scopes,
            first_authorized: date(c.consent.created_at),
            last_used: Some(date(c.consent.last_used_at)),
        });
    }
    let flash = take_flash(&headers);
    let (csrf_token, csrf_cookie) = csrf(&state, &headers);
    let view = ConnectionsView {
        layout: layout(Some(&user), &csrf_token),
        flash: flash.clone(),
        csrf_token,
        connections: items,
    };
    page(
        &state,
        state.pages.connections(&view),
        StatusCode::OK,
        csrf_cookie,
        flash.is_some(),
    )
}

/// `POST /account/connections/{id}/revoke`: the consent and every token, at once.
pub(crate) async fn revoke_connection(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let user = page_or_return!(submitting(&state, &headers, &form, &uri).await);
    let name = match state.service.client(&id).await {
        Ok(Some(c)) => c.name,
        Ok(None) => return not_found(&state),
        Err(e) => return internal(&state, e),
    };
    match state
        .service
        .revoke_connection(&user.user, &id, &origin(peer))
        .await
    {
        Ok(true) => with_flash(
            &state,
            Redirect::to("/account/connections").into_response(),
            Flash::success(format!("{name} no longer has access to your account.")),
        ),
        Ok(false) => not_found(&state),
        Err(e) => internal(&state, e),
    }
}

/// Every other path: a 404 page in the same style.
pub(crate) async fn fallback(State(state): State<AppState>) -> Response {
    not_found(&state)
}

#[cfg(test)]
mod tests {
    use super::date;

    #[test]
    fn dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(date(1_795_567_436), "2026-11-25");
    }
}
