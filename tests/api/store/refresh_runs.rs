//! Refreshes of all customers: one running per partner, held under a lease that only its
//! holder renews and another instance takes over once it runs out; each step and each
//! customer written with the lease only; the customers still to read after a takeover;
//! the sign-in kept for a partner's runs; the statuses that changed.

use chrono::{Duration, Utc};
use mca_portal::domain::{EffectiveStatus, StatusInputs, UserTokens};
use mca_portal::store::{NewRun, ReadAttestations, ReadCustomer, RunPhase, RunState, RunStep, Store, TokenHolder};

use crate::store::{attestation, customer, save};

on_both_databases!(
    one_run_at_a_time_per_partner,
    a_lease_is_taken_over_only_once_it_has_run_out,
    without_the_lease_nothing_is_written,
    a_run_reads_each_customer_once_and_counts_it,
    the_pace_is_measured_from_the_reading_customer_by_customer,
    the_listings_latest_attestation_joins_those_stored,
    the_kept_sign_in_is_sealed_and_ends_with_its_session_or_a_sign_out,
    a_change_of_status_is_remembered_with_the_status_before,
);

fn new_run<'a>(tenant: &'a str, owner: &'a str, lease_seconds: i64) -> NewRun<'a> {
    NewRun {
        tenant_id: tenant,
        started_by_name: Some("Sam Sales"),
        scheduled: false,
        owner,
        lease: Duration::seconds(lease_seconds),
    }
}

async fn one_run_at_a_time_per_partner(s: &Store) {
    let run = s.refresh_run_start(&new_run("t1", "a", 60)).await.unwrap().expect("started");
    assert_eq!((run.state, run.phase, run.total, run.done), (RunState::Running, RunPhase::Customers, 0, 0));
    assert!(s.refresh_run_start(&new_run("t1", "b", 60)).await.unwrap().is_none(), "not while one runs");
    assert!(s.refresh_run_start(&new_run("t2", "b", 60)).await.unwrap().is_some(), "another partner's runs");
    assert!(s.refresh_run_end(&run.run_id, "a", RunState::Finished, None).await.unwrap());
    let next = s.refresh_run_start(&new_run("t1", "b", 60)).await.unwrap().expect("once it has ended");
    assert_eq!(s.refresh_run_latest("t1").await.unwrap().unwrap().run_id, next.run_id);
    assert_eq!(s.refresh_run_last_finished("t1").await.unwrap().unwrap().run_id, run.run_id);
}

async fn a_lease_is_taken_over_only_once_it_has_run_out(s: &Store) {
    let run = s.refresh_run_start(&new_run("t1", "a", 60)).await.unwrap().unwrap();
    assert!(s.refresh_run_claim(&run.run_id, "b", Duration::seconds(60)).await.unwrap().is_none(), "held by a");
    assert!(s.refresh_run_claim(&run.run_id, "a", Duration::seconds(60)).await.unwrap().is_none(), "a runs it");
    assert!(s.refresh_runs_abandoned().await.unwrap().is_empty());
    let short = s.refresh_run_start(&new_run("t2", "a", 0)).await.unwrap().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let abandoned = s.refresh_runs_abandoned().await.unwrap();
    assert_eq!(abandoned.iter().map(|r| r.run_id.as_str()).collect::<Vec<_>>(), [short.run_id.as_str()]);
    let taken = s.refresh_run_claim(&short.run_id, "b", Duration::seconds(60)).await.unwrap().expect("taken over");
    assert_eq!(taken.lease_owner.as_deref(), Some("b"));
    assert!(!s.refresh_run_renew(&short.run_id, "a", Duration::seconds(60)).await.unwrap(), "a lost it");
    assert!(s.refresh_run_renew(&short.run_id, "b", Duration::seconds(60)).await.unwrap());
}

async fn without_the_lease_nothing_is_written(s: &Store) {
    let run = s.refresh_run_start(&new_run("t1", "a", 60)).await.unwrap().unwrap();
    let ids = ("t1", run.run_id.as_str(), "b");
    let step = RunStep { phase: Some(RunPhase::Records), calls: 1, ..Default::default() };
    assert!(!s.refresh_items_listed(ids, &[customer("c1", "Contoso", "contoso.example")], &step).await.unwrap());
    assert!(!s.refresh_run_step(&run.run_id, "b", &step).await.unwrap());
    assert!(!s.refresh_run_end(&run.run_id, "b", RunState::Finished, None).await.unwrap());
    let kept = s.refresh_run_latest("t1").await.unwrap().unwrap();
    assert_eq!((kept.phase, kept.total, kept.calls, kept.state), (RunPhase::Customers, 0, 0, RunState::Running));
    assert!(s.refresh_items_waiting("t1", &run.run_id, "", 10).await.unwrap().is_empty());
}

async fn a_run_reads_each_customer_once_and_counts_it(s: &Store) {
    let run = s.refresh_run_start(&new_run("t1", "a", 60)).await.unwrap().unwrap();
    let ids = ("t1", run.run_id.as_str(), "a");
    let page: Vec<_> = (1..=5).map(|i| customer(&format!("c{i}"), &format!("Customer {i}"), "x.example")).collect();
    let cursor = Some("next page");
    let step = RunStep { cursor: Some(cursor), calls: 1, ..Default::default() };
    assert!(s.refresh_items_listed(ids, &page, &step).await.unwrap());
    let again = RunStep { phase: Some(RunPhase::Details), cursor: Some(None), calls: 1, ..Default::default() };
    assert!(s.refresh_items_listed(ids, &page[..2], &again).await.unwrap(), "a page read again adds nobody");
    let records = vec![("c2".to_string(), true, Some(attestation("Tania", (2024, 5, 1)))), ("zz".into(), true, None)];
    assert!(s.refresh_items_recorded(ids, &records, &RunStep::default()).await.unwrap());
    let waiting = s.refresh_items_waiting("t1", &run.run_id, "", 10).await.unwrap();
    assert_eq!(waiting.iter().map(|i| i.customer.id.as_str()).collect::<Vec<_>>(), ["c1", "c2", "c3", "c4", "c5"]);
    assert!(waiting[1].in_listing && waiting[1].attested && !waiting[0].in_listing);
    assert_eq!(waiting[1].latest.as_ref().unwrap().first_name, "Tania");
    let verdict = StatusInputs { accepted_directly: Some(false), ..Default::default() }.verdict(&Default::default());
    let read = |c| ReadCustomer {
        customer: c,
        accepted_directly: Some(false),
        attestations: ReadAttestations::All(&[]),
        verdict: &verdict,
        read_at: Utc::now(),
    };
    assert!(s.refresh_item_read(ids, &read(&page[0]), 2).await.unwrap());
    assert!(s.refresh_item_failed(ids, &page[2], &mca_portal::domain::StatusVerdict::not_read("x"), 1).await.unwrap());
    let after = s.refresh_items_waiting("t1", &run.run_id, "c1", 10).await.unwrap();
    assert_eq!(after.iter().map(|i| i.customer.id.as_str()).collect::<Vec<_>>(), ["c2", "c4", "c5"], "after c1");
    let now = s.refresh_run_latest("t1").await.unwrap().unwrap();
    assert_eq!((now.total, now.done, now.failed, now.calls, now.phase), (5, 2, 1, 5, RunPhase::Details));
    assert_eq!(now.cursor, None);
    let stored = s.customer_get("t1", "c3").await.unwrap().expect("a customer not read is listed anyway");
    assert_eq!(stored.status, EffectiveStatus::NotRead);
}

/// The listing phases read no customer: a pace counted from the start would make the
/// time left look many times longer than it is.
async fn the_pace_is_measured_from_the_reading_customer_by_customer(s: &Store) {
    let run = s.refresh_run_start(&new_run("t1", "a", 60)).await.unwrap().unwrap();
    let pace = |r: mca_portal::store::RefreshRun| (r.pace_since, r.pace_done);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let records = RunStep { phase: Some(RunPhase::Records), calls: 1, ..Default::default() };
    assert!(s.refresh_run_step(&run.run_id, "a", &records).await.unwrap());
    let listed = s.refresh_run_latest("t1").await.unwrap().unwrap();
    assert_eq!(pace(listed), (run.pace_since, 0), "still listing");
    let details = RunStep { phase: Some(RunPhase::Details), calls: 1, ..Default::default() };
    assert!(s.refresh_run_step(&run.run_id, "a", &details).await.unwrap());
    let reading = s.refresh_run_latest("t1").await.unwrap().unwrap();
    assert!(reading.pace_since > run.pace_since, "from the start of the reading");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert!(s.refresh_run_step(&run.run_id, "a", &details).await.unwrap());
    let later = s.refresh_run_latest("t1").await.unwrap().unwrap();
    assert_eq!(later.pace_since, reading.pace_since, "a later step in the same phase keeps it");
}

async fn the_listings_latest_attestation_joins_those_stored(s: &Store) {
    let c = customer("c1", "Contoso", "contoso.example");
    save(s, "t1", &c, false, &[attestation("Old", (2021, 1, 2))]).await;
    let run = s.refresh_run_start(&new_run("t1", "a", 60)).await.unwrap().unwrap();
    let ids = ("t1", run.run_id.as_str(), "a");
    assert!(s.refresh_items_listed(ids, std::slice::from_ref(&c), &RunStep::default()).await.unwrap());
    let waiting = s.refresh_items_waiting("t1", &run.run_id, "", 10).await.unwrap();
    assert_eq!(waiting[0].stored_direct, Some(false));
    assert_eq!(waiting[0].stored_latest_date, Some(chrono::NaiveDate::from_ymd_opt(2021, 1, 2).unwrap()));
    let latest = attestation("New", (2024, 3, 4));
    let verdict =
        StatusInputs { attestation_dates: vec![latest.date_agreed], ..Default::default() }.verdict(&Default::default());
    let read = ReadCustomer {
        customer: &c,
        accepted_directly: None,
        attestations: ReadAttestations::Latest(Some(&latest)),
        verdict: &verdict,
        read_at: Utc::now(),
    };
    assert!(s.refresh_item_read(ids, &read, 0).await.unwrap());
    let stored = s.customer_get("t1", "c1").await.unwrap().unwrap();
    let names: Vec<_> = stored.attestations.iter().map(|a| a.first_name.as_str()).collect();
    assert_eq!(names, ["New", "Old"], "added to what was stored, newest first");
    assert_eq!(stored.accepted_directly, Some(false), "direct acceptance kept as read before");
    assert_eq!(stored.status, EffectiveStatus::Attested);
}

async fn the_kept_sign_in_is_sealed_and_ends_with_its_session_or_a_sign_out(s: &Store) {
    let tokens = UserTokens { access_token: "at-1".into(), refresh_token: Some("rt-1".into()), expires_at: 42 };
    let holder = |until| TokenHolder { oid: "oid-sam".into(), name: "Sam Sales".into(), kept_until: until };
    s.refresh_sign_in_keep("t1", &holder(Utc::now() + Duration::hours(1)), &tokens).await.unwrap();
    let kept = s.refresh_sign_in("t1").await.unwrap().expect("kept");
    assert_eq!((kept.tokens.access_token.as_str(), kept.user_name.as_str()), ("at-1", "Sam Sales"));
    assert!(s.refresh_sign_in("t2").await.unwrap().is_none(), "per partner");
    let renewed = UserTokens { access_token: "at-2".into(), refresh_token: Some("rt-2".into()), expires_at: 43 };
    s.refresh_sign_in_renewed_by("t1", "oid-alex", &renewed).await.unwrap();
    assert_eq!(s.refresh_sign_in("t1").await.unwrap().unwrap().tokens.access_token, "at-1", "not Alex's to renew");
    s.refresh_sign_in_renewed_by("t1", "oid-sam", &renewed).await.unwrap();
    assert_eq!(s.refresh_sign_in("t1").await.unwrap().unwrap().tokens.refresh_token.as_deref(), Some("rt-2"));
    s.refresh_sign_in_forget_of("t1", "oid-sam").await.unwrap();
    assert!(s.refresh_sign_in("t1").await.unwrap().is_none(), "gone at the sign-out");
    s.refresh_sign_in_renewed("t1", &renewed).await.unwrap();
    assert!(s.refresh_sign_in("t1").await.unwrap().is_none(), "a renewal under way does not bring them back");
    s.refresh_sign_in_keep("t1", &holder(Utc::now() - Duration::seconds(1)), &tokens).await.unwrap();
    assert!(s.refresh_sign_in("t1").await.unwrap().is_none(), "not past the end of the session");
    assert_eq!(s.refresh_tenants_due(Duration::minutes(60)).await.unwrap(), ["t1"], "never run: due");
    s.refresh_schedule_skipped("t1", Some("No sign-in.")).await.unwrap();
    assert_eq!(s.refresh_schedule_skip("t1").await.unwrap().unwrap().reason, "No sign-in.");
    s.refresh_run_start(&new_run("t1", "a", 60)).await.unwrap().unwrap();
    assert!(s.refresh_tenants_due(Duration::minutes(60)).await.unwrap().is_empty(), "running: not due");
}

async fn a_change_of_status_is_remembered_with_the_status_before(s: &Store) {
    let before = Utc::now();
    save(s, "t1", &customer("c1", "Contoso", "contoso.example"), false, &[]).await;
    save(s, "t1", &customer("c2", "Fabrikam", "fabrikam.example"), false, &[]).await;
    let (none, _) = s.customers_status_changed("t1", before, None, 10).await.unwrap();
    assert!(none.is_empty(), "a customer read for the first time has not changed");
    save(s, "t1", &customer("c1", "Contoso", "contoso.example"), true, &[]).await;
    save(s, "t1", &customer("c2", "Fabrikam", "fabrikam.example"), false, &[]).await;
    let (changes, next) = s.customers_status_changed("t1", before, None, 10).await.unwrap();
    assert_eq!(changes.len(), 1, "a status written again unchanged is no change");
    assert_eq!((changes[0].customer_id.as_str(), changes[0].previous_status), ("c1", EffectiveStatus::NotConfirmed));
    assert_eq!(changes[0].status, EffectiveStatus::AcceptedDirectly);
    assert!(next.is_none());
    let (later, _) = s.customers_status_changed("t1", Utc::now() + Duration::seconds(1), None, 10).await.unwrap();
    assert!(later.is_empty(), "only changes since the time asked for");
    assert!(s.customers_status_changed("t2", before, None, 10).await.unwrap().0.is_empty(), "per partner");
}
