use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use ui::{
    ConsentView, ErrorView, Layout, LoginView, Pages, STYLESHEET, STYLESHEET_PATH, ScopeChoice,
    UiError,
};

fn layout() -> Layout {
    Layout {
        site_name: "Example Auth".into(),
        signed_in_as: Some("alice".into()),
        csrf_token: "layout-token".into(),
    }
}

fn scopes() -> Vec<ScopeChoice> {
    vec![
        ScopeChoice {
            name: "profile:read".into(),
            label: "Read your profile".into(),
            description: "Your username and display name.".into(),
            checked: true,
        },
        ScopeChoice {
            name: "repos:write".into(),
            label: "Change your repositories".into(),
            description: "Create, edit and delete repositories.".into(),
            checked: false,
        },
    ]
}

fn consent_view(choose: bool) -> ConsentView {
    ConsentView {
        layout: layout(),
        action: "/oauth2/consent".into(),
        csrf_token: "consent-token".into(),
        interaction: "int-123".into(),
        app_name: "Photo Printer".into(),
        app_description: "Prints your photos.".into(),
        app_homepage: Some("https://printer.example".into()),
        owner: Some("bob".into()),
        redirect_host: "printer.example".into(),
        scopes: scopes(),
        choose,
        error: None,
    }
}

/// The whole `<input ...>` tag that contains `needle`.
fn input_with<'a>(html: &'a str, needle: &str) -> &'a str {
    let at = html
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not found in:\n{html}"));
    let start = html[..at].rfind("<input").expect("inside an input tag");
    let end = at + html[at..].find('>').expect("tag is closed");
    &html[start..=end]
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "portcullis-ui-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn write(&self, name: &str, contents: &str) {
        std::fs::write(self.0.join(name), contents).unwrap();
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn layout_has_document_basics_and_sign_out_form() {
    let html = Pages::embedded()
        .error(&ErrorView {
            layout: layout(),
            ..ErrorView::default()
        })
        .unwrap();
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains(r#"<html lang="en">"#));
    assert!(html.contains(r#"<meta charset="utf-8">"#));
    assert!(html.contains(r#"name="viewport""#));
    assert!(html.contains(&format!(
        r#"<link rel="stylesheet" href="{STYLESHEET_PATH}">"#
    )));
    assert!(html.contains(r#"<main id="main""#));
    assert!(html.contains(r##"href="#main""##));
    assert!(html.contains("Example Auth"));
    assert!(html.contains("<strong>alice</strong>"));
    assert!(html.contains(r#"<form class="sign-out" method="post" action="/logout">"#));
    assert!(html.contains(r#"<input type="hidden" name="csrf_token" value="layout-token">"#));
    assert!(!html.contains("<script"));
}

#[test]
fn signed_out_layout_has_no_sign_out_form_and_a_default_site_name() {
    let html = Pages::embedded().login(&LoginView::default()).unwrap();
    assert!(!html.contains("/logout"));
    assert!(html.contains("<title>Sign in · Portcullis</title>"));
}

#[test]
fn login_page_has_the_form_fields() {
    let html = Pages::embedded()
        .login(&LoginView {
            layout: Layout {
                site_name: "Portcullis".into(),
                ..Layout::default()
            },
            action: "/login".into(),
            csrf_token: "login-token".into(),
            return_to: Some("/oauth2/authorize?x=1&y=2".into()),
            username: "carol".into(),
            error: Some("Wrong username or password.".into()),
            app_name: Some("Photo Printer".into()),
        })
        .unwrap();
    assert!(html.contains(r#"<form class="form" method="post" action="/login">"#));
    assert!(html.contains(r#"<input type="hidden" name="csrf_token" value="login-token">"#));
    assert!(html.contains(
        r#"<input type="hidden" name="return_to" value="/oauth2/authorize?x=1&amp;y=2">"#
    ));
    assert!(html.contains(r#"<label for="username">"#));
    assert!(html.contains(r#"<label for="password">"#));
    let username = input_with(&html, r#"name="username""#);
    assert!(username.contains(r#"value="carol""#));
    assert!(username.contains(r#"autocomplete="username""#));
    let password = input_with(&html, r#"name="password""#);
    assert!(password.contains(r#"type="password""#));
    assert!(password.contains(r#"autocomplete="current-password""#));
    assert!(html.contains(r#"role="alert""#));
    assert!(html.contains("Wrong username or password."));
    assert!(html.contains("Sign in to continue to <strong>Photo Printer</strong>"));
    assert_eq!(html.matches("<h1").count(), 1);
}

#[test]
fn login_page_without_extras() {
    let html = Pages::embedded()
        .login(&LoginView {
            csrf_token: "t".into(),
            ..LoginView::default()
        })
        .unwrap();
    assert!(!html.contains("return_to"));
    assert!(!html.contains("role=\"alert\""));
    assert!(!html.contains("continue to"));
}

#[test]
fn consent_page_lets_the_user_choose_scopes() {
    let html = Pages::embedded().consent(&consent_view(true)).unwrap();
    assert!(html.contains("Authorize <span class=\"app-name\">Photo Printer</span>"));
    assert!(html.contains("Prints your photos."));
    assert!(html.contains("registered by <strong>bob</strong>"));
    assert!(html.contains(r#"<a href="https://printer.example" rel="noopener noreferrer">"#));
    assert!(html.contains("printer.example</strong>"));
    assert!(html.contains(r#"<form class="form" method="post" action="/oauth2/consent">"#));
    assert!(html.contains(r#"<input type="hidden" name="csrf_token" value="consent-token">"#));
    assert!(html.contains(r#"<input type="hidden" name="interaction" value="int-123">"#));
    assert!(html.contains("<fieldset"));
    assert!(html.contains("<legend>"));
    for scope in scopes() {
        assert!(html.contains(&scope.label));
        assert!(html.contains(&scope.description));
        let checkbox = input_with(&html, &format!(r#"value="{}""#, scope.name));
        assert!(checkbox.contains(r#"type="checkbox""#));
        assert!(checkbox.contains(r#"name="scope""#));
        assert_eq!(checkbox.contains(" checked"), scope.checked, "{checkbox}");
        let id = checkbox
            .split(r#"id=""#)
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert!(html.contains(&format!(r#"<label for="{id}""#)));
    }
    assert!(!html.contains(r#"type="hidden" name="scope""#));
    assert!(html.contains(r#"<button type="submit" name="decision" value="approve" class="button button-primary">Allow</button>"#));
    assert!(html.contains(r#"<button type="submit" name="decision" value="deny" class="button button-secondary">Deny</button>"#));
    assert_eq!(
        html.matches("<form").count(),
        2,
        "sign-out form plus one consent form"
    );
    assert_eq!(html.matches("<h1").count(), 1);
}

#[test]
fn consent_page_with_fixed_scopes_has_hidden_inputs_only() {
    let html = Pages::embedded().consent(&consent_view(false)).unwrap();
    assert!(!html.contains("checkbox"));
    assert!(!html.contains("<fieldset"));
    for scope in scopes() {
        assert!(html.contains(&format!(
            r#"<input type="hidden" name="scope" value="{}">"#,
            scope.name
        )));
        assert!(html.contains(&scope.label));
        assert!(html.contains(&scope.description));
    }
    assert!(html.contains(r#"value="approve""#));
    assert!(html.contains(r#"value="deny""#));
}

#[test]
fn consent_page_for_an_admin_app_with_an_error() {
    let view = ConsentView {
        owner: None,
        app_homepage: Some("javascript:alert(1)".into()),
        error: Some("Pick at least one permission.".into()),
        ..consent_view(true)
    };
    let html = Pages::embedded().consent(&view).unwrap();
    assert!(html.contains("registered by the administrator"));
    assert!(!html.contains("javascript:"));
    assert!(html.contains(r#"role="alert">Pick at least one permission.</p>"#));
}

#[test]
fn user_text_is_escaped() {
    let evil = r#"<script>alert("x")</script>"#;
    let view = ConsentView {
        app_name: evil.into(),
        app_description: evil.into(),
        owner: Some(evil.into()),
        scopes: vec![ScopeChoice {
            name: r#""><script>"#.into(),
            label: evil.into(),
            ..ScopeChoice::default()
        }],
        ..consent_view(true)
    };
    let html = Pages::embedded().consent(&view).unwrap();
    assert!(!html.contains("<script"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"),
        "{html}"
    );

    let html = Pages::embedded()
        .login(&LoginView {
            app_name: Some(evil.into()),
            username: evil.into(),
            ..LoginView::default()
        })
        .unwrap();
    assert!(!html.contains("<script"), "{html}");
}

#[test]
fn error_page_shows_status_and_message() {
    let html = Pages::embedded()
        .error(&ErrorView {
            layout: Layout::default(),
            status: 404,
            title: "Not found".into(),
            message: "There is no such page.".into(),
        })
        .unwrap();
    assert!(html.contains("Error 404"));
    assert!(html.contains("<h1>Not found</h1>"));
    assert!(html.contains("There is no such page."));
    assert!(html.contains("<title>Not found · Portcullis</title>"));
}

#[test]
fn overrides_replace_only_the_files_present() {
    let dir = TempDir::new();
    dir.write(
        "error.html",
        r#"{% extends "base.html" %}{% block content %}<h1 class="custom">{{ status }}: {{ message }}</h1>{% endblock %}"#,
    );
    let pages = Pages::with_overrides(dir.path()).unwrap();
    let html = pages
        .error(&ErrorView {
            status: 500,
            message: "<b>boom</b>".into(),
            ..ErrorView::default()
        })
        .unwrap();
    assert!(
        html.contains(r#"<h1 class="custom">500: &lt;b&gt;boom&lt;/b&gt;</h1>"#),
        "{html}"
    );
    assert!(
        html.contains("<!doctype html>"),
        "embedded base.html still used"
    );
    let login = pages.login(&LoginView::default()).unwrap();
    assert_eq!(
        login,
        Pages::embedded().login(&LoginView::default()).unwrap()
    );
}

#[test]
fn overriding_the_base_applies_to_every_page() {
    let dir = TempDir::new();
    dir.write(
        "base.html",
        "<custom>{% block content %}{% endblock %}</custom>",
    );
    let pages = Pages::with_overrides(dir.path()).unwrap();
    let html = pages.login(&LoginView::default()).unwrap();
    assert!(html.starts_with("<custom>"));
    assert!(html.contains(r#"name="password""#));
}

#[test]
fn a_broken_override_is_an_error_naming_the_file() {
    let dir = TempDir::new();
    dir.write(
        "consent.html",
        "{% extends \"base.html\" %}{% block content %}{% if %}",
    );
    let err = Pages::with_overrides(dir.path()).unwrap_err();
    assert!(matches!(err, UiError::Template(_)));
    let message = err.to_string();
    let path = dir.path().join("consent.html");
    assert!(message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn an_override_that_does_not_render_is_an_error() {
    let dir = TempDir::new();
    dir.write("login.html", "{% extends \"missing.html\" %}");
    let message = Pages::with_overrides(dir.path()).unwrap_err().to_string();
    assert!(message.contains("missing.html"), "{message}");

    let dir = TempDir::new();
    dir.write("error.html", "{{ no_such_variable }}");
    let message = Pages::with_overrides(dir.path()).unwrap_err().to_string();
    assert!(message.contains("error.html"), "{message}");
}

#[test]
fn a_missing_override_directory_is_an_io_error() {
    let dir = TempDir::new();
    let missing = dir.path().join("nope");
    let err = Pages::with_overrides(&missing).unwrap_err();
    assert!(
        matches!(err, UiError::Io { ref path, .. } if path.contains("nope")),
        "{err:?}"
    );
}

#[test]
fn stylesheet_is_self_contained() {
    assert!(STYLESHEET.contains(".flash-error"));
    assert!(STYLESHEET.contains(":focus-visible"));
    assert!(!STYLESHEET.contains("url("));
    assert!(!STYLESHEET.contains("@import"));
}

#[test]
fn an_empty_override_directory_changes_nothing() {
    let dir = TempDir::new();
    let pages = Pages::with_overrides(dir.path()).unwrap();
    let view = consent_view(true);
    assert_eq!(
        pages.consent(&view).unwrap(),
        Pages::embedded().consent(&view).unwrap()
    );
}

#[test]
fn overrides_print_none_as_nothing_and_escape_quotes() {
    let dir = TempDir::new();
    dir.write(
        "error.html",
        "[{{ layout.signed_in_as }}]<p title='{{ message }}'>",
    );
    let pages = Pages::with_overrides(dir.path()).unwrap();
    let html = pages
        .error(&ErrorView {
            message: r#"it's "here""#.into(),
            ..ErrorView::default()
        })
        .unwrap();
    assert_eq!(html, "[]<p title='it&#39;s &quot;here&quot;'>");
}
