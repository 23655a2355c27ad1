//! The customer list as the CSV export reads it: chunk after chunk of a view of the list,
//! in its order, with every customer once (equal names included), the list's search and
//! filters applied, each customer with its latest attestation and who made it.

use mca_portal::domain::{Attestation, CustomerSummary, EffectiveStatus};
use mca_portal::store::{Acceptance, CustomerFilter, CustomerQuery, CustomerSort, SortKey, Store};

use super::{attestation, customer, save};

on_both_databases!(
    chunks_follow_each_other_with_every_customer_once,
    each_customer_has_its_latest_attestation,
    chunks_follow_the_views_order_and_acceptance
);

/// Every chunk of `size` of the view after the other, to the end.
async fn export_view(s: &Store, query: &CustomerQuery, size: i64) -> Vec<CustomerSummary> {
    let mut all = Vec::new();
    let mut after: Option<SortKey> = None;
    loop {
        let chunk = s.customer_list_chunk("t1", query, after.as_ref(), size).await.unwrap();
        all.extend(chunk.iter().cloned());
        if (chunk.len() as i64) < size {
            return all;
        }
        after = chunk.last().map(|c| SortKey::of(query.sort, c));
    }
}

async fn export(s: &Store, filter: &CustomerFilter, size: i64) -> Vec<CustomerSummary> {
    export_view(s, &CustomerQuery { filter: filter.clone(), sort: CustomerSort::Name }, size).await
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
    let search = CustomerFilter { search: "same name".into(), status: None, acceptance: None };
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
        .map(|r| {
            let latest = r.latest_attestation.as_ref();
            let by = latest.and_then(|a| a.user_name.as_deref().or(a.user_id.as_deref()));
            (r.id.as_str(), latest.map(|a| a.date_agreed.to_string()), by)
        })
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

async fn chunks_follow_the_views_order_and_acceptance(s: &Store) {
    let dates = [(2025, 6, 1), (2023, 1, 2), (2026, 2, 3), (2024, 3, 4), (2025, 6, 1)];
    for (i, date) in dates.iter().enumerate() {
        let c = customer(&format!("c{i}"), &format!("Company {i}"), &format!("d{i}.example"));
        save(s, "t1", &c, false, &[attestation("Ada", *date)]).await;
    }
    save(s, "t1", &customer("c9", "Never", "never.example"), true, &[]).await;
    let filter = CustomerFilter { acceptance: Some(Acceptance::NotProvided), ..Default::default() };
    let query = CustomerQuery { filter, sort: CustomerSort::AttestedNewest };
    let got: Vec<_> = export_view(s, &query, 2)
        .await
        .iter()
        .map(|r| (r.id.clone(), r.latest_attestation.as_ref().map(|a| a.date_agreed.to_string())))
        .collect();
    let want =
        [("c2", "2026-02-03"), ("c4", "2025-06-01"), ("c0", "2025-06-01"), ("c3", "2024-03-04"), ("c1", "2023-01-02")];
    let want: Vec<_> = want.iter().map(|(id, d)| (id.to_string(), Some(d.to_string()))).collect();
    assert_eq!(got, want, "newest first (ties by id, descending), chunks of 2, only those not accepted directly");
}
