//! Expiry, grace windows, per-client lifetimes, the audit trail and page
//! overrides, with a clock the test moves instead of sleeping. In-process
//! servers on both backends.

use std::sync::Arc;

use protocol::ScopeSet;
use serde_json::{Value, json};
use service::authorize::{AuthorizationRequest, Checked};
use service::clients::{ClientSpec, Lifetimes};
use service::scopes::NewScope;
use service::users::NewUser;
use service::{Origin, Policy};

use crate::support::{App, Backend, both_backends, http, post_form};

pub(crate) struct Party {
    pub(crate) id: String,
    pub(crate) secret: String,
}

static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub(crate) async fn client(app: &App, lifetimes: Lifetimes) -> Party {
    let origin = Origin::cli();
    if app.service.list_scopes().await.unwrap().is_empty() {
        app.service
            .create_scope(
                NewScope {
                    name: "read".into(),
                    ..NewScope::default()
                },
                &origin,
            )
            .await
            .unwrap();
        let alice = NewUser {
            username: "alice".into(),
            email: None,
            password: "alice password".into(),
        };
        app.service.create_user(alice, &origin).await.unwrap();
    }
    let spec = ClientSpec {
        name: format!(
            "app {}",
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ),
        redirect_uris: vec!["https://app.test/cb".into()],
        scopes: vec!["read".into()],
        lifetimes,
        ..ClientSpec::default()
    };
    let created = app.service.create_client(spec, &origin).await.unwrap();
    Party {
        id: created.client.id,
        secret: created.secret.unwrap(),
    }
}

/// `party`'s authorization request for `read`, checked.
async fn read_request(app: &App, party: &Party) -> AuthorizationRequest {
    let query = format!("response_type=code&client_id={}&scope=read", party.id);
    let Checked::Valid(request) = app
        .service
        .check_authorization(query.as_bytes())
        .await
        .unwrap()
    else {
        panic!("a valid request");
    };
    *request
}

/// A code for alice, issued the way the consent page issues it.
pub(crate) async fn code_for(app: &App, party: &Party) -> String {
    let request = read_request(app, party).await;
    let alice = alice(app).await;
    app.service
        .approve(
            &alice,
            &request,
            ScopeSet::parse("read").unwrap(),
            &Origin::default(),
        )
        .await
        .unwrap()
}

/// The user every test party acts for.
pub(crate) async fn alice(app: &App) -> store::User {
    app.service
        .user_by_username("alice")
        .await
        .unwrap()
        .unwrap()
}

pub(crate) async fn token(app: &App, party: &Party, form: &[(&str, &str)]) -> reqwest::Response {
    post_form(
        &app.url("/oauth2/token"),
        Some((&party.id, &party.secret)),
        form,
    )
    .await
}

pub(crate) async fn exchange(app: &App, party: &Party) -> Value {
    let code = code_for(app, party).await;
    let response = token(
        app,
        party,
        &[("grant_type", "authorization_code"), ("code", &code)],
    )
    .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

pub(crate) async fn active(app: &App, party: &Party, token: &str) -> bool {
    let body: Value = post_form(
        &app.url("/oauth2/introspect"),
        Some((&party.id, &party.secret)),
        &[("token", token)],
    )
    .await
    .json()
    .await
    .unwrap();
    body["active"] == json!(true)
}

pub(crate) async fn error_of(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 400);
    response.json::<Value>().await.unwrap()["error"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn codes_expire(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    let party = client(&app, Lifetimes::default()).await;
    let code = code_for(&app, &party).await;
    app.clock.advance(61);
    let response = token(
        &app,
        &party,
        &[("grant_type", "authorization_code"), ("code", &code)],
    )
    .await;
    assert_eq!(error_of(response).await, "invalid_grant");

    // A redeemed code replayed once it has expired is still a replay: what
    // it issued is revoked.
    let code = code_for(&app, &party).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
    ];
    let issued: Value = token(&app, &party, &form).await.json().await.unwrap();
    let access = issued["access_token"].as_str().unwrap();
    assert!(active(&app, &party, access).await);
    app.clock.advance(61);
    let replay = token(&app, &party, &form).await;
    assert_eq!(replay.status(), 400);
    let body: Value = replay.json().await.unwrap();
    assert_eq!(
        body["error_description"],
        "the authorization code has already been used"
    );
    assert!(
        !active(&app, &party, access).await,
        "its tokens are revoked"
    );
    app.stop().await;
}

async fn access_tokens_expire(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    let party = client(
        &app,
        Lifetimes {
            access_token_ttl: Some(600),
            ..Lifetimes::default()
        },
    )
    .await;
    let issued = exchange(&app, &party).await;
    assert_eq!(issued["expires_in"], 600, "the client's own lifetime");
    let access = issued["access_token"].as_str().unwrap();
    assert!(active(&app, &party, access).await);
    app.clock.advance(601);
    assert!(!active(&app, &party, access).await);
    let me = http()
        .get(app.url("/oauth2/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
    app.stop().await;
}

async fn refresh_tokens_expire_when_idle(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    let party = client(
        &app,
        Lifetimes {
            refresh_token_idle_ttl: Some(120),
            ..Lifetimes::default()
        },
    )
    .await;
    let issued = exchange(&app, &party).await;
    let refresh = issued["refresh_token"].as_str().unwrap().to_owned();
    app.clock.advance(100);
    let rotated: Value = token(
        &app,
        &party,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await
    .json()
    .await
    .unwrap();
    let next = rotated["refresh_token"]
        .as_str()
        .expect("used in time, it rotates")
        .to_owned();
    // A refresh counts as use on Connections once the node writes what it
    // counted (every 10 seconds, and at shutdown).
    let now = service::Clock::now(app.clock.as_ref());
    assert_eq!(last_use_on_connections(&app, &party).await, now - 100);
    app.service.flush_issuance_log().await;
    assert_eq!(last_use_on_connections(&app, &party).await, now);
    app.clock.advance(121);
    let late = token(
        &app,
        &party,
        &[("grant_type", "refresh_token"), ("refresh_token", &next)],
    )
    .await;
    assert_eq!(error_of(late).await, "invalid_grant");
    app.stop().await;
}

async fn reuse_after_the_grace_window_revokes_the_family(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    let party = client(&app, Lifetimes::default()).await;
    let issued = exchange(&app, &party).await;
    let refresh = issued["refresh_token"].as_str().unwrap().to_owned();
    let rotated: Value = token(
        &app,
        &party,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await
    .json()
    .await
    .unwrap();
    app.clock.advance(6);
    let reuse = token(
        &app,
        &party,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(error_of(reuse).await, "invalid_grant");
    for t in [
        &rotated["access_token"],
        &rotated["refresh_token"],
        &issued["access_token"],
    ] {
        assert!(
            !active(&app, &party, t.as_str().unwrap()).await,
            "the whole family is revoked"
        );
    }
    // Rotations are counted, and written with the next flush.
    app.service.flush_issuance_log().await;
    let events = app.service.store().recent_audit_events(50).await.unwrap();
    let refreshed: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == "token.refreshed")
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(refreshed, ["grant=refresh_token count=1"]);
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    for expected in [
        "grant.approved",
        "token.issued",
        "token.refreshed",
        "refresh.reuse_detected",
    ] {
        assert!(kinds.contains(&expected), "audit has {expected}: {kinds:?}");
    }
    app.stop().await;
}

async fn a_retry_gets_the_same_pair_unless_its_access_token_was_revoked(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    let party = client(&app, Lifetimes::default()).await;
    let issued = exchange(&app, &party).await;
    let refresh = issued["refresh_token"].as_str().unwrap().to_owned();
    let form = [("grant_type", "refresh_token"), ("refresh_token", &refresh)];
    let rotated: Value = token(&app, &party, &form).await.json().await.unwrap();
    app.clock.advance(2);
    let retried: Value = token(&app, &party, &form).await.json().await.unwrap();
    for member in ["access_token", "refresh_token"] {
        assert_eq!(retried[member], rotated[member], "the same {member}");
    }
    assert_eq!(
        retried["expires_in"],
        json!(3_598),
        "counted from the rotation"
    );

    // Revoking the new access token leaves its refresh token alone...
    let new_access = rotated["access_token"].as_str().unwrap();
    let revoked = post_form(
        &app.url("/oauth2/revoke"),
        Some((&party.id, &party.secret)),
        &[("token", new_access)],
    )
    .await;
    assert_eq!(revoked.status(), 200);
    assert!(!active(&app, &party, new_access).await);
    let new_refresh = rotated["refresh_token"].as_str().unwrap();
    assert!(active(&app, &party, new_refresh).await);
    // ...but a retry can no longer hand it out again: that is reuse.
    assert_eq!(
        error_of(token(&app, &party, &form).await).await,
        "invalid_grant"
    );
    assert!(
        !active(&app, &party, new_refresh).await,
        "the family is revoked"
    );
    app.stop().await;
}

/// Fifty simultaneous uses of one refresh token; the status and body of each.
async fn refresh_fifty_times(app: &App, party: &Arc<Party>, refresh: &str) -> Vec<(u16, Value)> {
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let attempts: Vec<_> = (0..50)
        .map(|_| {
            let (barrier, url, party, refresh) = (
                barrier.clone(),
                app.url("/oauth2/token"),
                party.clone(),
                refresh.to_owned(),
            );
            tokio::spawn(async move {
                barrier.wait().await;
                let form = [
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.as_str()),
                ];
                let response = post_form(&url, Some((&party.id, &party.secret)), &form).await;
                (
                    response.status().as_u16(),
                    response.json::<Value>().await.unwrap(),
                )
            })
        })
        .collect();
    let mut results = Vec::new();
    for a in attempts {
        results.push(a.await.unwrap());
    }
    results
}

async fn concurrent_retries_within_the_grace_window_share_one_pair(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    let party = Arc::new(client(&app, Lifetimes::default()).await);
    let issued = exchange(&app, &party).await;
    let results =
        refresh_fifty_times(&app, &party, issued["refresh_token"].as_str().unwrap()).await;
    assert!(results.iter().all(|(s, _)| *s == 200), "{results:?}");
    let first = &results[0].1;
    assert!(
        results
            .iter()
            .all(|(_, b)| b["refresh_token"] == first["refresh_token"]),
        "one rotation, one new pair"
    );
    assert!(active(&app, &party, first["refresh_token"].as_str().unwrap()).await);
    app.stop().await;
}

async fn concurrent_refreshes_have_one_winner(backend: Backend) {
    let policy = Policy {
        refresh_grace: 0,
        ..Policy::default()
    };
    let app = App::start(backend, policy).await;
    let party = Arc::new(client(&app, Lifetimes::default()).await);
    let issued = exchange(&app, &party).await;
    let results =
        refresh_fifty_times(&app, &party, issued["refresh_token"].as_str().unwrap()).await;
    let statuses: Vec<u16> = results.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        49,
        "{statuses:?}"
    );
    app.stop().await;
}

async fn failed_client_authentication_is_audited(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    let party = client(&app, Lifetimes::default()).await;
    let wrong = post_form(
        &app.url("/oauth2/token"),
        Some((&party.id, "pc_cs_nope")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(wrong.status(), 401);
    let events = app.service.store().recent_audit_events(5).await.unwrap();
    let failed = events
        .iter()
        .find(|e| e.kind == "client_auth.failed")
        .expect("an audit event");
    assert_eq!(failed.client_id.as_deref(), Some(party.id.as_str()));
    assert_eq!(failed.ip.as_deref(), Some("127.0.0.1"));
    app.stop().await;
}

async fn operators_can_replace_page_templates(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("login.html"),
        "<!doctype html><title>ACME</title><h1>Sign in to ACME</h1>\
         <form method=\"post\" action=\"{{ action }}\"><input type=\"hidden\" name=\"csrf_token\" value=\"{{ csrf_token }}\"></form>",
    )
    .unwrap();
    let app = App::start_with(backend, Policy::default(), Some(dir.path())).await;
    let page = http()
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Sign in to ACME"), "{page}");
    app.stop().await;
}

/// A request the standing consent covers gets its code without the
/// consent page, and the consent is not written again: it keeps when it
/// was given and last changed. Once revoked, the page is shown again.
async fn a_remembered_consent_is_not_rewritten(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    let party = client(&app, Lifetimes::default()).await;
    exchange(&app, &party).await;
    let alice = alice(&app).await;
    let store = app.service.store();
    let given = store.consent(&alice.id, &party.id).await.unwrap().unwrap();
    app.clock.advance(100);
    let request = read_request(&app, &party).await;
    let code = app
        .service
        .approve_remembered(&alice, &request, &Origin::default())
        .await
        .unwrap()
        .expect("no consent page");
    assert_eq!(
        store.consent(&alice.id, &party.id).await.unwrap(),
        Some(given)
    );
    let redeemed = token(
        &app,
        &party,
        &[("grant_type", "authorization_code"), ("code", &code)],
    )
    .await;
    assert_eq!(redeemed.status(), 200);

    app.service
        .revoke_connection(&alice, &party.id, &Origin::default())
        .await
        .unwrap();
    let after = app
        .service
        .approve_remembered(&alice, &request, &Origin::default())
        .await
        .unwrap();
    assert_eq!(after, None, "the consent page again");
    app.stop().await;
}

/// A code issued before the user revoked the app is refused even when the
/// app was authorized again in the same second: the code names the consent
/// it was issued under, and the new consent is another.
async fn a_code_outlives_no_revocation_in_its_second(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    let party = client(&app, Lifetimes::default()).await;
    let before = code_for(&app, &party).await;
    let alice = alice(&app).await;
    app.service
        .revoke_connection(&alice, &party.id, &Origin::default())
        .await
        .unwrap();
    let after = code_for(&app, &party).await;
    let refused = token(
        &app,
        &party,
        &[("grant_type", "authorization_code"), ("code", &before)],
    )
    .await;
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant", "{body}");
    let redeemed = token(
        &app,
        &party,
        &[("grant_type", "authorization_code"), ("code", &after)],
    )
    .await;
    assert_eq!(redeemed.status(), 200);
    app.stop().await;
}

/// What a flush of the issuance log could not write (the consents' last
/// uses, the counted issuance) is kept, and written with the next flush.
async fn what_a_flush_could_not_write_is_kept_for_the_next(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    let party = client(&app, Lifetimes::default()).await;
    let issued = exchange(&app, &party).await;
    app.clock.advance(50);
    let refresh = issued["refresh_token"].as_str().unwrap();
    let rotated = token(
        &app,
        &party,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(rotated.status(), 200);
    let now = service::Clock::now(app.clock.as_ref());
    let counted = || async {
        let events = app.service.store().recent_audit_events(50).await.unwrap();
        let mut counted: Vec<String> = events
            .into_iter()
            .filter(|e| e.kind.starts_with("token."))
            .map(|e| e.detail)
            .collect();
        counted.sort();
        counted
    };

    for table in ["consents", "audit_events"] {
        app.db
            .execute(&format!("ALTER TABLE {table} RENAME TO {table}_away"))
            .await;
    }
    app.service.flush_issuance_log().await;
    for table in ["consents", "audit_events"] {
        app.db
            .execute(&format!("ALTER TABLE {table}_away RENAME TO {table}"))
            .await;
    }
    assert_eq!(last_use_on_connections(&app, &party).await, now - 50);
    assert!(counted().await.is_empty());

    app.service.flush_issuance_log().await;
    assert_eq!(last_use_on_connections(&app, &party).await, now);
    assert_eq!(
        counted().await,
        [
            "grant=authorization_code count=1",
            "grant=refresh_token count=1"
        ]
    );
    app.stop().await;
}

/// When alice's Connections page says she last used `party`.
async fn last_use_on_connections(app: &App, party: &Party) -> i64 {
    let alice = alice(app).await;
    let listed = app.service.store().list_consents(&alice.id).await.unwrap();
    listed
        .iter()
        .find(|c| c.client_id == party.id)
        .expect("the app is on Connections")
        .last_used_at
}

both_backends!(
    codes_expire,
    access_tokens_expire,
    refresh_tokens_expire_when_idle,
    reuse_after_the_grace_window_revokes_the_family,
    a_retry_gets_the_same_pair_unless_its_access_token_was_revoked,
    concurrent_refreshes_have_one_winner,
    concurrent_retries_within_the_grace_window_share_one_pair,
    failed_client_authentication_is_audited,
    operators_can_replace_page_templates,
    a_remembered_consent_is_not_rewritten,
    a_code_outlives_no_revocation_in_its_second,
    what_a_flush_could_not_write_is_kept_for_the_next,
);
