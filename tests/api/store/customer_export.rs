//! The customer list as the CSV export reads it: chunk after chunk by company name with
//! every customer once (equal names included), the list's search and status filter
//! applied, each customer with its latest attestation and who made it.

use mca_portal::domain::{Attestation, EffectiveStatus};
use mca_portal::store::{CustomerCursor, CustomerExportRow, CustomerFilter, Store};

use super::{attestation, customer, save};

on_both_databases!(chunks_follow_each_other_with_every_customer_once, each_customer_has_its_latest_attestation);

/// Every chunk of `size` after the other, to the end.
async fn export(s: &Store, filter: &CustomerFilter, size: i64) -> Vec<CustomerExportRow> {
    let mut all = Vec::new();
    let mut after: Option<CustomerCursor> = None;
    loop {
        let chunk = s.customers_export_chunk("t1", filter, after.as_ref(), size).await.unwrap();
        all.extend(chunk.iter().cloned());
        if (chunk.len() as i64) < size {
            return all;
        }
        after = chunk.last().map(CustomerCursor::after);
    }
}

async fn chunks_follow_each_other_with_every_customer_once(s: &Store) {
    // Three companies of one name, so that chunks of 2 end between equal names.
    let names = ["Adatum", "Same Name", "Same Name", "Same Name", "Tailspin", "Zeta"];
    for (i, name) in names.iter().enumerate() {
        save(s, "t1", &customer(&format!("c{i}"), name, &format!("d{i}.example")), i % 2 == 0, &[]).await;
    }
    save(s, "t2", &customer("other", "Adatum", "other.example"), true, &[]).await;
    let all = export(s, &CustomerFilter::default(), 2).await;
    let got: Vec<_> = all.iter().map(|r| (r.company_name.as_str(), r.id.as_str())).collect();
    let want = [
        ("Adatum", "c0"),
        ("Same Name", "c1"),
        ("Same Name", "c2"),
        ("Same Name", "c3"),
        ("Tailspin", "c4"),
        ("Zeta", "c5"),
    ];
    assert_eq!(got, want, "by name then id, each once, the tenant's own");
    assert_eq!(all[0].accepted_directly, Some(true));
    assert_eq!(all[0].status, EffectiveStatus::AcceptedDirectly);
    let search = CustomerFilter { search: "same".into(), status: None, acceptance: None };
    assert_eq!(export(s, &search, 2).await.len(), 3, "the search applies");
    let status =
        CustomerFilter { search: String::new(), status: Some(EffectiveStatus::NotConfirmed), acceptance: None };
    let not_confirmed: Vec<_> = export(s, &status, 1).await.into_iter().map(|r| r.id).collect();
    assert_eq!(not_confirmed, ["c1", "c3", "c5"], "the status filter applies");
}

async fn each_customer_has_its_latest_attestation(s: &Store) {
    s.partner_user_seen("t1", "oid-sam", "Sam Sales", "sam@example.com").await.unwrap();
    let by = |first: &str, date, user: Option<&str>| Attestation {
        user_id: user.map(String::from),
        ..attestation(first, date)
    };
    let atts = [
        by("Old", (2023, 1, 2), Some("oid-sam")),
        by("New", (2025, 6, 1), Some("oid-sam")),
        by("Same", (2025, 6, 1), Some("oid-unknown")),
    ];
    save(s, "t1", &customer("c1", "Alpha", "alpha.example"), false, &atts).await;
    save(s, "t1", &customer("c2", "Beta", "beta.example"), false, &[by("Only", (2024, 3, 4), Some("oid-unknown"))])
        .await;
    save(s, "t1", &customer("c3", "Gamma", "gamma.example"), false, &[by("Nobody", (2022, 1, 1), None)]).await;
    save(s, "t1", &customer("c4", "Delta", "delta.example"), false, &[]).await;
    let all = export(s, &CustomerFilter::default(), 100).await;
    let latest: Vec<_> = all
        .iter()
        .map(|r| (r.id.as_str(), r.latest_attestation.map(|d| d.to_string()), r.attested_by.as_deref()))
        .collect();
    assert_eq!(
        latest,
        [
            ("c1", Some("2025-06-01".to_string()), Some("Sam Sales")),
            ("c2", Some("2024-03-04".to_string()), Some("oid-unknown")),
            ("c4", None, None),
            ("c3", Some("2022-01-01".to_string()), None),
        ],
        "the newest date, the first listed of that date; the user by name when known"
    );
    assert_eq!(all[0].status, EffectiveStatus::Attested);
    assert!(!all[0].status_reason.is_empty(), "the reason comes along");
}
