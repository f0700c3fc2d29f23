//! The dialect profiles in `examples/profiles/`: each test starts
//! `portcullis serve --config examples/profiles/<name>.toml` and follows that
//! platform's document step by step, as a third-party developer would: the
//! same paths, parameters, encodings and expected response members.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    Backend, Server, TestDatabase, both_backends, database, form_field, http, location,
    pairing_code_in, query_param, run, signed_in_browser,
};

fn profile(name: &str) -> String {
    format!(
        "{}/../../examples/profiles/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A platform running a profile, with a developer and a user signed up.
struct Platform {
    _db: TestDatabase,
    _dir: tempfile::TempDir,
    server: Server,
}

impl Platform {
    async fn start(backend: Backend, name: &str) -> Platform {
        Platform::start_with(backend, name, &profile(name)).await
    }

    async fn start_with(backend: Backend, name: &str, config: &str) -> Platform {
        let db = database(backend).await;
        let dir = tempfile::tempdir().unwrap();
        for (user, password) in [("dev", "developer password"), ("alice", "alice password")] {
            let out = run(
                &db,
                &["user", "create", "--username", user, "--password-stdin"],
                Some(&format!("{password}\n")),
            );
            assert!(out.status.success(), "{user} signs up");
        }
        let server = Server::start(dir.path(), &["--config", config, "--database-url", &db.url]);
        assert!(
            server.banner.contains(&format!("dialect {name}")),
            "{}",
            server.banner
        );
        Platform {
            _db: db,
            _dir: dir,
            server,
        }
    }

    fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    async fn sign_in(&self, user: &str) -> reqwest::Client {
        let password = if user == "dev" {
            "developer password"
        } else {
            "alice password"
        };
        signed_in_browser(&self.server.base_url, user, password).await
    }
}

async fn page(browser: &reqwest::Client, url: &str) -> String {
    let response = browser.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET {url}");
    response.text().await.unwrap()
}

/// The `action` of the form in `html` that holds a field named `field`.
fn form_action(html: &str, field: &str) -> String {
    let at = html
        .find(&format!("name=\"{field}\""))
        .unwrap_or_else(|| panic!("no field {field} in {html}"));
    let form = html[..at].rfind("<form").expect("the field is in a form");
    let marker = "action=\"";
    let start = form + html[form..].find(marker).expect("an action") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].replace("&#x2f;", "/")
}

/// Registers an app through the developer pages, starting at `new_app`:
/// returns its client id and secret as the page shows them once.
async fn register_app(
    platform: &Platform,
    developer: &reqwest::Client,
    new_app: &str,
    fields: &[(&str, &str)],
) -> (String, String) {
    let form = page(developer, &platform.url(new_app)).await;
    let csrf = form_field(&form, "csrf_token");
    let mut body = vec![("csrf_token", csrf.as_str())];
    body.extend_from_slice(fields);
    let created = developer
        .post(platform.url(&form_action(&form, "redirect_uris")))
        .form(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200, "the app is registered");
    let html = created.text().await.unwrap();
    let word = |prefix: &str| {
        html.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .find(|w| w.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {html}"))
            .to_owned()
    };
    let secret = word("pc_cs_");
    let marker = "<code class=\"client-id\">";
    let start = html.find(marker).expect("the client id is shown") + marker.len();
    let id = html[start..start + html[start..].find('<').unwrap()].to_owned();
    (id, secret)
}

/// Answers a consent page: posts the decision where the form says.
async fn decide(
    browser: &reqwest::Client,
    platform: &Platform,
    consent: &str,
    decision: &str,
    ticked: &[&str],
) -> String {
    let mut body = vec![
        ("csrf_token", form_field(consent, "csrf_token")),
        ("interaction", form_field(consent, "interaction")),
        ("decision", decision.to_owned()),
    ];
    body.extend(ticked.iter().map(|s| ("scope", (*s).to_owned())));
    let response = browser
        .post(platform.url(&form_action(consent, "interaction")))
        .form(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "the decision redirects");
    location(&response)
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.expect("a JSON body")
}

/// Bitport: "Authentication and Access".
async fn bitport_document_works_verbatim(backend: Backend) {
    let bitport = Platform::start(backend, "bitport").await;
    let dev = bitport.sign_in("dev").await;

    // 1. "Register your new application at .../api/create-application"
    let (app_id, app_secret) = register_app(
        &bitport,
        &dev,
        "/api/create-application",
        &[
            ("name", "Seedbox Sync"),
            ("redirect_uris", "https://seedbox.example/bitport"),
            ("grant_type", "authorization_code"),
            (
                "grant_type",
                "urn:portcullis:params:oauth:grant-type:pairing_code",
            ),
        ],
    )
    .await;
    // "You can find list of your current applications at .../api/list-of-applications"
    let list = page(&dev, &bitport.url("/api/list-of-applications")).await;
    assert!(list.contains("Seedbox Sync"), "{list}");

    // 2a. "Redirect users ... to .../v2/oauth2/authorize?response_type=code&client_id=YOUR_APPLICATION_ID"
    let alice = bitport.sign_in("alice").await;
    let authorize = bitport.url(&format!(
        "/v2/oauth2/authorize?response_type=code&client_id={app_id}"
    ));
    let consent = page(&alice, &authorize).await;
    assert!(consent.contains("Seedbox Sync"));
    // 2b. "If a user accepts, he will be redirected back to https://YOUR_REDIRECT_URI/?code=GENERATED_CODE"
    let back = decide(&alice, &bitport, &consent, "approve", &[]).await;
    assert!(
        back.starts_with("https://seedbox.example/bitport?code="),
        "{back}"
    );
    let code = query_param(&back, "code").unwrap();

    // 2c. POST application/x-www-form-urlencoded to .../v2/oauth2/access-token
    let exchange = [
        ("client_id", app_id.as_str()),
        ("client_secret", app_secret.as_str()),
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
    ];
    let response = http()
        .post(bitport.url("/v2/oauth2/access-token"))
        .form(&exchange)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    // "Response: {'access_token': ACCESS_TOKEN}"
    let access_token = json_of(response).await["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();

    // 3. "Methods are always called with the header Authorization: Bearer ACCESS_TOKEN"
    //    and "All successful responses will look like { status, data, errors: null }"
    let me = http()
        .get(bitport.url("/v2/user/me"))
        .header("Authorization", format!("Bearer {access_token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let me = json_of(me).await;
    assert_eq!(me["status"], "success");
    assert_eq!(me["errors"], Value::Null);
    assert_eq!(me["data"][0]["username"], "alice");

    // "All error responses will look like { status: error, data: null, errors: [{message, code}] }"
    let replay = http()
        .post(bitport.url("/v2/oauth2/access-token"))
        .form(&exchange)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 400);
    let replay = json_of(replay).await;
    assert_eq!(replay["status"], "error");
    assert_eq!(replay["data"], Value::Null);
    assert_eq!(replay["errors"][0]["code"], 102, "invalid_grant: {replay}");
    assert!(
        replay["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("already been used")
    );
    let revoked = http()
        .get(bitport.url("/v2/user/me"))
        .header("Authorization", format!("Bearer {access_token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 401, "a replayed code revokes its tokens");
    assert_eq!(json_of(revoked).await["errors"][0]["code"], 110);
    let wrong_secret = http()
        .post(bitport.url("/v2/oauth2/access-token"))
        .form(&[
            ("client_id", app_id.as_str()),
            ("client_secret", "pc_cs_wrong"),
            ("grant_type", "authorization_code"),
            ("code", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_secret.status(), 401);
    assert_eq!(json_of(wrong_secret).await["errors"][0]["code"], 101);
    let as_json = http()
        .post(bitport.url("/v2/oauth2/access-token"))
        .json(&json!({ "grant_type": "authorization_code" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        as_json.status(),
        400,
        "the document's encoding is form only"
    );
    assert_eq!(json_of(as_json).await["errors"][0]["code"], 100);

    // TIP: "ask the user to visit http://bitport.io/get-access to obtain the code (USER_CODE)"
    let get_access = page(&alice, &bitport.url("/get-access")).await;
    let csrf = form_field(&get_access, "csrf_token");
    let shown = alice
        .post(bitport.url(&form_action(&get_access, "client_id_text")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("client_id", app_id.as_str()),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let user_code = pairing_code_in(&shown);
    // "... with parameters client_id=...&client_secret=...&grant_type=code&code=USER_CODE"
    let device = http()
        .post(bitport.url("/v2/oauth2/access-token"))
        .form(&[
            ("client_id", app_id.as_str()),
            ("client_secret", app_secret.as_str()),
            ("grant_type", "code"),
            ("code", user_code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(device.status(), 200);
    let device_token = json_of(device).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = http()
        .get(bitport.url("/v2/user/me"))
        .bearer_auth(&device_token)
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(me).await["data"][0]["username"], "alice");

    // The standard paths stay mounted and standard.
    let native = http()
        .post(bitport.url("/oauth2/token"))
        .form(&[("grant_type", "code")])
        .send()
        .await
        .unwrap();
    assert_eq!(native.status(), 401);
    assert_eq!(json_of(native).await["error"], "invalid_client");
    let metadata = json_of(
        http()
            .get(bitport.url("/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        metadata["token_endpoint"],
        bitport.url("/v2/oauth2/access-token")
    );
}

/// Bits: "Authentication and Authorization".
async fn bits_document_works_verbatim(backend: Backend) {
    let bits = Platform::start(backend, "bits").await;
    let dev = bits.sign_in("dev").await;
    // "The customer must create API credentials (client ID and secret) in the
    // Bits Dashboard's Developer Page."
    let (client_id, client_secret) = register_app(
        &bits,
        &dev,
        "/developer/apps/new",
        &[
            ("name", "Onboarding backend"),
            ("redirect_uris", ""),
            ("grant_type", "client_credentials"),
            ("scope", "application"),
            ("scope", "application.read"),
            ("scope", "application.session"),
        ],
    )
    .await;

    // POST /v1/oauth2/token, Authorization: Basic base64(clientId:clientSecret),
    // Content-Type: application/x-www-form-urlencoded, grant_type=client_credentials
    let token = |form: Vec<(&'static str, String)>| {
        http()
            .post(bits.url("/v1/oauth2/token"))
            .basic_auth(&client_id, Some(&client_secret))
            .form(&form)
            .send()
    };
    let response = token(vec![("grant_type", "client_credentials".into())])
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = json_of(response).await;
    // { "type": "Bearer", "access_token": ..., "expires_in": 3600, "scope": "application" }
    let mut members: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    members.sort_unstable();
    assert_eq!(
        members,
        ["access_token", "expires_in", "scope", "type"],
        "{body}"
    );
    assert_eq!(body["type"], "Bearer");
    assert_eq!(body["expires_in"], 3600, "valid for 1 hour");
    assert_eq!(
        body["scope"], "application application.read",
        "scopes that need claims are only granted when asked for"
    );
    let access_token = body["access_token"].as_str().unwrap().to_owned();

    // GET /oauth2/userinfo, Authorization: bearer <accessToken>
    let me = http()
        .get(bits.url("/oauth2/userinfo"))
        .header("Authorization", format!("bearer {access_token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let me = json_of(me).await;
    let customer = me["customerId"].as_str().expect("customerId");
    let uuid = customer
        .strip_prefix("bits:customer::")
        .unwrap_or_else(|| panic!("{customer}"));
    let groups: Vec<usize> = uuid.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12], "{uuid}");
    assert!(uuid.chars().all(|c| c.is_ascii_hexdigit() || c == '-'));
    assert_eq!(me.as_object().unwrap().len(), 1, "{me}");

    // "application.session | application_id, workflow_id, redirect_url"
    let missing = token(vec![
        ("grant_type", "client_credentials".into()),
        ("scope", "application.session".into()),
        ("application_id", "app-42".into()),
    ])
    .await
    .unwrap();
    assert_eq!(missing.status(), 400);
    let missing = json_of(missing).await;
    assert_eq!(missing["error"], "invalid_request");
    let why = missing["error_description"].as_str().unwrap();
    assert!(
        why.contains("redirect_url") && why.contains("workflow_id"),
        "{why}"
    );
    assert!(!why.contains("application_id"), "{why}");

    let session = token(vec![
        ("grant_type", "client_credentials".into()),
        ("scope", "application.session".into()),
        ("application_id", "app-42".into()),
        ("workflow_id", "wf-7".into()),
        ("redirect_url", "https://shop.example/done".into()),
    ])
    .await
    .unwrap();
    assert_eq!(session.status(), 200);
    let session = json_of(session).await;
    assert_eq!(session["scope"], "application.session");
    let introspected = json_of(
        http()
            .post(bits.url("/oauth2/introspect"))
            .basic_auth(&client_id, Some(&client_secret))
            .form(&[("token", session["access_token"].as_str().unwrap())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(introspected["active"], true);
    assert_eq!(introspected["application_id"], "app-42");
    assert_eq!(introspected["workflow_id"], "wf-7");
    assert_eq!(introspected["redirect_url"], "https://shop.example/done");

    // The same claims as RFC 9396 authorization_details.
    let details = json!([{
        "type": "application.session",
        "application_id": "app-43",
        "workflow_id": "wf-8",
        "redirect_url": "https://shop.example/next",
    }]);
    let detailed = token(vec![
        ("grant_type", "client_credentials".into()),
        ("scope", "application.session".into()),
        ("authorization_details", details.to_string()),
    ])
    .await
    .unwrap();
    assert_eq!(detailed.status(), 200);
    let detailed = json_of(detailed).await;
    assert_eq!(detailed["authorization_details"], details);
    let introspected = json_of(
        http()
            .post(bits.url("/oauth2/introspect"))
            .basic_auth(&client_id, Some(&client_secret))
            .form(&[("token", detailed["access_token"].as_str().unwrap())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(introspected["application_id"], "app-43");
    assert_eq!(introspected["authorization_details"], details);
}

/// Cryptohopper: "Oauth2 Authentication".
async fn cryptohopper_document_works_verbatim(backend: Backend) {
    let hopper = Platform::start(backend, "cryptohopper").await;
    let dev = hopper.sign_in("dev").await;
    let (app_key, app_secret) = register_app(
        &hopper,
        &dev,
        "/developer/apps/new",
        &[
            ("name", "Signal Bot"),
            ("redirect_uris", "https://signals.example/oauth/callback"),
            ("grant_type", "authorization_code"),
            ("grant_type", "refresh_token"),
            ("scope", "read"),
            ("scope", "notifications"),
            ("scope", "manage"),
            ("scope", "trade"),
        ],
    )
    .await;
    let alice = hopper.sign_in("alice").await;

    // authorize: client_id, response_type=code, redirect_uri, state,
    // scope "A comma separated list of scopes, for example: read,notifications,manage,trade."
    let redirect_uri = "https://signals.example/oauth/callback";
    let authorize = |extra: &str| {
        hopper.url(&format!(
            "/oauth2/authorize?client_id={app_key}&response_type=code&state=abc123&scope=read,notifications,manage,trade{extra}"
        ))
    };
    let consent = page(
        &alice,
        &authorize(&format!(
            "&redirect_uri={}",
            url::form_urlencoded::byte_serialize(redirect_uri.as_bytes()).collect::<String>()
        )),
    )
    .await;
    assert!(consent.contains("Trade") && consent.contains("Notifications"));
    // "Returns: code, state in GET on the redirect url"
    let back = decide(&alice, &hopper, &consent, "approve", &[]).await;
    assert!(back.starts_with(redirect_uri), "{back}");
    assert_eq!(query_param(&back, "state").as_deref(), Some("abc123"));
    let code = query_param(&back, "code").unwrap();

    // token: "Accepts: POST in application/json", client_id, client_secret,
    // grant_type=authorization_code, redirect_uri, code.
    let response = http()
        .post(hopper.url("/oauth2/token"))
        .json(&json!({
            "client_id": app_key,
            "client_secret": app_secret,
            "grant_type": "authorization_code",
            "redirect_uri": redirect_uri,
            "code": code,
        }))
        .send()
        .await
        .unwrap();
    // "A succesfull request to the token endpoint will have a 200 response
    // code and will include an access_token" ("Returns: access_token and refresh_token")
    assert_eq!(response.status(), 200);
    let tokens = json_of(response).await;
    let access_token = tokens["access_token"].as_str().unwrap();
    assert!(tokens["refresh_token"].as_str().is_some());
    let scope = tokens["scope"].as_str().unwrap();
    let mut granted: Vec<&str> = scope.split(',').collect();
    granted.sort_unstable();
    assert_eq!(
        granted,
        ["manage", "notifications", "read", "trade"],
        "{scope}"
    );
    // "Authorize all HTTP requests it sends to Cryptohopper's APIs."
    let me = http()
        .get(hopper.url("/oauth2/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(json_of(me).await["preferred_username"], "alice");

    // "If the redirect URL is not specified in the request, the redirect URL
    // of the application configuration is used."
    let remembered = alice.get(authorize("")).send().await.unwrap();
    assert_eq!(remembered.status(), 303, "consent is remembered");
    assert!(location(&remembered).starts_with(redirect_uri));

    // "Errors returned to the redirect URL are recognizable by ... error=1"
    let dev_consent = page(
        &dev,
        &hopper.url(&format!(
            "/oauth2/authorize?client_id={app_key}&response_type=code&state=s2"
        )),
    )
    .await;
    let denied = decide(&dev, &hopper, &dev_consent, "deny", &[]).await;
    assert!(denied.starts_with(redirect_uri), "{denied}");
    assert_eq!(query_param(&denied, "error").as_deref(), Some("1"));
    assert_eq!(
        query_param(&denied, "message").as_deref(),
        Some("User did not give permission to the app.")
    );
    assert_eq!(query_param(&denied, "state").as_deref(), Some("s2"));
    let unknown_scope = alice
        .get(hopper.url(&format!(
            "/oauth2/authorize?client_id={app_key}&response_type=code&scope=read,withdraw"
        )))
        .send()
        .await
        .unwrap();
    let unknown_scope = location(&unknown_scope);
    assert_eq!(query_param(&unknown_scope, "error").as_deref(), Some("1"));
    assert!(
        query_param(&unknown_scope, "message")
            .unwrap()
            .contains("withdraw")
    );

    // "App key is invalid." and "App key cannot be empty." have no verified
    // redirect URL: they are shown, never redirected.
    for (query, message) in [
        ("client_id=nope&response_type=code", "App key is invalid."),
        ("response_type=code", "App key cannot be empty."),
    ] {
        let response = alice
            .get(hopper.url(&format!("/oauth2/authorize?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.headers().get("location").is_none());
        assert!(response.text().await.unwrap().contains(message));
    }
}

/// BitBadges: "API Authorization".
async fn bitbadges_document_works_verbatim(backend: Backend) {
    let badges = Platform::start(backend, "bitbadges").await;
    let dev = badges.sign_in("dev").await;
    // Step 1: "Create your app at https://bitbadges.io/developer."
    let developer = page(&dev, &badges.url("/developer")).await;
    assert!(developer.contains("/developer/apps/new"), "{developer}");
    let redirect_uri = "https://badge-tools.example/api/callback";
    let (client_id, client_secret) = register_app(
        &badges,
        &dev,
        "/developer/apps/new",
        &[
            ("name", "Badge Tools"),
            ("redirect_uris", redirect_uri),
            ("grant_type", "authorization_code"),
            ("grant_type", "refresh_token"),
            ("scope", "address_lists.create"),
            ("scope", "claims.complete"),
            ("scope", "profile.read"),
        ],
    )
    .await;
    let alice = badges.sign_in("alice").await;
    let encoded_uri: String =
        url::form_urlencoded::byte_serialize(redirect_uri.as_bytes()).collect();

    // Step 2: "By default, we allow the user to select".
    let choose = page(
        &alice,
        &badges.url(&format!(
            "/auth/authorize?client_id={client_id}&redirect_uri={encoded_uri}&response_type=code"
        )),
    )
    .await;
    assert!(
        choose.contains("type=\"checkbox\""),
        "the user picks scopes"
    );
    let picked = decide(&alice, &badges, &choose, "approve", &["profile.read"]).await;
    assert!(query_param(&picked, "code").is_some());

    // "...&state=something&scope=Create Address Lists,Complete Claims":
    // named scopes are fixed.
    let fixed = page(
        &alice,
        &badges.url(&format!(
            "/auth/authorize?client_id={client_id}&redirect_uri={encoded_uri}&response_type=code&state=something&scope=Create Address Lists,Complete Claims"
        )),
    )
    .await;
    assert!(fixed.contains("Create Address Lists") && fixed.contains("Complete Claims"));
    assert!(!fixed.contains("Read Profile"), "only the named scopes");
    assert!(
        !fixed.contains("type=\"checkbox\""),
        "and they cannot be changed"
    );
    // Step 3: the callback "will be passed the code (authorization code) and state".
    let back = decide(&alice, &badges, &fixed, "approve", &[]).await;
    assert!(back.starts_with(redirect_uri));
    assert_eq!(query_param(&back, "state").as_deref(), Some("something"));
    let code = query_param(&back, "code").unwrap();

    // "POST https://api.bitbadges.io/api/v0/oauth/token" with grant_type and code.
    let token = |body: Value| {
        http()
            .post(badges.url("/api/v0/oauth/token"))
            .json(&body)
            .send()
    };
    let response = token(json!({
        "grant_type": "authorization_code",
        "code": code,
        "client_id": client_id,
        "client_secret": client_secret,
        "redirect_uri": redirect_uri,
    }))
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let first = json_of(response).await;
    // "The access token will expire in 1 day."
    assert_eq!(first["expires_in"], 86400);
    assert_eq!(first["scope"], "Create Address Lists,Complete Claims");
    let access_token = first["access_token"].as_str().unwrap();
    // "start sending requests to authenticated endpoints with your access
    // token specified in the Authorization header as Bearer YOUR_ACCESS_TOKEN"
    let me = http()
        .get(badges.url("/oauth2/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);

    // Step 4: "exchange for a new access token and refresh token (with
    // expiration reset) on a rolling basis. This step can be repeated indefinitely."
    let mut refresh_token = first["refresh_token"].as_str().unwrap().to_owned();
    let mut latest = first.clone();
    for _ in 0..3 {
        let response = token(json!({
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
            "client_secret": client_secret,
        }))
        .await
        .unwrap();
        assert_eq!(response.status(), 200);
        latest = json_of(response).await;
        // Counted from the rotation, and answered once it is committed: the
        // clock's second may have turned in between.
        let lives = latest["expires_in"].as_i64().unwrap();
        assert!(
            (86_399..=86_400).contains(&lives),
            "every new access token lives a day: {lives}"
        );
        let next = latest["refresh_token"].as_str().unwrap().to_owned();
        assert_ne!(next, refresh_token, "refresh tokens rotate");
        refresh_token = next;
    }
    assert_eq!(latest["scope"], "Create Address Lists,Complete Claims");

    // Step 5: "POST https://api.bitbadges.io/api/v0/oauth/token/revoke"
    // with revokeOauthAuthorization({ token }).
    let revoked = http()
        .post(badges.url("/api/v0/oauth/token/revoke"))
        .json(&json!({ "token": refresh_token }))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let me = http()
        .get(badges.url("/oauth2/userinfo"))
        .bearer_auth(latest["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401, "the grant's access token dies with it");
    let again = token(json!({
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": client_id,
        "client_secret": client_secret,
    }))
    .await
    .unwrap();
    assert_eq!(again.status(), 400);
    assert_eq!(json_of(again).await["error"], "invalid_grant");

    // "This can also be done by the user via the Connections tab in-site."
    let connections = page(&alice, &badges.url("/connections")).await;
    assert!(connections.contains("Badge Tools"), "{connections}");
}

/// `token_redirect_uri = "optional"` relaxes RFC 6749 section 4.1.3 on the
/// profile's token path only.
async fn a_profile_can_make_redirect_uri_optional_at_the_token_endpoint(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lenient.toml");
    std::fs::write(
        &config,
        "[dialect]\nname = \"lenient\"\n[dialect.paths]\ntoken = \"/lenient/token\"\n\
         [dialect.requests]\ntoken_redirect_uri = \"optional\"\n",
    )
    .unwrap();
    let platform = Platform::start_with(backend, "lenient", config.to_str().unwrap()).await;
    let dev = platform.sign_in("dev").await;
    let redirect_uri = "https://lenient.example/cb";
    let (id, secret) = register_app(
        &platform,
        &dev,
        "/developer/apps/new",
        &[
            ("name", "Lenient"),
            ("redirect_uris", redirect_uri),
            ("grant_type", "authorization_code"),
        ],
    )
    .await;
    let alice = platform.sign_in("alice").await;
    let mut codes = Vec::new();
    for _ in 0..2 {
        let url = platform.url(&format!(
            "/oauth2/authorize?response_type=code&client_id={id}&redirect_uri={redirect_uri}"
        ));
        let response = alice.get(&url).send().await.unwrap();
        let back = if response.status() == 303 {
            location(&response)
        } else {
            let consent = response.text().await.unwrap();
            decide(&alice, &platform, &consent, "approve", &[]).await
        };
        codes.push(query_param(&back, "code").unwrap());
    }
    let exchange = |path: &str, code: &str| {
        http()
            .post(platform.url(path))
            .basic_auth(&id, Some(&secret))
            .form(&[("grant_type", "authorization_code"), ("code", code)])
            .send()
    };
    let strict = exchange("/oauth2/token", &codes[0]).await.unwrap();
    assert_eq!(strict.status(), 400, "the native path keeps RFC 6749");
    assert!(
        json_of(strict).await["error_description"]
            .as_str()
            .unwrap()
            .contains("redirect_uri is required")
    );
    let lenient = exchange("/lenient/token", &codes[1]).await.unwrap();
    assert_eq!(lenient.status(), 200);
}

both_backends!(
    a_profile_can_make_redirect_uri_optional_at_the_token_endpoint,
    bitport_document_works_verbatim,
    bits_document_works_verbatim,
    cryptohopper_document_works_verbatim,
    bitbadges_document_works_verbatim,
);

/// Startup refuses a bad profile and names the key and the problem.
#[test]
fn a_bad_profile_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[dialect]\nname = \"x\"\n[dialect.paths]\ntoken = \"v1/token\"\n",
            "dialect.paths.token: \"v1/token\" must be an absolute path",
        ),
        (
            "[dialect]\nname = \"x\"\n[dialect.requests]\ngrant_type_aliases = { code = \"magic\" }\n",
            "dialect.requests.grant_type_aliases.code: \"magic\" is not a grant type",
        ),
        (
            "[dialect]\nname = \"x\"\n[dialect.responses]\nerrors = \"envelope\"\n",
            "dialect.error_codes: the envelope style needs a number for every error code",
        ),
        (
            "[dialect]\nname = \"x\"\npaths = { tokn = \"/t\" }\n",
            "dialect.paths.tokn: unknown endpoint",
        ),
        ("[dialect]\nnmae = \"x\"\n", "unknown field `nmae`"),
        (
            "[[scopes]]\nname = \"a\"\nlabel = \"Same\"\n[[scopes]]\nname = \"b\"\nlabel = \"Same\"\n",
            "scopes[1].label: \"Same\" is already the label of another scope",
        ),
    ];
    for (i, (text, expected)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let mut cmd = crate::support::portcullis();
        cmd.current_dir(dir.path())
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--config"])
            .arg(&path);
        let out = crate::support::run_command(cmd, None);
        assert!(!out.status.success(), "{text} is refused");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{text}: {stderr}");
    }
}
