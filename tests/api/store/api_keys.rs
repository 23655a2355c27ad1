//! API keys: stored as a hash with a prefix, listed per tenant newest first, found by the
//! hash, revoked once, and their last use written at most once in a window.

use chrono::{Duration, Utc};
use mca_portal::store::{NewApiKey, Store};

on_both_databases!(
    a_key_is_found_by_its_hash_and_listed_for_its_tenant_only,
    a_key_is_revoked_once_and_only_by_its_tenant,
    the_last_use_is_written_at_most_once_in_a_window,
);

fn key(tenant: &str, name: &str, hash: &str) -> NewApiKey {
    NewApiKey {
        tenant_id: tenant.into(),
        name: name.into(),
        prefix: format!("mcak_{}", &hash[..6]),
        key_hash: hash.into(),
        created_by_oid: "oid-alex".into(),
        created_by_name: "Alex Admin".into(),
    }
}

async fn a_key_is_found_by_its_hash_and_listed_for_its_tenant_only(s: &Store) {
    let t0 = Utc::now() - Duration::minutes(5);
    let first = s.api_key_insert(&key("t1", "Orders", "aaaaaa01"), t0).await.unwrap();
    let second = s.api_key_insert(&key("t1", "Billing", "bbbbbb02"), t0 + Duration::minutes(1)).await.unwrap();
    s.api_key_insert(&key("t2", "Elsewhere", "cccccc03"), t0).await.unwrap();
    let listed = s.api_keys_of("t1").await.unwrap();
    assert_eq!(listed.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(), [second.as_str(), first.as_str()]);
    let orders = &listed[1];
    assert_eq!((orders.name.as_str(), orders.prefix.as_str()), ("Orders", "mcak_aaaaaa"));
    assert_eq!(orders.created_by_name, "Alex Admin");
    assert!((orders.created_at - t0).num_milliseconds().abs() < 1, "{:?}", orders.created_at);
    assert_eq!((orders.last_used_at, orders.revoked_at), (None, None));
    let found = s.api_key_by_hash("aaaaaa01").await.unwrap().expect("found by hash");
    assert_eq!((found.id.as_str(), found.tenant_id.as_str()), (first.as_str(), "t1"));
    assert!(s.api_key_by_hash("aaaaaa0").await.unwrap().is_none(), "only the whole hash");
    assert!(s.api_key_get("t2", &first).await.unwrap().is_none(), "not another tenant's");
    assert_eq!(s.api_key_get("t1", &first).await.unwrap().as_ref(), Some(orders));
    // Two keys can't share a hash.
    assert!(s.api_key_insert(&key("t2", "Copy", "aaaaaa01"), t0).await.is_err());
}

async fn a_key_is_revoked_once_and_only_by_its_tenant(s: &Store) {
    let id = s.api_key_insert(&key("t1", "Orders", "dddddd04"), Utc::now()).await.unwrap();
    assert!(!s.api_key_revoke("t2", &id, "Mallory", Utc::now()).await.unwrap(), "another tenant can't");
    assert!(s.api_key_revoke("t1", &id, "Alex Admin", Utc::now()).await.unwrap());
    assert!(!s.api_key_revoke("t1", &id, "Gloria Global", Utc::now()).await.unwrap(), "once");
    let k = s.api_key_by_hash("dddddd04").await.unwrap().expect("still there, revoked");
    assert!(k.is_revoked());
    assert_eq!(k.revoked_by_name.as_deref(), Some("Alex Admin"));
}

async fn the_last_use_is_written_at_most_once_in_a_window(s: &Store) {
    let id = s.api_key_insert(&key("t1", "Orders", "eeeeee05"), Utc::now()).await.unwrap();
    let t = Utc::now();
    assert!(s.api_key_mark_used(&id, t, t - Duration::minutes(1)).await.unwrap(), "the first use");
    let later = t + Duration::seconds(30);
    assert!(!s.api_key_mark_used(&id, later, later - Duration::minutes(1)).await.unwrap(), "within the minute");
    let k = s.api_key_get("t1", &id).await.unwrap().unwrap();
    assert!((k.last_used_at.unwrap() - t).num_milliseconds().abs() < 1);
    let much_later = t + Duration::seconds(61);
    assert!(s.api_key_mark_used(&id, much_later, much_later - Duration::minutes(1)).await.unwrap());
    let k = s.api_key_get("t1", &id).await.unwrap().unwrap();
    assert!((k.last_used_at.unwrap() - much_later).num_milliseconds().abs() < 1);
}
