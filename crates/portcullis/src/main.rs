//! `portcullis`: the binary. Reads configuration, wires the layers together
//! and runs one command.

mod admin;
mod cli;
mod config;
mod serve;

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use service::{Policy, Service, SystemClock};
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command};
use crate::config::{FileConfig, Overrides, Settings};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let serving = matches!(cli.command, Command::Serve(_));
    let filter = EnvFilter::try_from_env("PORTCULLIS_LOG")
        .unwrap_or_else(|_| EnvFilter::new(if serving { "info" } else { "warn" }));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
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
    let service = Service::open(store, Arc::new(SystemClock), Policy::default()).await?;

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
