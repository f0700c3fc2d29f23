//! The authorization code flow with PKCE, as a browser and a client would
//! drive it: sign-in, consent, code exchange with the `oauth2` crate,
//! refresh rotation, replay and reuse detection. On both backends.

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge, RedirectUrl,
    RefreshToken, Scope, TokenResponse as _, TokenUrl,
};
use serde_json::{Value, json};

use crate::support::{
    Backend, Server, TestDatabase, both_backends, confidential_client, database, http, location,
    post_form, query_param, run_json,
};

struct Fixture {
    db: TestDatabase,
    _dir: tempfile::TempDir,
    server: Server,
    id: String,
    secret: String,
    browser: reqwest::Client,
}

async fn fixture(backend: Backend) -> Fixture {
    let db = database(backend).await;
    run_json(
        &db,
        &[
            "scope",
            "create",
            "read",
            "--label",
            "Read your files",
            "--description",
            "See every file",
        ],
        None,
    );
    run_json(
        &db,
        &["scope", "create", "write", "--label", "Change your files"],
        None,
    );
    run_json(
        &db,
        &["user", "create", "--username", "alice", "--password-stdin"],
        Some("alice password\n"),
    );
    let (id, secret) = confidential_client(
        &db,
        "Files App",
        &[
            "--redirect-uri",
            "https://app.test/cb",
            "--scope",
            "read",
            "--scope",
            "write",
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(&db, dir.path());
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Fixture {
        db,
        _dir: dir,
        server,
        id,
        secret,
        browser,
    }
}

fn oauth_client(
    f: &Fixture,
) -> BasicClient<
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
> {
    BasicClient::new(ClientId::new(f.id.clone()))
        .set_client_secret(ClientSecret::new(f.secret.clone()))
        .set_auth_uri(AuthUrl::new(f.server.url("/oauth2/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(f.server.url("/oauth2/token")).unwrap())
        .set_redirect_uri(RedirectUrl::new("https://app.test/cb".into()).unwrap())
}

/// The value of a hidden form field in a page.
fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in {html}"))
        + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// The page at `path`, as alice's browser gets it.
async fn page(f: &Fixture, path: &str) -> String {
    let response = f.browser.get(f.server.url(path)).send().await.unwrap();
    response.text().await.unwrap()
}

/// Signs alice in with the login form.
async fn sign_in(f: &Fixture) {
    let page = page(f, "/login").await;
    let response = f
        .browser
        .post(f.server.url("/login"))
        .form(&[
            ("username", "alice"),
            ("password", "alice password"),
            ("csrf_token", &field(&page, "csrf_token")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "signed in");
}

/// Follows an authorization URL to the client's redirect: through the
/// consent page when one is shown, choosing `decision` and `ticked` scopes.
async fn authorize(f: &Fixture, url: &str, decision: &str, ticked: Option<&[&str]>) -> String {
    let response = f.browser.get(url).send().await.unwrap();
    if response.status() == 303 {
        return location(&response);
    }
    assert_eq!(response.status(), 200, "the consent page");
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    assert!(
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    let page = response.text().await.unwrap();
    assert!(
        page.contains("Files App") && page.contains("Read your files"),
        "names the app and the scopes"
    );
    let mut form = vec![
        ("csrf_token".to_owned(), field(&page, "csrf_token")),
        ("interaction".to_owned(), field(&page, "interaction")),
        ("decision".to_owned(), decision.to_owned()),
    ];
    for s in ticked.unwrap_or(&[]) {
        form.push(("scope".to_owned(), (*s).to_owned()));
    }
    let response = f
        .browser
        .post(f.server.url("/oauth2/consent"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    location(&response)
}

async fn code_flow_with_pkce_refresh_and_replay(backend: Backend) {
    let f = fixture(backend).await;
    let client = oauth_client(&f);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".into()))
        .set_pkce_challenge(challenge)
        .url();

    // Not signed in: to the login page and back.
    let first = f.browser.get(url.as_str()).send().await.unwrap();
    assert_eq!(first.status(), 303);
    assert!(location(&first).starts_with("/login?return_to="));
    sign_in(&f).await;

    let back = authorize(&f, url.as_str(), "approve", None).await;
    assert!(back.starts_with("https://app.test/cb?"), "{back}");
    assert_eq!(
        query_param(&back, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    assert_eq!(
        query_param(&back, "iss").as_deref(),
        Some(f.server.base_url.as_str())
    );
    let code = query_param(&back, "code").unwrap();

    let token = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(verifier)
        .request_async(&crate::support::oauth_http)
        .await
        .expect("the code exchange");
    let access = token.access_token().secret().clone();
    let refresh = token
        .refresh_token()
        .expect("a refresh token")
        .secret()
        .clone();
    assert_eq!(
        token
            .scopes()
            .unwrap()
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
        ["read"]
    );
    let me: Value = f
        .browser
        .get(f.server.url("/oauth2/userinfo"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["preferred_username"], "alice");

    // Rotation: a new pair, and an immediate retry gets the same pair.
    let rotated = client
        .exchange_refresh_token(&RefreshToken::new(refresh.clone()))
        .request_async(&crate::support::oauth_http)
        .await
        .expect("a refresh");
    let retried = client
        .exchange_refresh_token(&RefreshToken::new(refresh.clone()))
        .request_async(&crate::support::oauth_http)
        .await
        .expect("a retry within the grace window");
    assert_eq!(
        rotated.access_token().secret(),
        retried.access_token().secret()
    );
    let rt2 = rotated.refresh_token().unwrap().secret().clone();
    assert_eq!(&rt2, retried.refresh_token().unwrap().secret());
    assert_ne!(rt2, refresh);

    // Narrowing is allowed, widening is not.
    let wide = post_form(
        &f.server.url("/oauth2/token"),
        Some((&f.id, &f.secret)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt2),
            ("scope", "read write"),
        ],
    )
    .await;
    assert_eq!(wide.status(), 400);
    assert_eq!(
        wide.json::<Value>().await.unwrap()["error"],
        "invalid_scope"
    );

    let third: Value = post_form(
        &f.server.url("/oauth2/token"),
        Some((&f.id, &f.secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", &rt2)],
    )
    .await
    .json()
    .await
    .unwrap();
    let rt3 = third["refresh_token"].as_str().unwrap().to_owned();

    // The first refresh token again, after its successor was used: reuse.
    let reuse = post_form(
        &f.server.url("/oauth2/token"),
        Some((&f.id, &f.secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(reuse.status(), 400);
    assert_eq!(
        reuse.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let introspect = f.server.url("/oauth2/introspect");
    for dead in [&rt3, third["access_token"].as_str().unwrap()] {
        let body: Value = post_form(&introspect, Some((&f.id, &f.secret)), &[("token", dead)])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            body,
            json!({"active": false}),
            "reuse revoked the whole family"
        );
    }

    // Replaying the code fails and revokes what it issued.
    let replay = post_form(
        &f.server.url("/oauth2/token"),
        Some((&f.id, &f.secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://app.test/cb"),
        ],
    )
    .await;
    assert_eq!(replay.status(), 400);
    assert_eq!(
        replay.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let body: Value = post_form(&introspect, Some((&f.id, &f.secret)), &[("token", &access)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!({"active": false}));

    // The consent is remembered: the same request skips the page.
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let (again, _) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".into()))
        .set_pkce_challenge(challenge)
        .url();
    let direct = f.browser.get(again.as_str()).send().await.unwrap();
    assert_eq!(direct.status(), 303);
    assert!(query_param(&location(&direct), "code").is_some());

    let dump = f.db.dump().await;
    for secret in [&access, &refresh, &rt2, &code] {
        assert!(
            !crate::support::contains(&dump, secret),
            "no token or code is stored in plaintext"
        );
    }
}

async fn the_user_chooses_scopes_or_denies(backend: Backend) {
    let f = fixture(backend).await;
    sign_in(&f).await;
    let client = oauth_client(&f);
    // No scope named: the user picks; only the ticked one is granted.
    let (url, _) = client.authorize_url(CsrfToken::new_random).url();
    let back = authorize(&f, url.as_str(), "approve", Some(&["write"])).await;
    let code = query_param(&back, "code").expect("a code");
    let token: Value = post_form(
        &f.server.url("/oauth2/token"),
        Some((&f.id, &f.secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://app.test/cb"),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(token["scope"], "write");

    // Denying sends access_denied back with the state.
    let (url, csrf) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".into()))
        .url();
    let back = authorize(&f, url.as_str(), "deny", None).await;
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(
        query_param(&back, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    assert!(query_param(&back, "code").is_none());
}

async fn authorization_errors_never_redirect_to_unverified_uris(backend: Backend) {
    let f = fixture(backend).await;
    sign_in(&f).await;
    let base = f.server.url("/oauth2/authorize");
    let no_redirect = [
        format!(
            "{base}?response_type=code&client_id=nobody&redirect_uri=https%3A%2F%2Fevil.test%2F"
        ),
        format!(
            "{base}?response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fevil.test%2Fcb",
            f.id
        ),
        format!(
            "{base}?response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fapp.test%2Fcb%2F",
            f.id
        ),
        format!(
            "{base}?response_type=code&client_id={0}&client_id={0}",
            f.id
        ),
    ];
    for url in &no_redirect {
        let r = f.browser.get(url).send().await.unwrap();
        assert_eq!(r.status(), 400, "{url}");
        assert!(r.headers().get("location").is_none(), "{url}");
    }
    let to_client: [(String, &str); 4] = [
        (
            format!("{base}?response_type=token&client_id={}&state=S", f.id),
            "unsupported_response_type",
        ),
        (
            format!("{base}?client_id={}&state=S", f.id),
            "invalid_request",
        ),
        (
            format!(
                "{base}?response_type=code&client_id={}&state=S&scope=admin",
                f.id
            ),
            "invalid_scope",
        ),
        (
            format!(
                "{base}?response_type=code&client_id={}&state=S&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=plain",
                f.id
            ),
            "invalid_request",
        ),
    ];
    for (url, error) in &to_client {
        let r = f.browser.get(url).send().await.unwrap();
        assert_eq!(r.status(), 303, "{url}");
        let back = location(&r);
        assert!(back.starts_with("https://app.test/cb?"), "{back}");
        assert_eq!(
            query_param(&back, "error").as_deref(),
            Some(*error),
            "{url}"
        );
        assert_eq!(query_param(&back, "state").as_deref(), Some("S"));
        assert_eq!(
            query_param(&back, "iss").as_deref(),
            Some(f.server.base_url.as_str())
        );
    }
    // A public client must use PKCE.
    let public = run_json(
        &f.db,
        &[
            "client",
            "create",
            "--name",
            "spa",
            "--public",
            "--redirect-uri",
            "https://spa.test/cb",
        ],
        None,
    );
    let url = format!(
        "{base}?response_type=code&client_id={}&state=S",
        public["client_id"].as_str().unwrap()
    );
    let back = location(&f.browser.get(&url).send().await.unwrap());
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("invalid_request")
    );
}

async fn concurrent_redemptions_of_one_code_have_one_winner(backend: Backend) {
    let f = fixture(backend).await;
    sign_in(&f).await;
    let (url, _) = oauth_client(&f)
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".into()))
        .url();
    let code = query_param(&authorize(&f, url.as_str(), "approve", None).await, "code").unwrap();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(50));
    let attempts: Vec<_> = (0..50)
        .map(|_| {
            let (barrier, url, id, secret, code) = (
                barrier.clone(),
                f.server.url("/oauth2/token"),
                f.id.clone(),
                f.secret.clone(),
                code.clone(),
            );
            tokio::spawn(async move {
                barrier.wait().await;
                let form = [
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", "https://app.test/cb"),
                ];
                post_form(&url, Some((&id, &secret)), &form)
                    .await
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for a in attempts {
        statuses.push(a.await.unwrap());
    }
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
}

/// A code is only as good as the consent it came from: once the user
/// revokes the app on Connections, the unredeemed code is refused. A code
/// with any character changed is never accepted.
async fn a_code_dies_with_its_consent_and_cannot_be_forged(backend: Backend) {
    let f = fixture(backend).await;
    sign_in(&f).await;
    let (url, _) = oauth_client(&f)
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".into()))
        .url();
    let exchange = |code: String| {
        let (url, id, secret) = (
            f.server.url("/oauth2/token"),
            f.id.clone(),
            f.secret.clone(),
        );
        async move {
            let form = [
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://app.test/cb"),
            ];
            let response = post_form(&url, Some((&id, &secret)), &form).await;
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };

    let code = query_param(&authorize(&f, url.as_str(), "approve", None).await, "code").unwrap();
    // A character in the middle: what it encodes is covered by the MAC.
    let mut forged = code.clone().into_bytes();
    let middle = forged.len() / 2;
    forged[middle] = if forged[middle] == b'A' { b'B' } else { b'A' };
    let (status, body) = exchange(String::from_utf8(forged).unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // A token of the same consent, in use: userinfo answers for it.
    let used = query_param(&authorize(&f, url.as_str(), "approve", None).await, "code").unwrap();
    let (status, issued) = exchange(used).await;
    assert_eq!(status, 200, "{issued}");
    let userinfo = |token: String| {
        let url = f.server.url("/oauth2/userinfo");
        async move {
            http()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let access = issued["access_token"].as_str().unwrap().to_owned();
    assert_eq!(userinfo(access.clone()).await, 200);

    let page = page(&f, "/account/connections").await;
    let revoked = f
        .browser
        .post(
            f.server
                .url(&format!("/account/connections/{}/revoke", f.id)),
        )
        .form(&[("csrf_token", field(&page, "csrf_token"))])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 303);
    assert_eq!(
        userinfo(access).await,
        401,
        "the token stops with its connection at once"
    );
    let (status, body) = exchange(code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    assert_eq!(
        body["error_description"],
        "the authorization code has been revoked"
    );

    // Approving again gives a code that works.
    let code = query_param(&authorize(&f, url.as_str(), "approve", None).await, "code").unwrap();
    let (status, body) = exchange(code).await;
    assert_eq!(status, 200, "{body}");
}

both_backends!(
    code_flow_with_pkce_refresh_and_replay,
    the_user_chooses_scopes_or_denies,
    authorization_errors_never_redirect_to_unverified_uris,
    concurrent_redemptions_of_one_code_have_one_winner,
    a_code_dies_with_its_consent_and_cannot_be_forged,
);
