//! What the `seed` command writes with: customers saved many to a transaction, and a
//! tenant marked as read without a read from Partner Center.

use chrono::{Duration, NaiveDate, Utc};
use mca_portal::domain::{Attestation, Customer, EffectiveStatus, PartnerType, StatusInputs, StatusVerdict};
use mca_portal::store::{CustomerFilter, CustomerQuery, CustomerWrite, Position, Store};

use crate::store::{attestation, customer};

on_both_databases!(
    a_batch_saves_each_customer_as_one_save_would,
    a_batch_saved_again_gives_the_same_customers,
    a_seeded_tenant_counts_as_read_and_its_type_is_checked_again,
);

struct Read {
    customer: Customer,
    direct: bool,
    attestations: Vec<Attestation>,
    verdict: StatusVerdict,
}

fn read(c: Customer, direct: bool, attestations: Vec<Attestation>) -> Read {
    let verdict = StatusInputs {
        accepted_directly: Some(direct),
        attestation_dates: attestations.iter().map(|a| a.date_agreed).collect(),
        ..Default::default()
    }
    .verdict(&Default::default());
    Read { customer: c, direct, attestations, verdict }
}

/// Alpha: an old attestation and a recent one; Beta: accepted directly; Gamma: nothing.
fn three() -> Vec<Read> {
    vec![
        read(
            customer("c1", "Alpha & Sons", "alpha.onmicrosoft.com"),
            false,
            vec![attestation("Ann", (2021, 1, 2)), attestation("Bob", (2024, 5, 6))],
        ),
        read(customer("c2", "Beta", "beta.onmicrosoft.com"), true, vec![]),
        read(customer("c3", "Gamma", "gamma.onmicrosoft.com"), false, vec![]),
    ]
}

async fn save_batch(s: &Store, reads: &[Read]) {
    let batch: Vec<CustomerWrite<'_>> = reads
        .iter()
        .map(|r| CustomerWrite {
            customer: &r.customer,
            accepted_directly: Some(r.direct),
            attestations: &r.attestations,
            verdict: &r.verdict,
        })
        .collect();
    s.customers_save_batch("t1", &batch, Utc::now()).await.unwrap();
}

/// Each customer's status, latest attestation date and number of attestations, in name order.
async fn summary(s: &Store) -> Vec<(String, EffectiveStatus, Option<NaiveDate>, usize)> {
    let page = s.customer_list("t1", &CustomerQuery::default(), &Position::First, 10).await.unwrap();
    let mut out = Vec::new();
    for c in page.items {
        let record = s.customer_get("t1", &c.id).await.unwrap().unwrap();
        out.push((c.company_name, c.status, c.latest_attestation.map(|a| a.date_agreed), record.attestations.len()));
    }
    out
}

async fn a_batch_saves_each_customer_as_one_save_would(s: &Store) {
    save_batch(s, &three()).await;
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
    assert_eq!(
        summary(s).await,
        vec![
            ("Alpha & Sons".to_string(), EffectiveStatus::Attested, date(2024, 5, 6), 2),
            ("Beta".to_string(), EffectiveStatus::AcceptedDirectly, None, 0),
            ("Gamma".to_string(), EffectiveStatus::NotConfirmed, None, 0),
        ]
    );
    let counts = s.customer_counts("t1").await.unwrap();
    assert_eq!(counts.total(), 3, "the counts follow the rows");
    assert_eq!(counts.matching(Some(EffectiveStatus::Attested), None), 1);
    let search =
        CustomerQuery { filter: CustomerFilter { search: "alpha".into(), ..Default::default() }, ..Default::default() };
    let found = s.customer_list("t1", &search, &Position::First, 10).await.unwrap();
    assert_eq!(found.items.len(), 1, "the search finds a batch's customer");
}

async fn a_batch_saved_again_gives_the_same_customers(s: &Store) {
    save_batch(s, &three()).await;
    let first = summary(s).await;
    save_batch(s, &three()).await;
    assert_eq!(summary(s).await, first, "no attestation twice, no customer twice");
    assert_eq!(s.customer_counts("t1").await.unwrap().total(), 3);
}

async fn a_seeded_tenant_counts_as_read_and_its_type_is_checked_again(s: &Store) {
    let at = Utc::now();
    s.tenant_mark_seeded("t1", "Contoso", PartnerType::IndirectProvider, at).await.unwrap();
    let t = s.tenant_get("t1").await.unwrap().unwrap();
    assert_eq!(t.customers_synced_at.map(|d| d.timestamp()), Some(at.timestamp()));
    assert!(Utc::now() - t.type_checked_at > Duration::days(365), "the first sign-in reads the type again");

    s.tenant_upsert("t2", "Fabrikam as read", PartnerType::DirectBill).await.unwrap();
    s.tenant_mark_seeded("t2", "Fabrikam", PartnerType::IndirectReseller, at).await.unwrap();
    let t = s.tenant_get("t2").await.unwrap().unwrap();
    assert_eq!((t.name.as_str(), t.partner_type), ("Fabrikam as read", PartnerType::DirectBill), "what was read stays");
    assert!(t.customers_synced_at.is_some());
}
