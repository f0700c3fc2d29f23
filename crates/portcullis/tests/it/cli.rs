//! The admin CLI, on both backends.

use crate::support::{Backend, both_backends, contains, database, run, run_err, run_json};

async fn client_create_prints_the_secret_once_and_stores_its_hash(backend: Backend) {
    let db = database(backend).await;
    let v = run_json(
        &db,
        &[
            "client",
            "create",
            "--name",
            "demo",
            "--redirect-uri",
            "http://127.0.0.1:9000/cb",
        ],
        None,
    );
    let id = v["client_id"].as_str().expect("client_id");
    let secret = v["client_secret"].as_str().expect("client_secret");
    assert!(
        id.len() >= 22
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert!(
        secret.starts_with("pc_cs_") && secret.len() >= 6 + 43,
        "{secret}"
    );
    assert_eq!(
        v["redirect_uris"],
        serde_json::json!(["http://127.0.0.1:9000/cb"])
    );
    assert_eq!(v["public"], false);

    let shown = run_json(&db, &["client", "show", id], None);
    assert_eq!(shown["client_id"], id);
    assert!(
        shown.get("client_secret").is_none(),
        "the secret is never shown again"
    );

    let dump = db.dump().await;
    assert!(contains(&dump, id), "the dump sees the database's contents");
    assert!(
        !contains(&dump, secret),
        "the secret is not stored in plaintext"
    );
    assert!(
        !contains(&dump, &secret[6..]),
        "not even without its prefix"
    );
}

async fn public_clients_have_no_secret(backend: Backend) {
    let db = database(backend).await;
    let v = run_json(
        &db,
        &[
            "client",
            "create",
            "--name",
            "app",
            "--public",
            "--redirect-uri",
            "com.example.app:/cb",
        ],
        None,
    );
    assert_eq!(v["client_secret"], serde_json::Value::Null);
    assert_eq!(
        v["grant_types"],
        serde_json::json!(["authorization_code", "refresh_token"])
    );
    let err = run_err(
        &db,
        &["client", "rotate-secret", v["client_id"].as_str().unwrap()],
    );
    assert!(err.contains("public client has no secret"), "{err}");
}

async fn bad_client_input_is_refused_with_a_clear_message(backend: Backend) {
    let db = database(backend).await;
    let cases: &[(&[&str], &str)] = &[
        (&["--redirect-uri", "/cb"], "not an absolute URI"),
        (
            &["--redirect-uri", "https://app.test/cb#frag"],
            "must not contain a fragment",
        ),
        (
            &["--redirect-uri", "http://app.test/cb"],
            "plain http is allowed only on a loopback host",
        ),
        (&["--scope", "nope"], "unknown scope \"nope\""),
        (
            &["--grant-type", "password"],
            "unknown grant type \"password\"",
        ),
        (
            &["--grant-type", "authorization_code"],
            "needs at least one redirect URI",
        ),
        (
            &["--public", "--grant-type", "client_credentials"],
            "public client cannot use it",
        ),
        (&["--owner", "nobody"], "no user \"nobody\""),
    ];
    for (extra, message) in cases {
        let mut args = vec!["client", "create", "--name", "x"];
        args.extend_from_slice(extra);
        let err = run_err(&db, &args);
        assert!(err.contains(message), "{extra:?}: {err}");
    }
    run_json(&db, &["client", "create", "--name", "dup"], None);
    let err = run_err(&db, &["client", "create", "--name", "dup"]);
    assert!(err.contains("already exists"), "{err}");
    for cmd in [
        &["client", "show", "nope"][..],
        &["client", "delete", "nope"],
        &["client", "rotate-secret", "nope"],
    ] {
        let err = run_err(&db, cmd);
        assert!(err.contains("client \"nope\" not found"), "{cmd:?}: {err}");
    }
    assert!(
        run(&db, &["client", "list", "--json"], None)
            .status
            .success()
    );
    let listed = run_json(&db, &["client", "list"], None);
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(1),
        "nothing was created by the refused commands"
    );
}

async fn client_lifecycle(backend: Backend) {
    let db = database(backend).await;
    run_json(
        &db,
        &["scope", "create", "read", "--label", "Read your data"],
        None,
    );
    run_json(&db, &["scope", "create", "write"], None);
    run_json(
        &db,
        &["user", "create", "--username", "alice", "--password-stdin"],
        Some("correct horse\n"),
    );
    let v = run_json(
        &db,
        &[
            "client",
            "create",
            "--name",
            "demo",
            "--owner",
            "alice",
            "--scope",
            "read",
            "--scope",
            "write",
            "--redirect-uri",
            "https://app.test/cb",
        ],
        None,
    );
    let id = v["client_id"].as_str().unwrap().to_owned();
    assert_eq!(v["owner"], "alice");
    assert_eq!(v["scopes"], serde_json::json!(["read", "write"]));

    let updated = run_json(
        &db,
        &[
            "client",
            "update",
            &id,
            "--name",
            "Demo 2",
            "--scope",
            "read",
            "--redirect-uri",
            "https://app.test/cb2",
        ],
        None,
    );
    assert_eq!(updated["name"], "Demo 2");
    assert_eq!(updated["scopes"], serde_json::json!(["read"]));
    assert_eq!(
        updated["redirect_uris"],
        serde_json::json!(["https://app.test/cb2"])
    );

    let err = run_err(&db, &["scope", "delete", "read"]);
    assert!(err.contains("still allowed for clients"), "{err}");

    let rotated = run_json(
        &db,
        &["client", "rotate-secret", &id, "--overlap", "60"],
        None,
    );
    let new_secret = rotated["client_secret"].as_str().unwrap();
    assert!(new_secret.starts_with("pc_cs_") && new_secret != v["client_secret"].as_str().unwrap());

    let mine = run_json(&db, &["client", "list", "--owner", "alice"], None);
    assert_eq!(mine.as_array().map(Vec::len), Some(1));
    run_json(&db, &["client", "delete", &id], None);
    assert!(run_err(&db, &["client", "show", &id]).contains("not found"));
    run_json(&db, &["scope", "delete", "read"], None);
    let scopes = run_json(&db, &["scope", "list"], None);
    assert_eq!(
        scopes,
        serde_json::json!([{"name": "write", "label": "write", "description": "", "required_claims": []}])
    );
}

async fn users(backend: Backend) {
    let db = database(backend).await;
    let u = run_json(
        &db,
        &[
            "user",
            "create",
            "--username",
            "alice",
            "--email",
            "alice@example.test",
            "--password-stdin",
        ],
        Some("correct horse battery\n"),
    );
    assert_eq!(u["username"], "alice");
    let dump = db.dump().await;
    assert!(
        !contains(&dump, "correct horse battery"),
        "passwords are stored hashed"
    );
    assert!(contains(&dump, "$argon2id$"), "with Argon2id");

    let out = run(
        &db,
        &["user", "create", "--username", "alice", "--password-stdin"],
        Some("another password\n"),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    let out = run(
        &db,
        &["user", "create", "--username", "bob", "--password-stdin"],
        Some("short\n"),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8 characters"));
    let out = run(&db, &["user", "create", "--username", "bob"], None);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--password-stdin"),
        "no terminal, no prompt"
    );

    run_json(&db, &["user", "disable", "alice"], None);
    let list = run_json(&db, &["user", "list"], None);
    assert_eq!(list[0]["disabled"], true);
    run_json(&db, &["user", "enable", "alice"], None);
    run_json(
        &db,
        &["user", "set-password", "alice", "--password-stdin"],
        Some("a new password\n"),
    );
    assert!(run_err(&db, &["user", "disable", "nobody"]).contains("user \"nobody\" not found"));
}

both_backends!(
    client_create_prints_the_secret_once_and_stores_its_hash,
    public_clients_have_no_secret,
    bad_client_input_is_refused_with_a_clear_message,
    client_lifecycle,
    users,
);
