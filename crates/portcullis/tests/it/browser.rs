//! End to end in real headless Chromium: sign in, register an app in the
//! portal, authorize it while unticking a scope, see it on Connections,
//! revoke it, rotate its secret, and approve a device code.
//!
//! Needs `chromium` and `chromedriver` (Debian's `chromium` and
//! `chromium-driver`; `scripts/test` installs them). With
//! `PORTCULLIS_SCREENSHOTS=DIR` the test saves the consent, app and
//! Connections pages there; on failure it saves the page it was on to
//! `target/browser-failure.png`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use service::scopes::NewScope;
use service::users::NewUser;
use service::{Origin, Policy};

use crate::support::{App, Backend, post_form};

type Step<T> = Result<T, String>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn browser() -> Option<(Driver, Client)> {
    let driver_bin = ["chromedriver", "/usr/bin/chromedriver"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok())?;
    let port = free_port();
    let child = Command::new(driver_bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let profile = tempfile::tempdir().unwrap();
    let driver = Driver {
        child,
        port,
        _profile: profile,
    };
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1100,1000",
                format!("--user-data-dir={}", driver._profile.path().display()),
            ],
        }),
    );
    let url = format!("http://127.0.0.1:{}", driver.port);
    for _ in 0..100 {
        let builder = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .to_owned();
        if let Ok(client) = builder.connect(&url).await {
            return Some((driver, client));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start");
}

/// A stand-in for the app's web server: answers every request with 200, so
/// the browser can land on the redirect URI.
fn client_site() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 8\r\nConnection: close\r\n\r\nthe app\n");
        }
    });
    port
}

async fn screenshot(page: &Client, name: &str) -> Step<()> {
    if let Ok(dir) = std::env::var("PORTCULLIS_SCREENSHOTS") {
        let png = page.screenshot().await.map_err(err)?;
        std::fs::create_dir_all(&dir).map_err(err)?;
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png).map_err(err)?;
    }
    Ok(())
}

async fn fill(page: &Client, css: &str, text: &str) -> Step<()> {
    let field = page.find(Locator::Css(css)).await.map_err(err)?;
    field.clear().await.map_err(err)?;
    field.send_keys(text).await.map_err(err)
}

async fn click(page: &Client, css: &str) -> Step<()> {
    page.find(Locator::Css(css))
        .await
        .map_err(|e| format!("{css}: {e}"))?
        .click()
        .await
        .map_err(err)
}

async fn source(page: &Client) -> Step<String> {
    page.source().await.map_err(err)
}

/// Waits until the page (after a click that navigates) contains `text`.
async fn wait_for(page: &Client, text: &str) -> Step<String> {
    for _ in 0..100 {
        let html = source(page).await?;
        if html.contains(text) {
            return Ok(html);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("the page never showed {text:?}"))
}

/// Waits until the browser's address starts with `prefix`.
async fn wait_for_url(page: &Client, prefix: &str) -> Step<url::Url> {
    for _ in 0..100 {
        let url = page.current_url().await.map_err(err)?;
        if url.as_str().starts_with(prefix) {
            return Ok(url);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("the browser never reached {prefix}"))
}

fn check(ok: bool, what: &str) -> Step<()> {
    if ok { Ok(()) } else { Err(what.to_owned()) }
}

/// The first word starting with `prefix` in a page.
fn word(html: &str, prefix: &str) -> Option<String> {
    html.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .find(|w| w.starts_with(prefix))
        .map(str::to_owned)
}

async fn the_whole_journey(app: &App, page: &Client) -> Step<()> {
    let site = client_site();
    let redirect_uri = format!("http://127.0.0.1:{site}/cb");

    // Sign in.
    page.goto(&app.url("/login")).await.map_err(err)?;
    fill(page, "#username", "alice").await?;
    fill(page, "#password", "alice password").await?;
    click(page, "main form button[type=submit]").await?;
    wait_for_url(page, &app.url("/account")).await?;

    // Register an app in the portal.
    page.goto(&app.url("/developer/apps/new"))
        .await
        .map_err(err)?;
    fill(page, "#app-name", "Photo Sync").await?;
    fill(page, "#app-redirect-uris", &redirect_uri).await?;
    for value in ["read", "write"] {
        click(page, &format!("input[name=scope][value=\"{value}\"]")).await?;
    }
    click(page, "input[name=grant_type][value=client_credentials]").await?;
    click(page, "main form button[type=submit]").await?;
    let html = wait_for(page, "Copy the secret now").await?;
    let secret = word(&html, "pc_cs_").ok_or("a client secret on the page")?;
    let client_id = page
        .find(Locator::Css("main code"))
        .await
        .map_err(err)?
        .text()
        .await
        .map_err(err)?;
    screenshot(page, "developer-app").await?;

    // Authorize it; untick one scope on the consent page.
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let encoded: String = url::form_urlencoded::byte_serialize(redirect_uri.as_bytes()).collect();
    page.goto(&app.url(&format!(
        "/oauth2/authorize?response_type=code&client_id={client_id}&redirect_uri={encoded}&state=xyz&code_challenge={challenge}&code_challenge_method=S256"
    )))
    .await
    .map_err(err)?;
    let consent = source(page).await?;
    check(
        consent.contains("Photo Sync") && consent.contains("Change your files"),
        "the consent page names app and scopes",
    )?;
    screenshot(page, "consent").await?;
    click(page, "input[name=scope][value=write]").await?;
    click(page, "button[name=decision][value=approve]").await?;
    let landed = wait_for_url(page, &redirect_uri).await?;
    let code = landed
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or("a code")?;
    let tokens: Value = post_form(
        &app.url("/oauth2/token"),
        Some((&client_id, &secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect_uri),
            ("code_verifier", verifier),
        ],
    )
    .await
    .json()
    .await
    .map_err(err)?;
    check(
        tokens["scope"] == "read",
        &format!("only the ticked scope: {tokens}"),
    )?;
    let access = tokens["access_token"]
        .as_str()
        .ok_or("an access token")?
        .to_owned();

    // Connections: the app is there; revoking it kills its tokens.
    page.goto(&app.url("/account/connections"))
        .await
        .map_err(err)?;
    check(
        source(page).await?.contains("Photo Sync"),
        "the app is on Connections",
    )?;
    screenshot(page, "connections").await?;
    click(page, "main form[action$=\"/revoke\"] button").await?;
    wait_for(page, "no longer has access").await?;
    let introspected: Value = post_form(
        &app.url("/oauth2/introspect"),
        Some((&client_id, &secret)),
        &[("token", &access)],
    )
    .await
    .json()
    .await
    .map_err(err)?;
    check(
        introspected == json!({"active": false}),
        "the token is dead after revoking",
    )?;

    // Rotate the secret: the old one is refused.
    page.goto(&app.url(&format!("/developer/apps/{client_id}")))
        .await
        .map_err(err)?;
    page.find(Locator::Css("#overlap"))
        .await
        .map_err(err)?
        .select_by_value("0")
        .await
        .map_err(err)?;
    click(page, "main form[action$=\"/rotate-secret\"] button").await?;
    let rotated =
        word(&wait_for(page, "A new secret is ready").await?, "pc_cs_").ok_or("a new secret")?;
    check(rotated != secret, "a different secret")?;
    let cc = [("grant_type", "client_credentials")];
    check(
        post_form(&app.url("/oauth2/token"), Some((&client_id, &secret)), &cc)
            .await
            .status()
            == 401,
        "the old secret is refused",
    )?;
    check(
        post_form(&app.url("/oauth2/token"), Some((&client_id, &rotated)), &cc)
            .await
            .status()
            == 200,
        "the new one works",
    )?;

    // A device code, approved on /device.
    let device = app
        .service
        .create_client(
            service::clients::ClientSpec {
                name: "TV".into(),
                public: true,
                scopes: vec!["read".into()],
                grant_types: vec!["urn:ietf:params:oauth:grant-type:device_code".into()],
                ..Default::default()
            },
            &Origin::cli(),
        )
        .await
        .map_err(err)?;
    let started: Value = post_form(
        &app.url("/oauth2/device_authorization"),
        None,
        &[("client_id", &device.client.id)],
    )
    .await
    .json()
    .await
    .map_err(err)?;
    page.goto(
        started["verification_uri"]
            .as_str()
            .ok_or("a verification URI")?,
    )
    .await
    .map_err(err)?;
    fill(
        page,
        "#user-code",
        started["user_code"].as_str().ok_or("a user code")?,
    )
    .await?;
    click(page, "button[name=step]").await?;
    let confirm = wait_for(page, "decision").await?;
    check(confirm.contains("TV"), "the device page names the app")?;
    screenshot(page, "device").await?;
    click(page, "button[name=decision][value=approve]").await?;
    wait_for(page, "is connected").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_work_in_a_real_browser() {
    let Some((_driver, page)) = browser().await else {
        if std::env::var("CI").is_ok() {
            panic!("chromedriver is missing; scripts/test installs it");
        }
        eprintln!("skipped: chromedriver is not installed (scripts/test installs it)");
        return;
    };
    let app = App::start(Backend::Sqlite, Policy::default()).await;
    let origin = Origin::cli();
    for (name, label) in [("read", "Read your files"), ("write", "Change your files")] {
        let scope = NewScope {
            name: name.into(),
            label: Some(label.into()),
            ..NewScope::default()
        };
        app.service.create_scope(scope, &origin).await.unwrap();
    }
    let alice = NewUser {
        username: "alice".into(),
        email: Some("alice@example.test".into()),
        password: "alice password".into(),
    };
    app.service.create_user(alice, &origin).await.unwrap();

    let outcome = the_whole_journey(&app, &page).await;
    if let Err(what) = &outcome {
        if let Ok(png) = page.screenshot().await {
            let path = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/browser-failure.png"
            );
            let _ = std::fs::write(path, png);
        }
        let url = page
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        let _ = page.close().await;
        panic!("{what} (at {url}; screenshot in target/browser-failure.png)");
    }
    let _ = page.close().await;
    app.stop().await;
}
