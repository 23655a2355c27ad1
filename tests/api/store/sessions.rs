//! Sessions: stored by key with a time to live; an expired one is not loaded, and purged.

use mca_portal::store::Store;

on_both_databases!(a_session_is_stored_updated_and_deleted, an_expired_session_is_not_loaded_and_is_purged);

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
