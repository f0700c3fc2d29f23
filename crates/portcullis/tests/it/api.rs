//! The developer API: personal access tokens, or the session with its CSRF
//! header; owners only.

use serde_json::{Value, json};
use service::users::NewUser;
use service::{Origin, Policy};

use crate::lifetimes::client;
use crate::support::{App, Backend, both_backends, form_field, http, run_json, signed_in_browser};

async fn scripts_manage_apps_with_a_personal_access_token(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    client(&app, Default::default()).await; // scopes and alice
    let bob = NewUser {
        username: "bob".into(),
        email: None,
        password: "bob password".into(),
    };
    app.service.create_user(bob, &Origin::cli()).await.unwrap();
    let alice = app
        .service
        .user_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    let (token, _) = app
        .service
        .create_personal_access_token(&alice, "deploy", &Origin::cli())
        .await
        .unwrap();
    assert!(token.starts_with("pc_pat_"));
    let api = |path: &str| app.url(&format!("/api{path}"));

    let anonymous = http().get(api("/developer/apps")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let forged = http()
        .get(api("/developer/apps"))
        .bearer_auth("pc_pat_forged")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);

    let bad = http()
        .post(api("/developer/apps"))
        .bearer_auth(&token)
        .json(&json!({"name": "CI", "redirect_uris": ["http://ci.test/cb"], "grant_types": ["authorization_code"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(
        (body["error"].as_str(), body["field"].as_str()),
        (Some("invalid"), Some("redirect_uri"))
    );
    let unknown_field = http()
        .post(api("/developer/apps"))
        .bearer_auth(&token)
        .json(&json!({"name": "x", "colour": "red"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_field.status(), 400);

    let created = http()
        .post(api("/developer/apps"))
        .bearer_auth(&token)
        .json(&json!({"name": "CI", "scopes": ["read"], "grant_types": ["client_credentials"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let id = created["client_id"].as_str().unwrap().to_owned();
    assert!(
        created["client_secret"]
            .as_str()
            .unwrap()
            .starts_with("pc_cs_")
    );

    let listed: Value = http()
        .get(api("/developer/apps"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    let patched: Value = http()
        .patch(api(&format!("/developer/apps/{id}")))
        .bearer_auth(&token)
        .json(&json!({"name": "CI runner"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(patched["name"], "CI runner");
    assert_eq!(
        patched["scopes"],
        json!(["read"]),
        "fields left out keep their value"
    );
    let rotated: Value = http()
        .post(api(&format!("/developer/apps/{id}/rotate-secret")))
        .bearer_auth(&token)
        .json(&json!({"overlap": 60}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        rotated["client_secret"]
            .as_str()
            .unwrap()
            .starts_with("pc_cs_")
    );

    // Bob's token sees nothing of Alice's.
    let bob = app.service.user_by_username("bob").await.unwrap().unwrap();
    let (bobs, _) = app
        .service
        .create_personal_access_token(&bob, "mine", &Origin::cli())
        .await
        .unwrap();
    for r in [
        http()
            .get(api(&format!("/developer/apps/{id}")))
            .bearer_auth(&bobs)
            .send()
            .await
            .unwrap(),
        http()
            .delete(api(&format!("/developer/apps/{id}")))
            .bearer_auth(&bobs)
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(r.status(), 404);
    }
    let deleted = http()
        .delete(api(&format!("/developer/apps/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert!(app.service.client(&id).await.unwrap().is_none());

    // Tokens: listed without their value, deleted, then refused.
    let tokens: Value = http()
        .get(api("/account/tokens"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tokens[0]["name"], "deploy");
    assert!(tokens[0].get("token").is_none());
    assert!(tokens[0]["last_used_at"].is_i64(), "use is recorded");
    let token_id = tokens[0]["id"].as_str().unwrap();
    let gone = http()
        .delete(api(&format!("/account/tokens/{token_id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 204);
    assert_eq!(
        http()
            .get(api("/developer/apps"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    app.stop().await;
}

async fn the_session_needs_the_csrf_header_to_change_things(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    client(&app, Default::default()).await;
    let browser = signed_in_browser(&app.base_url, "alice", "alice password").await;
    let listed = browser
        .get(app.url("/api/developer/apps"))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200, "reading needs only the session");
    let body = json!({"name": "From the browser", "grant_types": ["client_credentials"]});
    let refused = browser
        .post(app.url("/api/developer/apps"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(refused.json::<Value>().await.unwrap()["error"], "csrf");
    let page = browser
        .get(app.url("/developer/apps"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = form_field(&page, "csrf_token");
    let created = browser
        .post(app.url("/api/developer/apps"))
        .header("x-csrf-token", csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    app.stop().await;
}

#[tokio::test]
async fn the_cli_creates_personal_access_tokens() {
    let db = crate::support::database(Backend::Sqlite).await;
    run_json(
        &db,
        &["user", "create", "--username", "carol", "--password-stdin"],
        Some("carol password\n"),
    );
    let v = run_json(
        &db,
        &["user", "create-token", "carol", "--name", "deploy"],
        None,
    );
    assert!(v["token"].as_str().unwrap().starts_with("pc_pat_"));
    assert!(
        !crate::support::contains(&db.dump().await, v["token"].as_str().unwrap()),
        "stored only hashed"
    );
}

both_backends!(
    scripts_manage_apps_with_a_personal_access_token,
    the_session_needs_the_csrf_header_to_change_things
);
