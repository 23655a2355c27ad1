//! Customers as last read, with their direct acceptance and partner attestations, the
//! status these give, and the list: pages, search, status filter and counts.

use chrono::Utc;
use mca_portal::domain::customer::BillingDetails;
use mca_portal::domain::{EffectiveStatus, ReattestationPolicy, StatusInputs};
use mca_portal::store::{CustomerFilter, CustomerQuery, Position, Store};

use crate::store::{attestation, customer, save};

on_both_databases!(
    a_customer_reads_back_as_saved,
    saving_again_keeps_the_billing_and_replaces_the_attestations,
    direct_acceptance_reads_back_as_read,
    an_added_attestation_joins_the_list_and_the_status_follows,
    a_tenant_reads_only_its_own_customers,
    the_list_comes_in_pages_by_company_name,
    search_finds_name_or_domain_in_any_case_and_wildcards_literally,
    the_status_filter_and_the_counts_follow_the_search,
    customers_a_full_read_no_longer_lists_are_forgotten,
    a_company_name_is_found_in_any_case_within_the_tenant,
);

/// Alpha & Sons, with billing details in Zürich.
fn alpha() -> mca_portal::domain::Customer {
    let mut c = customer("c1", "Alpha & Sons", "alpha.onmicrosoft.com");
    c.billing = Some(BillingDetails {
        email: Some("ap@alpha.example".into()),
        city: Some("Zürich".into()),
        country: Some("CH".into()),
        ..Default::default()
    });
    c
}

/// Tenant t1's three customers, one of each status but Attested (Alpha & Sons: only an
/// old attestation; Beta 100% Ltd: accepted directly; Gamma: nothing), and one of t2's.
async fn three_customers_and_another_tenants(s: &Store) {
    save(s, "t1", &alpha(), false, &[attestation("Ann", (2021, 1, 2))]).await;
    save(s, "t1", &customer("c2", "Beta 100% Ltd", "beta_x.onmicrosoft.com"), true, &[]).await;
    save(s, "t1", &customer("c3", "Gamma", "gamma.onmicrosoft.com"), false, &[]).await;
    save(s, "t2", &customer("c9", "Other tenant's Alpha", "alpha9.onmicrosoft.com"), false, &[]).await;
}

fn searching(text: &str) -> CustomerFilter {
    CustomerFilter { search: text.into(), ..Default::default() }
}

/// The ids of the first `n` customers of t1 a filter shows, in the default order.
async fn listed(s: &Store, filter: CustomerFilter, n: i64) -> Vec<String> {
    let query = CustomerQuery { filter, ..Default::default() };
    let page = s.customer_list("t1", &query, &Position::First, n).await.unwrap();
    page.items.into_iter().map(|c| c.id).collect()
}

async fn a_customer_reads_back_as_saved(s: &Store) {
    save(s, "t1", &alpha(), false, &[attestation("Ann", (2021, 1, 2)), attestation("Bob", (2024, 5, 6))]).await;
    let r = s.customer_get("t1", "c1").await.unwrap().unwrap();
    assert_eq!(r.customer.company_name, "Alpha & Sons");
    assert_eq!(r.customer.billing.as_ref().unwrap().city.as_deref(), Some("Zürich"));
    assert_eq!(r.accepted_directly, Some(false));
    assert_eq!(r.status, EffectiveStatus::Attested);
    assert_eq!(r.attestations.len(), 2);
    assert_eq!(r.attestations[0].first_name, "Bob", "newest first");
}

async fn saving_again_keeps_the_billing_and_replaces_the_attestations(s: &Store) {
    save(s, "t1", &alpha(), false, &[attestation("Ann", (2021, 1, 2)), attestation("Bob", (2024, 5, 6))]).await;
    save(s, "t1", &customer("c1", "Alpha & Sons", "alpha.onmicrosoft.com"), false, &[attestation("Ann", (2021, 1, 2))])
        .await;
    let r = s.customer_get("t1", "c1").await.unwrap().unwrap();
    assert!(r.customer.billing.is_some(), "saving without billing keeps the billing read before");
    assert_eq!(r.attestations.len(), 1);
    assert_eq!(r.status, EffectiveStatus::ReattestationRequired);
}

async fn direct_acceptance_reads_back_as_read(s: &Store) {
    let gamma = customer("c3", "Gamma", "gamma.onmicrosoft.com");
    let unknown = StatusInputs::default().verdict(&Default::default());
    s.customer_save("t1", &gamma, None, &[], &unknown, Utc::now()).await.unwrap();
    assert_eq!(s.customer_get("t1", "c3").await.unwrap().unwrap().accepted_directly, None, "not read yet");
    save(s, "t1", &gamma, true, &[]).await;
    let r = s.customer_get("t1", "c3").await.unwrap().unwrap();
    assert_eq!(r.accepted_directly, Some(true));
    assert!(r.direct_read_at.is_some());
    assert_eq!(r.status, EffectiveStatus::AcceptedDirectly);
}

async fn an_added_attestation_joins_the_list_and_the_status_follows(s: &Store) {
    save(s, "t1", &alpha(), false, &[attestation("Ann", (2021, 1, 2))]).await;
    s.attestation_add("t1", "c1", &attestation("Bob", (2024, 5, 6))).await.unwrap();
    s.customer_recompute_status("t1", "c1", &ReattestationPolicy::default()).await.unwrap();
    let r = s.customer_get("t1", "c1").await.unwrap().unwrap();
    assert_eq!(r.attestations.iter().map(|a| a.first_name.as_str()).collect::<Vec<_>>(), ["Bob", "Ann"]);
    assert_eq!(r.status, EffectiveStatus::Attested);
}

async fn a_tenant_reads_only_its_own_customers(s: &Store) {
    three_customers_and_another_tenants(s).await;
    assert!(s.customer_get("t2", "c1").await.unwrap().is_none());
    assert!(s.customer_get("t1", "c9").await.unwrap().is_none());
}

async fn the_list_comes_in_pages_by_company_name(s: &Store) {
    three_customers_and_another_tenants(s).await;
    let query = CustomerQuery::default();
    let first = s.customer_list("t1", &query, &Position::First, 2).await.unwrap();
    assert_eq!(
        first.items.iter().map(|c| c.company_name.as_str()).collect::<Vec<_>>(),
        ["Alpha & Sons", "Beta 100% Ltd"]
    );
    assert!(first.has_next && !first.has_previous);
    let next = first.next(query.sort).unwrap();
    let second = s.customer_list("t1", &query, &next, 2).await.unwrap();
    assert_eq!(second.items.iter().map(|c| c.company_name.as_str()).collect::<Vec<_>>(), ["Gamma"]);
    assert!(!second.has_next && second.has_previous);
    let back = s.customer_list("t1", &query, &second.previous(query.sort).unwrap(), 2).await.unwrap();
    assert_eq!(back.items.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["c1", "c2"]);
}

async fn search_finds_name_or_domain_in_any_case_and_wildcards_literally(s: &Store) {
    three_customers_and_another_tenants(s).await;
    let found = async |text| listed(s, searching(text), 10).await;
    assert_eq!(found("ALPHA.onmicrosoft").await, ["c1"], "the other tenant's alpha is not found");
    assert_eq!(found("100%").await, ["c2"]);
    assert_eq!(found("0%").await, Vec::<String>::new(), "two characters: the beginning of a name only");
    assert_eq!(found("00%").await, ["c2"], "% matches only a literal percent sign");
    assert!(found("1%").await.is_empty() && found("a%a").await.is_empty());
    assert_eq!(found("a_x").await, ["c2"], "_ matches only a literal underscore (beta_x)");
    assert!(found("a_").await.is_empty() && found("tax").await.is_empty(), "nor as any character");
    assert_eq!(found("G").await, ["c3"], "one character: company names that begin with it");
    assert_eq!(found("al").await, ["c1"]);
    assert_eq!(found("ph").await, Vec::<String>::new(), "not inside a name");
    assert_eq!(found("pha").await, ["c1"], "three: anywhere");
}

async fn the_status_filter_and_the_counts_follow_the_search(s: &Store) {
    three_customers_and_another_tenants(s).await;
    let direct = CustomerFilter { status: Some(EffectiveStatus::AcceptedDirectly), ..Default::default() };
    assert_eq!(listed(s, direct, 10).await, ["c2"]);
    let counts = s.customer_status_counts("t1", &CustomerFilter::default()).await.unwrap();
    assert!(counts.complete);
    assert_eq!(counts.of(EffectiveStatus::AcceptedDirectly), 1);
    assert_eq!(counts.of(EffectiveStatus::ReattestationRequired), 1);
    assert_eq!(counts.of(EffectiveStatus::NotConfirmed), 1);
    assert_eq!(counts.of(EffectiveStatus::Attested), 0);
    assert_eq!(counts.total(), 3);
    let searched = s.customer_status_counts("t1", &searching("ALPHA")).await.unwrap();
    assert_eq!(searched.total(), 1, "counts follow the search");
    assert_eq!(searched.of(EffectiveStatus::ReattestationRequired), 1);
}

async fn customers_a_full_read_no_longer_lists_are_forgotten(s: &Store) {
    three_customers_and_another_tenants(s).await;
    let cutoff = Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    save(s, "t1", &customer("c1", "Alpha & Sons", "alpha.onmicrosoft.com"), false, &[]).await;
    assert_eq!(s.customers_forget_unseen("t1", cutoff).await.unwrap(), 2);
    assert!(s.customer_get("t1", "c2").await.unwrap().is_none());
    assert!(s.customer_get("t1", "c1").await.unwrap().is_some());
    assert!(s.customer_get("t2", "c9").await.unwrap().is_some(), "another tenant's rows are untouched");
}

async fn a_company_name_is_found_in_any_case_within_the_tenant(s: &Store) {
    three_customers_and_another_tenants(s).await;
    save(s, "t2", &customer("c8", "Gamma", "gamma2.onmicrosoft.com"), false, &[]).await;
    let named = s.customers_named("t1", " GAMMA ", 5).await.unwrap();
    assert_eq!(named.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["c3"], "t1's only, in any case");
    assert_eq!(named[0].domain, "gamma.onmicrosoft.com");
    assert!(s.customers_named("t1", "Gamm", 5).await.unwrap().is_empty(), "the whole name, not a part");
    assert!(s.customers_named("t1", "Gamma%", 5).await.unwrap().is_empty());
}
