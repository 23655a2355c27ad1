//! Each indirect provider's list of indirect resellers, kept with the time it was read:
//! one list per tenant, replaced by a later read.

use chrono::{Duration, DurationRound, Utc};
use mca_portal::store::{KeptReseller, Store};

on_both_databases!(a_tenants_list_is_kept_and_replaced, an_empty_list_is_kept_too);

fn reseller(id: &str, name: &str, mpn_id: Option<&str>) -> KeptReseller {
    KeptReseller { id: id.into(), name: name.into(), mpn_id: mpn_id.map(str::to_string) }
}

async fn a_tenants_list_is_kept_and_replaced(s: &Store) {
    assert!(s.reseller_list("t1").await.unwrap().is_none(), "never read");
    let first = vec![reseller("r1", "Fabrikam IT", Some("123456")), reseller("r2", "Ünïcode “Partner”", None)];
    let read_at = (Utc::now() - Duration::minutes(11)).duration_trunc(Duration::microseconds(1)).unwrap();
    s.reseller_list_keep("t1", &first, read_at).await.unwrap();
    let kept = s.reseller_list("t1").await.unwrap().unwrap();
    assert_eq!(kept.resellers, first);
    assert_eq!(kept.read_at, read_at, "the time of the read, to the microsecond");
    assert!(s.reseller_list("t2").await.unwrap().is_none(), "per tenant");

    let second = vec![reseller("r3", "Northwind Resale", None)];
    let now = Utc::now().duration_trunc(Duration::microseconds(1)).unwrap();
    s.reseller_list_keep("t1", &second, now).await.unwrap();
    let kept = s.reseller_list("t1").await.unwrap().unwrap();
    assert_eq!((kept.resellers, kept.read_at), (second, now), "a new read replaces the list");
}

async fn an_empty_list_is_kept_too(s: &Store) {
    let now = Utc::now().duration_trunc(Duration::microseconds(1)).unwrap();
    s.reseller_list_keep("t1", &[], now).await.unwrap();
    let kept = s.reseller_list("t1").await.unwrap().unwrap();
    assert!(kept.resellers.is_empty(), "a provider without resellers is not asked again at once");
    assert_eq!(kept.read_at, now);
}
