//! `portcullis serve`: bind, serve, and stop gracefully on SIGINT/SIGTERM.

use std::sync::Arc;

use anyhow::Context;
use service::Service;
use tokio::net::TcpListener;
use web::{AppState, WebConfig};

use crate::config::Settings;

pub async fn run(service: Service, settings: Settings) -> anyhow::Result<()> {
    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let issuer = settings.issuer.unwrap_or_else(|| format!("http://{addr}"));
    let first_run = service.list_users().await?.is_empty();

    let state = AppState {
        service,
        config: Arc::new(WebConfig {
            issuer: issuer.clone(),
        }),
        pages: Arc::new(ui::Pages::embedded()),
    };

    println!(
        "Portcullis {} listening on http://{addr} (issuer {issuer})",
        env!("CARGO_PKG_VERSION")
    );
    if first_run {
        println!(
            "No users yet. Create the first one with:\n  portcullis user create --username admin"
        );
    }
    tracing::info!(%addr, %issuer, "serving");
    web::serve(listener, state, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM; requests in flight then finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down; finishing requests in flight");
}
