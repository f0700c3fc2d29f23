//! `portcullis serve`: first start, health, configuration and shutdown.

use crate::support::{Backend, Server, both_backends, database, http, portcullis, run_command};

#[tokio::test]
async fn first_start_creates_the_database_and_says_what_to_do_next() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    assert!(
        server.banner.contains("listening on http://127.0.0.1:"),
        "{}",
        server.banner
    );
    assert!(
        dir.path().join("portcullis-data/portcullis.db").is_file(),
        "the default SQLite file exists"
    );
    let client = http();
    let ready = client.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let alive = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(alive.status(), 200);
    let status = server.terminate();
    assert!(status.success(), "a clean exit after SIGTERM: {status:?}");
}

#[tokio::test]
async fn the_first_run_hint_names_the_command_that_creates_a_user() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = portcullis();
    cmd.current_dir(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"]);
    let mut child = cmd.stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    for _ in 0..3 {
        std::io::BufRead::read_line(&mut out, &mut text).unwrap();
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(text.contains("portcullis user create --username"), "{text}");
}

async fn readiness_follows_the_database(backend: Backend) {
    let db = database(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&db, dir.path());
    let client = http();
    assert_eq!(
        client
            .get(server.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    if backend == Backend::Postgres {
        // Take the database away under the running server.
        drop(db);
        let status = client
            .get(server.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 503);
        assert_eq!(
            client
                .get(server.url("/healthz"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
}

#[tokio::test]
async fn configuration_precedence_is_flag_then_environment_then_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let url = |name: &str| format!("sqlite://{}", path(name).display());
    let config = path("portcullis.toml");
    std::fs::write(&config, format!("database_url = \"{}\"\n", url("file.db"))).unwrap();

    let migrate = |env: Option<&str>, flag: Option<&str>| {
        let mut cmd = portcullis();
        cmd.arg("--config").arg(&config).arg("migrate");
        if let Some(e) = env {
            cmd.env("PORTCULLIS_DATABASE_URL", e);
        }
        if let Some(f) = flag {
            cmd.args(["--database-url", f]);
        }
        let out = run_command(cmd, None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    migrate(None, None);
    assert!(path("file.db").exists(), "the file's setting applies");
    migrate(Some(&url("env.db")), None);
    assert!(path("env.db").exists(), "the environment beats the file");
    migrate(Some(&url("env2.db")), Some(&url("flag.db")));
    assert!(
        path("flag.db").exists() && !path("env2.db").exists(),
        "the flag beats the environment"
    );

    std::fs::write(&config, "lisen = \"127.0.0.1:1\"\n").unwrap();
    let mut cmd = portcullis();
    cmd.arg("--config").arg(&config).arg("migrate");
    let out = run_command(cmd, None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("lisen") && err.contains("portcullis.toml"),
        "{err}"
    );
}

#[tokio::test]
async fn a_bad_database_url_is_a_clear_error() {
    let mut cmd = portcullis();
    cmd.args(["--database-url", "mysql://localhost/x", "migrate"]);
    let out = run_command(cmd, None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unsupported database URL"), "{err}");
}

both_backends!(readiness_follows_the_database);
