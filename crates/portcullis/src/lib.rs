//! The library half of the `portcullis` binary: configuration, the admin
//! commands and the server's wiring. The binary is a thin `main` over
//! [`run`]; tests start servers in-process through [`serve::start`].

pub mod admin;
pub mod cli;
pub mod config;
pub mod serve;

use std::sync::Arc;

use anyhow::Context as _;
use service::{Service, SystemClock};

use crate::cli::{Cli, Command};
use crate::config::{FileConfig, Overrides, Settings};

/// Runs one command: the server, or an admin command against its database.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let file = match &cli.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let (listen, issuer) = match &cli.command {
        Command::Serve(args) => (args.listen.clone(), args.issuer.clone()),
        _ => (None, None),
    };
    let settings = Settings::resolve(
        Overrides {
            listen,
            database_url: cli.database_url.clone(),
            issuer,
        },
        file,
    )?;

    let store = store::connect(&settings.database_url).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot open the database {}: {e}",
            store::redact_url(&settings.database_url)
        )
    })?;
    let applied = store.migrate().await?;
    if !applied.is_empty() {
        tracing::info!(?applied, "applied database migrations");
    }
    let service = Service::open(store, Arc::new(SystemClock), settings.policy.clone()).await?;
    service
        .ensure_scopes(settings.scopes.clone(), &service::Origin::cli())
        .await
        .context("cannot create the configured scopes")?;

    let output = match cli.command {
        Command::Serve(_) => return serve::run(service, settings).await,
        Command::Migrate => admin::Output {
            text: if applied.is_empty() {
                "the database is up to date".to_owned()
            } else {
                format!("applied migrations {applied:?}")
            },
            json: serde_json::json!({ "applied": applied }),
        },
        Command::User(c) => admin::user(&service, c).await?,
        Command::Client(c) => admin::client(&service, c).await?,
        Command::Scope(c) => admin::scope(&service, c).await?,
    };
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&output.json)?);
    } else if !output.text.is_empty() {
        println!("{}", output.text);
    }
    Ok(())
}
