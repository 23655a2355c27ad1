//! The customer list as a worksheet: every order paged by position forward and back
//! through ties, the acceptance filter, search with filter and order, the latest
//! attestation and reseller on the row, and the counts kept as customers change.

use chrono::Utc;
use mca_portal::domain::{Attestation, Customer, EffectiveStatus, ReattestationPolicy, StatusInputs};
use mca_portal::store::{Acceptance, CustomerFilter, CustomerQuery, CustomerSort, Position, Store};

use crate::helpers::{Db, fresh_db};
use crate::store::{attestation, customer};

on_both_databases!(
    every_order_pages_forward_and_back_through_ties,
    the_acceptance_filter_and_the_counts_agree,
    search_status_filter_and_order_work_together,
    the_latest_attestation_and_its_attester_are_on_the_row,
    the_reseller_partner_center_named_is_kept,
    the_kept_counts_equal_the_rows_after_any_saves_and_forgets,
);

/// Saves a customer of t1 as read, with the status its facts give.
async fn save_read(s: &Store, c: &Customer, direct: Option<bool>, atts: &[Attestation]) -> EffectiveStatus {
    let inputs = StatusInputs {
        accepted_directly: direct,
        attestation_dates: atts.iter().map(|a| a.date_agreed).collect(),
        ..Default::default()
    };
    let verdict = inputs.verdict(&ReattestationPolicy::default());
    s.customer_save("t1", c, direct, atts, &verdict, Utc::now()).await.unwrap();
    verdict.status
}

/// Thirteen customers of t1 with ties in every order: four named "Same", dates shared,
/// some never attested; and one of t2. Returns (id, name, status key, latest date).
async fn portfolio(s: &Store) -> Vec<(String, String, String, String)> {
    let names = ["Same", "Bravo", "Same", "Alpha", "Same", "Delta", "Echo", "Same", "Alpha", "Foxtrot", "Golf"];
    let mut rows = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let id = format!("c{:02}", 13 - i);
        let dates = [(2021, 1, 2), (2024, 5, 6), (2024, 5, 6), (2023, 4, 1)];
        let atts: Vec<_> = if i % 3 == 2 { vec![] } else { vec![attestation("Ann", dates[i % 4])] };
        let direct = [Some(false), Some(true), None][i % 3];
        let status = save_read(s, &customer(&id, name, &format!("{}.example", id)), direct, &atts).await;
        let date = atts.first().map(|a| a.date_agreed.to_string()).unwrap_or_default();
        rows.push((id, name.to_string(), status.key().to_string(), date));
    }
    crate::store::save(s, "t2", &customer("c99", "Alpha", "other.example"), true, &[]).await;
    rows
}

/// Every page of a view, following Next from the first, and Previous from the last.
async fn walk(s: &Store, query: &CustomerQuery, size: i64) -> (Vec<String>, Vec<String>) {
    let ids = |p: &mca_portal::store::CustomerPage| p.items.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
    let (mut forward, mut position) = (Vec::new(), Some(Position::First));
    while let Some(p) = position {
        let page = s.customer_list("t1", query, &p, size).await.unwrap();
        assert!(page.items.len() as i64 <= size);
        assert_eq!(page.has_previous, !forward.is_empty(), "{query:?} size {size}");
        forward.extend(ids(&page));
        position = page.next(query.sort);
        assert!(forward.len() < 100);
    }
    let (mut backward, mut position) = (Vec::new(), Some(Position::Last));
    while let Some(p) = position {
        let page = s.customer_list("t1", query, &p, size).await.unwrap();
        assert_eq!(page.has_next, !backward.is_empty(), "{query:?} size {size}");
        backward.splice(0..0, ids(&page));
        position = page.previous(query.sort);
        assert!(backward.len() < 100);
    }
    (forward, backward)
}

async fn every_order_pages_forward_and_back_through_ties(s: &Store) {
    let rows = portfolio(s).await;
    for sort in CustomerSort::ALL {
        let mut expected = rows.clone();
        match sort {
            CustomerSort::Name => expected.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0))),
            CustomerSort::Status => expected.sort_by(|a, b| (&a.2, &a.1, &a.0).cmp(&(&b.2, &b.1, &b.0))),
            CustomerSort::AttestedOldest => expected.sort_by(|a, b| (&a.3, &a.0).cmp(&(&b.3, &b.0))),
            CustomerSort::AttestedNewest => expected.sort_by(|a, b| (&b.3, &b.0).cmp(&(&a.3, &a.0))),
        }
        let expected: Vec<String> = expected.into_iter().map(|r| r.0).collect();
        let query = CustomerQuery { sort, ..Default::default() };
        for size in [1, 2, 4, 25] {
            let (forward, backward) = walk(s, &query, size).await;
            assert_eq!(forward, expected, "{sort:?} forward, {size} a page");
            assert_eq!(backward, expected, "{sort:?} backward, {size} a page");
        }
    }
    let newest = s
        .customer_list(
            "t1",
            &CustomerQuery { sort: CustomerSort::AttestedNewest, ..Default::default() },
            &Position::First,
            20,
        )
        .await
        .unwrap();
    assert!(newest.items.last().unwrap().latest_attestation.is_none(), "never attested last, newest first");
}

async fn the_acceptance_filter_and_the_counts_agree(s: &Store) {
    let rows = portfolio(s).await;
    let counts = s.customer_counts("t1").await.unwrap();
    assert_eq!(counts.total(), rows.len() as i64, "t2's customer is not counted");
    let by = counts.by_acceptance();
    assert_eq!((by.provided, by.not_provided, by.not_read), (4, 4, 3));
    for (acceptance, n) in [(Acceptance::Provided, 4), (Acceptance::NotProvided, 4)] {
        let filter = CustomerFilter { acceptance: Some(acceptance), ..Default::default() };
        let page = s
            .customer_list("t1", &CustomerQuery { filter: filter.clone(), ..Default::default() }, &Position::First, 50)
            .await
            .unwrap();
        assert_eq!(page.items.len(), n);
        assert!(page.items.iter().all(|c| c.accepted_directly == Some(acceptance == Acceptance::Provided)));
        let status_counts = s.customer_status_counts("t1", &filter).await.unwrap();
        assert_eq!(status_counts.total(), n as i64, "the status counts follow the acceptance filter");
        assert_eq!(counts.matching(None, Some(acceptance)), n as i64);
    }
    let attested = counts.by_status(None).into_iter().find(|c| c.status == EffectiveStatus::Attested).unwrap();
    assert_eq!(attested.count, counts.matching(Some(EffectiveStatus::Attested), None));
}

async fn search_status_filter_and_order_work_together(s: &Store) {
    portfolio(s).await;
    let filter =
        CustomerFilter { search: ".EXAMPLE".into(), status: Some(EffectiveStatus::Attested), acceptance: None };
    let query = CustomerQuery { filter: filter.clone(), sort: CustomerSort::AttestedOldest };
    let (forward, backward) = walk(s, &query, 2).await;
    assert_eq!(forward, backward);
    let counts = s.customer_status_counts("t1", &filter).await.unwrap();
    assert!(counts.complete);
    assert_eq!(forward.len() as i64, counts.of(EffectiveStatus::Attested));
    assert!(!forward.is_empty() && !forward.contains(&"c99".to_string()));
    let page = s.customer_list("t1", &query, &Position::First, 50).await.unwrap();
    let dates: Vec<_> = page.items.iter().map(|c| c.latest_attestation.as_ref().unwrap().date_agreed).collect();
    assert!(dates.is_sorted(), "oldest first within the search: {dates:?}");
    assert!(page.items.iter().all(|c| c.status == EffectiveStatus::Attested));
    let prefix = CustomerFilter { search: "s".into(), ..Default::default() };
    let page = s
        .customer_list("t1", &CustomerQuery { filter: prefix, ..Default::default() }, &Position::First, 50)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 4, "the four named Same");
}

async fn the_latest_attestation_and_its_attester_are_on_the_row(s: &Store) {
    let mut ann = attestation("Ann", (2021, 1, 2));
    ann.user_id = Some("oid-ann".into());
    let mut bob = attestation("Bob", (2024, 5, 6));
    bob.user_id = Some("oid-bob".into());
    s.partner_user_seen("t1", "oid-bob", "Bob Partner", "bob@partner.example").await.unwrap();
    let c = customer("c1", "Alpha", "alpha.example");
    save_read(s, &c, Some(false), &[ann.clone(), bob.clone()]).await;
    let row = |p: mca_portal::store::CustomerPage| p.items.into_iter().next().unwrap().latest_attestation.unwrap();
    let first = async || row(s.customer_list("t1", &CustomerQuery::default(), &Position::First, 1).await.unwrap());
    let latest = first().await;
    assert_eq!(latest.date_agreed.to_string(), "2024-05-06");
    assert_eq!((latest.user_id.as_deref(), latest.user_name.as_deref()), (Some("oid-bob"), Some("Bob Partner")));
    // An attestation recorded now becomes the latest; an older one added does not.
    let mut cy = attestation("Cy", (2025, 1, 1));
    cy.user_id = Some("oid-cy".into());
    s.attestation_add("t1", "c1", &cy).await.unwrap();
    let latest = first().await;
    assert_eq!((latest.date_agreed.to_string().as_str(), latest.user_id.as_deref()), ("2025-01-01", Some("oid-cy")));
    assert_eq!(latest.user_name, None, "a user who has not signed in here has no name");
    s.attestation_add("t1", "c1", &ann).await.unwrap();
    assert_eq!(first().await.date_agreed.to_string(), "2025-01-01");
    // Read again: what Partner Center lists decides, the account page's first.
    save_read(s, &c, Some(false), &[ann.clone()]).await;
    assert_eq!(first().await.user_id.as_deref(), Some("oid-ann"));
    let record = s.customer_get("t1", "c1").await.unwrap().unwrap();
    assert_eq!(record.attestations[0].first_name, "Ann");
    save_read(s, &c, Some(false), &[]).await;
    let none = s.customer_list("t1", &CustomerQuery::default(), &Position::First, 1).await.unwrap();
    assert!(none.items[0].latest_attestation.is_none());
}

async fn the_reseller_partner_center_named_is_kept(s: &Store) {
    let mut c = customer("c1", "Alpha", "alpha.example");
    c.associated_partner_id = Some("fab01ca7-0000-4000-8000-000000000002".into());
    save_read(s, &c, Some(false), &[]).await;
    c.associated_partner_id = None;
    save_read(s, &c, Some(false), &[]).await;
    let page = s.customer_list("t1", &CustomerQuery::default(), &Position::First, 1).await.unwrap();
    assert_eq!(page.items[0].associated_partner_id.as_deref(), Some("fab01ca7-0000-4000-8000-000000000002"));
    let record = s.customer_get("t1", "c1").await.unwrap().unwrap();
    assert_eq!(
        record.customer.associated_partner_id, page.items[0].associated_partner_id,
        "a read without it keeps it"
    );
}

/// A small deterministic generator, so that a failure repeats.
struct Seeded(u64);

impl Seeded {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Every customer of t1 by reading the list itself (not the counts), counted per
/// (status key, acceptance).
async fn counted_by_reading(s: &Store) -> std::collections::BTreeMap<(String, Option<bool>), i64> {
    let mut counted = std::collections::BTreeMap::new();
    let (query, mut position) = (CustomerQuery::default(), Some(Position::First));
    while let Some(p) = position {
        let page = s.customer_list("t1", &query, &p, 7).await.unwrap();
        for c in &page.items {
            *counted.entry((c.status.key().to_string(), c.accepted_directly)).or_default() += 1;
        }
        position = page.next(query.sort);
    }
    counted
}

async fn the_kept_counts_equal_the_rows_after_any_saves_and_forgets(s: &Store) {
    let mut rng = Seeded(10);
    let policy = ReattestationPolicy::default();
    for step in 0..120 {
        let id = format!("c{:02}", rng.below(15));
        let c = customer(&id, &format!("Name {}", rng.below(4)), &format!("{id}.example"));
        match rng.below(6) {
            0 if step % 4 == 0 => {
                let cutoff = Utc::now();
                save_read(s, &customer("c00", "Kept", "kept.example"), Some(true), &[]).await;
                s.customers_forget_unseen("t1", cutoff).await.unwrap();
            }
            1 => {
                let _ = s.attestation_add("t1", &id, &attestation("Zed", (2025, 2, 3))).await;
                s.customer_recompute_status("t1", &id, &policy).await.unwrap();
            }
            2 => {
                let not_read = mca_portal::domain::StatusVerdict::not_read("not read");
                s.customer_save("t1", &c, None, &[], &not_read, Utc::now()).await.unwrap();
            }
            k => {
                let direct = [None, Some(true), Some(false)][(k % 3) as usize];
                let atts = if rng.below(2) == 0 {
                    vec![]
                } else {
                    vec![attestation("Ann", (2021 + rng.below(5) as i32, 3, 4))]
                };
                save_read(s, &c, direct, &atts).await;
            }
        }
        if step % 20 == 19 {
            let kept = s.customer_counts("t1").await.unwrap();
            let read = counted_by_reading(s).await;
            for status in EffectiveStatus::ALL {
                for accepted in [Some(true), Some(false), None] {
                    let acceptance = accepted.map(|a| if a { Acceptance::Provided } else { Acceptance::NotProvided });
                    let expected = read.get(&(status.key().to_string(), accepted)).copied().unwrap_or(0);
                    let by_status = kept.by_status(acceptance).into_iter().find(|c| c.status == status).unwrap();
                    if accepted.is_some() {
                        assert_eq!(by_status.count, expected, "step {step}: {status:?} {accepted:?}");
                    }
                }
            }
            assert_eq!(kept.total(), read.values().sum::<i64>(), "step {step}");
            assert_eq!(
                kept.by_acceptance().not_read,
                read.iter().filter(|(k, _)| k.1.is_none()).map(|(_, n)| n).sum::<i64>()
            );
        }
    }
}

/// A database of the schema before the list's migrations, with customers in it: the
/// migrations fill the new columns, the counts and the search index from what is there.
async fn migrating_fills_what_the_list_needs(db: Db) {
    let Some(d) = fresh_db(db).await else { return };
    let s = Store::connect_without_migrating(&d.url).await.unwrap();
    s.migrate_to(10).await.unwrap();
    let pool = sqlx::AnyPool::connect(&d.url).await.unwrap();
    for (id, name, status, signed) in [("c1", "Northwind", "attested", Some(0)), ("c2", "Contoso", "not_read", None)] {
        sqlx::query(
            "INSERT INTO customers (tenant_id, customer_id, company_name, domain, search_text, status, status_reason, read_at) \
             VALUES ('t1', $1, $2, $3, $4, $5, '', '2025-01-01T00:00:00.000000Z')",
        )
        .bind(id)
        .bind(name)
        .bind(format!("{id}.example"))
        .bind(format!("{} {id}.example", name.to_lowercase()))
        .bind(status)
        .execute(&pool)
        .await
        .unwrap();
        if let Some(signed) = signed {
            sqlx::query(
                "INSERT INTO direct_acceptance (tenant_id, customer_id, is_signed, read_at) VALUES ('t1', $1, $2, 'x')",
            )
            .bind(id)
            .bind(signed as i64)
            .execute(&pool)
            .await
            .unwrap();
        }
    }
    for (position, date, user) in [(0, "2022-01-01", "oid-old"), (1, "2024-05-06", "oid-new")] {
        sqlx::query(
            "INSERT INTO partner_attestations (tenant_id, customer_id, position, first_name, last_name, email, date_agreed, user_id, read_at) \
             VALUES ('t1', 'c1', $1, 'A', 'B', 'a@b.example', $2, $3, 'x')",
        )
        .bind(position as i64)
        .bind(date)
        .bind(user)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;
    s.migrate().await.unwrap();
    let counts = s.customer_counts("t1").await.unwrap();
    assert_eq!(counts.matching(Some(EffectiveStatus::Attested), Some(Acceptance::NotProvided)), 1);
    assert_eq!((counts.total(), counts.by_acceptance().not_read), (2, 1));
    let search =
        CustomerQuery { filter: CustomerFilter { search: "wind".into(), ..Default::default() }, ..Default::default() };
    let found = s.customer_list("t1", &search, &Position::First, 5).await.unwrap();
    assert_eq!(found.items.len(), 1, "the search index holds the rows that were there");
    let latest = found.items[0].latest_attestation.clone().unwrap();
    assert_eq!((latest.date_agreed.to_string().as_str(), latest.user_id.as_deref()), ("2024-05-06", Some("oid-new")));
    assert_eq!(found.items[0].accepted_directly, Some(false));
    // And the triggers go on from there.
    save_read(&s, &customer("c3", "Westwind", "c3.example"), Some(true), &[]).await;
    assert_eq!(s.customer_list("t1", &search, &Position::First, 5).await.unwrap().items.len(), 2);
    assert_eq!(s.customer_counts("t1").await.unwrap().total(), 3);
}

#[tokio::test]
async fn migrating_fills_what_the_list_needs_sqlite() {
    migrating_fills_what_the_list_needs(Db::Sqlite).await;
}

#[tokio::test]
async fn migrating_fills_what_the_list_needs_postgres() {
    migrating_fills_what_the_list_needs(Db::Postgres).await;
}
