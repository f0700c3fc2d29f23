//! Server-rendered HTML pages: the sign-in, consent and error pages, their
//! layout and the stylesheet they share.
//!
//! Templates are embedded in the binary and rendered with auto-escaping
//! minijinja; an operator may replace any of them with a same-named file in
//! a directory of their own (see [`Pages::with_overrides`]). Views are plain
//! serializable structs, and every page is a plain `String`.
//!
//! Nothing here knows about HTTP, routing, sessions or storage, and no page
//! ships JavaScript or loads anything from another origin.

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

/// Every template by file name, with its embedded source.
const TEMPLATES: [(&str, &str); 4] = [
    (BASE, include_str!("../templates/base.html")),
    (LOGIN, include_str!("../templates/login.html")),
    (CONSENT, include_str!("../templates/consent.html")),
    (ERROR, include_str!("../templates/error.html")),
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
    /// one exists. Fails with a clear message (naming the file) if an
    /// override does not parse.
    ///
    /// Every page is also rendered once with an empty view, so an override
    /// that extends a missing template or prints an unknown variable fails
    /// here rather than on a user's request.
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
            let path = dir.join(name);
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

    fn render(&self, name: &str, view: &impl Serialize) -> Result<String, UiError> {
        self.render_raw(name, view)
            .map_err(|err| UiError::Template(err.to_string()))
    }

    fn render_raw(&self, name: &str, view: &impl Serialize) -> Result<String, minijinja::Error> {
        self.env
            .get_template(name)?
            .render(Value::from(Serde(view)))
    }

    /// Renders every page once with an empty view.
    fn check(&self, dir: &Path) -> Result<(), UiError> {
        self.render_raw(LOGIN, &LoginView::default())
            .and_then(|_| self.render_raw(CONSENT, &ConsentView::default()))
            .and_then(|_| self.render_raw(ERROR, &ErrorView::default()))
            .map(drop)
            .map_err(|err| {
                UiError::Template(format!(
                    "templates with overrides from {} do not render: {err}",
                    dir.display()
                ))
            })
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
    env
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
