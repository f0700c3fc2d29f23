//! The background purge of expired rows, driven by the test's clock: what
//! expired goes, and a rotated refresh token stays until its grant expires,
//! so presenting it again still revokes the family.

use protocol::token::{self, Kind};
use service::Policy;
use service::clients::Lifetimes;
use service::purge::PURGE_MARGIN;

use crate::lifetimes::{active, client, error_of, exchange, token};
use crate::support::{App, Backend, both_backends};

fn row_id(kind: Kind, presented: &str) -> protocol::token::RowId {
    token::row_id(kind, presented).expect("a well-formed credential")
}

async fn expired_rows_are_purged_and_rotated_refresh_tokens_kept(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    let store = app.service.store().clone();
    let party = client(
        &app,
        Lifetimes {
            access_token_ttl: Some(600),
            refresh_token_ttl: Some(7_200),
            ..Lifetimes::default()
        },
    )
    .await;
    let issued = exchange(&app, &party).await;
    let first_access = issued["access_token"].as_str().unwrap().to_owned();
    let first_refresh = issued["refresh_token"].as_str().unwrap().to_owned();
    let rotated: serde_json::Value = token(
        &app,
        &party,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &first_refresh),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    let next_refresh = rotated["refresh_token"].as_str().unwrap().to_owned();
    let next_access = rotated["access_token"].as_str().unwrap().to_owned();

    // Nothing has expired yet: nothing goes.
    assert_eq!(app.service.purge_expired().await.unwrap(), 0);

    // Both access tokens expired more than the margin ago: they go.
    app.clock.advance(600 + PURGE_MARGIN + 1);
    assert_eq!(app.service.purge_expired().await.unwrap(), 2);
    for t in [&first_access, &next_access] {
        let id = row_id(Kind::AccessToken, t);
        assert_eq!(store.access_token(id).await.unwrap(), None);
    }
    // The spent refresh token is still there, so its reuse revokes the family.
    let spent = row_id(Kind::RefreshToken, &first_refresh);
    let grant_id = store.refresh_token(spent).await.unwrap().unwrap().grant_id;
    assert!(active(&app, &party, &next_refresh).await);
    let reuse = token(
        &app,
        &party,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &first_refresh),
        ],
    )
    .await;
    assert_eq!(error_of(reuse).await, "invalid_grant");
    assert!(!active(&app, &party, &next_refresh).await);

    // Once the grant has expired (and the margin passed), all of it goes.
    app.clock.advance(7_200);
    assert!(app.service.purge_expired().await.unwrap() >= 4);
    assert_eq!(store.grant(grant_id).await.unwrap(), None);
    assert_eq!(store.refresh_token(spent).await.unwrap(), None);
    let next = row_id(Kind::RefreshToken, &next_refresh);
    assert_eq!(store.refresh_token(next).await.unwrap(), None);
    app.stop().await;
}

both_backends!(expired_rows_are_purged_and_rotated_refresh_tokens_kept);
