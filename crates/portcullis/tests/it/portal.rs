//! The developer portal, Connections and the account page, driven over
//! HTTP as a browser would (cookies, forms, CSRF tokens).

use serde_json::Value;
use service::users::NewUser;
use service::{Origin, Policy};

use crate::lifetimes::{Party, active, client, exchange};
use crate::support::{App, Backend, both_backends, form_field, post_form, signed_in_browser};

async fn get(browser: &reqwest::Client, url: String) -> (u16, String) {
    let r = browser.get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn post(browser: &reqwest::Client, url: String, form: &[(&str, &str)]) -> reqwest::Response {
    browser.post(url).form(form).send().await.unwrap()
}

/// The text between `start` and the next `end`.
fn between<'a>(html: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = html.find(start)? + start.len();
    Some(&html[i..i + html[i..].find(end)?])
}

async fn developers_manage_their_own_apps(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    client(&app, Default::default()).await; // the "read" scope and alice
    let bob = NewUser {
        username: "bob".into(),
        email: None,
        password: "bob password".into(),
    };
    app.service.create_user(bob, &Origin::cli()).await.unwrap();
    let alice = signed_in_browser(&app.base_url, "alice", "alice password").await;

    let (status, html) = get(&alice, app.url("/developer/apps")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("You haven&#x27;t registered any apps yet")
            || html.contains("You haven't registered any apps yet"),
        "{html}"
    );

    let (_, form) = get(&alice, app.url("/developer/apps/new")).await;
    let csrf = form_field(&form, "csrf_token");
    let bad = post(
        &alice,
        app.url("/developer/apps"),
        &[
            ("csrf_token", &csrf),
            ("name", "Photo Sync"),
            ("redirect_uris", "http://photos.test/cb"),
            ("grant_type", "authorization_code"),
        ],
    )
    .await;
    assert_eq!(bad.status(), 400);
    let html = bad.text().await.unwrap();
    assert!(
        html.contains("plain http is allowed only on a loopback host"),
        "the error is shown"
    );
    assert!(
        html.contains("value=\"Photo Sync\""),
        "what was typed is kept"
    );
    assert!(html.contains("aria-invalid=\"true\""));

    let created = post(
        &alice,
        app.url("/developer/apps"),
        &[
            ("csrf_token", &csrf),
            ("name", "Photo Sync"),
            ("description", "Syncs photos"),
            (
                "redirect_uris",
                "https://photos.test/cb\nhttp://127.0.0.1:8000/cb",
            ),
            ("scope", "read"),
            ("grant_type", "authorization_code"),
            ("grant_type", "refresh_token"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(created.status(), 200);
    assert_eq!(created.headers()["cache-control"], "no-store");
    let html = created.text().await.unwrap();
    assert!(html.contains("Copy the secret now"));
    let secret = html
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .find(|w| w.starts_with("pc_cs_"))
        .unwrap()
        .to_owned();
    let id = between(&html, "/developer/apps/", "/")
        .expect("the app's id in its links")
        .to_owned();
    let party = Party {
        id: id.clone(),
        secret: secret.clone(),
    };
    let cc = [("grant_type", "client_credentials")];
    assert_eq!(
        post_form(&app.url("/oauth2/token"), Some((&id, &secret)), &cc)
            .await
            .status(),
        200,
        "the secret works"
    );

    let (_, page) = get(&alice, app.url(&format!("/developer/apps/{id}"))).await;
    assert!(page.contains("Photo Sync") && page.contains("https://photos.test/cb"));
    assert!(!page.contains(&secret), "the secret is never shown again");
    let (_, list) = get(&alice, app.url("/developer/apps")).await;
    assert!(list.contains("Photo Sync"));

    // Another user: the app does not exist for them.
    let bob = signed_in_browser(&app.base_url, "bob", "bob password").await;
    for path in ["", "/edit", "/delete"] {
        let (status, _) = get(&bob, app.url(&format!("/developer/apps/{id}{path}"))).await;
        assert_eq!(status, 404, "{path}");
    }
    let (_, bob_page) = get(&bob, app.url("/developer/apps")).await;
    let bob_csrf = form_field(&bob_page, "csrf_token");
    let r = post(
        &bob,
        app.url(&format!("/developer/apps/{id}/delete")),
        &[("csrf_token", &bob_csrf)],
    )
    .await;
    assert_eq!(r.status(), 404);

    // Edit, with a flash message after.
    let edited = post(
        &alice,
        app.url(&format!("/developer/apps/{id}/edit")),
        &[
            ("csrf_token", &csrf),
            ("name", "Photo Sync 2"),
            ("redirect_uris", "https://photos.test/cb"),
            ("scope", "read"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(edited.status(), 303);
    let (_, page) = get(&alice, app.url(&format!("/developer/apps/{id}"))).await;
    assert!(page.contains("Photo Sync 2") && page.contains("Your changes are saved."));
    let (_, page) = get(&alice, app.url(&format!("/developer/apps/{id}"))).await;
    assert!(
        !page.contains("Your changes are saved."),
        "a flash is shown once"
    );

    // Rotate: the new secret is shown once and the old one stops working.
    let rotated = post(
        &alice,
        app.url(&format!("/developer/apps/{id}/rotate-secret")),
        &[("csrf_token", &csrf), ("overlap", "0")],
    )
    .await;
    let html = rotated.text().await.unwrap();
    let new_secret = html
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .find(|w| w.starts_with("pc_cs_"))
        .unwrap()
        .to_owned();
    assert_ne!(new_secret, secret);
    assert_eq!(
        post_form(&app.url("/oauth2/token"), Some((&id, &secret)), &cc)
            .await
            .status(),
        401,
        "the old secret is refused"
    );
    let token: Value = post_form(&app.url("/oauth2/token"), Some((&id, &new_secret)), &cc)
        .await
        .json()
        .await
        .unwrap();
    let access = token["access_token"].as_str().unwrap().to_owned();
    let party = Party {
        secret: new_secret.clone(),
        ..party
    };
    assert!(active(&app, &party, &access).await);

    // Delete, after a confirmation page; every token of the app dies.
    let (status, confirm) = get(&alice, app.url(&format!("/developer/apps/{id}/delete"))).await;
    assert_eq!(status, 200);
    assert!(confirm.contains("Photo Sync 2"));
    let deleted = post(
        &alice,
        app.url(&format!("/developer/apps/{id}/delete")),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(deleted.status(), 303);
    let introspect = post_form(
        &app.url("/oauth2/introspect"),
        Some((&id, &new_secret)),
        &[("token", &access)],
    )
    .await;
    assert_eq!(introspect.status(), 401, "the client itself is gone");
    assert!(app.service.client(&id).await.unwrap().is_none());
    app.stop().await;
}

async fn users_revoke_apps_on_connections(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    let party = client(&app, Default::default()).await;
    let issued = exchange(&app, &party).await;
    let alice = signed_in_browser(&app.base_url, "alice", "alice password").await;
    let (status, html) = get(&alice, app.url("/account/connections")).await;
    assert_eq!(status, 200);
    let name = app.service.client(&party.id).await.unwrap().unwrap().name;
    assert!(html.contains(&name), "the authorized app is listed");
    let csrf = form_field(&html, "csrf_token");
    let revoked = post(
        &alice,
        app.url(&format!("/account/connections/{}/revoke", party.id)),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(revoked.status(), 303);
    for t in [&issued["access_token"], &issued["refresh_token"]] {
        assert!(
            !active(&app, &party, t.as_str().unwrap()).await,
            "every token of that app is dead at once"
        );
    }
    let (_, html) = get(&alice, app.url("/account/connections")).await;
    assert!(html.contains("no longer has access"), "a flash confirms it");
    assert!(
        html.contains("authorized any apps yet"),
        "and the list is empty"
    );

    // Authorized again (in the same second): the new tokens work, and the
    // old ones stay dead, for introspection, for refresh and as a bearer.
    let again = exchange(&app, &party).await;
    for t in [&again["access_token"], &again["refresh_token"]] {
        assert!(active(&app, &party, t.as_str().unwrap()).await);
    }
    for t in [&issued["access_token"], &issued["refresh_token"]] {
        assert!(!active(&app, &party, t.as_str().unwrap()).await);
    }
    let refresh = post_form(
        &app.url("/oauth2/token"),
        Some((&party.id, &party.secret)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", issued["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(refresh.status(), 400);
    let body: Value = refresh.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    let me = crate::support::http()
        .get(app.url("/oauth2/userinfo"))
        .bearer_auth(issued["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
    assert!(
        active(&app, &party, again["refresh_token"].as_str().unwrap()).await,
        "refusing the old refresh token did not revoke the new grant"
    );

    let (status, account) = get(&alice, app.url("/account")).await;
    assert_eq!(status, 200);
    assert!(account.contains("alice"));
    let (status, missing) = get(&alice, app.url("/no/such/page")).await;
    assert_eq!(status, 404);
    assert!(
        missing.contains("Not found") && missing.contains("portcullis.css"),
        "a 404 page in the same style"
    );
    let anonymous = crate::support::http()
        .get(app.url("/account/connections"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 303, "sign in first");
    app.stop().await;
}

both_backends!(
    developers_manage_their_own_apps,
    users_revoke_apps_on_connections
);
