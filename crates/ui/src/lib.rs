//! Server-rendered HTML pages: sign-in, consent, error, device and pairing
//! pages, the developer portal and the account pages, their layout and the
//! stylesheet they share.
//!
//! Templates are embedded in the binary and rendered with auto-escaping
//! minijinja; an operator may replace any of them with a same-named file in
//! a directory of their own (see [`Pages::with_overrides`]). Views are plain
//! serializable structs, and every page is a plain `String`.
//!
//! The templates, by the name an override file must have (relative to the
//! override directory; `/` separates subdirectories):
//!
//! | Template                   | Rendered by              | View                  |
//! |----------------------------|--------------------------|-----------------------|
//! | `base.html`                | every page (extended)    | [`Layout`] as `layout`|
//! | `login.html`               | [`Pages::login`]         | [`LoginView`]         |
//! | `consent.html`             | [`Pages::consent`]       | [`ConsentView`]       |
//! | `error.html`               | [`Pages::error`]         | [`ErrorView`]         |
//! | `device.html`              | [`Pages::device`]        | [`DeviceView`]        |
//! | `get_access.html`          | [`Pages::pairing`]       | [`PairingView`]       |
//! | `developer/apps.html`      | [`Pages::apps`]          | [`AppsView`]          |
//! | `developer/app_form.html`  | [`Pages::app_form`]      | [`AppFormView`]       |
//! | `developer/app.html`       | [`Pages::app`]           | [`AppView`]           |
//! | `developer/delete.html`    | [`Pages::confirm_delete`]| [`ConfirmDeleteView`] |
//! | `account/connections.html` | [`Pages::connections`]   | [`ConnectionsView`]   |
//! | `account/index.html`       | [`Pages::account`]       | [`AccountView`]       |
//!
//! Every template sees the fields of its view at the top level, the global
//! `stylesheet_path`, and a `path_segment` filter that percent-encodes a
//! value for use as one segment of a URL path (e.g. a client id in
//! `/developer/apps/{{ client_id|path_segment }}`).
//!
//! `base.html` defines the blocks `title`, `head`, `body_class`,
//! `main_class` (`card` for narrow pages, `wide` for tables and details),
//! `content` and `footer`; for signed-in users it also shows a navigation
//! (block `site_nav`) whose links a page marks as current by filling
//! `nav_account`, `nav_connections` or `nav_developer` with
//! ` aria-current="page"`.
//!
//! Nothing here knows about HTTP, routing, sessions or storage, and no page
//! ships JavaScript or loads anything from another origin.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, Output, State, UndefinedBehavior, escape_formatter};
use serde::Serialize;

/// The stylesheet, served by the binary at `/assets/portcullis.css`.
pub const STYLESHEET: &str = include_str!("../assets/portcullis.css");

/// Where every page links [`STYLESHEET`] from.
pub const STYLESHEET_PATH: &str = "/assets/portcullis.css";

const BASE: &str = "base.html";
const LOGIN: &str = "login.html";
const CONSENT: &str = "consent.html";
const ERROR: &str = "error.html";
const DEVICE: &str = "device.html";
const PAIRING: &str = "get_access.html";
const APPS: &str = "developer/apps.html";
const APP_FORM: &str = "developer/app_form.html";
const APP: &str = "developer/app.html";
const CONFIRM_DELETE: &str = "developer/delete.html";
const CONNECTIONS: &str = "account/connections.html";
const ACCOUNT: &str = "account/index.html";

/// Every template by name (a path relative to the template directory, with
/// `/` between directories), with its embedded source.
const TEMPLATES: [(&str, &str); 12] = [
    (BASE, include_str!("../templates/base.html")),
    (LOGIN, include_str!("../templates/login.html")),
    (CONSENT, include_str!("../templates/consent.html")),
    (ERROR, include_str!("../templates/error.html")),
    (DEVICE, include_str!("../templates/device.html")),
    (PAIRING, include_str!("../templates/get_access.html")),
    (APPS, include_str!("../templates/developer/apps.html")),
    (
        APP_FORM,
        include_str!("../templates/developer/app_form.html"),
    ),
    (APP, include_str!("../templates/developer/app.html")),
    (
        CONFIRM_DELETE,
        include_str!("../templates/developer/delete.html"),
    ),
    (
        CONNECTIONS,
        include_str!("../templates/account/connections.html"),
    ),
    (ACCOUNT, include_str!("../templates/account/index.html")),
];

/// Why a page could not be loaded or rendered.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// A template does not parse or does not render.
    #[error("template error: {0}")]
    Template(String),
    /// The override directory, or a file in it, cannot be read.
    #[error("cannot read template overrides at {path}")]
    Io {
        /// The directory or file that could not be read.
        path: String,
        #[source]
        source: io::Error,
    },
}

/// The compiled page templates; build once at startup and share.
#[derive(Debug, Clone)]
pub struct Pages {
    env: Environment<'static>,
}

impl Pages {
    /// Embedded templates only.
    pub fn embedded() -> Pages {
        let mut env = environment();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .expect("embedded templates parse");
        }
        Pages { env }
    }

    /// Embedded templates, each replaced by a same-named file in `dir` when
    /// one exists (`developer/apps.html` is read from `dir/developer/apps.html`).
    /// Fails with a clear message (naming the file) if an override does not
    /// parse.
    ///
    /// Every page is also rendered once with an empty view, so an override
    /// that extends a missing template or prints an unknown variable fails
    /// here rather than on a user's request. The pages that have several
    /// states (device, pairing, the developer portal, the account pages) are
    /// also rendered once per state, with every optional part present.
    pub fn with_overrides(dir: &Path) -> Result<Pages, UiError> {
        let io_error = |source| UiError::Io {
            path: dir.display().to_string(),
            source,
        };
        if !dir.metadata().map_err(io_error)?.is_dir() {
            return Err(io_error(io::Error::new(
                io::ErrorKind::NotADirectory,
                "not a directory",
            )));
        }

        let mut env = environment();
        for (name, embedded) in TEMPLATES {
            let path = name
                .split('/')
                .fold(dir.to_path_buf(), |path, part| path.join(part));
            match std::fs::read_to_string(&path) {
                Ok(source) => env.add_template_owned(name, source).map_err(|err| {
                    UiError::Template(format!(
                        "invalid template override {}: {err}",
                        path.display()
                    ))
                })?,
                Err(err) if err.kind() == io::ErrorKind::NotFound => {
                    env.add_template(name, embedded)
                        .expect("embedded templates parse");
                }
                Err(source) => {
                    return Err(UiError::Io {
                        path: path.display().to_string(),
                        source,
                    });
                }
            }
        }

        let pages = Pages { env };
        pages.check(dir)?;
        Ok(pages)
    }

    /// The sign-in page.
    pub fn login(&self, view: &LoginView) -> Result<String, UiError> {
        self.render(LOGIN, view)
    }

    /// The page asking the signed-in user to allow or deny an app.
    pub fn consent(&self, view: &ConsentView) -> Result<String, UiError> {
        self.render(CONSENT, view)
    }

    /// A page explaining that something went wrong.
    pub fn error(&self, view: &ErrorView) -> Result<String, UiError> {
        self.render(ERROR, view)
    }

    /// The RFC 8628 device verification page (`/device`): enter the code a
    /// device shows, confirm the app, see the outcome.
    pub fn device(&self, view: &DeviceView) -> Result<String, UiError> {
        self.render(DEVICE, view)
    }

    /// The page where a signed-in user picks an app and gets a one-time code
    /// to type into a device (`/get-access`).
    pub fn pairing(&self, view: &PairingView) -> Result<String, UiError> {
        self.render(PAIRING, view)
    }

    /// The developer portal: the signed-in user's own apps.
    pub fn apps(&self, view: &AppsView) -> Result<String, UiError> {
        self.render(APPS, view)
    }

    /// The developer portal: register a new app or edit one.
    pub fn app_form(&self, view: &AppFormView) -> Result<String, UiError> {
        self.render(APP_FORM, view)
    }

    /// The developer portal: one app's details and actions.
    pub fn app(&self, view: &AppView) -> Result<String, UiError> {
        self.render(APP, view)
    }

    /// The developer portal: confirm deleting an app.
    pub fn confirm_delete(&self, view: &ConfirmDeleteView) -> Result<String, UiError> {
        self.render(CONFIRM_DELETE, view)
    }

    /// The apps the signed-in user has authorized, each revocable.
    pub fn connections(&self, view: &ConnectionsView) -> Result<String, UiError> {
        self.render(CONNECTIONS, view)
    }

    /// The signed-in user's account overview.
    pub fn account(&self, view: &AccountView) -> Result<String, UiError> {
        self.render(ACCOUNT, view)
    }

    fn render(&self, name: &str, view: &impl Serialize) -> Result<String, UiError> {
        self.render_raw(name, view)
            .map_err(|err| UiError::Template(err.to_string()))
    }

    fn render_raw(&self, name: &str, view: &impl Serialize) -> Result<String, minijinja::Error> {
        self.env
            .get_template(name)?
            .render(Value::from(Serde(view)))
    }

    /// Renders every page once with an empty view, and the pages added with
    /// the device flow, the developer portal and the account pages once more
    /// per state with every optional part filled in.
    fn check(&self, dir: &Path) -> Result<(), UiError> {
        self.render_raw(LOGIN, &LoginView::default())
            .and_then(|_| self.render_raw(CONSENT, &ConsentView::default()))
            .and_then(|_| self.render_raw(ERROR, &ErrorView::default()))
            .and_then(|_| self.check_portal_pages())
            .map(drop)
            .map_err(|err| {
                UiError::Template(format!(
                    "templates with overrides from {} do not render: {err}",
                    dir.display()
                ))
            })
    }
}

impl Pages {
    fn check_portal_pages(&self) -> Result<(), minijinja::Error> {
        // Optional text is filled in with something non-empty, so that
        // `{% if ... %}` takes the branch that shows it.
        let text = || Some("x".to_owned());
        let layout = || Layout {
            signed_in_as: text(),
            ..Layout::default()
        };
        let scopes = || vec![ScopeChoice::default()];
        let flash = || Some(Flash::default());

        self.render_raw(DEVICE, &DeviceView::default())?;
        let device = DeviceView {
            layout: layout(),
            error: text(),
            ..DeviceView::default()
        };
        self.render_raw(DEVICE, &device)?;
        self.render_raw(
            DEVICE,
            &DeviceView {
                confirm: Some(DeviceConfirm {
                    owner: text(),
                    scopes: scopes(),
                    ..DeviceConfirm::default()
                }),
                ..device.clone()
            },
        )?;
        self.render_raw(
            DEVICE,
            &DeviceView {
                done: text(),
                ..device
            },
        )?;

        self.render_raw(PAIRING, &PairingView::default())?;
        let pairing = PairingView {
            layout: layout(),
            apps: vec![AppOption::default()],
            error: text(),
            ..PairingView::default()
        };
        self.render_raw(PAIRING, &pairing)?;
        self.render_raw(
            PAIRING,
            &PairingView {
                confirm: Some(PairingConfirm {
                    owner: text(),
                    scopes: scopes(),
                    ..PairingConfirm::default()
                }),
                ..pairing.clone()
            },
        )?;
        self.render_raw(
            PAIRING,
            &PairingView {
                code: Some(PairingCode::default()),
                ..pairing
            },
        )?;

        self.render_raw(APPS, &AppsView::default())?;
        self.render_raw(
            APPS,
            &AppsView {
                layout: layout(),
                flash: flash(),
                apps: vec![AppSummary::default()],
            },
        )?;

        self.render_raw(APP_FORM, &AppFormView::default())?;
        let errors = [
            "name",
            "description",
            "homepage",
            "redirect_uri",
            "scope",
            "grant_type",
            "public",
            "",
        ]
        .map(|field| FieldError {
            field: field.to_owned(),
            message: String::new(),
        });
        self.render_raw(
            APP_FORM,
            &AppFormView {
                layout: layout(),
                editing: true,
                scopes: scopes(),
                grant_types: vec![GrantChoice::default()],
                errors: errors.into(),
                ..AppFormView::default()
            },
        )?;

        self.render_raw(APP, &AppView::default())?;
        self.render_raw(
            APP,
            &AppView {
                layout: layout(),
                flash: flash(),
                homepage: text(),
                redirect_uris: vec![String::new()],
                scopes: scopes(),
                grant_types: vec![String::new()],
                last_used: text(),
                new_secret: text(),
                rotate_overlap_options: vec![OverlapOption::default()],
                ..AppView::default()
            },
        )?;

        self.render_raw(CONFIRM_DELETE, &ConfirmDeleteView::default())?;

        self.render_raw(CONNECTIONS, &ConnectionsView::default())?;
        self.render_raw(
            CONNECTIONS,
            &ConnectionsView {
                layout: layout(),
                flash: flash(),
                csrf_token: String::new(),
                connections: vec![Connection {
                    owner: text(),
                    scopes: scopes(),
                    last_used: text(),
                    ..Connection::default()
                }],
            },
        )?;

        self.render_raw(ACCOUNT, &AccountView::default())?;
        self.render_raw(
            ACCOUNT,
            &AccountView {
                layout: layout(),
                flash: flash(),
                email: text(),
                ..AccountView::default()
            },
        )?;
        Ok(())
    }
}

/// An environment that HTML-escapes everything, prints `none` as nothing
/// and refuses to print variables that do not exist.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.set_formatter(format_value);
    env.add_global("stylesheet_path", STYLESHEET_PATH);
    env.add_filter("path_segment", path_segment);
    env
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so that
/// any value (a client id may contain `/`, `?` or `#`) stays one path
/// segment.
fn path_segment(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            write!(encoded, "%{byte:02X}").expect("writing to a String cannot fail");
        }
    }
    encoded
}

/// Like minijinja's default formatter, except that `none` prints as nothing
/// and strings escape only `& < > " '`, which keeps URLs readable.
fn format_value(
    out: &mut Output,
    state: &mut State,
    value: &Value,
) -> Result<(), minijinja::Error> {
    if value.is_none() {
        return Ok(());
    }
    match value.as_str() {
        Some(text) if !value.is_safe() && *state.auto_escape() == AutoEscape::Html => {
            Ok(write_html_escaped(out, text)?)
        }
        _ => escape_formatter(out, state, value),
    }
}

fn write_html_escaped(out: &mut Output, text: &str) -> std::fmt::Result {
    let mut rest = text;
    while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
        out.write_str(&rest[..at])?;
        out.write_str(match rest.as_bytes()[at] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#39;",
        })?;
        rest = &rest[at + 1..];
    }
    out.write_str(rest)
}

/// What every page shows around its content.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Layout {
    /// Shown in the header and the title, e.g. "Portcullis"; empty means "Portcullis".
    pub site_name: String,
    /// The signed-in user's name; when set, the header offers a sign-out form.
    pub signed_in_as: Option<String>,
    /// CSRF token for the sign-out form (`POST /logout`).
    pub csrf_token: String,
}

/// The sign-in form. Posts `username`, `password`, `csrf_token` and, when
/// set, `return_to`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoginView {
    pub layout: Layout,
    /// Form action URL, e.g. "/login".
    pub action: String,
    pub csrf_token: String,
    /// Sent back in the hidden field `return_to`.
    pub return_to: Option<String>,
    /// What the user typed last time, kept in the username field.
    pub username: String,
    /// E.g. "Wrong username or password."
    pub error: Option<String>,
    /// When signing in to authorize an app: "Sign in to continue to {app_name}".
    pub app_name: Option<String>,
}

/// The consent form. Posts `csrf_token`, `interaction`, one `scope` per
/// granted scope and `decision` (`approve` or `deny`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConsentView {
    pub layout: Layout,
    /// Form action URL, e.g. "/oauth2/consent".
    pub action: String,
    pub csrf_token: String,
    /// Sent back in the hidden field `interaction`.
    pub interaction: String,
    pub app_name: String,
    pub app_description: String,
    /// Linked only when it is an `http` or `https` URL.
    pub app_homepage: Option<String>,
    /// The owner's username; `None` means the administrator registered the app.
    pub owner: Option<String>,
    /// Where the user will be sent afterwards, shown as text.
    pub redirect_host: String,
    pub scopes: Vec<ScopeChoice>,
    /// `true`: the user picks scopes with checkboxes; `false`: the scopes are
    /// fixed, listed and sent back as hidden fields.
    pub choose: bool,
    pub error: Option<String>,
}

/// One scope on the consent page.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScopeChoice {
    /// The scope as sent back in the `scope` field.
    pub name: String,
    /// Short human name, e.g. "Read your profile".
    pub label: String,
    pub description: String,
    /// Whether its checkbox starts checked (when choosing).
    pub checked: bool,
}

/// An error page.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ErrorView {
    pub layout: Layout,
    /// The HTTP status, shown to the user.
    pub status: u16,
    pub title: String,
    pub message: String,
}

/// A one-off message at the top of a page, e.g. after a redirect.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Flash {
    /// `"success"` or `"error"`; shown with the class `flash-{kind}`, and
    /// announced as an alert when it is `"error"` (as a status otherwise).
    pub kind: String,
    pub message: String,
}

impl Flash {
    /// A message saying that something worked.
    pub fn success(message: impl Into<String>) -> Flash {
        Flash {
            kind: "success".to_owned(),
            message: message.into(),
        }
    }

    /// A message saying that something failed.
    pub fn error(message: impl Into<String>) -> Flash {
        Flash {
            kind: "error".to_owned(),
            message: message.into(),
        }
    }
}

/// The RFC 8628 verification page, in one of three states: entering the
/// code (neither `confirm` nor `done`), confirming the app (`confirm`), or
/// finished (`done`, which wins over `confirm`).
///
/// The entry form posts `csrf_token`, `user_code` and `step=lookup`; the
/// confirmation form posts `csrf_token`, `user_code` and `decision`
/// (`approve` or `deny`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeviceView {
    pub layout: Layout,
    /// Form action URL, e.g. "/device".
    pub action: String,
    pub csrf_token: String,
    /// What was typed, or arrived as `?user_code=`; kept in the input.
    pub user_code: String,
    /// E.g. "That code is not valid or has expired."
    pub error: Option<String>,
    /// Set once the code is known: show the app and its scopes with Allow
    /// and Deny buttons instead of the entry form.
    pub confirm: Option<DeviceConfirm>,
    /// Final state, e.g. "Your device is connected. You can close this page."
    pub done: Option<String>,
}

/// The app a device code belongs to, for the user to allow or deny.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeviceConfirm {
    pub app_name: String,
    /// The owner's username; `None` means the administrator registered the app.
    pub owner: Option<String>,
    /// Listed by label and description; not choosable, and not sent back.
    pub scopes: Vec<ScopeChoice>,
    /// Shown for comparison with the device, and sent back in the hidden
    /// field `user_code`.
    pub user_code: String,
}

/// The page where a signed-in user picks an app and gets a short one-time
/// code to type into a device. Its state is `code` if set, else `confirm`
/// if set, else choosing an app.
///
/// The selection form posts `csrf_token`, `client_id` (from a select; empty
/// when nothing is picked), `client_id_text` (typed; should win when not
/// empty) and `step=choose`. The confirmation form posts `csrf_token`,
/// `client_id` and `decision` (`approve` or `deny`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PairingView {
    pub layout: Layout,
    /// Form action URL, e.g. "/get-access".
    pub action: String,
    pub csrf_token: String,
    /// The apps to choose from; when empty only the text input is offered.
    pub apps: Vec<AppOption>,
    /// What was chosen or typed last time. Kept in the text input unless
    /// one of `apps` is marked `selected`.
    pub client_id: String,
    pub error: Option<String>,
    pub confirm: Option<PairingConfirm>,
    pub code: Option<PairingCode>,
}

/// One app in the pairing page's select.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AppOption {
    pub client_id: String,
    pub name: String,
    pub selected: bool,
}

/// The app the user chose on the pairing page, for them to allow or deny.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PairingConfirm {
    pub app_name: String,
    /// The owner's username; `None` means the administrator registered the app.
    pub owner: Option<String>,
    /// Sent back in the hidden field `client_id`.
    pub client_id: String,
    /// Listed by label and description; not choosable, and not sent back.
    pub scopes: Vec<ScopeChoice>,
}

/// The one-time code to type into the device.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PairingCode {
    pub code: String,
    pub app_name: String,
    pub expires_in_minutes: i64,
}

/// The developer portal's list of the signed-in user's apps.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AppsView {
    pub layout: Layout,
    pub flash: Option<Flash>,
    pub apps: Vec<AppSummary>,
}

/// One row of [`AppsView`], linked to `/developer/apps/{client_id}`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AppSummary {
    pub client_id: String,
    pub name: String,
    /// `true`: a public client (no secret); `false`: confidential.
    pub public: bool,
    /// How many users have authorized the app.
    pub users: i64,
    /// Preformatted date.
    pub created: String,
}

/// The form registering or editing an app. Posts `csrf_token`, `name`,
/// `description`, `homepage`, `redirect_uris` (one per line), `public=1`
/// when checked (never sent when editing: the box is disabled), one `scope`
/// per checked scope and one `grant_type` per checked grant type.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AppFormView {
    pub layout: Layout,
    /// Form action URL, e.g. "/developer/apps/new" or
    /// "/developer/apps/{id}/edit". When editing and it ends in `/edit`,
    /// Cancel goes to the same URL without it; otherwise to "/developer/apps".
    pub action: String,
    pub csrf_token: String,
    /// `true`: "Save changes", and the app type cannot change.
    pub editing: bool,
    pub name: String,
    pub description: String,
    pub homepage: String,
    /// One URI per line.
    pub redirect_uris: String,
    pub public: bool,
    pub scopes: Vec<ScopeChoice>,
    pub grant_types: Vec<GrantChoice>,
    /// Shown next to their field when `field` is one of "name",
    /// "description", "homepage", "redirect_uri", "scope", "grant_type" or
    /// "public"; listed at the top of the form otherwise.
    pub errors: Vec<FieldError>,
}

/// One grant type checkbox on the app form.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GrantChoice {
    /// Sent back in the `grant_type` field, e.g. "authorization_code".
    pub value: String,
    /// E.g. "Authorization code (sign-in through the browser)".
    pub label: String,
    pub checked: bool,
}

/// A validation error for one form field.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// One app's page in the developer portal.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AppView {
    pub layout: Layout,
    pub flash: Option<Flash>,
    /// For the rotate-secret form.
    pub csrf_token: String,
    pub client_id: String,
    pub name: String,
    pub description: String,
    /// Linked only when it is an `http` or `https` URL.
    pub homepage: Option<String>,
    pub public: bool,
    pub redirect_uris: Vec<String>,
    /// The app's scopes, listed by label (`checked` is ignored).
    pub scopes: Vec<ScopeChoice>,
    pub grant_types: Vec<String>,
    /// How many users have authorized the app.
    pub users: i64,
    /// Preformatted; `None` shows "Never".
    pub last_used: Option<String>,
    /// A secret just issued, shown once in a prominent box.
    pub new_secret: Option<String>,
    /// Choices for how long the old secret keeps working after a rotation,
    /// posted as `overlap` (seconds). When empty, the form has no `overlap`.
    pub rotate_overlap_options: Vec<OverlapOption>,
}

/// One choice in the rotate-secret form's `overlap` select.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OverlapOption {
    pub seconds: i64,
    /// E.g. "1 hour".
    pub label: String,
}

/// Asks the developer to confirm deleting an app. Posts `csrf_token`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConfirmDeleteView {
    pub layout: Layout,
    /// Form action URL, e.g. "/developer/apps/{id}/delete"; Cancel links to
    /// it without the trailing "/delete".
    pub action: String,
    pub csrf_token: String,
    pub name: String,
    /// How many users will lose access.
    pub users: i64,
}

/// The apps the signed-in user has authorized. Each has a form posting
/// `csrf_token` to `/account/connections/{client_id}/revoke`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConnectionsView {
    pub layout: Layout,
    pub flash: Option<Flash>,
    pub csrf_token: String,
    pub connections: Vec<Connection>,
}

/// One authorized app on [`ConnectionsView`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct Connection {
    pub client_id: String,
    pub app_name: String,
    /// The owner's username; `None` means the administrator registered the app.
    pub owner: Option<String>,
    /// The granted scopes, listed by label (`checked` is ignored).
    pub scopes: Vec<ScopeChoice>,
    /// Preformatted date.
    pub first_authorized: String,
    /// Preformatted; `None` shows "Never".
    pub last_used: Option<String>,
}

/// The signed-in user's account overview, with a sign-out form posting
/// `csrf_token` to `/logout`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AccountView {
    pub layout: Layout,
    pub flash: Option<Flash>,
    pub csrf_token: String,
    pub username: String,
    pub email: Option<String>,
    /// Preformatted date.
    pub member_since: String,
}
