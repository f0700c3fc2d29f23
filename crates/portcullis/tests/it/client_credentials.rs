//! The back channel with client credentials: token, introspection,
//! revocation, userinfo and metadata, driven by the `oauth2` crate and by
//! raw requests for the error paths. On both backends.

use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, Scope, TokenResponse as _, TokenUrl};
use serde_json::{Value, json};

use crate::support::{
    Backend, Server, both_backends, client_token, confidential_client, contains, database, http,
    oauth_http, post_form, run_json,
};

async fn setup(
    backend: Backend,
) -> (
    crate::support::TestDatabase,
    tempfile::TempDir,
    Server,
    String,
    String,
) {
    let db = database(backend).await;
    run_json(&db, &["scope", "create", "read"], None);
    run_json(&db, &["scope", "create", "write"], None);
    let (id, secret) =
        confidential_client(&db, "machine", &["--scope", "read", "--scope", "write"]);
    let dir = tempfile::tempdir().unwrap();
    // These tests change clients with the CLI, another process, while the
    // server runs: without its client cache it sees each change at once.
    let config = dir.path().join("portcullis.toml");
    std::fs::write(&config, "client_cache_ttl = 0\n").unwrap();
    let server = Server::start(
        dir.path(),
        &[
            "--database-url",
            &db.url,
            "--config",
            config.to_str().unwrap(),
        ],
    );
    (db, dir, server, id, secret)
}

async fn issue_with_basic_and_post(backend: Backend) {
    let (db, _dir, server, id, secret) = setup(backend).await;
    for auth in [AuthType::BasicAuth, AuthType::RequestBody] {
        let client = BasicClient::new(ClientId::new(id.clone()))
            .set_client_secret(ClientSecret::new(secret.clone()))
            .set_token_uri(TokenUrl::new(server.url("/oauth2/token")).unwrap())
            .set_auth_type(auth.clone());
        let token = client
            .exchange_client_credentials()
            .add_scope(Scope::new("read".into()))
            .request_async(&oauth_http)
            .await
            .unwrap_or_else(|e| panic!("{auth:?}: {e:?}"));
        let access = token.access_token().secret();
        assert!(access.starts_with("pc_at_"), "{access}");
        assert_eq!(token.token_type(), &oauth2::basic::BasicTokenType::Bearer);
        assert_eq!(token.expires_in().map(|d| d.as_secs()), Some(3600));
        assert_eq!(
            token
                .scopes()
                .map(|s| s.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
            Some(vec!["read".into()])
        );
        assert!(
            token.refresh_token().is_none(),
            "no refresh token for client credentials"
        );

        let introspected = post_form(
            &server.url("/oauth2/introspect"),
            Some((&id, &secret)),
            &[("token", access)],
        )
        .await;
        assert_eq!(introspected.headers()["cache-control"], "no-store");
        let body: Value = introspected.json().await.unwrap();
        assert_eq!(body["active"], true);
        assert_eq!(body["client_id"], id.as_str());
        assert_eq!(body["scope"], "read");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["iss"], server.base_url.as_str());
        assert!(body["exp"].as_i64().unwrap() > body["iat"].as_i64().unwrap());

        let dump = db.dump().await;
        assert!(
            !contains(&dump, access) && !contains(&dump, &access[6..]),
            "tokens are stored only hashed"
        );
    }
    // No scope asked: everything the client may have.
    let response = post_form(
        &server.url("/oauth2/token"),
        Some((&id, &secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["scope"], "read write");
    assert_eq!(body["token_type"], "Bearer");
}

async fn json_bodies_are_accepted(backend: Backend) {
    let (_db, _dir, server, id, secret) = setup(backend).await;
    let response = http()
        .post(server.url("/oauth2/token"))
        .json(&json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret, "scope": "write"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["scope"], "write");
}

/// Asserts an RFC 6749 section 5.2 error.
async fn assert_error(response: reqwest::Response, status: u16, error: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "expected {error}");
    assert_eq!(response.headers()["cache-control"], "no-store");
    if status == 401 {
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
    }
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    let description = body["error_description"].as_str().unwrap_or("");
    assert!(
        description
            .bytes()
            .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)),
        "{description}"
    );
    body
}

async fn token_endpoint_errors(backend: Backend) {
    let (db, _dir, server, id, secret) = setup(backend).await;
    let url = server.url("/oauth2/token");
    let cc = [("grant_type", "client_credentials")];
    assert_error(
        post_form(&url, Some((&id, "pc_cs_wrong")), &cc).await,
        401,
        "invalid_client",
    )
    .await;
    assert_error(
        post_form(&url, Some(("nobody", &secret)), &cc).await,
        401,
        "invalid_client",
    )
    .await;
    assert_error(post_form(&url, None, &cc).await, 401, "invalid_client").await;
    let post_wrong = [
        ("grant_type", "client_credentials"),
        ("client_id", id.as_str()),
        ("client_secret", "x"),
    ];
    assert_error(
        post_form(&url, None, &post_wrong).await,
        401,
        "invalid_client",
    )
    .await;
    let both = [
        ("grant_type", "client_credentials"),
        ("client_secret", secret.as_str()),
    ];
    assert_error(
        post_form(&url, Some((&id, &secret)), &both).await,
        400,
        "invalid_request",
    )
    .await;
    assert_error(
        post_form(&url, Some((&id, &secret)), &[("grant_type", "password")]).await,
        400,
        "unsupported_grant_type",
    )
    .await;
    assert_error(
        post_form(&url, Some((&id, &secret)), &[]).await,
        400,
        "invalid_request",
    )
    .await;
    let wide = [
        ("grant_type", "client_credentials"),
        ("scope", "read admin"),
    ];
    assert_error(
        post_form(&url, Some((&id, &secret)), &wide).await,
        400,
        "invalid_scope",
    )
    .await;
    let malformed = [("grant_type", "client_credentials"), ("scope", "read\"")];
    assert_error(
        post_form(&url, Some((&id, &secret)), &malformed).await,
        400,
        "invalid_scope",
    )
    .await;

    let repeated = http()
        .post(&url)
        .basic_auth(&id, Some(&secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&scope=read&scope=write")
        .send()
        .await
        .unwrap();
    assert_error(repeated, 400, "invalid_request").await;
    let xml = http()
        .post(&url)
        .basic_auth(&id, Some(&secret))
        .header("content-type", "text/xml")
        .body("<x/>")
        .send()
        .await
        .unwrap();
    assert_error(xml, 400, "invalid_request").await;
    assert_eq!(http().get(&url).send().await.unwrap().status(), 405);

    // A client without the grant.
    run_json(
        &db,
        &["client", "update", &id, "--grant-type", "refresh_token"],
        None,
    );
    assert_error(
        post_form(&url, Some((&id, &secret)), &cc).await,
        400,
        "unauthorized_client",
    )
    .await;
}

async fn revocation_and_introspection(backend: Backend) {
    let (db, _dir, server, id, secret) = setup(backend).await;
    let (other_id, other_secret) = confidential_client(&db, "other", &[]);
    let token = client_token(&server, &id, &secret).await;
    let introspect = server.url("/oauth2/introspect");
    let revoke = server.url("/oauth2/revoke");

    // Another client sees nothing and cannot revoke it.
    let foreign: Value = post_form(
        &introspect,
        Some((&other_id, &other_secret)),
        &[("token", &token)],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(foreign, json!({"active": false}));
    assert_error(
        post_form(
            &revoke,
            Some((&other_id, &other_secret)),
            &[("token", &token)],
        )
        .await,
        400,
        "invalid_request",
    )
    .await;
    // Unauthenticated callers learn nothing.
    assert_error(
        post_form(&introspect, None, &[("token", &token)]).await,
        401,
        "invalid_client",
    )
    .await;
    assert_error(
        post_form(&revoke, None, &[("token", &token)]).await,
        401,
        "invalid_client",
    )
    .await;
    let alive: Value = post_form(&introspect, Some((&id, &secret)), &[("token", &token)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(alive["active"], true);

    // Unknown tokens: 200 on revocation, inactive on introspection.
    for garbage in [
        "dsahjdasdsa",
        "pc_at_AAAA",
        &format!("{}x", &token[..token.len() - 1]),
    ] {
        assert_eq!(
            post_form(&revoke, Some((&id, &secret)), &[("token", garbage)])
                .await
                .status(),
            200
        );
        let body: Value = post_form(&introspect, Some((&id, &secret)), &[("token", garbage)])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(body, json!({"active": false}));
    }
    assert_error(
        post_form(&revoke, Some((&id, &secret)), &[]).await,
        400,
        "invalid_request",
    )
    .await;

    let revoked = post_form(
        &revoke,
        Some((&id, &secret)),
        &[("token", &token), ("token_type_hint", "refresh_token")],
    )
    .await;
    assert_eq!(revoked.status(), 200);
    assert_eq!(
        post_form(&revoke, Some((&id, &secret)), &[("token", &token)])
            .await
            .status(),
        200,
        "idempotent"
    );
    let dead: Value = post_form(&introspect, Some((&id, &secret)), &[("token", &token)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(dead, json!({"active": false}));
    let userinfo = http()
        .get(server.url("/oauth2/userinfo"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 401);
    assert!(
        userinfo.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
}

async fn userinfo_names_the_clients_owner(backend: Backend) {
    let db = database(backend).await;
    run_json(
        &db,
        &[
            "user",
            "create",
            "--username",
            "owner",
            "--email",
            "owner@example.test",
            "--password-stdin",
        ],
        Some("a long password\n"),
    );
    let (id, secret) = confidential_client(&db, "owned", &["--owner", "owner"]);
    let (lone_id, lone_secret) = confidential_client(&db, "lone", &[]);
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&db, dir.path());

    let token = client_token(&server, &id, &secret).await;
    let response = http()
        .get(server.url("/oauth2/userinfo"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["preferred_username"], "owner");
    assert_eq!(body["email"], "owner@example.test");
    assert_eq!(body["client_id"], id.as_str());

    let lone = client_token(&server, &lone_id, &lone_secret).await;
    let body: Value = http()
        .get(server.url("/oauth2/userinfo"))
        .bearer_auth(&lone)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["sub"], lone_id.as_str());

    let missing = http()
        .get(server.url("/oauth2/userinfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.headers()["www-authenticate"],
        "Bearer realm=\"portcullis\""
    );
    let in_query = http()
        .get(server.url(&format!("/oauth2/userinfo?access_token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        in_query.status(),
        401,
        "tokens in the query string are not accepted"
    );
}

async fn secret_rotation_with_and_without_overlap(backend: Backend) {
    let (db, _dir, server, id, secret) = setup(backend).await;
    let url = server.url("/oauth2/token");
    let cc = [("grant_type", "client_credentials")];
    let v = run_json(
        &db,
        &["client", "rotate-secret", &id, "--overlap", "300"],
        None,
    );
    let second = v["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(
        post_form(&url, Some((&id, &secret)), &cc).await.status(),
        200,
        "the old secret works during the overlap"
    );
    assert_eq!(
        post_form(&url, Some((&id, &second)), &cc).await.status(),
        200
    );
    let v = run_json(&db, &["client", "rotate-secret", &id], None);
    let third = v["client_secret"].as_str().unwrap().to_owned();
    assert_error(
        post_form(&url, Some((&id, &second)), &cc).await,
        401,
        "invalid_client",
    )
    .await;
    assert_eq!(
        post_form(&url, Some((&id, &third)), &cc).await.status(),
        200
    );
}

async fn metadata_lists_what_is_supported(backend: Backend) {
    let (_db, _dir, server, _id, _secret) = setup(backend).await;
    let body: Value = http()
        .get(server.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let issuer = server.base_url.as_str();
    assert_eq!(body["issuer"], issuer);
    assert_eq!(body["token_endpoint"], format!("{issuer}/oauth2/token"));
    assert_eq!(
        body["authorization_endpoint"],
        format!("{issuer}/oauth2/authorize")
    );
    assert_eq!(body["response_types_supported"], json!(["code"]));
    assert_eq!(body["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(body["scopes_supported"], json!(["read", "write"]));
    assert_eq!(body["authorization_response_iss_parameter_supported"], true);
}

both_backends!(
    issue_with_basic_and_post,
    json_bodies_are_accepted,
    token_endpoint_errors,
    revocation_and_introspection,
    userinfo_names_the_clients_owner,
    secret_rotation_with_and_without_overlap,
    metadata_lists_what_is_supported,
);
