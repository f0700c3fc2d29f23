//! Token binding, revocation reach, absolute limits, cookies and CSRF.

use service::clients::Lifetimes;
use service::{Origin, Policy};

use crate::lifetimes::{active, client, code_for, error_of, exchange, token};
use crate::support::{App, Backend, both_backends, post_form};

async fn tokens_are_bound_to_their_client(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    let owner = client(&app, Lifetimes::default()).await;
    let other = client(
        &app,
        Lifetimes {
            access_token_ttl: Some(120),
            ..Lifetimes::default()
        },
    )
    .await;
    let issued = exchange(&app, &owner).await;
    let refresh = issued["refresh_token"].as_str().unwrap();
    let stolen = token(
        &app,
        &other,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(error_of(stolen).await, "invalid_grant");
    let code = code_for(&app, &owner).await;
    let stolen = token(
        &app,
        &other,
        &[("grant_type", "authorization_code"), ("code", &code)],
    )
    .await;
    assert_eq!(error_of(stolen).await, "invalid_grant");
    // The failed attempts consumed nothing.
    let ok = token(
        &app,
        &owner,
        &[("grant_type", "authorization_code"), ("code", &code)],
    )
    .await;
    assert_eq!(ok.status(), 200);
    assert!(active(&app, &owner, refresh).await);
    app.stop().await;
}

async fn revoking_a_refresh_token_revokes_its_access_tokens(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    let party = client(&app, Lifetimes::default()).await;
    let issued = exchange(&app, &party).await;
    let (access, refresh) = (
        issued["access_token"].as_str().unwrap(),
        issued["refresh_token"].as_str().unwrap(),
    );
    let revoke = post_form(
        &app.url("/oauth2/revoke"),
        Some((&party.id, &party.secret)),
        &[("token", refresh)],
    )
    .await;
    assert_eq!(revoke.status(), 200);
    assert!(!active(&app, &party, refresh).await);
    assert!(!active(&app, &party, access).await);
    let again = token(
        &app,
        &party,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(error_of(again).await, "invalid_grant");
    app.stop().await;
}

async fn refresh_tokens_stop_at_the_absolute_limit(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    let party = client(
        &app,
        Lifetimes {
            refresh_token_ttl: Some(300),
            ..Lifetimes::default()
        },
    )
    .await;
    let issued = exchange(&app, &party).await;
    app.clock.advance(200);
    let rotated: serde_json::Value = token(
        &app,
        &party,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", issued["refresh_token"].as_str().unwrap()),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    app.clock.advance(150);
    let late = token(
        &app,
        &party,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rotated["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(
        error_of(late).await,
        "invalid_grant",
        "rotation never extends the grant"
    );
    app.stop().await;
}

async fn disabled_users_lose_their_tokens(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    let party = client(&app, Lifetimes::default()).await;
    let issued = exchange(&app, &party).await;
    assert!(active(&app, &party, issued["access_token"].as_str().unwrap()).await);
    // At once, though the grant was just read.
    app.service
        .set_user_disabled("alice", true, &Origin::cli())
        .await
        .unwrap();
    assert!(!active(&app, &party, issued["access_token"].as_str().unwrap()).await);
    let refresh = token(
        &app,
        &party,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", issued["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(error_of(refresh).await, "invalid_grant");
    app.stop().await;
}

/// A user's token of a deleted client stops at once, though its grant was
/// just read (and is kept a moment for the next check).
async fn a_deleted_clients_user_tokens_stop_at_once(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    let party = client(&app, Lifetimes::default()).await;
    let access = exchange(&app, &party).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let userinfo = || async {
        crate::support::http()
            .get(app.url("/oauth2/userinfo"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(userinfo().await, 200);
    app.service
        .delete_client(&party.id, &Origin::cli())
        .await
        .unwrap();
    assert_eq!(userinfo().await, 401);
    app.stop().await;
}

fn set_cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

async fn forms_need_their_csrf_token_and_cookies_are_locked_down(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    client(&app, Lifetimes::default()).await;
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = browser.get(app.url("/login")).send().await.unwrap();
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    let csrf_cookie = set_cookies(&page)
        .into_iter()
        .find(|c| c.starts_with("portcullis_csrf="))
        .expect("a CSRF cookie");
    assert!(csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Lax"));
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script"), "the pages need no JavaScript");
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    let csrf = &html[start..start + html[start..].find('"').unwrap()];

    let form = [("username", "alice"), ("password", "alice password")];
    let forged = browser
        .post(app.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403, "no CSRF token, no sign-in");
    let wrong = browser
        .post(app.url("/login"))
        .form(&[
            ("username", "alice"),
            ("password", "nope"),
            ("csrf_token", csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("Wrong username or password.")
    );
    let unknown = browser
        .post(app.url("/login"))
        .form(&[
            ("username", "mallory"),
            ("password", "nope"),
            ("csrf_token", csrf),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains("Wrong username or password."),
        "the same answer for unknown users"
    );

    let signed_in = browser
        .post(app.url("/login"))
        .form(&[
            ("username", "alice"),
            ("password", "alice password"),
            ("csrf_token", csrf),
            ("return_to", "//evil.test/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    assert_eq!(
        signed_in.headers()["location"],
        "/",
        "return_to never leaves the server"
    );
    let session = set_cookies(&signed_in)
        .into_iter()
        .find(|c| c.starts_with("portcullis_session="))
        .expect("a session cookie");
    assert!(
        session.contains("HttpOnly")
            && session.contains("SameSite=Lax")
            && session.contains("Path=/")
    );
    assert!(!session.contains("Secure"), "http issuer: no Secure flag");
    let token_value = session
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    assert!(token_value.starts_with("pc_ss_"));

    let forged = browser
        .post(app.url("/oauth2/consent"))
        .form(&[("decision", "approve"), ("interaction", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let forged = browser.post(app.url("/logout")).send().await.unwrap();
    assert_eq!(forged.status(), 403);
    let out = browser
        .post(app.url("/logout"))
        .form(&[("csrf_token", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert!(
        app.service.signed_in(&token_value).await.unwrap().is_none(),
        "sign-out ends the session"
    );
    app.stop().await;
}

async fn password_guessing_is_throttled(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    client(&app, Lifetimes::default()).await; // alice
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let html = browser
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = crate::support::form_field(&html, "csrf_token");
    for guess in ["guess 1", "guess 2", "guess 3", "guess 4", "guess 5"] {
        let r = browser
            .post(app.url("/login"))
            .form(&[
                ("username", "alice"),
                ("password", guess),
                ("csrf_token", &csrf),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let right = [
        ("username", "alice"),
        ("password", "alice password"),
        ("csrf_token", csrf.as_str()),
    ];
    let locked = browser
        .post(app.url("/login"))
        .form(&right)
        .send()
        .await
        .unwrap();
    assert_eq!(locked.status(), 429, "even the right password waits");
    assert!(
        locked
            .text()
            .await
            .unwrap()
            .contains("Too many failed sign-ins")
    );
    app.clock.advance(15 * 60);
    let ok = browser
        .post(app.url("/login"))
        .form(&right)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303, "the lock lifts");
    app.stop().await;
}

both_backends!(
    password_guessing_is_throttled,
    tokens_are_bound_to_their_client,
    revoking_a_refresh_token_revokes_its_access_tokens,
    refresh_tokens_stop_at_the_absolute_limit,
    disabled_users_lose_their_tokens,
    a_deleted_clients_user_tokens_stop_at_once,
    forms_need_their_csrf_token_and_cookies_are_locked_down,
);
