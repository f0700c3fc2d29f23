//! Helpers: run the binary, start a server on a random port, and
//! instantiate a test for each backend.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

pub use store::testing::{Backend, TestDatabase};

/// Instantiates each listed `async fn(Backend)` once per backend.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::support::Backend::Sqlite).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if std::env::var(store::testing::POSTGRES_ENV).is_err() {
                    eprintln!("skipped: {} is not set", store::testing::POSTGRES_ENV);
                    return;
                }
                super::$name($crate::support::Backend::Postgres).await;
            })*
        }
    };
}
pub(crate) use both_backends;

pub async fn database(backend: Backend) -> TestDatabase {
    TestDatabase::create(backend)
        .await
        .expect("a test database")
}

pub fn portcullis() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    cmd.env_remove("PORTCULLIS_DATABASE_URL")
        .env_remove("PORTCULLIS_CONFIG")
        .env_remove("PORTCULLIS_LISTEN")
        .env_remove("PORTCULLIS_ISSUER");
    cmd
}

/// Runs an admin command against a database, with optional stdin.
pub fn run(db: &TestDatabase, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = portcullis();
    cmd.arg("--database-url").arg(&db.url).args(args);
    run_command(cmd, stdin)
}

pub fn run_command(mut cmd: Command, stdin: Option<&str>) -> Output {
    use std::io::Write as _;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start portcullis");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("write stdin");
    }
    drop(input);
    child.wait_with_output().expect("wait for portcullis")
}

/// Runs a command that must succeed with `--json` and returns its document.
pub fn run_json(db: &TestDatabase, args: &[&str], stdin: Option<&str>) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = run(db, &all, stdin);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("exactly one JSON document on stdout")
}

/// Runs a command that must fail, and returns its stderr.
pub fn run_err(db: &TestDatabase, args: &[&str]) -> String {
    let out = run(db, args, None);
    assert!(!out.status.success(), "{args:?} should have failed");
    assert!(
        out.stdout.is_empty(),
        "a failed command prints nothing on stdout"
    );
    String::from_utf8(out.stderr).expect("utf-8")
}

/// A running `portcullis serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub base_url: String,
    pub banner: String,
}

impl Server {
    /// Starts `portcullis serve` on a random port in `dir`, with extra arguments.
    pub fn start(dir: &Path, args: &[&str]) -> Server {
        let mut cmd = portcullis();
        cmd.current_dir(dir)
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("start portcullis serve");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut banner = String::new();
        stdout.read_line(&mut banner).expect("read the banner");
        let base_url = banner
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {banner:?}"))
            .to_owned();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while stdout.read_line(&mut sink).unwrap_or(0) > 0 {
                sink.clear();
            }
        });
        Server {
            child,
            base_url,
            banner,
        }
    }

    pub fn start_on(db: &TestDatabase, dir: &Path) -> Server {
        Server::start(dir, &["--database-url", &db.url])
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        wait_timeout(&mut self.child, Duration::from_secs(10))
            .expect("portcullis exits after SIGTERM")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn wait_timeout(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// An HTTP client that never follows redirects.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The `oauth2` crate's HTTP client, over reqwest, with redirects off.
pub async fn oauth_http(
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let response = http()
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let mut builder = oauth2::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    Ok(builder
        .body(response.bytes().await?.to_vec())
        .expect("a response"))
}

/// A confidential client created with the CLI: (client_id, client_secret).
pub fn confidential_client(db: &TestDatabase, name: &str, extra: &[&str]) -> (String, String) {
    let mut args = vec!["client", "create", "--name", name];
    args.extend_from_slice(extra);
    let v = run_json(db, &args, None);
    (
        v["client_id"].as_str().unwrap().to_owned(),
        v["client_secret"].as_str().unwrap().to_owned(),
    )
}

/// Posts a form to a back-channel endpoint with HTTP Basic credentials.
pub async fn post_form(
    url: &str,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = http().post(url).form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(form_encode(id), Some(form_encode(secret)));
    }
    req.send().await.expect("the server answers")
}

/// RFC 6749 section 2.3.1: Basic credentials are form-encoded first.
pub fn form_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'*') {
            out.push(b as char);
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A server started inside the test process, with a clock the test moves.
pub struct App {
    /// Outlives the server.
    pub db: TestDatabase,
    pub service: service::Service,
    pub clock: std::sync::Arc<service::ManualClock>,
    pub base_url: String,
    running: Option<portcullis::serve::Running>,
}

impl App {
    pub async fn start(backend: Backend, policy: service::Policy) -> App {
        App::start_with(backend, policy, None).await
    }

    pub async fn start_with(
        backend: Backend,
        policy: service::Policy,
        templates_dir: Option<&Path>,
    ) -> App {
        let db = database(backend).await;
        let store = store::connect(&db.url).await.expect("connect");
        store.migrate().await.expect("migrate");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let clock = std::sync::Arc::new(service::ManualClock::new(now));
        let service = service::Service::open(store, clock.clone(), policy.clone())
            .await
            .expect("open the service");
        let settings = portcullis::config::Settings {
            listen: "127.0.0.1:0".parse().unwrap(),
            database_url: db.url.clone(),
            issuer: None,
            templates_dir: templates_dir.map(Path::to_path_buf),
            policy,
            dialect: std::sync::Arc::new(web::Dialect::native()),
            scopes: Vec::new(),
        };
        let running = portcullis::serve::start(service.clone(), &settings)
            .await
            .expect("start the server");
        let base_url = format!("http://{}", running.addr);
        App {
            db,
            service,
            clock,
            base_url,
            running: Some(running),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.expect("a graceful stop");
        }
    }
}

/// The value of a form field in a page (the first one with that name).
pub fn form_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in {html}"))
        + marker.len();
    html[start..start + html[start..].find('"').expect("a closing quote")].to_owned()
}

/// A browser (cookies on, redirects off) signed in through the login form.
pub async fn signed_in_browser(base_url: &str, username: &str, password: &str) -> reqwest::Client {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a browser");
    let page = browser
        .get(format!("{base_url}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = form_field(&page, "csrf_token");
    let response = browser
        .post(format!("{base_url}/login"))
        .form(&[
            ("username", username),
            ("password", password),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "signed in as {username}");
    browser
}

/// The pairing code (`XXXX-XXXX-XXXX`) a page shows.
pub fn pairing_code_in(html: &str) -> String {
    html.split(|c: char| !(c.is_ascii_uppercase() || c == '-'))
        .find(|w| w.len() == 14 && w.matches('-').count() == 2)
        .unwrap_or_else(|| panic!("a code in {html}"))
        .to_owned()
}

/// A client_credentials access token from a running server.
pub async fn client_token(server: &Server, id: &str, secret: &str) -> String {
    let response = post_form(
        &server.url("/oauth2/token"),
        Some((id, secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(response.status(), 200);
    response.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The `Location` of a redirect.
pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location ({})", r.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// A query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}
