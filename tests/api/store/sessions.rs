//! Sessions: stored by key with a time to live; an expired one is not loaded, and purged;
//! a session that is gone is never written again, whatever actix-session asks; a session
//! in use moves its idle deadline at most once a minute; a sign-out is seen at once by every
//! store on the database.

use std::collections::HashMap;

use actix_session::storage::{SessionKey, SessionStore};
use actix_web::cookie::time::Duration;
use mca_portal::store::sealing::Sealer;
use mca_portal::store::{DbSessionStore, SESSION_EXTENSION_STEP_SECONDS, Store, noting_ended_session};

use crate::helpers::{Db, TEST_DATA_KEY, fresh_db};

on_both_databases!(
    a_session_is_stored_updated_and_deleted,
    an_expired_session_is_not_loaded_and_is_purged,
    updating_a_deleted_session_writes_nothing,
    updating_an_expired_session_writes_nothing,
    touching_a_session_moves_its_deadline_at_most_once_a_minute,
    a_request_that_changes_nothing_writes_nothing_within_a_minute,
);

async fn a_session_is_stored_updated_and_deleted(s: &Store) {
    s.session_insert("key-1", "{\"a\":\"1\"}", 60).await.unwrap();
    assert_eq!(s.session_load("key-1").await.unwrap().as_deref(), Some("{\"a\":\"1\"}"));
    assert!(s.session_update("key-1", "{\"a\":\"2\"}", 60).await.unwrap());
    assert_eq!(s.session_load("key-1").await.unwrap().as_deref(), Some("{\"a\":\"2\"}"));
    s.session_touch("key-1", 120).await.unwrap();
    s.session_delete("key-1").await.unwrap();
    assert!(s.session_load("key-1").await.unwrap().is_none());
    assert!(!s.session_update("key-1", "{}", 60).await.unwrap(), "a deleted session is not revived");
}

async fn an_expired_session_is_not_loaded_and_is_purged(s: &Store) {
    s.session_insert("key-old", "{}", -1).await.unwrap();
    assert!(s.session_load("key-old").await.unwrap().is_none(), "an expired session is not loaded");
    assert!(s.session_purge_expired().await.unwrap() >= 1);
}

/// A session key as actix-session hands it over, and a state with a signed-in user.
fn key_and_state(key: &str) -> (SessionKey, HashMap<String, String>) {
    let state = HashMap::from([("user".to_string(), "{\"name\":\"Sam Sales\"}".to_string())]);
    (SessionKey::try_from(key.to_string()).unwrap(), state)
}

async fn updating_a_deleted_session_writes_nothing(s: &Store) {
    let sessions = DbSessionStore::new(s.clone());
    let (key, state) = key_and_state("signed-out-session-key");
    s.session_insert(key.as_ref(), "{}", 600).await.unwrap();
    s.session_delete(key.as_ref()).await.unwrap();
    let answer = sessions.update(key, state, &Duration::minutes(30)).await.unwrap();
    assert_eq!(answer.as_ref(), "signed-out-session-key", "no new key is made for it");
    assert_eq!(s.session_count().await.unwrap(), 0, "no row is written, under any key");
    assert!(s.session_load("signed-out-session-key").await.unwrap().is_none());
}

async fn updating_an_expired_session_writes_nothing(s: &Store) {
    let sessions = DbSessionStore::new(s.clone());
    let (key, state) = key_and_state("idle-session-key");
    s.session_insert(key.as_ref(), "{}", -1).await.unwrap();
    sessions.update(key, state, &Duration::minutes(30)).await.unwrap();
    assert_eq!(s.session_count().await.unwrap(), 1, "only the expired row, not a new one");
    assert!(s.session_load("idle-session-key").await.unwrap().is_none(), "still expired: not extended");
    assert_eq!(s.session_purge_expired().await.unwrap(), 1);
}

/// The idle deadline of a live session, as stored.
async fn deadline(s: &Store, key: &str) -> i64 {
    s.session_load_with_deadline(key).await.unwrap().expect("a live session").1
}

async fn touching_a_session_moves_its_deadline_at_most_once_a_minute(s: &Store) {
    s.session_insert("touched", "{}", 600).await.unwrap();
    let first = deadline(s, "touched").await;
    assert!(!s.session_touch("touched", 600).await.unwrap(), "the same deadline is not written again");
    assert!(!s.session_touch("touched", 630).await.unwrap(), "nor one half a minute later");
    assert_eq!(deadline(s, "touched").await, first, "the deadline stayed where it was");
    assert!(
        s.session_touch("touched", 600 + SESSION_EXTENSION_STEP_SECONDS + 5).await.unwrap(),
        "a minute on: written"
    );
    let moved = deadline(s, "touched").await;
    assert!(moved >= first + SESSION_EXTENSION_STEP_SECONDS, "moved by a minute or more: {first} -> {moved}");
    assert!(!s.session_touch("touched", 600 + SESSION_EXTENSION_STEP_SECONDS + 5).await.unwrap(), "then not again");
    assert_eq!(deadline(s, "touched").await, moved);
    s.session_delete("touched").await.unwrap();
    assert!(!s.session_touch("touched", 6000).await.unwrap(), "a signed-out session is not touched");
    assert_eq!(s.session_count().await.unwrap(), 0, "and not brought back");
}

/// As actix-session serves a request whose session state stays as it was: load, then ask
/// for the idle deadline to be extended.
async fn unchanged_request(sessions: &DbSessionStore, key: &SessionKey, idle: Duration) {
    noting_ended_session(async {
        assert!(sessions.load(key).await.unwrap().is_some(), "the session is live");
        sessions.update_ttl(key, &idle).await.unwrap();
    })
    .await;
}

async fn a_request_that_changes_nothing_writes_nothing_within_a_minute(s: &Store) {
    let sessions = DbSessionStore::new(s.clone());
    let (key, _) = key_and_state("a-session-in-use");
    s.session_insert(key.as_ref(), "{}", 1800).await.unwrap();
    let signed_in = deadline(s, key.as_ref()).await;
    for _ in 0..5 {
        unchanged_request(&sessions, &key, Duration::minutes(30)).await;
    }
    assert_eq!(deadline(s, key.as_ref()).await, signed_in, "five requests at once: no write");
    // The last extension was 90 seconds ago: the next request extends it, the one after not.
    s.session_delete(key.as_ref()).await.unwrap();
    s.session_insert(key.as_ref(), "{}", 1800 - 90).await.unwrap();
    let earlier = deadline(s, key.as_ref()).await;
    unchanged_request(&sessions, &key, Duration::minutes(30)).await;
    let extended = deadline(s, key.as_ref()).await;
    assert!(extended >= earlier + 90, "extended to 30 minutes from now: {earlier} -> {extended}");
    unchanged_request(&sessions, &key, Duration::minutes(30)).await;
    assert_eq!(deadline(s, key.as_ref()).await, extended);
}

/// Two stores on one database, as two instances of the portal have, with the same data key.
async fn two_stores(db: Db) -> Option<(Store, Store, crate::helpers::TestDb)> {
    let d = fresh_db(db).await?;
    let sealer = || Sealer::from_secret(TEST_DATA_KEY.as_bytes());
    let a = Store::connect(&d.url).await.unwrap().with_sealer(sealer());
    let b = Store::connect(&d.url).await.unwrap().with_sealer(sealer());
    Some((a, b, d))
}

async fn a_sign_out_is_seen_at_once_by_another_store(a: Store, b: Store) {
    a.session_insert("shared-session", "{\"user\":\"sam\"}", 1800).await.unwrap();
    assert_eq!(b.session_load("shared-session").await.unwrap().as_deref(), Some("{\"user\":\"sam\"}"));
    assert!(b.session_update("shared-session", "{\"user\":\"sam\",\"flash\":\"x\"}", 1800).await.unwrap());
    assert!(a.session_load("shared-session").await.unwrap().unwrap().contains("flash"), "A reads what B wrote");
    a.session_delete("shared-session").await.unwrap();
    assert!(b.session_load("shared-session").await.unwrap().is_none(), "signed out on A: gone on B at once");
    assert!(!b.session_update("shared-session", "{}", 1800).await.unwrap(), "and B cannot bring it back");
    assert!(!b.session_touch("shared-session", 6000).await.unwrap());
    assert_eq!(a.session_count().await.unwrap(), 0);
}

mod a_sign_out_is_seen_at_once_by_another_store {
    use crate::helpers::Db;

    #[tokio::test]
    async fn sqlite() {
        let (a, b, _db) = super::two_stores(Db::Sqlite).await.expect("SQLite is always available");
        super::a_sign_out_is_seen_at_once_by_another_store(a, b).await;
    }

    #[tokio::test]
    async fn postgres() {
        let Some((a, b, _db)) = super::two_stores(Db::Postgres).await else { return };
        super::a_sign_out_is_seen_at_once_by_another_store(a, b).await;
    }
}
