//! Partner tenants (name, partner type, when their customers were read) and partner users
//! (the names of the people who signed in, shown beside their attestations).

use chrono::Utc;
use mca_portal::domain::PartnerType;
use mca_portal::store::Store;

use crate::store::{attestation, customer, save};

on_both_databases!(
    a_tenant_is_added_then_updated,
    a_full_read_of_the_customers_is_marked,
    a_partner_user_is_remembered_by_name_in_their_tenant,
    an_attestation_names_the_partner_user_who_signed_in,
    sign_outs_are_counted_per_user_and_kept_when_they_sign_in_again,
);

async fn sign_outs_are_counted_per_user_and_kept_when_they_sign_in_again(s: &Store) {
    assert_eq!(s.partner_user_sign_outs("t1", "oid-sam").await.unwrap(), 0, "a user never seen");
    s.partner_user_seen("t1", "oid-sam", "Sam Sales", "sam@contoso.example").await.unwrap();
    s.partner_user_seen("t1", "oid-alex", "Alex Admin", "alex@contoso.example").await.unwrap();
    s.partner_user_signed_out("t1", "oid-sam").await.unwrap();
    s.partner_user_signed_out("t1", "oid-sam").await.unwrap();
    s.partner_user_seen("t1", "oid-sam", "Sam Sales", "sam@contoso.example").await.unwrap();
    assert_eq!(s.partner_user_sign_outs("t1", "oid-sam").await.unwrap(), 2, "a new sign-in keeps the count");
    assert_eq!(s.partner_user_sign_outs("t1", "oid-alex").await.unwrap(), 0, "per user");
    assert_eq!(s.partner_user_sign_outs("t2", "oid-sam").await.unwrap(), 0, "per tenant");
}

async fn a_tenant_is_added_then_updated(s: &Store) {
    assert!(s.tenant_get("t1").await.unwrap().is_none());
    s.tenant_upsert("t1", "Contoso", PartnerType::IndirectProvider).await.unwrap();
    s.tenant_upsert("t1", "Contoso Distribution", PartnerType::IndirectProvider).await.unwrap();
    let t = s.tenant_get("t1").await.unwrap().unwrap();
    assert_eq!(t.name, "Contoso Distribution");
    assert_eq!(t.partner_type, PartnerType::IndirectProvider);
    assert!(t.customers_synced_at.is_none());
}

async fn a_full_read_of_the_customers_is_marked(s: &Store) {
    s.tenant_upsert("t1", "Contoso", PartnerType::IndirectProvider).await.unwrap();
    s.tenant_mark_synced("t1", Utc::now()).await.unwrap();
    assert!(s.tenant_get("t1").await.unwrap().unwrap().customers_synced_at.is_some());
}

async fn a_partner_user_is_remembered_by_name_in_their_tenant(s: &Store) {
    assert!(s.partner_user_name("t1", "oid-sam").await.unwrap().is_none());
    s.partner_user_seen("t1", "oid-sam", "Sam Sales", "sam@contoso.example").await.unwrap();
    assert_eq!(s.partner_user_name("t1", "oid-sam").await.unwrap().as_deref(), Some("Sam Sales"));
    s.partner_user_seen("t1", "oid-sam", "Samantha Sales", "sam@contoso.example").await.unwrap();
    assert_eq!(
        s.partner_user_name("t1", "oid-sam").await.unwrap().as_deref(),
        Some("Samantha Sales"),
        "the name of the latest sign-in"
    );
    assert!(s.partner_user_name("t2", "oid-sam").await.unwrap().is_none(), "not another tenant's user");
}

async fn an_attestation_names_the_partner_user_who_signed_in(s: &Store) {
    let mut by_sam = attestation("Ann", (2024, 5, 6));
    by_sam.user_id = Some("oid-sam".into());
    let mut by_stranger = attestation("Bob", (2024, 5, 7));
    by_stranger.user_id = Some("oid-stranger".into());
    save(s, "t1", &customer("c1", "Alpha", "alpha.onmicrosoft.com"), false, &[by_sam, by_stranger]).await;
    s.partner_user_seen("t1", "oid-sam", "Sam Sales", "sam@contoso.example").await.unwrap();
    let r = s.customer_get("t1", "c1").await.unwrap().unwrap();
    assert_eq!(r.user_name("oid-sam"), Some("Sam Sales"));
    assert_eq!(r.user_name("oid-stranger"), None, "a user who has not signed in here has no name");
}
