//! One behavioural contract, run against every backend: each test below is
//! instantiated for SQLite and for PostgreSQL (the latter when
//! `PORTCULLIS_TEST_POSTGRES_URL` is set; CI always sets it).

use std::sync::Arc;

use protocol::token::{RowId, Verifier};
use protocol::{RedirectUri, ScopeSet};
use store::testing::{Backend, TestDatabase, client, consent_to_read, grant_of, issued, rid, user};
use store::{
    AccessToken, AuditEvent, CodeOrigin, DeviceCode, DeviceStatus, Grant, PairingCode, Redeemed,
    Scope, Session, StandingGrant, Store, StoreError,
};

async fn open(backend: Backend) -> Option<(TestDatabase, Arc<dyn Store>)> {
    let Some(db) = TestDatabase::create(backend).await else {
        eprintln!("skipped: {} is not set", store::testing::POSTGRES_ENV);
        return None;
    };
    let store = store::connect(&db.url).await.expect("connect");
    assert_eq!(
        store.migrate().await.expect("migrate"),
        (1..=11).collect::<Vec<i64>>()
    );
    Some((db, store))
}

async fn migrations_are_idempotent(store: Arc<dyn Store>) {
    assert_eq!(store.migrate().await.unwrap(), Vec::<i64>::new());
    store.ping().await.unwrap();
}

async fn users(store: Arc<dyn Store>) {
    store.insert_user(&user("alice")).await.unwrap();
    store.insert_user(&user("bob")).await.unwrap();
    let mut dup = user("alice");
    dup.id = "other".to_owned();
    assert!(matches!(
        store.insert_user(&dup).await,
        Err(StoreError::Conflict(store::error_kind::Conflict::Username))
    ));
    assert_eq!(
        store.user_by_username("alice").await.unwrap(),
        Some(user("alice"))
    );
    assert_eq!(store.user_by_id("u-bob").await.unwrap(), Some(user("bob")));
    assert_eq!(store.user_by_username("carol").await.unwrap(), None);
    let names: Vec<_> = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["alice", "bob"]);

    assert!(store.set_user_disabled("bob", true, 2_000).await.unwrap());
    assert!(!store.set_user_disabled("carol", true, 2_000).await.unwrap());
    let bob = store.user_by_username("bob").await.unwrap().unwrap();
    assert!(bob.disabled);
    assert_eq!(bob.updated_at, 2_000);
    assert!(
        store
            .set_user_password("alice", "new-hash", 3_000)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .user_by_username("alice")
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "new-hash"
    );
}

async fn clients(store: Arc<dyn Store>) {
    store.insert_user(&user("alice")).await.unwrap();
    let c = client("c1", Some("u-alice"));
    store.insert_client(&c).await.unwrap();
    store.insert_client(&client("c2", None)).await.unwrap();
    assert_eq!(store.client("c1").await.unwrap(), Some(c.clone()));
    assert_eq!(store.client("nope").await.unwrap(), None);

    // The same id, or the same name for the same owner, conflicts.
    let mut same_id = client("c1", None);
    same_id.name = "Different".to_owned();
    assert!(matches!(
        store.insert_client(&same_id).await,
        Err(StoreError::Conflict(store::error_kind::Conflict::ClientId))
    ));
    let mut same_name = client("c3", Some("u-alice"));
    same_name.name = c.name.clone();
    assert!(matches!(
        store.insert_client(&same_name).await,
        Err(StoreError::Conflict(
            store::error_kind::Conflict::ClientName
        ))
    ));
    let unknown_owner = client("c4", Some("u-nobody"));
    assert!(matches!(
        store.insert_client(&unknown_owner).await,
        Err(StoreError::MissingReference)
    ));

    let all = store.list_clients(None).await.unwrap();
    assert_eq!(
        all.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["c1", "c2"]
    );
    assert_eq!(
        all[1].redirect_uris.len(),
        2,
        "every listed client has its redirect URIs"
    );
    let mine = store.list_clients(Some("u-alice")).await.unwrap();
    assert_eq!(mine, vec![c.clone()]);

    let mut changed = c.clone();
    changed.name = "Renamed".to_owned();
    changed.redirect_uris = vec![RedirectUri::parse("https://other.test/cb").unwrap()];
    changed.scopes = ScopeSet::parse("read").unwrap();
    changed.updated_at = 5_000;
    assert!(store.update_client(&changed).await.unwrap());
    assert_eq!(store.client("c1").await.unwrap(), Some(changed.clone()));
    assert!(!store.update_client(&client("nope", None)).await.unwrap());

    let new = Verifier::of("pc_cs_new");
    let old = (Verifier::of("pc_cs_secret"), 9_000);
    assert!(
        store
            .set_client_secret("c1", &new, Some(old), 6_000)
            .await
            .unwrap()
    );
    let rotated = store.client("c1").await.unwrap().unwrap();
    assert_eq!(rotated.secret, Some(new));
    assert_eq!(rotated.previous_secret, Some(old));

    assert!(store.delete_client("c1").await.unwrap());
    assert!(!store.delete_client("c1").await.unwrap());
    assert_eq!(store.client("c1").await.unwrap(), None);
}

async fn scopes(store: Arc<dyn Store>) {
    let s = Scope {
        name: "application.session".to_owned(),
        label: "Sessions".to_owned(),
        description: "Start application sessions".to_owned(),
        required_claims: vec!["application_id".to_owned(), "workflow_id".to_owned()],
        created_at: 1_000,
    };
    store.insert_scope(&s).await.unwrap();
    assert!(matches!(
        store.insert_scope(&s).await,
        Err(StoreError::Conflict(store::error_kind::Conflict::ScopeName))
    ));
    assert_eq!(store.list_scopes().await.unwrap(), vec![s]);
    assert!(store.delete_scope("application.session").await.unwrap());
    assert!(!store.delete_scope("application.session").await.unwrap());
    assert!(store.list_scopes().await.unwrap().is_empty());
}

/// A code's grant is stored under the code's id, once, and only while the
/// consent the code came from stands.
async fn a_code_is_redeemed_once_while_its_consent_stands(store: Arc<dyn Store>) {
    store.insert_user(&user("alice")).await.unwrap();
    store.insert_client(&client("c1", None)).await.unwrap();
    let g = grant_of(1, "c1", "u-alice");
    // No consent: nothing to redeem.
    assert_eq!(
        store.redeem_code(&g, issued(1_000)).await.unwrap(),
        Redeemed::Missing
    );
    assert_eq!(store.grant(g.id).await.unwrap(), None);
    store
        .put_consent(&consent_to_read("u-alice", 1_000))
        .await
        .unwrap();
    // A consent given after the code was issued is not the one it came from.
    assert_eq!(
        store.redeem_code(&g, issued(999)).await.unwrap(),
        Redeemed::Missing
    );
    assert_eq!(
        store.redeem_code(&g, issued(1_000)).await.unwrap(),
        Redeemed::Issued
    );
    assert_eq!(store.grant(g.id).await.unwrap(), Some(g.clone()));
    assert_eq!(
        store.redeem_code(&g, issued(1_000)).await.unwrap(),
        Redeemed::Replayed {
            grant_id: Some(g.id)
        }
    );
    // Revoked since: the consent is gone.
    let other = grant_of(2, "c1", "u-alice");
    assert!(
        store
            .revoke_authorization("u-alice", "c1", 1_020)
            .await
            .unwrap()
    );
    assert_eq!(
        store.redeem_code(&other, issued(1_000)).await.unwrap(),
        Redeemed::Missing
    );
}

/// A code that names its consent issues a grant only while that very
/// consent stands: not once the app was revoked and authorized again, even
/// within the same second, and still after the consent was widened.
async fn a_code_is_redeemed_only_under_the_consent_it_names(store: Arc<dyn Store>) {
    with_alice_and_client(&store).await;
    let given = store
        .put_consent(&consent_to_read("u-alice", 1_000))
        .await
        .unwrap();
    assert_eq!(given, consent_to_read("u-alice", 1_000).id);
    let under = |consent_id| CodeOrigin {
        issued_at: 1_000,
        consent_id: Some(consent_id),
    };
    // Widened: the consent keeps its id, and the code still redeems.
    let mut wider = consent_to_read("u-alice", 1_000);
    wider.id = rid(500);
    wider.scopes = ScopeSet::parse("read write").unwrap();
    assert_eq!(store.put_consent(&wider).await.unwrap(), given);
    let first = grant_of(1, "c1", "u-alice");
    assert_eq!(
        store.redeem_code(&first, under(given)).await.unwrap(),
        Redeemed::Issued
    );
    // Revoked, then given again in the same second: a new consent, which
    // the earlier code did not come from.
    assert!(
        store
            .revoke_authorization("u-alice", "c1", 1_000)
            .await
            .unwrap()
    );
    let mut again = consent_to_read("u-alice", 1_000);
    again.id = rid(501);
    let again = store.put_consent(&again).await.unwrap();
    assert_eq!(again, rid(501));
    let old = grant_of(2, "c1", "u-alice");
    assert_eq!(
        store.redeem_code(&old, under(given)).await.unwrap(),
        Redeemed::Missing
    );
    assert_eq!(store.grant(old.id).await.unwrap(), None);
    let new = grant_of(3, "c1", "u-alice");
    assert_eq!(
        store.redeem_code(&new, under(again)).await.unwrap(),
        Redeemed::Issued
    );
    assert_eq!(
        store
            .standing_grant(new.id)
            .await
            .unwrap()
            .map(|g| g.withdrawn),
        Some(false)
    );
}

async fn deleting_a_client_deletes_its_grants(store: Arc<dyn Store>) {
    with_alice_and_client(&store).await;
    store.insert_client(&client("c2", None)).await.unwrap();
    store
        .put_consent(&consent_to_read("u-alice", 1_000))
        .await
        .unwrap();
    let redeemed = grant_of(1, "c1", "u-alice");
    assert_eq!(
        store.redeem_code(&redeemed, issued(1_000)).await.unwrap(),
        Redeemed::Issued
    );
    let stored = grant_of(2, "c1", "u-alice");
    store.insert_grant(&stored).await.unwrap();
    let token = access(3, Some(stored.id), "c1", Some("u-alice"));
    store.insert_access_token(&token, None).await.unwrap();
    let other = grant_of(4, "c2", "u-alice");
    store.insert_grant(&other).await.unwrap();

    assert!(store.delete_client("c1").await.unwrap());
    // The grant issued under the client's consent has ended with it (on
    // SQLite, whose grants keep their foreign key, it is deleted).
    let ended = store.standing_grant(redeemed.id).await.unwrap();
    assert!(ended.as_ref().is_none_or(|g| g.withdrawn), "{ended:?}");
    assert_eq!(
        store.rotate_grant(redeemed.id, 0, 2_000).await.unwrap(),
        None
    );
    assert_eq!(store.grant(stored.id).await.unwrap(), None);
    assert_eq!(store.access_token(token.id).await.unwrap(), None);
    assert_eq!(store.consent("u-alice", "c1").await.unwrap(), None);
    // Another client's grants stay.
    assert_eq!(store.grant(other.id).await.unwrap(), Some(other));
}

async fn audit_events(store: Arc<dyn Store>) {
    for (i, kind) in ["client.created", "token.issued", "client_auth.failed"]
        .iter()
        .enumerate()
    {
        store
            .insert_audit_event(&AuditEvent {
                at: 1_000 + i as i64,
                kind: (*kind).to_owned(),
                user_id: None,
                client_id: Some("c1".to_owned()),
                ip: Some("127.0.0.1".to_owned()),
                detail: String::new(),
            })
            .await
            .unwrap();
    }
    let recent = store.recent_audit_events(2).await.unwrap();
    assert_eq!(
        recent.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        ["client_auth.failed", "token.issued"]
    );
}

fn access(n: u64, grant_id: Option<RowId>, client_id: &str, user_id: Option<&str>) -> AccessToken {
    AccessToken {
        id: rid(n),
        verifier: Verifier::of(&format!("pc_at_{n}")),
        grant_id,
        client_id: client_id.to_owned(),
        user_id: user_id.map(str::to_owned),
        scopes: ScopeSet::parse("read").unwrap(),
        claims: "{}".to_owned(),
        created_at: 1_000,
        expires_at: 4_600,
        revoked_at: None,
    }
}

async fn with_alice_and_client(store: &Arc<dyn Store>) {
    store.insert_user(&user("alice")).await.unwrap();
    store.insert_client(&client("c1", None)).await.unwrap();
}

/// A consent given where one stands adds its scopes to it, in the write:
/// approvals at the same moment each keep their scopes, and once the
/// consent is revoked, a new one has only its own.
async fn a_consent_adds_to_the_one_that_stands(store: Arc<dyn Store>) {
    with_alice_and_client(&store).await;
    let given = store
        .put_consent(&consent_to_read("u-alice", 1_000))
        .await
        .unwrap();
    let approvals: Vec<_> = (0..20u8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let c = store::Consent {
                    id: rid(600 + u64::from(i)),
                    scopes: ScopeSet::parse(&format!("s{i}")).unwrap(),
                    updated_at: 1_100,
                    last_used_at: 1_100,
                    ..consent_to_read("u-alice", 1_100)
                };
                store.put_consent(&c).await
            })
        })
        .collect();
    for approval in approvals {
        assert_eq!(approval.await.unwrap().unwrap(), given);
    }
    let standing = store.consent("u-alice", "c1").await.unwrap().unwrap();
    let all = (0..20)
        .map(|i| format!("s{i}"))
        .chain(["read".to_owned()])
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(standing.scopes, ScopeSet::parse(&all).unwrap());
    assert_eq!((standing.id, standing.created_at), (given, 1_000));
    assert_eq!((standing.updated_at, standing.last_used_at), (1_100, 1_100));

    assert!(
        store
            .revoke_authorization("u-alice", "c1", 1_200)
            .await
            .unwrap()
    );
    let again = store::Consent {
        id: rid(700),
        scopes: ScopeSet::parse("s0").unwrap(),
        ..consent_to_read("u-alice", 1_300)
    };
    assert_eq!(store.put_consent(&again).await.unwrap(), rid(700));
    assert_eq!(
        store
            .consent("u-alice", "c1")
            .await
            .unwrap()
            .unwrap()
            .scopes,
        ScopeSet::parse("s0").unwrap()
    );
}

async fn concurrent_code_redemption_issues_once(store: Arc<dyn Store>) {
    with_alice_and_client(&store).await;
    store
        .put_consent(&consent_to_read("u-alice", 1_000))
        .await
        .unwrap();
    let code_grant = grant_of(100, "c1", "u-alice");
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let attempts: Vec<_> = (0..50u64)
        .map(|_| {
            let (store, barrier, g) = (store.clone(), barrier.clone(), code_grant.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.redeem_code(&g, issued(1_000)).await
            })
        })
        .collect();
    let mut issued = 0;
    let mut replays = Vec::new();
    for attempt in attempts {
        match attempt
            .await
            .unwrap()
            .expect("no attempt fails with an error")
        {
            Redeemed::Issued => issued += 1,
            Redeemed::Replayed { grant_id } => replays.push(grant_id),
            Redeemed::Missing => panic!("the consent stands"),
        }
    }
    assert_eq!(issued, 1);
    let winner = code_grant.id;
    assert_eq!(replays.len(), 49);
    assert!(
        replays.iter().all(|g| *g == Some(winner)),
        "every replay names the code's grant"
    );
    let grant = store
        .grant(winner)
        .await
        .unwrap()
        .expect("the code's grant is stored");
    assert_eq!(grant.revoked_at, None);

    // Revoking the grant revokes it and every access token stored for it.
    let stored = access(99, Some(winner), "c1", Some("u-alice"));
    store.insert_access_token(&stored, None).await.unwrap();
    assert!(store.revoke_grant(winner, 2_000).await.unwrap());
    assert!(
        !store.revoke_grant(winner, 2_001).await.unwrap(),
        "already revoked"
    );
    let grant = store.grant(winner).await.unwrap().unwrap();
    assert_eq!(grant.revoked_at, Some(2_000));
    let at = store.access_token(stored.id).await.unwrap().unwrap();
    assert_eq!(at.revoked_at, Some(2_000));
}

async fn concurrent_refresh_rotation_rotates_once(store: Arc<dyn Store>) {
    with_alice_and_client(&store).await;
    let first = grant_of(10, "c1", "u-alice");
    store.insert_grant(&first).await.unwrap();
    // What explains a refused rotation, and who holds a grant's tokens,
    // comes in one read.
    let standing = |store: Arc<dyn Store>| async move { store.standing_grant(rid(10)).await };
    let alice = store.user_by_id("u-alice").await.unwrap().unwrap();
    assert_eq!(
        standing(store.clone()).await.unwrap(),
        Some(StandingGrant {
            grant: first.clone(),
            user: Some(alice.clone()),
            withdrawn: false,
        })
    );
    assert!(store.set_user_disabled("alice", true, 1_400).await.unwrap());
    let disabled = standing(store.clone()).await.unwrap().unwrap();
    assert!(disabled.user_disabled());
    assert_eq!(disabled.user.unwrap().username, alice.username);
    assert_eq!(
        store.rotate_grant(rid(10), 0, 1_450).await.unwrap(),
        None,
        "a disabled user's grant does not rotate"
    );
    assert!(
        store
            .set_user_disabled("alice", false, 1_401)
            .await
            .unwrap()
    );
    assert_eq!(store.standing_grant(rid(9_998)).await.unwrap(), None);
    let userless = Grant {
        user_id: None,
        ..grant_of(11, "c1", "u-alice")
    };
    store.insert_grant(&userless).await.unwrap();
    assert_eq!(
        store.standing_grant(rid(11)).await.unwrap(),
        Some(StandingGrant {
            grant: userless,
            user: None,
            withdrawn: false,
        })
    );

    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let attempts: Vec<_> = (0..50u64)
        .map(|_| {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.rotate_grant(rid(10), 0, 1_500).await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for attempt in attempts {
        if let Some(g) = attempt.await.unwrap().expect("no attempt fails") {
            winners.push(g);
        }
    }
    let rotated = Grant {
        generation: 1,
        rotated_at: Some(1_500),
        ..first.clone()
    };
    assert_eq!(
        winners,
        std::slice::from_ref(&rotated),
        "exactly one rotation wins"
    );
    assert_eq!(store.grant(rid(10)).await.unwrap(), Some(rotated));

    // The spent generation never rotates again; the next one does, once.
    assert_eq!(store.rotate_grant(rid(10), 0, 1_600).await.unwrap(), None);
    let second = store.rotate_grant(rid(10), 1, 1_600).await.unwrap();
    assert_eq!(
        second.map(|g| (g.generation, g.rotated_at)),
        Some((2, Some(1_600)))
    );
    // Not past the grant's expiry, not once revoked, not a grant that is not there.
    assert_eq!(store.rotate_grant(rid(10), 2, 100_000).await.unwrap(), None);
    assert!(store.revoke_grant(rid(10), 1_700).await.unwrap());
    assert_eq!(store.rotate_grant(rid(10), 2, 1_800).await.unwrap(), None);
    assert_eq!(
        store.rotate_grant(rid(9_999), 0, 1_800).await.unwrap(),
        None
    );
    assert_eq!(store.grant(rid(10)).await.unwrap().unwrap().generation, 2);
}

/// Rotations, redemptions and plain inserts that arrive together share a
/// batch; each still gets its own outcome, and one bad write fails alone.
async fn a_batch_of_rotations_and_redemptions_gives_each_its_own_outcome(store: Arc<dyn Store>) {
    with_alice_and_client(&store).await;
    store
        .put_consent(&consent_to_read("u-alice", 1_000))
        .await
        .unwrap();
    // 30 live grants; 30 codes will be redeemed.
    for n in 0..30u64 {
        store
            .insert_grant(&grant_of(10_000 + n, "c1", "u-alice"))
            .await
            .unwrap();
    }
    // Each grant is rotated twice from the same generation, at once.
    let barrier = Arc::new(tokio::sync::Barrier::new(121));
    let mut rotations = Vec::new();
    let mut redemptions = Vec::new();
    let mut inserts = Vec::new();
    for n in 0..30u64 {
        for _ in 0..2 {
            let (s, b) = (store.clone(), barrier.clone());
            rotations.push(tokio::spawn(async move {
                b.wait().await;
                (n, s.rotate_grant(rid(10_000 + n), 0, 5_000).await)
            }));
        }
        let (s, b) = (store.clone(), barrier.clone());
        redemptions.push(tokio::spawn(async move {
            b.wait().await;
            s.redeem_code(&grant_of(30_000 + n, "c1", "u-alice"), issued(1_000))
                .await
        }));
        let (s, b) = (store.clone(), barrier.clone());
        inserts.push(tokio::spawn(async move {
            // Token 7 names a client that does not exist.
            let client = if n == 7 { "no-such-client" } else { "c1" };
            b.wait().await;
            let result = s
                .insert_access_token(&access(40_000 + n, None, client, None), None)
                .await;
            (n, result)
        }));
    }
    barrier.wait().await;
    let mut won = [0; 30];
    for r in rotations {
        let (n, result) = r.await.unwrap();
        if let Some(g) = result.unwrap() {
            assert_eq!(
                (g.id, g.generation, g.rotated_at),
                (rid(10_000 + n), 1, Some(5_000))
            );
            won[n as usize] += 1;
        }
    }
    assert_eq!(won, [1; 30], "each generation is spent once");
    for (n, r) in redemptions.into_iter().enumerate() {
        assert_eq!(r.await.unwrap().unwrap(), Redeemed::Issued);
        let grant = rid(30_000 + n as u64);
        assert!(store.grant(grant).await.unwrap().is_some());
    }
    for i in inserts {
        let (n, result) = i.await.unwrap();
        let stored = store.access_token(rid(40_000 + n)).await.unwrap();
        if n == 7 {
            assert!(
                matches!(result, Err(StoreError::MissingReference)),
                "{result:?}"
            );
            assert_eq!(stored, None);
        } else {
            result.unwrap();
            assert!(stored.is_some());
        }
    }
    // A rotation writes only its grant (the service records the consent's
    // use apart, see `record_consent_use`).
    let listed = store.list_consents("u-alice").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_used_at, 1_000);
}

async fn access_tokens(store: Arc<dyn Store>) {
    with_alice_and_client(&store).await;
    let t = access(20, None, "c1", None);
    store.insert_access_token(&t, None).await.unwrap();
    assert_eq!(store.access_token(t.id).await.unwrap(), Some(t.clone()));
    assert!(store.revoke_access_token(t.id, 3_000).await.unwrap());
    assert!(!store.revoke_access_token(t.id, 3_001).await.unwrap());
    assert_eq!(
        store.access_token(t.id).await.unwrap().unwrap().revoked_at,
        Some(3_000)
    );
    assert_eq!(store.access_token(rid(21)).await.unwrap(), None);
    // Deleting the client deletes its tokens.
    store.delete_client("c1").await.unwrap();
    assert_eq!(store.access_token(t.id).await.unwrap(), None);
}

async fn sessions_and_consents(store: Arc<dyn Store>) {
    with_alice_and_client(&store).await;
    let s = Session {
        id: rid(30),
        verifier: Verifier::of("pc_ss_x"),
        user_id: "u-alice".to_owned(),
        created_at: 1_000,
        expires_at: 9_000,
        last_seen_at: 1_000,
    };
    store.insert_session(&s).await.unwrap();
    assert_eq!(store.session(s.id).await.unwrap(), Some(s.clone()));
    assert!(store.delete_session(s.id).await.unwrap());
    assert_eq!(store.session(s.id).await.unwrap(), None);

    assert_eq!(store.consent("u-alice", "c1").await.unwrap(), None);
    let mut c = consent_to_read("u-alice", 1_000);
    store.put_consent(&c).await.unwrap();
    c.scopes = ScopeSet::parse("read write").unwrap();
    c.updated_at = 2_000;
    store.put_consent(&c).await.unwrap();
    assert_eq!(store.consent("u-alice", "c1").await.unwrap(), Some(c));
}

async fn server_secrets_are_generated_once(store: Arc<dyn Store>) {
    let first = store.server_secret("k", b"one", 1).await.unwrap();
    let second = store.server_secret("k", b"two", 2).await.unwrap();
    assert_eq!(first, b"one");
    assert_eq!(second, b"one");
}

async fn device_codes(store: Arc<dyn Store>) {
    with_alice_and_client(&store).await;
    let d = DeviceCode {
        id: rid(40),
        verifier: Verifier::of("pc_dc_x"),
        user_code: vec![7; 32],
        client_id: "c1".to_owned(),
        scopes: ScopeSet::parse("read").unwrap(),
        status: DeviceStatus::Pending,
        user_id: None,
        interval_secs: 5,
        last_polled_at: None,
        created_at: 1_000,
        expires_at: 1_600,
    };
    store.insert_device_code(&d).await.unwrap();
    assert_eq!(
        store.device_code_by_user_code(&[7; 32]).await.unwrap(),
        Some(d.clone())
    );
    assert_eq!(
        store.device_code_by_user_code(&[8; 32]).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .redeem_device_code(d.id, &grant_of(41, "c1", "u-alice"))
            .await
            .unwrap(),
        Redeemed::Replayed { grant_id: None },
        "not approved yet"
    );
    store.record_device_poll(d.id, 1_010, 10).await.unwrap();
    let consent = consent_to_read("u-alice", 1_000);
    assert!(
        store
            .decide_device_code(d.id, "u-alice", Some(&consent))
            .await
            .unwrap()
    );
    assert!(
        !store
            .decide_device_code(d.id, "u-alice", None)
            .await
            .unwrap(),
        "decided once"
    );
    assert_eq!(
        store.consent("u-alice", "c1").await.unwrap(),
        Some(consent),
        "the approval is a consent"
    );
    let approved = store.device_code(d.id).await.unwrap().unwrap();
    assert_eq!(
        (
            approved.status,
            approved.interval_secs,
            approved.last_polled_at
        ),
        (DeviceStatus::Approved, 10, Some(1_010))
    );
    assert_eq!(approved.user_id.as_deref(), Some("u-alice"));

    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let attempts: Vec<_> = (0..20u64)
        .map(|i| {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let grant = grant_of(300 + i * 3, "c1", "u-alice");
                let redeemed = store.redeem_device_code(rid(40), &grant).await.unwrap();
                (redeemed == Redeemed::Issued).then_some(grant.id)
            })
        })
        .collect();
    let mut won = Vec::new();
    for a in attempts {
        won.extend(a.await.unwrap());
    }
    assert_eq!(won.len(), 1);
    assert_eq!(
        store.device_code(d.id).await.unwrap().unwrap().status,
        DeviceStatus::Consumed
    );
    // The grant lives with the consent the approval gave.
    let grant = won[0];
    assert!(
        !store
            .standing_grant(grant)
            .await
            .unwrap()
            .unwrap()
            .withdrawn
    );

    // Approved, then the app revoked before the device asked: nothing is
    // issued.
    let later = DeviceCode {
        id: rid(42),
        user_code: vec![9; 32],
        status: DeviceStatus::Pending,
        ..d.clone()
    };
    store.insert_device_code(&later).await.unwrap();
    let consent = consent_to_read("u-alice", 1_000);
    assert!(
        store
            .decide_device_code(later.id, "u-alice", Some(&consent))
            .await
            .unwrap()
    );
    // Authorized again since, through another flow: still not under the
    // consent this code's approval gave.
    revoke_and_consent_again(&store, grant, rid(44)).await;
    assert_eq!(
        store
            .redeem_device_code(later.id, &grant_of(43, "c1", "u-alice"))
            .await
            .unwrap(),
        Redeemed::Missing
    );
    assert_eq!(store.grant(rid(43)).await.unwrap(), None);
}

/// Alice revokes app `c1`, which ends `grant`, and then consents to it
/// again, under the new id `consent`.
async fn revoke_and_consent_again(store: &Arc<dyn Store>, grant: RowId, consent: RowId) {
    assert!(
        store
            .revoke_authorization("u-alice", "c1", 1_100)
            .await
            .unwrap()
    );
    assert!(
        store
            .standing_grant(grant)
            .await
            .unwrap()
            .unwrap()
            .withdrawn
    );
    store
        .put_consent(&store::Consent {
            id: consent,
            ..consent_to_read("u-alice", 1_200)
        })
        .await
        .unwrap();
}

async fn pairing_codes(store: Arc<dyn Store>) {
    with_alice_and_client(&store).await;
    let p = PairingCode {
        id: rid(50),
        lookup: vec![9; 32],
        client_id: "c1".to_owned(),
        user_id: "u-alice".to_owned(),
        scopes: ScopeSet::parse("read").unwrap(),
        created_at: 1_000,
        expires_at: 1_300,
        consumed_at: None,
    };
    store
        .insert_pairing_code(&p, &consent_to_read("u-alice", 1_000))
        .await
        .unwrap();
    assert_eq!(store.pairing_code(&[9; 32]).await.unwrap(), Some(p.clone()));
    assert_eq!(
        store
            .redeem_pairing_code(p.id, 1_010, &grant_of(51, "c1", "u-alice"))
            .await
            .unwrap(),
        Redeemed::Issued
    );
    assert!(matches!(
        store
            .redeem_pairing_code(p.id, 1_011, &grant_of(54, "c1", "u-alice"))
            .await
            .unwrap(),
        Redeemed::Replayed { .. }
    ));
    assert_eq!(
        store
            .pairing_code(&[9; 32])
            .await
            .unwrap()
            .unwrap()
            .consumed_at,
        Some(1_010)
    );
    // Its grant lives with the consent the code gave; a code issued before
    // the app was revoked issues nothing, even once it is authorized again.
    assert!(
        !store
            .standing_grant(rid(51))
            .await
            .unwrap()
            .unwrap()
            .withdrawn
    );
    let later = PairingCode {
        id: rid(55),
        lookup: vec![10; 32],
        ..p.clone()
    };
    store
        .insert_pairing_code(&later, &consent_to_read("u-alice", 1_000))
        .await
        .unwrap();
    revoke_and_consent_again(&store, rid(51), rid(56)).await;
    assert_eq!(
        store
            .redeem_pairing_code(later.id, 1_300, &grant_of(57, "c1", "u-alice"))
            .await
            .unwrap(),
        Redeemed::Missing
    );
    assert_eq!(store.grant(rid(57)).await.unwrap(), None);
}

/// A code's grant lives only while the consent it was issued under stands:
/// revoking the app ends it, and consenting again does not bring it back.
async fn a_grant_lives_with_the_consent_it_was_issued_under(store: Arc<dyn Store>) {
    with_alice_and_client(&store).await;
    store.insert_user(&user("bob")).await.unwrap();
    for u in ["u-alice", "u-bob"] {
        store.put_consent(&consent_to_read(u, 1_000)).await.unwrap();
    }
    let first = grant_of(1, "c1", "u-alice");
    let bobs = grant_of(2, "c1", "u-bob");
    for g in [&first, &bobs] {
        assert_eq!(
            store.redeem_code(g, issued(1_000)).await.unwrap(),
            Redeemed::Issued
        );
    }
    let withdrawn = |id| {
        let store = store.clone();
        async move { store.standing_grant(id).await.unwrap().unwrap().withdrawn }
    };
    assert!(!withdrawn(first.id).await);
    assert!(
        store
            .rotate_grant(first.id, 0, 1_100)
            .await
            .unwrap()
            .is_some()
    );

    assert!(
        store
            .revoke_authorization("u-alice", "c1", 1_200)
            .await
            .unwrap()
    );
    assert!(withdrawn(first.id).await);
    assert_eq!(store.rotate_grant(first.id, 1, 1_300).await.unwrap(), None);
    assert!(!withdrawn(bobs.id).await, "bob's grant is not alice's");
    assert!(
        store
            .rotate_grant(bobs.id, 0, 1_300)
            .await
            .unwrap()
            .is_some()
    );

    // Consented again, in the same second as the first time: a new consent,
    // under which a new code's grant lives, and the old one stays ended.
    let again = store::Consent {
        id: rid(900),
        ..consent_to_read("u-alice", 1_000)
    };
    store.put_consent(&again).await.unwrap();
    let second = grant_of(3, "c1", "u-alice");
    assert_eq!(
        store.redeem_code(&second, issued(1_000)).await.unwrap(),
        Redeemed::Issued
    );
    assert!(withdrawn(first.id).await);
    assert_eq!(store.rotate_grant(first.id, 1, 1_400).await.unwrap(), None);
    assert!(!withdrawn(second.id).await);
    // Renewing a standing consent (another id offered) keeps its id.
    store
        .put_consent(&store::Consent {
            id: rid(901),
            updated_at: 1_500,
            ..consent_to_read("u-alice", 1_500)
        })
        .await
        .unwrap();
    assert_eq!(
        store.consent("u-alice", "c1").await.unwrap().unwrap().id,
        rid(900)
    );
    assert!(!withdrawn(second.id).await);
    assert!(
        store
            .rotate_grant(second.id, 0, 1_600)
            .await
            .unwrap()
            .is_some()
    );
}

async fn revoking_an_authorization_ends_everything_of_that_user_and_client(store: Arc<dyn Store>) {
    with_alice_and_client(&store).await;
    store.insert_user(&user("bob")).await.unwrap();
    let mine = grant_of(60, "c1", "u-alice");
    let bobs = grant_of(70, "c1", "u-bob");
    store.insert_grant(&mine).await.unwrap();
    store.insert_grant(&bobs).await.unwrap();
    let my_token = access(61, Some(mine.id), "c1", Some("u-alice"));
    let bobs_token = access(71, Some(bobs.id), "c1", Some("u-bob"));
    for t in [&my_token, &bobs_token] {
        store.insert_access_token(t, None).await.unwrap();
    }
    for u in ["u-alice", "u-bob"] {
        let last_used_at = if u == "u-bob" { 1_500 } else { 1_200 };
        store
            .put_consent(&consent_to_read(u, last_used_at))
            .await
            .unwrap();
    }
    assert_eq!(store.list_consents("u-alice").await.unwrap().len(), 1);
    assert_eq!(store.client_usage("nobody").await.unwrap(), vec![]);

    assert!(
        store
            .revoke_authorization("u-alice", "c1", 2_000)
            .await
            .unwrap()
    );
    assert!(store.list_consents("u-alice").await.unwrap().is_empty());
    assert_eq!(
        store
            .access_token(my_token.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(2_000)
    );
    assert_eq!(
        store.grant(mine.id).await.unwrap().unwrap().revoked_at,
        Some(2_000)
    );
    assert_eq!(
        store.grant(bobs.id).await.unwrap().unwrap().revoked_at,
        None,
        "other users keep theirs"
    );
    assert!(
        !store
            .revoke_authorization("u-alice", "c1", 2_001)
            .await
            .unwrap(),
        "nothing left to end"
    );
}

async fn usage_per_client_of_an_owner(store: Arc<dyn Store>) {
    store.insert_user(&user("alice")).await.unwrap();
    store.insert_user(&user("bob")).await.unwrap();
    store
        .insert_client(&client("c1", Some("u-alice")))
        .await
        .unwrap();
    for (u, at) in [("u-alice", 1_100), ("u-bob", 1_300)] {
        store.put_consent(&consent_to_read(u, at)).await.unwrap();
    }
    assert_eq!(
        store.client_usage("u-alice").await.unwrap(),
        vec![("c1".to_owned(), 2, Some(1_300))]
    );
    // A refresh of alice's grant is a use too, recorded later; a use older
    // than the one recorded changes nothing, and one of a consent that is
    // gone is skipped.
    let uses = |list: &[(&str, i64)]| {
        list.iter()
            .map(|(u, at)| (u.to_string(), "c1".to_owned(), *at))
            .collect::<Vec<_>>()
    };
    store
        .record_consent_use(&uses(&[("u-alice", 1_200)]))
        .await
        .unwrap();
    assert_eq!(
        store.client_usage("u-alice").await.unwrap(),
        vec![("c1".to_owned(), 2, Some(1_300))]
    );
    store
        .record_consent_use(&uses(&[("u-alice", 1_500), ("u-nobody", 1_600)]))
        .await
        .unwrap();
    store
        .record_consent_use(&uses(&[("u-alice", 1_400)]))
        .await
        .unwrap();
    assert_eq!(
        store.client_usage("u-alice").await.unwrap(),
        vec![("c1".to_owned(), 2, Some(1_500))]
    );
    assert_eq!(
        store
            .consent("u-bob", "c1")
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        1_300,
        "bob's consent is not alice's"
    );
    store.record_consent_use(&[]).await.unwrap();
}

async fn personal_access_tokens(store: Arc<dyn Store>) {
    store.insert_user(&user("alice")).await.unwrap();
    store.insert_user(&user("bob")).await.unwrap();
    let t = store::PersonalAccessToken {
        id: rid(80),
        verifier: Verifier::of("pc_pat_x"),
        user_id: "u-alice".to_owned(),
        name: "deploy".to_owned(),
        created_at: 1_000,
        last_used_at: None,
    };
    store.insert_personal_access_token(&t).await.unwrap();
    assert_eq!(
        store.personal_access_token(t.id).await.unwrap(),
        Some(t.clone())
    );
    assert_eq!(
        store.list_personal_access_tokens("u-alice").await.unwrap(),
        vec![t.clone()]
    );
    assert!(
        !store
            .delete_personal_access_token("u-bob", t.id)
            .await
            .unwrap(),
        "only its owner deletes it"
    );
    assert!(
        store
            .delete_personal_access_token("u-alice", t.id)
            .await
            .unwrap()
    );
    assert_eq!(store.personal_access_token(t.id).await.unwrap(), None);
}

async fn group_commit_fails_only_the_bad_write(store: Arc<dyn Store>) {
    with_alice_and_client(&store).await;
    let attempts: Vec<_> = (0..200u64)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let client = if i == 77 { "no-such-client" } else { "c1" };
                let t = access(1_000 + i, None, client, None);
                let event = AuditEvent {
                    at: 1_000,
                    kind: "token.issued".to_owned(),
                    user_id: None,
                    client_id: Some(client.to_owned()),
                    ip: None,
                    detail: String::new(),
                };
                (i, t.id, store.insert_access_token(&t, Some(&event)).await)
            })
        })
        .collect();
    for a in attempts {
        let (i, id, result) = a.await.unwrap();
        if i == 77 {
            assert!(
                matches!(result, Err(StoreError::MissingReference)),
                "{result:?}"
            );
            assert_eq!(store.access_token(id).await.unwrap(), None);
        } else {
            result.unwrap();
            assert!(
                store.access_token(id).await.unwrap().is_some(),
                "answered means stored"
            );
        }
    }
    let events = store.recent_audit_events(500).await.unwrap();
    assert_eq!(
        events.len(),
        199,
        "each stored token has its audit event, the refused one none"
    );
}

async fn purge_deletes_what_expired_and_keeps_what_reuse_detection_needs(store: Arc<dyn Store>) {
    with_alice_and_client(&store).await;
    let now = 10_000;

    store
        .put_consent(&consent_to_read("u-alice", 1_000))
        .await
        .unwrap();
    // Grant A (from a code) expired at 5,000 (after a rotation): its stored
    // access token and itself go.
    let mut a = grant_of(100, "c1", "u-alice");
    a.expires_at = 5_000;
    assert_eq!(
        store.redeem_code(&a, issued(1_000)).await.unwrap(),
        Redeemed::Issued
    );
    assert!(
        store
            .rotate_grant(rid(100), 0, 2_000)
            .await
            .unwrap()
            .is_some()
    );
    store
        .insert_access_token(&access(101, Some(rid(100)), "c1", Some("u-alice")), None)
        .await
        .unwrap();

    // Grant B lives until 100,000: it stays, so presenting its code or a
    // spent refresh token of it is still reuse; its expired access token goes.
    let b = grant_of(200, "c1", "u-alice");
    store.redeem_code(&b, issued(1_000)).await.unwrap();
    assert!(
        store
            .rotate_grant(rid(200), 0, 2_000)
            .await
            .unwrap()
            .is_some()
    );
    store
        .insert_access_token(&access(201, Some(rid(200)), "c1", Some("u-alice")), None)
        .await
        .unwrap();

    // Client tokens, sessions, device and pairing codes.
    let expired_token = access(300, None, "c1", None);
    let mut live_token = access(301, None, "c1", None);
    live_token.expires_at = 20_000;
    for t in [&expired_token, &live_token] {
        store.insert_access_token(t, None).await.unwrap();
    }
    let session = |n: u64, expires_at: i64| Session {
        id: rid(n),
        verifier: Verifier::of(&format!("pc_ss_{n}")),
        user_id: "u-alice".to_owned(),
        created_at: 1_000,
        expires_at,
        last_seen_at: 1_000,
    };
    store.insert_session(&session(400, 9_000)).await.unwrap();
    store.insert_session(&session(401, 20_000)).await.unwrap();
    let device = |n: u64, expires_at: i64| DeviceCode {
        id: rid(n),
        verifier: Verifier::of(&format!("pc_dc_{n}")),
        user_code: vec![n as u8; 32],
        client_id: "c1".to_owned(),
        scopes: ScopeSet::parse("read").unwrap(),
        status: DeviceStatus::Pending,
        user_id: None,
        interval_secs: 5,
        last_polled_at: None,
        created_at: 1_000,
        expires_at,
    };
    store.insert_device_code(&device(500, 1_600)).await.unwrap();
    store
        .insert_device_code(&device(501, 20_000))
        .await
        .unwrap();
    let pairing = |n: u64, expires_at: i64| PairingCode {
        id: rid(n),
        lookup: vec![n as u8; 32],
        client_id: "c1".to_owned(),
        user_id: "u-alice".to_owned(),
        scopes: ScopeSet::parse("read").unwrap(),
        created_at: 1_000,
        expires_at,
        consumed_at: None,
    };
    store
        .insert_pairing_code(&pairing(600, 1_300), &consent_to_read("u-alice", 1_000))
        .await
        .unwrap();
    store
        .insert_pairing_code(&pairing(601, 20_000), &consent_to_read("u-alice", 1_000))
        .await
        .unwrap();

    // One row of each kind per call: several calls, each short.
    let (mut calls, mut deleted) = (0, 0);
    loop {
        let n = store.purge_expired(now, 1).await.unwrap();
        assert!(n <= 6, "at most one row of each kind per call, got {n}");
        if n == 0 {
            break;
        }
        calls += 1;
        deleted += n;
    }
    assert!(calls > 1);
    // A's and B's access tokens; 1 client token, 1 session, 1 device code,
    // 1 pairing code.
    assert_eq!(deleted, 2 + 4);
    // Grants go by the sweep: A, now that its token is gone.
    assert_eq!(store.sweep_grants(now, None, 10).await.unwrap(), (1, None));

    assert_eq!(store.grant(rid(100)).await.unwrap(), None);

    let kept = store.grant(rid(200)).await.unwrap().unwrap();
    assert_eq!((kept.generation, kept.rotated_at), (1, Some(2_000)));
    assert_eq!(
        store.redeem_code(&b, issued(1_000)).await.unwrap(),
        Redeemed::Replayed {
            grant_id: Some(rid(200))
        },
        "its code is still recognised"
    );
    for id in [101, 201, 300] {
        assert_eq!(store.access_token(rid(id)).await.unwrap(), None);
    }

    assert!(store.access_token(rid(301)).await.unwrap().is_some());
    assert_eq!(store.session(rid(400)).await.unwrap(), None);
    assert!(store.session(rid(401)).await.unwrap().is_some());
    assert_eq!(store.device_code(rid(500)).await.unwrap(), None);
    assert!(store.device_code(rid(501)).await.unwrap().is_some());
    assert_eq!(store.pairing_code(&[600u64 as u8; 32]).await.unwrap(), None);
    assert!(
        store
            .pairing_code(&[601u64 as u8; 32])
            .await
            .unwrap()
            .is_some()
    );

    // Once grant B expires too, the rest of it goes.
    while store.purge_expired(200_000, 100).await.unwrap() > 0 {}
    assert_eq!(
        store.sweep_grants(200_000, None, 10).await.unwrap(),
        (1, None)
    );
    assert_eq!(store.grant(rid(200)).await.unwrap(), None);
}

async fn grants_are_swept_in_key_order_a_chunk_at_a_time(store: Arc<dyn Store>) {
    with_alice_and_client(&store).await;
    // Grants 1 to 5 in key order: the odd ones expired at 5,000, the even
    // ones live until 50,000; 5 is still named by a stored access token.
    for n in 1..=5 {
        let mut g = grant_of(n, "c1", "u-alice");
        g.expires_at = if n % 2 == 0 { 50_000 } else { 5_000 };
        store.insert_grant(&g).await.unwrap();
    }
    let mut token = access(6, Some(rid(5)), "c1", Some("u-alice"));
    token.expires_at = 20_000;
    store.insert_access_token(&token, None).await.unwrap();

    let sweep = |after, scan| store.sweep_grants(10_000, after, scan);
    assert_eq!(sweep(None, 2).await.unwrap(), (1, Some(rid(2))), "1 and 2");
    assert_eq!(
        sweep(Some(rid(2)), 2).await.unwrap(),
        (1, Some(rid(4))),
        "3 and 4"
    );
    assert_eq!(
        sweep(Some(rid(4)), 2).await.unwrap(),
        (0, None),
        "5 is kept for its token, and the end is reached"
    );
    for (n, kept) in [(1, false), (2, true), (3, false), (4, true), (5, true)] {
        assert_eq!(
            store.grant(rid(n)).await.unwrap().is_some(),
            kept,
            "grant {n}"
        );
    }
    // Exactly as many grants left as asked for: the next sweep finds the end.
    assert_eq!(sweep(None, 3).await.unwrap(), (0, Some(rid(5))));
    assert_eq!(sweep(Some(rid(5)), 3).await.unwrap(), (0, None));

    // Its token purged, 5 goes too; once the rest expire, they go.
    assert_eq!(store.purge_expired(30_000, 100).await.unwrap(), 1);
    assert_eq!(
        store.sweep_grants(30_000, None, 10).await.unwrap(),
        (1, None)
    );
    assert_eq!(
        store.sweep_grants(60_000, None, 10).await.unwrap(),
        (2, None)
    );
    assert_eq!(
        store.sweep_grants(60_000, None, 10).await.unwrap(),
        (0, None)
    );
}

async fn sealed_access_tokens_are_revoked_by_a_deny_list(store: Arc<dyn Store>) {
    let a = RowId::new(1, [1; 10]);
    let b = RowId::new(2, [2; 10]);
    store
        .revoke_sealed_access_token(a, 5_000, 1_000)
        .await
        .unwrap();
    store
        .revoke_sealed_access_token(a, 5_000, 1_500)
        .await
        .expect("revoking twice is fine");
    store
        .revoke_sealed_access_token(b, 3_000, 2_000)
        .await
        .unwrap();
    let mut all = store.revoked_sealed_access_tokens(0, 1_000).await.unwrap();
    all.sort();
    assert_eq!(all, vec![(a, 5_000), (b, 3_000)]);
    assert_eq!(
        store
            .revoked_sealed_access_tokens(1_001, 1_000)
            .await
            .unwrap(),
        vec![(b, 3_000)],
        "only what was revoked since"
    );
    assert_eq!(
        store.revoked_sealed_access_tokens(0, 3_000).await.unwrap(),
        vec![(a, 5_000)],
        "not what has expired"
    );
    assert_eq!(store.purge_expired(4_000, 100).await.unwrap(), 1);
    assert_eq!(
        store.revoked_sealed_access_tokens(0, 0).await.unwrap(),
        vec![(a, 5_000)],
        "the purge drops expired entries"
    );
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let (_db, store) = super::open(store::testing::Backend::Sqlite).await.unwrap();
                super::$name(store).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let Some((_db, store)) = super::open(store::testing::Backend::Postgres).await else { return };
                super::$name(store).await;
            })*
        }
    };
}

conformance!(
    migrations_are_idempotent,
    users,
    clients,
    scopes,
    a_code_is_redeemed_once_while_its_consent_stands,
    a_code_is_redeemed_only_under_the_consent_it_names,
    a_consent_adds_to_the_one_that_stands,
    deleting_a_client_deletes_its_grants,
    audit_events,
    concurrent_code_redemption_issues_once,
    concurrent_refresh_rotation_rotates_once,
    a_batch_of_rotations_and_redemptions_gives_each_its_own_outcome,
    access_tokens,
    sessions_and_consents,
    server_secrets_are_generated_once,
    device_codes,
    pairing_codes,
    revoking_an_authorization_ends_everything_of_that_user_and_client,
    a_grant_lives_with_the_consent_it_was_issued_under,
    usage_per_client_of_an_owner,
    personal_access_tokens,
    group_commit_fails_only_the_bad_write,
    purge_deletes_what_expired_and_keeps_what_reuse_detection_needs,
    grants_are_swept_in_key_order_a_chunk_at_a_time,
    sealed_access_tokens_are_revoked_by_a_deny_list,
);

/// An in-memory SQLite database would be a different one on every
/// connection: refused, with the URL named.
#[tokio::test]
async fn an_in_memory_sqlite_database_is_refused() {
    for url in ["sqlite::memory:", "sqlite://file?mode=memory"] {
        match store::connect(url).await {
            Err(StoreError::UnsupportedUrl(named)) => assert_eq!(named, url),
            Err(e) => panic!("{url}: {e}"),
            Ok(_) => panic!("{url} was accepted"),
        }
    }
}

/// A database whose directory cannot be made fails to open, naming the
/// directory and why.
#[tokio::test]
async fn a_sqlite_directory_that_cannot_be_made_is_named() {
    // A file where the directory would go.
    let blocker = std::env::temp_dir().join(format!("portcullis-blocker-{}", std::process::id()));
    std::fs::write(&blocker, b"").expect("write the blocking file");
    let dir = blocker.join("data");
    let url = format!("sqlite://{}/portcullis.db", dir.display());
    let result = store::connect(&url).await;
    std::fs::remove_file(&blocker).expect("remove the blocking file");
    match result {
        Err(e @ StoreError::Io { .. }) => {
            let message = e.to_string();
            let expected = format!("cannot create the database directory {}: ", dir.display());
            assert!(message.starts_with(&expected), "{message}");
        }
        Err(e) => panic!("{url}: {e}"),
        Ok(_) => panic!("{url} was opened"),
    }
}
