//! The background purge of expired rows, driven by the test's clock: what
//! expired goes, and a grant stays until it expires, so presenting a
//! rotated refresh token again still revokes the family.

use service::Policy;
use service::clients::Lifetimes;
use service::purge::PURGE_MARGIN;

use crate::lifetimes::{active, client, error_of, exchange, token};
use crate::support::{App, Backend, both_backends};

async fn expired_rows_are_purged_and_rotated_refresh_tokens_kept(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
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

    let refresh = |presented: String| {
        let app = &app;
        let party = &party;
        async move {
            token(
                app,
                party,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &presented),
                ],
            )
            .await
        }
    };

    // Nothing has expired yet: nothing goes.
    assert_eq!(app.service.purge_expired().await.unwrap(), 0);

    // Both access tokens expired more than the margin ago. They are sealed:
    // nothing of them is stored, and they are no longer active.
    app.clock.advance(600 + PURGE_MARGIN + 1);
    assert_eq!(app.service.purge_expired().await.unwrap(), 0);
    for t in [&first_access, &next_access] {
        assert!(!active(&app, &party, t).await);
    }
    // The grant is still there, so reusing the spent refresh token revokes
    // the family.
    assert!(active(&app, &party, &next_refresh).await);
    let reuse = refresh(first_refresh.clone()).await;
    assert_eq!(error_of(reuse).await, "invalid_grant");
    assert!(!active(&app, &party, &next_refresh).await);

    // Once the grant has expired (and the margin passed), it goes (the code
    // that issued it was never stored), and its tokens are simply unknown.
    app.clock.advance(7_200);
    assert_eq!(app.service.purge_expired().await.unwrap(), 1);
    assert_eq!(app.service.purge_expired().await.unwrap(), 0);
    let unknown = refresh(next_refresh.clone()).await;
    assert_eq!(error_of(unknown).await, "invalid_grant");
    app.stop().await;
}

/// Each pass sweeps a bounded number of grants and the next goes on from
/// there; after the last grant, the sweep begins again from the first.
async fn the_grant_sweep_goes_on_where_the_last_pass_stopped(backend: Backend) {
    let app = App::start(backend, Policy::default()).await;
    let party = client(
        &app,
        Lifetimes {
            refresh_token_ttl: Some(3_600),
            ..Lifetimes::default()
        },
    )
    .await;
    for _ in 0..3 {
        exchange(&app, &party).await;
    }
    app.clock.advance(3_600 + PURGE_MARGIN + 1);
    let later = exchange(&app, &party).await;
    let live = later["refresh_token"].as_str().unwrap().to_owned();

    // One grant per statement, two per pass: the three expired grants go
    // over two passes, and the fourth, still valid, stays.
    let pass = || app.service.purge_expired_in(1, 2);
    assert_eq!(pass().await.unwrap(), 2);
    assert_eq!(pass().await.unwrap(), 1);
    assert_eq!(pass().await.unwrap(), 0, "the sweep began again");
    assert!(active(&app, &party, &live).await);

    app.clock.advance(3_600);
    assert_eq!(pass().await.unwrap(), 0, "expired, but within the margin");
    app.clock.advance(PURGE_MARGIN + 1);
    assert_eq!(pass().await.unwrap(), 1, "from the first grant again");
    assert!(!active(&app, &party, &live).await);
    app.stop().await;
}

both_backends!(
    expired_rows_are_purged_and_rotated_refresh_tokens_kept,
    the_grant_sweep_goes_on_where_the_last_pass_stopped
);
