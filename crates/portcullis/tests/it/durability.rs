//! Killing the server with SIGKILL in the middle of writes loses nothing it
//! answered and leaves a consistent database.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Mutex;

use crate::support::{
    Backend, Server, both_backends, confidential_client, database, http, post_form,
};

async fn sigkill_under_load_loses_no_issued_token(backend: Backend) {
    let db = database(backend).await;
    let (id, secret) = confidential_client(&db, "loader", &[]);
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_on(&db, dir.path());
    let url = server.url("/oauth2/token");

    let stop = Arc::new(AtomicBool::new(false));
    let issued = Arc::new(Mutex::new(Vec::<String>::new()));
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let (stop, issued, url, id, secret) = (
                stop.clone(),
                issued.clone(),
                url.clone(),
                id.clone(),
                secret.clone(),
            );
            tokio::spawn(async move {
                let client = http();
                while !stop.load(Ordering::Relaxed) {
                    let sent = client
                        .post(&url)
                        .basic_auth(&id, Some(&secret))
                        .form(&[("grant_type", "client_credentials")])
                        .timeout(Duration::from_secs(5))
                        .send()
                        .await;
                    let Ok(response) = sent else { break };
                    if response.status() != 200 {
                        continue;
                    }
                    // Only a token whose whole answer arrived counts as issued.
                    if let Ok(body) = response.json::<Value>().await {
                        issued
                            .lock()
                            .await
                            .push(body["access_token"].as_str().unwrap().to_owned());
                    }
                }
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(700)).await;
    server.child.kill().expect("SIGKILL the server");
    server.child.wait().expect("reap the server");
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let issued = issued.lock().await.clone();
    assert!(
        issued.len() > 20,
        "the server was under load: {} tokens",
        issued.len()
    );
    assert!(
        db.integrity_ok().await,
        "the database is consistent after SIGKILL"
    );

    let server = Server::start_on(&db, dir.path());
    assert_eq!(
        http()
            .get(server.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let introspect = server.url("/oauth2/introspect");
    for token in &issued {
        let body: Value = post_form(&introspect, Some((&id, &secret)), &[("token", token)])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            body["active"], true,
            "a token the client received survives SIGKILL"
        );
    }
}

both_backends!(sigkill_under_load_loses_no_issued_token);
