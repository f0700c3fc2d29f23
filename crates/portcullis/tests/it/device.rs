//! RFC 8628 device authorization and pairing codes: every polling outcome,
//! brute-force limits and one-time use, with a clock the test moves.

use serde_json::Value;
use service::clients::ClientSpec;
use service::device::CodeRefusal;
use service::{Origin, Policy};

use crate::lifetimes::{Party, active, alice, client};
use crate::support::{
    App, Backend, both_backends, form_field, pairing_code_in, post_form, signed_in_browser,
};

const DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";
const PAIRING: &str = "urn:portcullis:params:oauth:grant-type:pairing_code";

async fn device_client(app: &App, public: bool) -> Party {
    client(app, Default::default()).await; // scopes and alice
    let spec = ClientSpec {
        name: format!("TV app {public}"),
        scopes: vec!["read".into()],
        grant_types: vec![DEVICE.into(), "refresh_token".into(), PAIRING.into()],
        public,
        ..ClientSpec::default()
    };
    let created = app
        .service
        .create_client(spec, &Origin::cli())
        .await
        .unwrap();
    Party {
        id: created.client.id,
        secret: created.secret.unwrap_or_default(),
    }
}

async fn start(app: &App, party: &Party) -> Value {
    let response = post_form(
        &app.url("/oauth2/device_authorization"),
        None,
        &[("client_id", &party.id), ("scope", "read")],
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

async fn poll(app: &App, party: &Party, device_code: &str) -> (u16, Value) {
    let form = [
        ("grant_type", DEVICE),
        ("device_code", device_code),
        ("client_id", &party.id),
    ];
    let response = post_form(&app.url("/oauth2/token"), None, &form).await;
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn decide(app: &App, user_code: &str, approve: bool) {
    let pending = app
        .service
        .pending_device(user_code, &["ip:test".to_owned()])
        .await
        .unwrap()
        .expect("a pending code");
    let alice = alice(app).await;
    assert!(
        app.service
            .decide_device(&alice, &pending, approve, &Origin::default())
            .await
            .unwrap()
    );
}

async fn every_polling_outcome(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    let party = device_client(&app, true).await;
    let started = start(&app, &party).await;
    let user_code = started["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert_eq!(started["verification_uri"], app.url("/device"));
    assert_eq!(
        started["verification_uri_complete"],
        app.url(&format!("/device?user_code={user_code}"))
    );
    assert_eq!(
        (started["expires_in"].as_i64(), started["interval"].as_i64()),
        (Some(600), Some(5))
    );
    let device_code = started["device_code"].as_str().unwrap();
    assert!(device_code.starts_with("pc_dc_"));

    let (status, body) = poll(&app, &party, device_code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("authorization_pending"))
    );
    let (_, body) = poll(&app, &party, device_code).await;
    assert_eq!(
        body["error"], "slow_down",
        "polling faster than the interval"
    );
    app.clock.advance(5);
    let (_, body) = poll(&app, &party, device_code).await;
    assert_eq!(
        body["error"], "slow_down",
        "the interval grew to 10 seconds"
    );
    app.clock.advance(15);
    let (_, body) = poll(&app, &party, device_code).await;
    assert_eq!(
        body["error"], "authorization_pending",
        "15 seconds, the interval now"
    );

    // Entry ignores case and dashes.
    decide(&app, &user_code.to_lowercase().replace('-', ""), true).await;
    app.clock.advance(15);
    let (status, tokens) = poll(&app, &party, device_code).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    assert!(tokens["refresh_token"].as_str().is_some());
    assert_eq!(tokens["scope"], "read");
    let me: Value = crate::support::http()
        .get(app.url("/oauth2/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["preferred_username"], "alice");

    app.clock.advance(15);
    let (status, body) = poll(&app, &party, device_code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "tokens are issued exactly once"
    );
    app.stop().await;
}

async fn denied_and_expired(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    let party = device_client(&app, true).await;
    let denied = start(&app, &party).await;
    decide(&app, denied["user_code"].as_str().unwrap(), false).await;
    let (_, body) = poll(&app, &party, denied["device_code"].as_str().unwrap()).await;
    assert_eq!(body["error"], "access_denied");

    let expiring = start(&app, &party).await;
    app.clock.advance(601);
    let (_, body) = poll(&app, &party, expiring["device_code"].as_str().unwrap()).await;
    assert_eq!(body["error"], "expired_token");
    let late = app
        .service
        .pending_device(
            expiring["user_code"].as_str().unwrap(),
            &["ip:x".to_owned()],
        )
        .await
        .unwrap();
    assert_eq!(
        late.err(),
        Some(CodeRefusal::Invalid),
        "an expired user code is not accepted"
    );
    app.stop().await;
}

async fn device_codes_belong_to_their_client(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    let party = device_client(&app, true).await;
    let other = device_client(&app, false).await;
    let started = start(&app, &party).await;
    let form = [
        ("grant_type", DEVICE),
        ("device_code", started["device_code"].as_str().unwrap()),
    ];
    let response = post_form(
        &app.url("/oauth2/token"),
        Some((&other.id, &other.secret)),
        &form,
    )
    .await;
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let cc_only = client(&app, Default::default()).await;
    let refused = post_form(
        &app.url("/oauth2/device_authorization"),
        Some((&cc_only.id, &cc_only.secret)),
        &[],
    )
    .await;
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"],
        "unauthorized_client"
    );
    app.stop().await;
}

async fn user_codes_cannot_be_brute_forced(backend: Backend) {
    // A code that outlives the lock-out, to show the lock lifts.
    let app = App::start(
        backend,
        Policy {
            device_code_ttl: 3600,
            ..Policy::default()
        },
    )
    .await;
    let party = device_client(&app, true).await;
    let started = start(&app, &party).await;
    let keys = ["ip:203.0.113.9".to_owned(), "session:abc".to_owned()];
    for guess in [
        "BBBB-BBBB",
        "CCCC-CCCC",
        "DDDD-DDDD",
        "FFFF-FFFF",
        "GGGG-GGGG",
    ] {
        let r = app.service.pending_device(guess, &keys).await.unwrap();
        assert_eq!(r.err(), Some(CodeRefusal::Invalid));
    }
    let right = started["user_code"].as_str().unwrap();
    let r = app.service.pending_device(right, &keys).await.unwrap();
    assert_eq!(
        r.err(),
        Some(CodeRefusal::TooManyAttempts),
        "refused even when right, for a while"
    );
    app.clock.advance(15 * 60);
    assert!(
        app.service
            .pending_device(right, &keys)
            .await
            .unwrap()
            .is_ok(),
        "the lock lifts"
    );
    app.stop().await;
}

async fn pairing_codes_are_single_use_and_bound(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    let party = device_client(&app, false).await;
    let other = device_client(&app, true).await;
    let alice = alice(&app).await;
    let tv = app
        .service
        .pairing_client(&party.id)
        .await
        .unwrap()
        .expect("offers pairing codes");
    let code = app
        .service
        .issue_pairing_code(&alice, &tv, &Origin::default())
        .await
        .unwrap();
    assert_eq!(code.len(), 14, "{code}");
    let listed = app.service.store().list_consents(&alice.id).await.unwrap();
    assert!(
        listed.iter().any(|c| c.client_id == party.id),
        "a pairing code is a connection: {listed:?}"
    );

    let url = app.url("/oauth2/token");
    let foreign = post_form(
        &url,
        None,
        &[
            ("grant_type", PAIRING),
            ("code", &code),
            ("client_id", &other.id),
        ],
    )
    .await;
    assert_eq!(
        foreign.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let ok = post_form(
        &url,
        Some((&party.id, &party.secret)),
        &[("grant_type", PAIRING), ("code", &code.to_lowercase())],
    )
    .await;
    assert_eq!(ok.status(), 200);
    let tokens: Value = ok.json().await.unwrap();
    assert!(active(&app, &party, tokens["access_token"].as_str().unwrap()).await);
    let again = post_form(
        &url,
        Some((&party.id, &party.secret)),
        &[("grant_type", PAIRING), ("code", &code)],
    )
    .await;
    assert_eq!(
        again.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    let expiring = app
        .service
        .issue_pairing_code(&alice, &tv, &Origin::default())
        .await
        .unwrap();
    app.clock.advance(301);
    let late = post_form(
        &url,
        Some((&party.id, &party.secret)),
        &[("grant_type", PAIRING), ("code", &expiring)],
    )
    .await;
    assert_eq!(
        late.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    let metadata: Value = crate::support::http()
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let grants = metadata["grant_types_supported"].as_array().unwrap();
    assert!(grants.contains(&Value::from(PAIRING)) && grants.contains(&Value::from(DEVICE)));
    assert_eq!(
        metadata["device_authorization_endpoint"],
        app.url("/oauth2/device_authorization")
    );
    app.stop().await;
}

async fn the_device_page_approves_a_code(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    let party = device_client(&app, true).await;
    let started = start(&app, &party).await;
    let user_code = started["user_code"].as_str().unwrap();
    let link = app.url(&format!("/device?user_code={user_code}"));

    let anonymous = crate::support::http().get(&link).send().await.unwrap();
    assert_eq!(anonymous.status(), 303);
    assert!(
        anonymous.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login?return_to=%2Fdevice")
    );

    let browser = signed_in_browser(&app.base_url, "alice", "alice password").await;
    let page = browser.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("TV app") && html.contains("read"),
        "names the app and its scopes"
    );
    let csrf = form_field(&html, "csrf_token");
    let forged = browser
        .post(app.url("/device"))
        .form(&[("user_code", user_code), ("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403, "no CSRF token, no decision");
    let done = browser
        .post(app.url("/device"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("user_code", user_code),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("is connected"));
    let (status, _) = poll(&app, &party, started["device_code"].as_str().unwrap()).await;
    assert_eq!(status, 200, "the device gets its tokens");
    app.stop().await;
}

async fn wrong_entries_on_the_device_page_are_slowed_down(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    let party = device_client(&app, true).await;
    let started = start(&app, &party).await;
    let browser = signed_in_browser(&app.base_url, "alice", "alice password").await;
    let html = browser
        .get(app.url("/device"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = form_field(&html, "csrf_token");
    for guess in [
        "BBBB-BBBB",
        "CCCC-CCCC",
        "DDDD-DDDD",
        "FFFF-FFFF",
        "not a code",
    ] {
        let r = browser
            .post(app.url("/device"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("user_code", guess),
                ("step", "lookup"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert!(r.text().await.unwrap().contains("not valid or has expired"));
    }
    let right = started["user_code"].as_str().unwrap();
    let r = browser
        .post(app.url("/device"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("user_code", right),
            ("step", "lookup"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.text().await.unwrap().contains("Too many wrong codes"));
    app.stop().await;
}

async fn the_get_access_page_issues_a_pairing_code(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    let party = device_client(&app, false).await;
    let browser = signed_in_browser(&app.base_url, "alice", "alice password").await;
    let html = browser
        .get(app.url("/get-access"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("TV app false"),
        "lists the apps that offer codes"
    );
    let csrf = form_field(&html, "csrf_token");
    let unknown = browser
        .post(app.url("/get-access"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("client_id_text", "nope"),
            ("step", "choose"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
    let confirm = browser
        .post(app.url("/get-access"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("client_id_text", party.id.as_str()),
            ("step", "choose"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(confirm.contains("decision"), "asks to approve");
    let shown = browser
        .post(app.url("/get-access"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("client_id", party.id.as_str()),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let code = pairing_code_in(&shown);
    let tokens = post_form(
        &app.url("/oauth2/token"),
        Some((&party.id, &party.secret)),
        &[("grant_type", PAIRING), ("code", &code)],
    )
    .await;
    assert_eq!(tokens.status(), 200);
    app.stop().await;
}

/// An app approved for a device shows on Connections, and revoking it
/// there ends its tokens and a device code approved but not yet redeemed.
async fn a_device_approval_is_a_connection(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    let party = device_client(&app, true).await;
    let first = start(&app, &party).await;
    decide(&app, first["user_code"].as_str().unwrap(), true).await;
    let (status, tokens) = poll(&app, &party, first["device_code"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{tokens}");
    let second = start(&app, &party).await;
    decide(&app, second["user_code"].as_str().unwrap(), true).await;

    let alice = alice(&app).await;
    let listed = app.service.store().list_consents(&alice.id).await.unwrap();
    assert!(listed.iter().any(|c| c.client_id == party.id), "{listed:?}");
    assert!(
        app.service
            .revoke_connection(&alice, &party.id, &Origin::default())
            .await
            .unwrap()
    );
    let me = crate::support::http()
        .get(app.url("/oauth2/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
    let (status, body) = poll(&app, &party, second["device_code"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("access_denied")),
        "{body}"
    );
    app.stop().await;
}

both_backends!(
    a_device_approval_is_a_connection,
    the_device_page_approves_a_code,
    wrong_entries_on_the_device_page_are_slowed_down,
    the_get_access_page_issues_a_pairing_code,
    every_polling_outcome,
    denied_and_expired,
    device_codes_belong_to_their_client,
    user_codes_cannot_be_brute_forced,
    pairing_codes_are_single_use_and_bound,
);
