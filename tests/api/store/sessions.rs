//! Sessions: stored by key with a time to live; an expired one is not loaded, and purged;
//! a session that is gone is never written again, whatever actix-session asks.

use std::collections::HashMap;

use actix_session::storage::{SessionKey, SessionStore};
use actix_web::cookie::time::Duration;
use mca_portal::store::{DbSessionStore, Store};

on_both_databases!(
    a_session_is_stored_updated_and_deleted,
    an_expired_session_is_not_loaded_and_is_purged,
    updating_a_deleted_session_writes_nothing,
    updating_an_expired_session_writes_nothing,
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
