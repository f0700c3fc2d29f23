//! The device, pairing, developer portal and account pages.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use ui::{
    AccountView, AppFormView, AppOption, AppSummary, AppView, AppsView, ConfirmDeleteView,
    Connection, ConnectionsView, DeviceConfirm, DeviceView, ErrorView, FieldError, Flash,
    GrantChoice, Layout, LoginView, OverlapOption, Pages, PairingCode, PairingConfirm, PairingView,
    ScopeChoice, UiError,
};

const EVIL: &str = r#"<script>alert("x")</script>"#;
const EVIL_ESCAPED: &str = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;";

fn pages() -> Pages {
    Pages::embedded()
}

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

/// The whole tag (`<input ...>`, `<button ...>`...) that contains `needle`.
fn tag_with<'a>(html: &'a str, needle: &str) -> &'a str {
    let at = html
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not found in:\n{html}"));
    let start = html[..at].rfind('<').expect("inside a tag");
    let end = at + html[at..].find('>').expect("tag is closed");
    &html[start..=end]
}

/// The value of attribute `name` in `tag`.
fn attr<'a>(tag: &'a str, name: &str) -> &'a str {
    let marker = format!(r#" {name}=""#);
    let start = tag
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {tag}"))
        + marker.len();
    &tag[start..start + tag[start..].find('"').unwrap()]
}

/// The text between `<{element} id="{id}"...>` and the next `</{element}>`.
fn element_by_id<'a>(html: &'a str, element: &str, id: &str) -> &'a str {
    let open = tag_with(html, &format!(r#"id="{id}""#));
    assert!(open.starts_with(&format!("<{element}")), "{open}");
    let start = html.find(open).unwrap() + open.len();
    let end = start + html[start..].find(&format!("</{element}>")).unwrap();
    &html[start..end]
}

/// The HTML of the `<form>` whose action is `action`.
fn form<'a>(html: &'a str, action: &str) -> &'a str {
    let needle = format!(r#"<form class="form" method="post" action="{action}">"#);
    let start = html
        .find(&needle)
        .or_else(|| html.find(&format!(r#"<form method="post" action="{action}">"#)))
        .unwrap_or_else(|| panic!("no form posting to {action} in:\n{html}"));
    let end = start + html[start..].find("</form>").unwrap();
    &html[start..end]
}

fn hidden(name: &str, value: &str) -> String {
    format!(r#"<input type="hidden" name="{name}" value="{value}">"#)
}

fn assert_no_script(html: &str) {
    assert!(!html.contains("<script"), "{html}");
}

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "portcullis-ui-portal-test-{}-{}",
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
        let path = self.0.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------- layout

#[test]
fn signed_in_pages_have_site_navigation_and_keep_the_sign_out_form() {
    let html = pages()
        .error(&ErrorView {
            layout: layout(),
            ..ErrorView::default()
        })
        .unwrap();
    assert!(html.contains(r#"<nav class="site-nav" aria-label="Your account">"#));
    assert!(html.contains(r#"<a href="/account">Account</a>"#));
    assert!(html.contains(r#"<a href="/account/connections">Connected apps</a>"#));
    assert!(html.contains(r#"<a href="/developer/apps">Developer</a>"#));
    assert!(!html.contains("aria-current"));
    assert!(html.contains(r#"<form class="sign-out" method="post" action="/logout">"#));
    assert!(html.find("site-nav").unwrap() < html.find("<main").unwrap());

    let html = pages().login(&LoginView::default()).unwrap();
    assert!(!html.contains("site-nav"), "no navigation when signed out");
}

#[test]
fn navigation_marks_the_current_section() {
    let html = pages()
        .apps(&AppsView {
            layout: layout(),
            ..AppsView::default()
        })
        .unwrap();
    assert!(html.contains(r#"<a href="/developer/apps" aria-current="page">Developer</a>"#));
    let html = pages()
        .connections(&ConnectionsView {
            layout: layout(),
            ..ConnectionsView::default()
        })
        .unwrap();
    assert!(
        html.contains(r#"<a href="/account/connections" aria-current="page">Connected apps</a>"#)
    );
    let html = pages()
        .account(&AccountView {
            layout: layout(),
            ..AccountView::default()
        })
        .unwrap();
    assert!(html.contains(r#"<a href="/account" aria-current="page">Account</a>"#));
}

// ---------------------------------------------------------------- device

fn device_view() -> DeviceView {
    DeviceView {
        layout: layout(),
        action: "/device".into(),
        csrf_token: "device-token".into(),
        user_code: "WDJB-MJHT".into(),
        ..DeviceView::default()
    }
}

#[test]
fn device_entry_form() {
    let html = pages().device(&device_view()).unwrap();
    assert!(html.contains("<title>Connect a device · Example Auth</title>"));
    let entry = form(&html, "/device");
    assert!(entry.contains(&hidden("csrf_token", "device-token")));
    let input = tag_with(entry, r#"name="user_code""#);
    assert!(input.starts_with("<input"), "{input}");
    assert_eq!(attr(input, "type"), "text");
    assert_eq!(attr(input, "value"), "WDJB-MJHT");
    assert_eq!(attr(input, "autocomplete"), "off");
    assert_eq!(attr(input, "autocapitalize"), "characters");
    assert_eq!(attr(input, "spellcheck"), "false");
    assert_eq!(attr(input, "inputmode"), "text");
    assert!(!input.contains("aria-invalid"));
    let id = attr(input, "id");
    assert!(entry.contains(&format!(
        r#"<label for="{id}">Code shown on your device</label>"#
    )));
    let button = tag_with(entry, r#"name="step""#);
    assert_eq!(attr(button, "value"), "lookup");
    assert!(entry.contains(">Continue</button>"));
    assert!(!html.contains("decision"));
    assert!(!html.contains("role=\"alert\""));
    assert_eq!(html.matches("<h1").count(), 1);
}

#[test]
fn device_entry_form_with_an_error() {
    let html = pages()
        .device(&DeviceView {
            error: Some("That code is not valid or has expired.".into()),
            ..device_view()
        })
        .unwrap();
    let input = tag_with(&html, r#"name="user_code""#);
    assert_eq!(attr(input, "aria-invalid"), "true");
    let error_id = attr(input, "aria-describedby");
    assert_eq!(
        element_by_id(&html, "p", error_id),
        "That code is not valid or has expired."
    );
    assert!(tag_with(&html, &format!(r#"id="{error_id}""#)).contains(r#"role="alert""#));
}

#[test]
fn device_confirmation_lists_the_app_and_scopes_and_offers_allow_and_deny() {
    let html = pages()
        .device(&DeviceView {
            confirm: Some(DeviceConfirm {
                app_name: "Living Room TV".into(),
                owner: Some("bob".into()),
                scopes: scopes(),
                user_code: "WDJB-MJHT".into(),
            }),
            ..device_view()
        })
        .unwrap();
    assert!(html.contains("<title>Connect Living Room TV · Example Auth</title>"));
    assert!(html.contains("Connect <span class=\"app-name\">Living Room TV</span>"));
    assert!(html.contains("registered by <strong>bob</strong>"));
    assert!(html.contains(r#"<strong class="user-code">WDJB-MJHT</strong>"#));
    for scope in scopes() {
        assert!(html.contains(&format!(
            r#"<span class="scope-label">{}</span>"#,
            scope.label
        )));
        assert!(html.contains(&scope.description));
    }
    assert!(!html.contains("checkbox"));
    assert!(!html.contains(r#"name="scope""#));
    let confirm = form(&html, "/device");
    assert!(confirm.contains(&hidden("csrf_token", "device-token")));
    assert!(confirm.contains(&hidden("user_code", "WDJB-MJHT")));
    assert!(confirm.contains(
        r#"<button type="submit" name="decision" value="approve" class="button button-primary">Allow</button>"#
    ));
    assert!(confirm.contains(
        r#"<button type="submit" name="decision" value="deny" class="button button-secondary">Deny</button>"#
    ));
    assert!(!html.contains(r#"name="step""#), "no entry form");
    assert!(!html.contains(r#"type="text""#), "no entry form");
    assert_eq!(html.matches("<form").count(), 2, "sign-out plus one form");
}

#[test]
fn device_confirmation_for_an_admin_app() {
    let html = pages()
        .device(&DeviceView {
            confirm: Some(DeviceConfirm {
                app_name: "TV".into(),
                ..DeviceConfirm::default()
            }),
            ..device_view()
        })
        .unwrap();
    assert!(html.contains("registered by the administrator"));
    assert!(html.contains("No permissions requested."));
}

#[test]
fn device_done_shows_only_the_message() {
    let html = pages()
        .device(&DeviceView {
            done: Some("Your device is connected. You can close this page.".into()),
            confirm: Some(DeviceConfirm::default()),
            ..device_view()
        })
        .unwrap();
    assert!(html.contains(
        r#"<p class="lead done" role="status">Your device is connected. You can close this page.</p>"#
    ));
    assert!(!html.contains("<form class=\"form\""));
    assert!(!html.contains("decision"));
}

// ---------------------------------------------------------------- pairing

fn pairing_view() -> PairingView {
    PairingView {
        layout: layout(),
        action: "/get-access".into(),
        csrf_token: "pairing-token".into(),
        apps: vec![
            AppOption {
                client_id: "tv-app".into(),
                name: "Living Room TV".into(),
                selected: false,
            },
            AppOption {
                client_id: "printer".into(),
                name: "Photo Printer".into(),
                selected: true,
            },
        ],
        client_id: "printer".into(),
        ..PairingView::default()
    }
}

#[test]
fn pairing_selection_form() {
    let html = pages().pairing(&pairing_view()).unwrap();
    let choose = form(&html, "/get-access");
    assert!(choose.contains(&hidden("csrf_token", "pairing-token")));
    let select = tag_with(choose, "<select");
    assert_eq!(attr(select, "name"), "client_id");
    assert!(choose.contains(&format!(r#"<label for="{}">"#, attr(select, "id"))));
    assert!(choose.contains(r#"<option value="tv-app">Living Room TV</option>"#));
    assert!(choose.contains(r#"<option value="printer" selected>Photo Printer</option>"#));
    assert!(
        choose.contains(r#"<option value="">"#),
        "nothing picked yet"
    );
    let text = tag_with(choose, r#"name="client_id_text""#);
    assert_eq!(attr(text, "value"), "", "the select holds the choice");
    assert!(choose.contains(&format!(
        r#"<label for="{}">Or the app ID your device shows</label>"#,
        attr(text, "id")
    )));
    let button = tag_with(choose, r#"name="step""#);
    assert_eq!(attr(button, "value"), "choose");
    assert!(!html.contains("class=\"empty\""));
    assert!(!html.contains("decision"));
}

#[test]
fn pairing_keeps_a_typed_id_in_the_text_input() {
    let mut view = pairing_view();
    for app in &mut view.apps {
        app.selected = false;
    }
    view.client_id = "some-device-app".into();
    view.error = Some("There is no app with that ID.".into());
    let html = pages().pairing(&view).unwrap();
    assert!(html.contains(r#"<option value="" selected>"#));
    let text = tag_with(&html, r#"name="client_id_text""#);
    assert_eq!(attr(text, "value"), "some-device-app");
    assert_eq!(attr(text, "aria-invalid"), "true");
    assert_eq!(
        element_by_id(&html, "p", attr(text, "aria-describedby")),
        "There is no app with that ID."
    );
}

#[test]
fn pairing_without_apps_still_takes_a_typed_id() {
    let html = pages()
        .pairing(&PairingView {
            apps: Vec::new(),
            client_id: String::new(),
            ..pairing_view()
        })
        .unwrap();
    assert!(html.contains(r#"<p class="empty">No apps offer this yet.</p>"#));
    assert!(!html.contains("<select"));
    let choose = form(&html, "/get-access");
    assert!(choose.contains(r#"name="client_id_text""#));
    assert!(choose.contains(r#"value="choose""#));
}

#[test]
fn pairing_confirmation() {
    let html = pages()
        .pairing(&PairingView {
            confirm: Some(PairingConfirm {
                app_name: "Photo Printer".into(),
                owner: None,
                client_id: "printer".into(),
                scopes: scopes(),
            }),
            ..pairing_view()
        })
        .unwrap();
    assert!(html.contains("registered by the administrator"));
    for scope in scopes() {
        assert!(html.contains(&scope.label));
    }
    assert!(!html.contains("checkbox"));
    let confirm = form(&html, "/get-access");
    assert!(confirm.contains(&hidden("csrf_token", "pairing-token")));
    assert!(confirm.contains(&hidden("client_id", "printer")));
    assert!(confirm.contains(r#"name="decision" value="approve""#));
    assert!(confirm.contains(r#"name="decision" value="deny""#));
    assert!(!html.contains("<select"));
    assert!(!html.contains("client_id_text"));
}

#[test]
fn pairing_code_is_shown_with_instructions() {
    let html = pages()
        .pairing(&PairingView {
            confirm: Some(PairingConfirm::default()),
            code: Some(PairingCode {
                code: "K7QD-93XF".into(),
                app_name: "Photo Printer".into(),
                expires_in_minutes: 10,
            }),
            ..pairing_view()
        })
        .unwrap();
    assert!(html.contains(r#"<p class="pairing-code" role="status"><code>K7QD-93XF</code></p>"#));
    assert!(html.contains(
        "Type this code into <strong>Photo Printer</strong>. It works once and expires in 10 minutes."
    ));
    assert!(!html.contains("<form class=\"form\""));

    let html = pages()
        .pairing(&PairingView {
            code: Some(PairingCode {
                code: "K7QD-93XF".into(),
                app_name: "Photo Printer".into(),
                expires_in_minutes: 1,
            }),
            ..pairing_view()
        })
        .unwrap();
    assert!(html.contains("expires in 1 minute."));
}

// ---------------------------------------------------------------- developer: list

#[test]
fn apps_table_links_each_app() {
    let html = pages()
        .apps(&AppsView {
            layout: layout(),
            flash: Some(Flash::success("App registered.")),
            apps: vec![
                AppSummary {
                    client_id: "photo-printer".into(),
                    name: "Photo Printer".into(),
                    public: false,
                    users: 42,
                    created: "2024-03-01".into(),
                },
                AppSummary {
                    client_id: "tv/app#1".into(),
                    name: EVIL.into(),
                    public: true,
                    users: 0,
                    created: "2024-04-02".into(),
                },
            ],
        })
        .unwrap();
    assert!(html.contains(r#"<main id="main" class="wide""#));
    assert!(html.contains(r#"<div class="table-wrap">"#));
    assert!(
        html.contains(r#"<div class="flash flash-success" role="status">App registered.</div>"#)
    );
    assert!(html.contains(
        r#"<a class="button button-primary" href="/developer/apps/new">Register an app</a>"#
    ));
    assert!(html.contains(r#"<a href="/developer/apps/photo-printer">Photo Printer</a>"#));
    assert!(
        html.contains(&format!(
            r#"<a href="/developer/apps/tv%2Fapp%231">{EVIL_ESCAPED}</a>"#
        )),
        "{html}"
    );
    assert_no_script(&html);
    let rows: Vec<&str> = html.split("<tr>").skip(2).collect();
    assert_eq!(rows.len(), 2);
    assert!(rows[0].contains("<td>Confidential</td>"));
    assert!(rows[0].contains(r#"<td class="num">42</td>"#));
    assert!(rows[0].contains("<td>2024-03-01</td>"));
    assert!(rows[1].contains("<td>Public</td>"));
    assert!(!html.contains("class=\"empty\""));
}

#[test]
fn apps_empty_state_and_error_flash() {
    let html = pages()
        .apps(&AppsView {
            layout: layout(),
            flash: Some(Flash::error("That app no longer exists.")),
            apps: Vec::new(),
        })
        .unwrap();
    assert!(html.contains(r#"<p class="empty">You haven't registered any apps yet.</p>"#));
    assert!(!html.contains("<table"));
    assert!(html.contains("/developer/apps/new"));
    assert!(html.contains(
        r#"<div class="flash flash-error" role="alert">That app no longer exists.</div>"#
    ));
}

// ---------------------------------------------------------------- developer: form

fn app_form_view() -> AppFormView {
    AppFormView {
        layout: layout(),
        action: "/developer/apps/new".into(),
        csrf_token: "form-token".into(),
        editing: false,
        name: "Photo Printer".into(),
        description: "Prints your photos.".into(),
        homepage: "https://printer.example".into(),
        redirect_uris: "https://printer.example/cb\nhttp://127.0.0.1:8080/cb".into(),
        public: false,
        scopes: scopes(),
        grant_types: vec![
            GrantChoice {
                value: "authorization_code".into(),
                label: "Authorization code".into(),
                checked: true,
            },
            GrantChoice {
                value: "urn:ietf:params:oauth:grant-type:device_code".into(),
                label: "Device code".into(),
                checked: false,
            },
        ],
        errors: Vec::new(),
    }
}

#[test]
fn app_form_for_a_new_app() {
    let html = pages().app_form(&app_form_view()).unwrap();
    assert!(html.contains("<h1>Register an app</h1>"));
    let body = form(&html, "/developer/apps/new");
    assert!(body.contains(&hidden("csrf_token", "form-token")));

    let name = tag_with(body, r#"name="name""#);
    assert_eq!(attr(name, "value"), "Photo Printer");
    assert!(name.contains(" required"));
    assert!(body.contains(&format!(
        r#"<label for="{}">Name</label>"#,
        attr(name, "id")
    )));
    assert!(body.contains(">Prints your photos.</textarea>"));
    let homepage = tag_with(body, r#"name="homepage""#);
    assert_eq!(attr(homepage, "type"), "url");
    assert_eq!(attr(homepage, "value"), "https://printer.example");
    let uris = tag_with(body, r#"name="redirect_uris""#);
    assert!(uris.starts_with("<textarea"));
    assert!(body.contains(">https://printer.example/cb\nhttp://127.0.0.1:8080/cb</textarea>"));
    let hint = attr(uris, "aria-describedby");
    assert_eq!(
        element_by_id(body, "p", hint),
        "One per line. https, or http on 127.0.0.1 / localhost for development."
    );

    let public = tag_with(body, r#"name="public""#);
    assert_eq!(attr(public, "type"), "checkbox");
    assert_eq!(attr(public, "value"), "1");
    assert!(!public.contains(" checked"));
    assert!(!public.contains(" disabled"));

    for scope in scopes() {
        let checkbox = tag_with(body, &format!(r#"value="{}""#, scope.name));
        assert_eq!(attr(checkbox, "name"), "scope");
        assert_eq!(attr(checkbox, "type"), "checkbox");
        assert_eq!(checkbox.contains(" checked"), scope.checked, "{checkbox}");
        assert!(body.contains(&format!(r#"<label for="{}""#, attr(checkbox, "id"))));
        assert!(body.contains(&scope.label));
    }
    let code = tag_with(body, r#"value="authorization_code""#);
    assert_eq!(attr(code, "name"), "grant_type");
    assert!(code.contains(" checked"));
    let device = tag_with(
        body,
        r#"value="urn:ietf:params:oauth:grant-type:device_code""#,
    );
    assert_eq!(attr(device, "name"), "grant_type");
    assert!(!device.contains(" checked"));

    assert!(
        body.contains(
            r#"<button type="submit" class="button button-primary">Register app</button>"#
        )
    );
    assert!(body.contains(r#"href="/developer/apps">Cancel</a>"#));
    assert!(!html.contains("aria-invalid"));
    assert!(!html.contains("role=\"alert\""));
}

#[test]
fn app_form_when_editing() {
    let html = pages()
        .app_form(&AppFormView {
            action: "/developer/apps/photo-printer/edit".into(),
            editing: true,
            public: true,
            ..app_form_view()
        })
        .unwrap();
    assert!(html.contains("Edit <span class=\"app-name\">Photo Printer</span>"));
    let public = tag_with(&html, r#"name="public""#);
    assert!(public.contains(" checked"));
    assert!(public.contains(" disabled"));
    assert!(html.contains(">Save changes</button>"));
    assert!(!html.contains("Register app"));
    assert!(html.contains(r#"href="/developer/apps/photo-printer">Cancel</a>"#));
}

#[test]
fn app_form_shows_each_error_next_to_its_field() {
    let errors = [
        ("name", "Give the app a name."),
        ("homepage", "The homepage must be an http or https URL."),
        (
            "redirect_uri",
            "http is allowed only on 127.0.0.1 or localhost.",
        ),
        ("scope", "Pick at least one scope."),
        ("grant_type", "Pick at least one grant type."),
        ("public", "Public apps cannot use client credentials."),
        ("name", "Names must be unique."),
        ("server", "Something went wrong; try again."),
    ];
    let html = pages()
        .app_form(&AppFormView {
            errors: errors
                .iter()
                .map(|(field, message)| FieldError {
                    field: (*field).into(),
                    message: (*message).into(),
                })
                .collect(),
            ..app_form_view()
        })
        .unwrap();

    // Each input points at the paragraph with its own error.
    let name = tag_with(&html, r#"name="name""#);
    assert_eq!(attr(name, "aria-invalid"), "true");
    let name_error = element_by_id(&html, "p", attr(name, "aria-describedby"));
    assert!(name_error.contains("Give the app a name."));
    assert!(name_error.contains("Names must be unique."));
    assert!(!name_error.contains("homepage"));
    // ... and the error comes right after its field.
    let after_name = &html[html.find(name).unwrap()..];
    assert!(
        after_name.find("Give the app a name.").unwrap() < after_name.find("Description").unwrap()
    );

    let homepage = tag_with(&html, r#"name="homepage""#);
    assert_eq!(attr(homepage, "aria-invalid"), "true");
    assert_eq!(
        element_by_id(&html, "p", attr(homepage, "aria-describedby")),
        "<span>The homepage must be an http or https URL.</span>"
    );

    let uris = tag_with(&html, r#"name="redirect_uris""#);
    assert_eq!(attr(uris, "aria-invalid"), "true");
    let described: Vec<&str> = attr(uris, "aria-describedby").split(' ').collect();
    assert_eq!(described.len(), 2, "hint and error");
    assert!(element_by_id(&html, "p", described[0]).starts_with("One per line."));
    assert!(element_by_id(&html, "p", described[1]).contains("http is allowed only on 127.0.0.1"));

    let public = tag_with(&html, r#"name="public""#);
    assert_eq!(attr(public, "aria-invalid"), "true");
    assert!(attr(public, "aria-describedby").ends_with("error-public"));
    assert!(element_by_id(&html, "p", "error-public").contains("cannot use client credentials"));

    for scope in scopes() {
        let checkbox = tag_with(&html, &format!(r#"value="{}""#, scope.name));
        assert_eq!(attr(checkbox, "aria-invalid"), "true");
        assert!(attr(checkbox, "aria-describedby").contains("error-scope"));
    }
    assert!(element_by_id(&html, "p", "error-scope").contains("Pick at least one scope."));
    let grant = tag_with(&html, r#"value="authorization_code""#);
    assert_eq!(attr(grant, "aria-invalid"), "true");
    assert_eq!(attr(grant, "aria-describedby"), "error-grant_type");
    assert!(element_by_id(&html, "p", "error-grant_type").contains("grant type"));

    // Fields without errors are left alone.
    let description = tag_with(&html, r#"name="description""#);
    assert!(!description.contains("aria-invalid"), "{description}");

    // Errors for other fields are listed at the top.
    let summary = element_by_id(&html, "div", "form-errors");
    assert!(summary.contains("<li>Something went wrong; try again.</li>"));
    assert!(!summary.contains("Give the app a name."));
    assert!(html.find("form-errors").unwrap() < html.find(r#"name="name""#).unwrap());
    assert!(tag_with(&html, r#"id="form-errors""#).contains(r#"role="alert""#));
}

#[test]
fn app_form_with_only_a_general_error_lists_it_at_the_top() {
    let html = pages()
        .app_form(&AppFormView {
            errors: vec![FieldError {
                field: "csrf".into(),
                message: "Your session expired.".into(),
            }],
            ..app_form_view()
        })
        .unwrap();
    let summary = element_by_id(&html, "div", "form-errors");
    assert!(summary.contains("<li>Your session expired.</li>"));
    assert!(!summary.contains("Some fields"));
    assert!(!html.contains("aria-invalid"));
}

// ---------------------------------------------------------------- developer: app

fn app_view() -> AppView {
    AppView {
        layout: layout(),
        flash: None,
        csrf_token: "app-token".into(),
        client_id: "photo-printer".into(),
        name: "Photo Printer".into(),
        description: "Prints your photos.".into(),
        homepage: Some("https://printer.example".into()),
        public: false,
        redirect_uris: vec![
            "https://printer.example/cb".into(),
            "http://127.0.0.1:8080/cb?a=1&b=2".into(),
        ],
        scopes: scopes(),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        users: 42,
        last_used: Some("2024-05-06 10:00".into()),
        new_secret: None,
        rotate_overlap_options: vec![
            OverlapOption {
                seconds: 0,
                label: "Not at all".into(),
            },
            OverlapOption {
                seconds: 3600,
                label: "1 hour".into(),
            },
        ],
    }
}

#[test]
fn app_page_shows_the_details() {
    let html = pages().app(&app_view()).unwrap();
    assert!(html.contains("<title>Photo Printer · Example Auth</title>"));
    assert!(html.contains(r#"<main id="main" class="wide""#));
    assert!(html.contains(r#"<code class="client-id">photo-printer</code>"#));
    assert!(html.contains("<dd>Confidential</dd>"));
    assert!(html.contains("Prints your photos."));
    assert!(html.contains(r#"<a href="https://printer.example" rel="noopener noreferrer">"#));
    assert!(html.contains("<li><code>https://printer.example/cb</code></li>"));
    assert!(html.contains("<li><code>http://127.0.0.1:8080/cb?a=1&amp;b=2</code></li>"));
    for scope in scopes() {
        assert!(html.contains(&format!(
            r#"<span class="scope-label">{}</span> <code>{}</code>"#,
            scope.label, scope.name
        )));
    }
    assert!(html.contains("<li><code>authorization_code</code></li>"));
    assert!(html.contains("<li><code>refresh_token</code></li>"));
    assert!(html.contains(r#"<dd class="users">42</dd>"#));
    assert!(html.contains(r#"<dd class="last-used">2024-05-06 10:00</dd>"#));
    assert!(html.contains(r#"href="/developer/apps/photo-printer/edit">Edit</a>"#));
    assert!(html.contains(r#"href="/developer/apps/photo-printer/delete">Delete app</a>"#));
    assert!(tag_with(&html, ">Delete app</a>").contains("button-danger"));

    let rotate = form(&html, "/developer/apps/photo-printer/rotate-secret");
    assert!(rotate.contains(&hidden("csrf_token", "app-token")));
    assert!(rotate.contains(r#"<select id="overlap" name="overlap">"#));
    assert!(rotate.contains(r#"<option value="0">Not at all</option>"#));
    assert!(rotate.contains(r#"<option value="3600">1 hour</option>"#));
    assert!(rotate.contains(">Rotate secret</button>"));

    assert!(
        !html.contains("It will not be shown again"),
        "no secret box"
    );
    assert!(!html.contains("readonly"));
}

#[test]
fn app_page_for_a_public_app_that_was_never_used() {
    let html = pages()
        .app(&AppView {
            public: true,
            last_used: None,
            homepage: Some("javascript:alert(1)".into()),
            redirect_uris: Vec::new(),
            ..app_view()
        })
        .unwrap();
    assert!(html.contains(r#"<dd class="last-used">Never</dd>"#));
    assert!(html.contains("Public"));
    assert!(
        !html.contains("rotate-secret"),
        "public apps have no secret"
    );
    assert!(!html.contains(r#"href="javascript:"#));
    assert!(html.contains("/delete"));
}

#[test]
fn app_page_without_overlap_options_posts_no_overlap() {
    let html = pages()
        .app(&AppView {
            rotate_overlap_options: Vec::new(),
            ..app_view()
        })
        .unwrap();
    let rotate = form(&html, "/developer/apps/photo-printer/rotate-secret");
    assert!(!rotate.contains("<select"));
    assert!(rotate.contains(">Rotate secret</button>"));
}

#[test]
fn app_page_shows_a_new_secret_once() {
    let html = pages()
        .app(&AppView {
            new_secret: Some("s3cr3t-<&>-value".into()),
            flash: Some(Flash::success("Secret rotated.")),
            ..app_view()
        })
        .unwrap();
    assert!(
        html.contains(r#"<div class="flash flash-success" role="status">Secret rotated.</div>"#)
    );
    let start = html
        .find(r#"<section class="secret""#)
        .expect("a secret box");
    let secret_box = &html[start..start + html[start..].find("</section>").unwrap()];
    assert!(secret_box.contains("Copy the secret now. It will not be shown again."));
    let input = tag_with(secret_box, "readonly");
    assert_eq!(attr(input, "value"), "s3cr3t-&lt;&amp;&gt;-value");
    assert!(secret_box.contains(&format!(r#"<label for="{}">"#, attr(input, "id"))));
    assert!(secret_box.contains(r#"<code class="secret-value"><input"#));
    assert!(!input.contains("name="), "the secret is never posted back");
    assert_eq!(html.matches("s3cr3t").count(), 1);
}

#[test]
fn client_ids_are_one_path_segment() {
    let html = pages()
        .app(&AppView {
            client_id: "a/b?c#d%e f".into(),
            ..app_view()
        })
        .unwrap();
    assert!(html.contains(r#"href="/developer/apps/a%2Fb%3Fc%23d%25e%20f/edit""#));
    assert!(html.contains(r#"action="/developer/apps/a%2Fb%3Fc%23d%25e%20f/rotate-secret""#));
    assert!(html.contains(r#"<code class="client-id">a/b?c#d%e f</code>"#));
}

// ---------------------------------------------------------------- developer: delete

#[test]
fn delete_confirmation() {
    let html = pages()
        .confirm_delete(&ConfirmDeleteView {
            layout: layout(),
            action: "/developer/apps/photo-printer/delete".into(),
            csrf_token: "delete-token".into(),
            name: "Photo Printer".into(),
            users: 42,
        })
        .unwrap();
    assert!(html.contains("revokes every token"));
    assert!(html.contains("<strong class=\"users\">42 users</strong> will lose access."));
    let body = form(&html, "/developer/apps/photo-printer/delete");
    assert!(body.contains(&hidden("csrf_token", "delete-token")));
    assert!(body.contains(
        r#"<button type="submit" class="button button-danger">Delete Photo Printer</button>"#
    ));
    assert!(body.contains(r#"href="/developer/apps/photo-printer">Cancel</a>"#));

    let html = pages()
        .confirm_delete(&ConfirmDeleteView {
            users: 1,
            name: EVIL.into(),
            action: "/developer/apps/x/delete".into(),
            ..ConfirmDeleteView::default()
        })
        .unwrap();
    assert!(html.contains("1 user</strong> will lose access."));
    assert!(html.contains(&format!("Delete {EVIL_ESCAPED}</button>")));
    assert_no_script(&html);
}

// ---------------------------------------------------------------- account

fn connections() -> Vec<Connection> {
    vec![
        Connection {
            client_id: "photo-printer".into(),
            app_name: "Photo Printer".into(),
            owner: Some("bob".into()),
            scopes: scopes(),
            first_authorized: "2024-01-02".into(),
            last_used: Some("2024-05-06".into()),
        },
        Connection {
            client_id: "admin/tool".into(),
            app_name: "Admin Tool".into(),
            owner: None,
            scopes: Vec::new(),
            first_authorized: "2023-12-24".into(),
            last_used: None,
        },
    ]
}

#[test]
fn connections_are_listed_with_a_revoke_form_each() {
    let html = pages()
        .connections(&ConnectionsView {
            layout: layout(),
            flash: Some(Flash::success("Access revoked for Old App.")),
            csrf_token: "conn-token".into(),
            connections: connections(),
        })
        .unwrap();
    assert!(html.contains(r#"<main id="main" class="wide""#));
    assert!(html.contains(
        r#"<div class="flash flash-success" role="status">Access revoked for Old App.</div>"#
    ));
    let sections: Vec<&str> = html
        .split(r#"<section class="panel connection""#)
        .skip(1)
        .collect();
    assert_eq!(sections.len(), 2);

    let first = sections[0];
    assert!(first.contains(">Photo Printer</h2>"));
    assert!(first.contains("by <strong>bob</strong>"));
    for scope in scopes() {
        assert!(first.contains(&scope.label));
    }
    assert!(first.contains("<dd>2024-01-02</dd>"));
    assert!(first.contains("<dd>2024-05-06</dd>"));
    let revoke = form(first, "/account/connections/photo-printer/revoke");
    assert!(revoke.contains(&hidden("csrf_token", "conn-token")));
    assert!(revoke.contains(">Revoke access</button>"));

    let second = sections[1];
    assert!(second.contains(">Admin Tool</h2>"));
    assert!(second.contains("by the administrator"));
    assert!(second.contains("<dd>Never</dd>"));
    form(second, "/account/connections/admin%2Ftool/revoke");

    assert_eq!(html.matches(">Revoke access</button>").count(), 2);
    assert!(!html.contains("class=\"empty\""));
}

#[test]
fn connections_empty_state_and_escaping() {
    let html = pages()
        .connections(&ConnectionsView {
            layout: layout(),
            ..ConnectionsView::default()
        })
        .unwrap();
    assert!(html.contains(r#"<p class="empty">You haven't authorized any apps yet.</p>"#));
    assert!(!html.contains("Revoke access"));

    let mut evil = connections();
    evil[0].app_name = EVIL.into();
    evil[0].owner = Some(EVIL.into());
    let html = pages()
        .connections(&ConnectionsView {
            connections: evil,
            ..ConnectionsView::default()
        })
        .unwrap();
    assert_no_script(&html);
    assert!(html.contains(EVIL_ESCAPED));
}

#[test]
fn account_overview() {
    let html = pages()
        .account(&AccountView {
            layout: layout(),
            flash: Some(Flash::success("Signed in.")),
            csrf_token: "account-token".into(),
            username: "alice".into(),
            email: Some("alice@example.com".into()),
            member_since: "2023-11-05".into(),
        })
        .unwrap();
    assert!(html.contains("<h1>Your account</h1>"));
    assert!(html.contains(r#"<dd class="username">alice</dd>"#));
    assert!(html.contains(r#"<dd class="email">alice@example.com</dd>"#));
    assert!(html.contains(r#"<dd class="member-since">2023-11-05</dd>"#));
    assert!(html.contains(r#"<a href="/account/connections">Connected apps</a> <span"#));
    assert!(html.contains(r#"<a href="/developer/apps">Your apps</a>"#));
    let sign_out = form(&html, "/logout");
    assert!(sign_out.contains(&hidden("csrf_token", "account-token")));
    assert!(sign_out.contains(">Sign out</button>"));
    assert!(html.contains(r#"<div class="flash flash-success" role="status">Signed in.</div>"#));

    let html = pages()
        .account(&AccountView {
            username: EVIL.into(),
            email: None,
            ..AccountView::default()
        })
        .unwrap();
    assert!(html.contains(r#"<dd class="email">Not set</dd>"#));
    assert_no_script(&html);
}

// ---------------------------------------------------------------- escaping

#[test]
fn app_names_are_escaped_everywhere() {
    let pages = pages();
    let mut outputs = vec![
        pages
            .device(&DeviceView {
                confirm: Some(DeviceConfirm {
                    app_name: EVIL.into(),
                    owner: Some(EVIL.into()),
                    scopes: vec![ScopeChoice {
                        label: EVIL.into(),
                        description: EVIL.into(),
                        ..ScopeChoice::default()
                    }],
                    user_code: EVIL.into(),
                }),
                ..DeviceView::default()
            })
            .unwrap(),
        pages
            .device(&DeviceView {
                user_code: EVIL.into(),
                error: Some(EVIL.into()),
                ..DeviceView::default()
            })
            .unwrap(),
        pages
            .device(&DeviceView {
                done: Some(EVIL.into()),
                ..DeviceView::default()
            })
            .unwrap(),
        pages
            .pairing(&PairingView {
                apps: vec![AppOption {
                    client_id: EVIL.into(),
                    name: EVIL.into(),
                    selected: false,
                }],
                client_id: EVIL.into(),
                error: Some(EVIL.into()),
                ..PairingView::default()
            })
            .unwrap(),
        pages
            .pairing(&PairingView {
                confirm: Some(PairingConfirm {
                    app_name: EVIL.into(),
                    owner: Some(EVIL.into()),
                    client_id: EVIL.into(),
                    scopes: Vec::new(),
                }),
                ..PairingView::default()
            })
            .unwrap(),
        pages
            .pairing(&PairingView {
                code: Some(PairingCode {
                    code: EVIL.into(),
                    app_name: EVIL.into(),
                    expires_in_minutes: 5,
                }),
                ..PairingView::default()
            })
            .unwrap(),
        pages
            .app_form(&AppFormView {
                name: EVIL.into(),
                description: EVIL.into(),
                redirect_uris: EVIL.into(),
                editing: true,
                errors: vec![
                    FieldError {
                        field: "name".into(),
                        message: EVIL.into(),
                    },
                    FieldError {
                        field: EVIL.into(),
                        message: EVIL.into(),
                    },
                ],
                ..app_form_view()
            })
            .unwrap(),
        pages
            .app(&AppView {
                name: EVIL.into(),
                description: EVIL.into(),
                client_id: EVIL.into(),
                new_secret: Some(EVIL.into()),
                redirect_uris: vec![EVIL.into()],
                grant_types: vec![EVIL.into()],
                flash: Some(Flash {
                    kind: EVIL.into(),
                    message: EVIL.into(),
                }),
                ..app_view()
            })
            .unwrap(),
    ];
    outputs.push(
        pages
            .apps(&AppsView {
                flash: Some(Flash::error(EVIL)),
                ..AppsView::default()
            })
            .unwrap(),
    );
    for html in outputs {
        assert_no_script(&html);
        assert!(html.contains(EVIL_ESCAPED), "{html}");
    }
}

// ---------------------------------------------------------------- overrides

#[test]
fn every_new_page_renders_with_a_default_view() {
    let pages = pages();
    pages.device(&DeviceView::default()).unwrap();
    pages.pairing(&PairingView::default()).unwrap();
    pages.apps(&AppsView::default()).unwrap();
    pages.app_form(&AppFormView::default()).unwrap();
    pages.app(&AppView::default()).unwrap();
    pages.confirm_delete(&ConfirmDeleteView::default()).unwrap();
    pages.connections(&ConnectionsView::default()).unwrap();
    pages.account(&AccountView::default()).unwrap();
    // The embedded templates also pass the startup check.
    Pages::with_overrides(TempDir::new().path()).unwrap();
}

#[test]
fn a_subdirectory_template_can_be_overridden() {
    let dir = TempDir::new();
    dir.write(
        "developer/apps.html",
        r#"{% extends "base.html" %}{% block content %}<ul class="mine">{% for app in apps %}<li>{{ app.name }}</li>{% endfor %}</ul>{% endblock %}"#,
    );
    dir.write("account/index.html", "<p>Hello {{ username }}</p>");
    let pages = Pages::with_overrides(dir.path()).unwrap();
    let html = pages
        .apps(&AppsView {
            apps: vec![AppSummary {
                name: "<b>Mine</b>".into(),
                ..AppSummary::default()
            }],
            ..AppsView::default()
        })
        .unwrap();
    assert!(
        html.contains(r#"<ul class="mine"><li>&lt;b&gt;Mine&lt;/b&gt;</li></ul>"#),
        "{html}"
    );
    assert!(html.starts_with("<!doctype html>"), "embedded base.html");
    assert_eq!(
        pages
            .account(&AccountView {
                username: "bob".into(),
                ..AccountView::default()
            })
            .unwrap(),
        "<p>Hello bob</p>"
    );
    // Same-named files elsewhere are not picked up.
    let view = AppView::default();
    assert_eq!(
        pages.app(&view).unwrap(),
        Pages::embedded().app(&view).unwrap()
    );
}

#[test]
fn a_top_level_file_does_not_override_a_subdirectory_template() {
    let dir = TempDir::new();
    dir.write("apps.html", "not used");
    let pages = Pages::with_overrides(dir.path()).unwrap();
    let view = AppsView::default();
    assert_eq!(
        pages.apps(&view).unwrap(),
        Pages::embedded().apps(&view).unwrap()
    );
}

#[test]
fn broken_subdirectory_overrides_are_errors_naming_the_file() {
    let dir = TempDir::new();
    dir.write(
        "developer/app_form.html",
        "{% extends \"base.html\" %}{% block content %}{% for %}",
    );
    let err = Pages::with_overrides(dir.path()).unwrap_err();
    assert!(matches!(err, UiError::Template(_)));
    let message = err.to_string();
    assert!(message.contains("app_form.html"), "{message}");
    assert!(message.contains("developer"), "{message}");
}

#[test]
fn overrides_that_fail_only_in_a_later_state_are_caught_at_startup() {
    // Renders fine with the default view, fails once a code is shown.
    let dir = TempDir::new();
    dir.write(
        "get_access.html",
        "{% if code %}{{ code.no_such_field }}{% endif %}",
    );
    let message = Pages::with_overrides(dir.path()).unwrap_err().to_string();
    assert!(message.contains("get_access.html"), "{message}");

    let dir = TempDir::new();
    dir.write(
        "device.html",
        "{% if confirm %}{{ confirm.app_nmae }}{% endif %}",
    );
    let message = Pages::with_overrides(dir.path()).unwrap_err().to_string();
    assert!(message.contains("device.html"), "{message}");

    let dir = TempDir::new();
    dir.write("device.html", "{% if done %}{{ nope }}{% endif %}");
    let message = Pages::with_overrides(dir.path()).unwrap_err().to_string();
    assert!(message.contains("device.html"), "{message}");

    let dir = TempDir::new();
    dir.write(
        "developer/app.html",
        "{% if new_secret %}{{ nope }}{% endif %}",
    );
    let message = Pages::with_overrides(dir.path()).unwrap_err().to_string();
    assert!(message.contains("app.html"), "{message}");

    let dir = TempDir::new();
    dir.write(
        "base.html",
        "{% if layout.signed_in_as %}{{ nope }}{% endif %}{% block content %}{% endblock %}",
    );
    let message = Pages::with_overrides(dir.path()).unwrap_err().to_string();
    assert!(message.contains("base.html"), "{message}");

    let dir = TempDir::new();
    dir.write("developer/delete.html", "{{ nope }}");
    let message = Pages::with_overrides(dir.path()).unwrap_err().to_string();
    assert!(message.contains("delete.html"), "{message}");
}

#[test]
fn overrides_using_every_view_field_pass_the_startup_check() {
    let dir = TempDir::new();
    dir.write(
        "developer/app.html",
        "{{ client_id|path_segment }}{{ new_secret }}{% for o in rotate_overlap_options %}{{ o.seconds }}{{ o.label }}{% endfor %}{{ flash.kind if flash }}{{ last_used }}",
    );
    dir.write(
        "get_access.html",
        "{% if code %}{{ code.code }}{{ code.app_name }}{{ code.expires_in_minutes }}{% elif confirm %}{{ confirm.client_id }}{% endif %}{% for app in apps %}{{ app.selected }}{% endfor %}",
    );
    Pages::with_overrides(dir.path()).unwrap();
}
