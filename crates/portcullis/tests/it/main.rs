//! Black-box tests of the `portcullis` binary: the admin CLI and the
//! server, driven as an operator and a client would, on SQLite and on
//! PostgreSQL.

mod api;
mod architecture;
mod authorization_code;
mod browser;
mod cli;
mod client_credentials;
mod device;
mod dialects;
mod durability;
mod hardening;
mod lifetimes;
mod portal;
mod purge;
mod sealed;
mod serve;
mod support;
