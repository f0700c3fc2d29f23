//! `portcullis serve`: bind, serve, and stop gracefully on SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use service::Service;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use web::{AppState, Shared, WebConfig};

use crate::config::Settings;

/// A server running in this process.
pub struct Running {
    pub addr: SocketAddr,
    pub issuer: String,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The background purge of expired rows.
    purge: tokio::task::JoinHandle<()>,
    /// The sealed tokens' deny-list sync and issuance log.
    upkeep: tokio::task::JoinHandle<()>,
    service: Service,
}

impl Running {
    /// Stops accepting connections, lets requests in flight finish, and waits.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.purge.abort();
        self.task.await.context("the server task failed")??;
        self.upkeep.abort();
        self.service.flush_issuance_log().await;
        Ok(())
    }
}

/// Binds the listener and starts serving in the background.
pub async fn start(service: Service, settings: &Settings) -> anyhow::Result<Running> {
    let pages = match &settings.templates_dir {
        Some(dir) => ui::Pages::with_overrides(dir).context("templates_dir")?,
        None => ui::Pages::embedded(),
    };
    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let issuer = settings
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let purge = service.spawn_purge(service::purge::PURGE_INTERVAL);
    let upkeep = service.spawn_sealed_upkeep();
    let upkept = service.clone();
    let state = AppState::new(Shared {
        service,
        config: WebConfig {
            issuer: issuer.clone(),
        },
        pages,
        dialect: Arc::clone(&settings.dialect),
    });
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(web::serve(listener, state, async {
        let _ = stopped.await;
    }));
    Ok(Running {
        addr,
        issuer,
        stop,
        task,
        purge,
        upkeep,
        service: upkept,
    })
}

/// `portcullis serve`: runs until SIGINT or SIGTERM.
pub async fn run(service: Service, settings: Settings) -> anyhow::Result<()> {
    let first_run = service.list_users().await?.is_empty();
    let running = start(service, &settings).await?;
    let dialect = if settings.dialect.name == "native" {
        String::new()
    } else {
        format!(", dialect {}", settings.dialect.name)
    };
    println!(
        "Portcullis {} listening on http://{} (issuer {}{dialect})",
        env!("CARGO_PKG_VERSION"),
        running.addr,
        running.issuer
    );
    if first_run {
        println!(
            "No users yet. Create the first one with:\n  portcullis user create --username admin"
        );
    }
    tracing::info!(addr = %running.addr, issuer = %running.issuer, "serving");
    shutdown_signal().await;
    tracing::info!("shutting down; finishing requests in flight");
    running.stop().await?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
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
}
