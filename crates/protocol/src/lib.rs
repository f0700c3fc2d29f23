//! The OAuth 2.0 rules of Portcullis as plain functions over typed values.
//!
//! This crate knows nothing about HTTP, SQL, async runtimes, the clock or the
//! operating system's random number generator: the current time and random
//! bytes are always arguments. Everything that arrives from the outside world
//! is parsed here into a type that can only hold a valid value
//! ("parse, don't validate"), and every refusal is an [`error::ErrorCode`]
//! named as in the RFCs.

pub mod client;
pub mod client_auth;
pub mod error;
pub mod grant_type;
pub mod params;
pub mod pkce;
pub mod redirect_uri;
pub mod scope;
pub mod sealed;
pub mod sealed_code;
pub mod token;
pub mod user_code;

pub use error::{ErrorCode, OAuthError};
pub use grant_type::GrantType;
pub use params::Params;
pub use redirect_uri::RedirectUri;
pub use scope::{ScopeName, ScopeSet};
