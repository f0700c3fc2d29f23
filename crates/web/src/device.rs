//! The pages that authorize a device: `/device` (RFC 8628 user codes) and
//! `/get-access` (pairing codes).

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use service::device::{CodeRefusal, PendingDevice};
use service::sessions::SignedIn;
use ui::{AppOption, DeviceConfirm, DeviceView, PairingCode, PairingConfirm, PairingView};

use crate::AppState;
use crate::oauth::origin;
use crate::pages::{
    Form, Page, csrf, csrf_ok, current_user, expired_form, internal, layout, owner_name,
    scope_choices, to_login,
};

/// Who is entering codes, for the entry limits: the browser session and the address.
fn limit_keys(user: &SignedIn, peer: SocketAddr) -> Vec<String> {
    vec![
        format!("session:{:?}", user.session_id),
        format!("ip:{}", peer.ip()),
    ]
}

struct DevicePage<'a> {
    state: &'a AppState,
    headers: &'a HeaderMap,
    user: &'a SignedIn,
}

impl DevicePage<'_> {
    fn render(&self, status: StatusCode, fill: impl FnOnce(&mut DeviceView)) -> Response {
        let (csrf_token, csrf_cookie) = csrf(self.state, self.headers);
        let mut view = DeviceView {
            layout: layout(Some(self.user), &csrf_token),
            action: "/device".to_owned(),
            csrf_token,
            ..DeviceView::default()
        };
        fill(&mut view);
        match self.state.pages.device(&view) {
            Ok(html) => Page {
                html,
                status,
                csrf_cookie,
            }
            .into_response(),
            Err(e) => internal(self.state, e),
        }
    }

    /// Looks a typed code up and shows the confirmation, or why not.
    async fn lookup(&self, typed: &str, peer: SocketAddr) -> Response {
        let found = self
            .state
            .service
            .pending_device(typed, &limit_keys(self.user, peer))
            .await;
        match found {
            Ok(Ok(pending)) => self.confirm(&pending, typed).await,
            Ok(Err(refusal)) => self.refused(typed, refusal),
            Err(e) => internal(self.state, e),
        }
    }

    fn refused(&self, typed: &str, refusal: CodeRefusal) -> Response {
        let (status, message) = match refusal {
            CodeRefusal::Invalid => (
                StatusCode::BAD_REQUEST,
                "That code is not valid or has expired. Check the code your device shows.",
            ),
            CodeRefusal::TooManyAttempts => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many wrong codes. Wait 15 minutes, then try again.",
            ),
        };
        self.render(status, |v| {
            v.user_code = typed.to_uppercase();
            v.error = Some(message.to_owned());
        })
    }

    async fn confirm(&self, pending: &PendingDevice, typed: &str) -> Response {
        let scopes =
            match scope_choices(self.state, Some(&pending.code.scopes), &pending.code.scopes).await
            {
                Ok(s) => s,
                Err(r) => return r,
            };
        let owner = owner_name(self.state, &pending.client).await;
        self.render(StatusCode::OK, |v| {
            v.user_code = typed.to_uppercase();
            v.confirm = Some(DeviceConfirm {
                app_name: pending.client.name.clone(),
                owner,
                scopes,
                user_code: typed.to_uppercase(),
            });
        })
    }
}

/// `GET /device`: the code entry form, or the confirmation when the link carried the code.
pub(crate) async fn device_form(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let user = match current_user(&state, &headers).await {
        Ok(Some(u)) => u,
        Ok(None) => return to_login(&format!("/device?{}", query.unwrap_or_default())),
        Err(e) => return internal(&state, e),
    };
    let params = Form::parse(query.unwrap_or_default().as_bytes());
    let page = DevicePage {
        state: &state,
        headers: &headers,
        user: &user,
    };
    match params.get("user_code") {
        Some(code) => page.lookup(code, peer).await,
        None => page.render(StatusCode::OK, |_| {}),
    }
}

/// `POST /device`: look a code up, or approve or deny it.
pub(crate) async fn device_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    if !csrf_ok(&headers, form.get("csrf_token")) {
        return expired_form(&state);
    }
    let user = match current_user(&state, &headers).await {
        Ok(Some(u)) => u,
        Ok(None) => return to_login("/device"),
        Err(e) => return internal(&state, e),
    };
    let page = DevicePage {
        state: &state,
        headers: &headers,
        user: &user,
    };
    let typed = form.get("user_code").unwrap_or("");
    let Some(decision) = form.get("decision") else {
        return page.lookup(typed, peer).await;
    };
    let pending = match state
        .service
        .pending_device(typed, &limit_keys(&user, peer))
        .await
    {
        Ok(Ok(p)) => p,
        Ok(Err(refusal)) => return page.refused(typed, refusal),
        Err(e) => return internal(&state, e),
    };
    let approve = decision == "approve";
    match state
        .service
        .decide_device(&user.user, &pending, approve, &origin(peer))
        .await
    {
        Ok(true) => page.render(StatusCode::OK, |v| {
            v.done = Some(if approve {
                format!(
                    "{} is connected. You can close this page and return to your device.",
                    pending.client.name
                )
            } else {
                format!(
                    "You denied access to {}. Your device will not be connected.",
                    pending.client.name
                )
            });
        }),
        Ok(false) => page.refused(typed, CodeRefusal::Invalid),
        Err(e) => internal(&state, e),
    }
}

struct PairingPage<'a> {
    state: &'a AppState,
    headers: &'a HeaderMap,
    user: &'a SignedIn,
}

impl PairingPage<'_> {
    async fn render(
        &self,
        status: StatusCode,
        selected: &str,
        fill: impl FnOnce(&mut PairingView),
    ) -> Response {
        let apps = match self.state.service.pairing_clients().await {
            Ok(a) => a,
            Err(e) => return internal(self.state, e),
        };
        let (csrf_token, csrf_cookie) = csrf(self.state, self.headers);
        let mut view = PairingView {
            layout: layout(Some(self.user), &csrf_token),
            action: "/get-access".to_owned(),
            csrf_token,
            apps: apps
                .into_iter()
                .map(|c| AppOption {
                    selected: c.id == selected,
                    client_id: c.id,
                    name: c.name,
                })
                .collect(),
            client_id: selected.to_owned(),
            ..PairingView::default()
        };
        fill(&mut view);
        match self.state.pages.pairing(&view) {
            Ok(html) => Page {
                html,
                status,
                csrf_cookie,
            }
            .into_response(),
            Err(e) => internal(self.state, e),
        }
    }
}

/// `GET /get-access`: choose the app to get a code for.
pub(crate) async fn pairing_form(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let user = match current_user(&state, &headers).await {
        Ok(Some(u)) => u,
        Ok(None) => return to_login("/get-access"),
        Err(e) => return internal(&state, e),
    };
    let params = Form::parse(query.unwrap_or_default().as_bytes());
    let page = PairingPage {
        state: &state,
        headers: &headers,
        user: &user,
    };
    page.render(
        StatusCode::OK,
        params.get("client_id").unwrap_or(""),
        |_| {},
    )
    .await
}

/// `POST /get-access`: confirm the chosen app, then issue its code.
pub(crate) async fn pairing_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    if !csrf_ok(&headers, form.get("csrf_token")) {
        return expired_form(&state);
    }
    let user = match current_user(&state, &headers).await {
        Ok(Some(u)) => u,
        Ok(None) => return to_login("/get-access"),
        Err(e) => return internal(&state, e),
    };
    let page = PairingPage {
        state: &state,
        headers: &headers,
        user: &user,
    };
    let chosen = form
        .get("client_id_text")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .or(form.get("client_id"))
        .unwrap_or("");
    let client = match state.service.pairing_client(chosen).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return page
                .render(StatusCode::BAD_REQUEST, chosen, |v| {
                    v.error = Some(
                        "No app with that ID offers access codes. Check the ID your device shows."
                            .to_owned(),
                    );
                })
                .await;
        }
        Err(e) => return internal(&state, e),
    };
    match form.get("decision") {
        None => {
            let scopes = match scope_choices(&state, Some(&client.scopes), &client.scopes).await {
                Ok(s) => s,
                Err(r) => return r,
            };
            let owner = owner_name(&state, &client).await;
            page.render(StatusCode::OK, &client.id, |v| {
                v.confirm = Some(PairingConfirm {
                    app_name: client.name.clone(),
                    owner,
                    client_id: client.id.clone(),
                    scopes,
                });
            })
            .await
        }
        Some("approve") => match state
            .service
            .issue_pairing_code(&user.user, &client, &origin(peer))
            .await
        {
            Ok(code) => {
                let minutes = (state.service.policy().pairing_code_ttl + 59) / 60;
                page.render(StatusCode::OK, &client.id, |v| {
                    v.code = Some(PairingCode {
                        code,
                        app_name: client.name.clone(),
                        expires_in_minutes: minutes,
                    });
                })
                .await
            }
            Err(e) => internal(&state, e),
        },
        Some(_) => {
            page.render(StatusCode::OK, "", |v| {
                v.error = Some(format!("No code was created for {}.", client.name));
            })
            .await
        }
    }
}
