//! The facts readiness is derived from, one customer or a page at a time in the keyset
//! order (company name, id), with and without a status, per tenant.

use mca_portal::domain::EffectiveStatus;
use mca_portal::store::{FactsCursor, Store};

use crate::store::{attestation, customer, save};

on_both_databases!(
    one_customer_has_its_status_direct_acceptance_and_latest_attestation,
    pages_follow_the_cursor_through_every_customer_once,
    a_status_page_holds_only_that_status_in_order,
);

async fn one_customer_has_its_status_direct_acceptance_and_latest_attestation(s: &Store) {
    let atts = [attestation("Ann", (2021, 1, 2)), attestation("Bob", (2024, 5, 6)), attestation("Cy", (2022, 2, 2))];
    save(s, "t1", &customer("c1", "Alpha", "alpha.onmicrosoft.com"), false, &atts).await;
    save(s, "t1", &customer("c2", "Beta", "beta.onmicrosoft.com"), true, &[]).await;
    let alpha = s.customer_facts("t1", "c1").await.unwrap().expect("Alpha");
    assert_eq!(alpha.status, EffectiveStatus::Attested);
    assert_eq!(alpha.accepted_directly, Some(false));
    assert_eq!(alpha.latest_attestation.map(|d| d.to_string()).as_deref(), Some("2024-05-06"));
    assert_eq!((alpha.company_name.as_str(), alpha.domain.as_str()), ("Alpha", "alpha.onmicrosoft.com"));
    let beta = s.customer_facts("t1", "c2").await.unwrap().expect("Beta");
    assert_eq!(
        (beta.status, beta.accepted_directly, beta.latest_attestation),
        (EffectiveStatus::AcceptedDirectly, Some(true), None)
    );
    assert!(s.customer_facts("t2", "c1").await.unwrap().is_none(), "another tenant's customer is not found");
}

/// Tenant t1: eleven customers, two of them of one name; t2: one.
async fn eleven_customers(s: &Store) {
    for i in 0..10 {
        let old = i % 3 == 0;
        let atts = [attestation("Ann", if old { (2021, 1, 1) } else { (2024, 1, 1) })];
        save(s, "t1", &customer(&format!("c{i:02}"), &format!("Company {}", 9 - i), "x.onmicrosoft.com"), false, &atts)
            .await;
    }
    save(s, "t1", &customer("c99", "Company 5", "twin.onmicrosoft.com"), false, &[]).await;
    save(s, "t2", &customer("z1", "Company 0", "other.onmicrosoft.com"), false, &[]).await;
}

async fn pages_follow_the_cursor_through_every_customer_once(s: &Store) {
    eleven_customers(s).await;
    let mut seen = Vec::new();
    let mut after: Option<FactsCursor> = None;
    loop {
        let page = s.customer_facts_page("t1", None, after.as_ref(), 4).await.unwrap();
        assert!(page.len() <= 4);
        seen.extend(page.iter().map(|c| (c.company_name.clone(), c.id.clone())));
        if page.len() < 4 {
            break;
        }
        after = page.last().map(|c| c.cursor());
    }
    assert_eq!(seen.len(), 11, "every customer of t1 once: {seen:?}");
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "by company name, then id");
    // The twins of one name come by id, and a page may end between them.
    let twins: Vec<_> = seen.iter().filter(|(n, _)| n == "Company 5").map(|(_, id)| id.as_str()).collect();
    assert_eq!(twins, ["c04", "c99"]);
    let cursor = FactsCursor { company_name: "Company 5".into(), customer_id: "c04".into() };
    let next = s.customer_facts_page("t1", None, Some(&cursor), 1).await.unwrap();
    assert_eq!(next[0].id, "c99");
}

async fn a_status_page_holds_only_that_status_in_order(s: &Store) {
    eleven_customers(s).await;
    let required = Some(EffectiveStatus::ReattestationRequired);
    let first = s.customer_facts_page("t1", required, None, 2).await.unwrap();
    let names: Vec<_> = first.iter().map(|c| c.company_name.as_str()).collect();
    assert_eq!(names, ["Company 0", "Company 3"]);
    let rest = s.customer_facts_page("t1", required, Some(&first[1].cursor()), 10).await.unwrap();
    let names: Vec<_> = rest.iter().map(|c| c.company_name.as_str()).collect();
    assert_eq!(names, ["Company 6", "Company 9"]);
    assert!(rest.iter().all(|c| c.status == EffectiveStatus::ReattestationRequired));
    let not_confirmed = s.customer_facts_page("t1", Some(EffectiveStatus::NotConfirmed), None, 10).await.unwrap();
    assert_eq!(not_confirmed.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["c99"], "t2's is not listed");
}
