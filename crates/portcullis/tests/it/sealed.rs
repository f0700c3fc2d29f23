//! Sealed client_credentials access tokens: nothing stored per token,
//! revocation through a deny-list every node mirrors, and issuance audited
//! in aggregate.

use std::time::Duration;

use serde_json::Value;

use crate::support::{
    Backend, Server, both_backends, client_token, confidential_client, contains, database,
    post_form, run, run_json,
};

async fn active(server: &Server, id: &str, secret: &str, token: &str) -> bool {
    let body: Value = post_form(
        &server.url("/oauth2/introspect"),
        Some((id, secret)),
        &[("token", token)],
    )
    .await
    .json()
    .await
    .unwrap();
    body["active"] == true
}

/// Two nodes on one database: a token issued by one works on the other
/// (they share the sealing key), and a revocation on one reaches the other
/// within the deny-list's sync interval.
async fn revocation_reaches_every_node(backend: Backend) {
    let db = database(backend).await;
    run_json(&db, &["scope", "create", "read"], None);
    let (id, secret) = confidential_client(&db, "machine", &["--scope", "read"]);
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Server::start_on(&db, dir_a.path());
    let b = Server::start_on(&db, dir_b.path());

    let t = client_token(&a, &id, &secret).await;
    assert!(t.starts_with("pc_at_") && t.len() > 100, "{t}");
    assert!(
        active(&b, &id, &secret, &t).await,
        "the other node accepts it"
    );
    let other = if &t[40..41] == "A" { "B" } else { "A" };
    let forged = format!("{}{other}{}", &t[..40], &t[41..]);
    assert_ne!(forged, t);
    assert!(
        !active(&b, &id, &secret, &forged).await,
        "a changed token is not"
    );

    let revoked = post_form(
        &a.url("/oauth2/revoke"),
        Some((&id, &secret)),
        &[("token", &t)],
    )
    .await;
    assert_eq!(revoked.status(), 200);
    assert!(
        !active(&a, &id, &secret, &t).await,
        "dead at once where revoked"
    );
    let mut seen = false;
    for _ in 0..50 {
        if !active(&b, &id, &secret, &t).await {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        seen,
        "the other node learns of the revocation within seconds"
    );

    // A restarted node still knows.
    drop(b);
    let c = Server::start_on(&db, dir_b.path());
    assert!(!active(&c, &id, &secret, &t).await);
    let fresh = client_token(&c, &id, &secret).await;
    assert!(active(&a, &id, &secret, &fresh).await);
}

/// Issuance writes no token row; the audit gets one event per client and
/// address with a count, when the node flushes (here: on a clean stop).
async fn issuance_is_audited_in_aggregate(backend: Backend) {
    let db = database(backend).await;
    run_json(&db, &["scope", "create", "read"], None);
    let (id, secret) = confidential_client(&db, "machine", &["--scope", "read"]);
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&db, dir.path());
    let mut tokens = Vec::new();
    for _ in 0..3 {
        tokens.push(client_token(&server, &id, &secret).await);
    }
    assert_eq!(server.terminate().code(), Some(0));
    let dump = db.dump().await;
    for t in &tokens {
        assert!(!contains(&dump, t), "no token is stored");
        assert!(!contains(&dump, &t[6..40]), "nor any part of it");
    }
    let events = store::connect(&db.url)
        .await
        .unwrap()
        .recent_audit_events(20)
        .await
        .unwrap();
    let issued: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == "token.issued" && e.client_id.as_deref() == Some(id.as_str()))
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(
        issued,
        ["grant=client_credentials sealed count=3"],
        "{events:?}"
    );
}

/// Deleting a client ends its tokens, though none of them has a row.
async fn a_deleted_clients_tokens_stop_working(backend: Backend) {
    let db = database(backend).await;
    run_json(&db, &["scope", "create", "read"], None);
    let (id, secret) = confidential_client(&db, "machine", &["--scope", "read"]);
    let (owner_id, owner_secret) = confidential_client(&db, "other", &["--scope", "read"]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.toml"), "client_cache_ttl = 0\n").unwrap();
    let config = dir.path().join("p.toml");
    let server = Server::start(
        dir.path(),
        &[
            "--database-url",
            &db.url,
            "--config",
            config.to_str().unwrap(),
        ],
    );
    let t = client_token(&server, &id, &secret).await;
    let me = crate::support::http()
        .get(server.url("/oauth2/userinfo"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let out = run(&db, &["client", "delete", &id], None);
    assert!(out.status.success());
    let me = crate::support::http()
        .get(server.url("/oauth2/userinfo"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
    assert!(!active(&server, &owner_id, &owner_secret, &t).await);
}

both_backends!(
    revocation_reaches_every_node,
    issuance_is_audited_in_aggregate,
    a_deleted_clients_tokens_stop_working,
);
