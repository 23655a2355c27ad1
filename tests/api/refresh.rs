//! The refresh of a partner's whole portfolio: through the agreement-records listing with
//! per-customer calls only for what it does not tell, at a configured pace, one run per
//! partner across instances, continued by another instance after a stop, with a progress
//! page that works without JavaScript, and the customers whose status changed recorded.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use mca_portal::config::Settings;
use mca_portal::sandbox::Faults;
use mca_portal::sandbox::seed::{self, CONTOSO_TENANT};
use mca_portal::store::{RunState, Store};
use reqwest::StatusCode;

use crate::helpers::*;

/// The day the tests' added attestations are dated (after the re-attestation cutoff).
fn recent() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 5, 5).unwrap()
}

/// Partner Center calls the sandbox received since the `from`-th request: (calls, 429s).
fn api_calls_since(app: &TestApp, from: usize) -> Vec<mca_portal::sandbox::RecordedRequest> {
    app.sandbox.requests().into_iter().skip(from).filter(|r| r.path_and_query.starts_with("/v1/")).collect()
}

async fn refresh_list(b: &Browser) {
    assert_eq!(b.post_with_token_of("/customers", "/customers/refresh").await.status(), StatusCode::SEE_OTHER);
}

async fn wait_for_the_run(app: &TestApp) -> mca_portal::store::RefreshRun {
    wait_for_the_run_in(&app.store).await
}

async fn wait_for_the_run_in(store: &Store) -> mca_portal::store::RefreshRun {
    let mut last = None;
    let finished = holds_within_a_minute(async || {
        last = store.refresh_run_latest(CONTOSO_TENANT).await.unwrap();
        last.as_ref().is_some_and(|r| r.state != RunState::Running)
    })
    .await;
    assert!(finished, "the refresh is finished; as it stood: {last:#?}");
    last.unwrap()
}

#[tokio::test]
async fn the_listing_is_read_page_by_page_and_per_customer_calls_drop_tenfold() {
    let app = spawn_app_with(Db::Sqlite, |_, sandbox| {
        sandbox.extra_customers = 200;
        sandbox.agreement_records_page_size = 50;
    })
    .await
    .unwrap();
    let b = app.signed_in(SAM_SALES).await;
    // The first read asks each customer new to the portal whether it accepted directly.
    assert_eq!(b.get_html("/customers").await.0, StatusCode::OK);
    let first = wait_for_the_run(&app).await;
    assert_eq!((first.state, first.total, first.done, first.failed), (RunState::Finished, 236, 236, 0));
    // Most customers are attested now, through another tool.
    for c in seed::extra_customers(200) {
        if c.agreements.iter().all(|a| a.date_agreed < recent()) {
            app.sandbox.add_attestation(&c.id, "Pat", "Lee", "pat.lee@portfolio.example", None, recent());
        }
    }
    let before = app.sandbox.requests().len();
    refresh_list(&b).await;
    let run = wait_for_the_run(&app).await;
    assert_eq!((run.state, run.total, run.done, run.failed), (RunState::Finished, 236, 236, 0));
    let calls = api_calls_since(&app, before);
    assert!(calls.len() * 10 <= 2 * 236, "{} calls for 236 customers, against 472 one by one", calls.len());
    assert_eq!(run.calls as usize, calls.len(), "the run counts the calls it makes");
    let listing: Vec<_> =
        calls.iter().filter(|r| r.path_and_query.starts_with("/v1/partners/customeragreementrecords")).collect();
    assert_eq!(listing.len(), 5, "236 records in pages of 50");
    assert!(!listing[0].path_and_query.contains("continuation_token"));
    assert!(listing[1..].iter().all(|r| r.path_and_query.contains("?continuation_token=")), "tokens followed");
    // Dates come in seconds and in milliseconds (every other record): both read as the day.
    let newly_attested: Vec<_> = seed::extra_customers(200)
        .into_iter()
        .filter(|c| !c.accepted_directly && c.agreements.iter().all(|a| a.date_agreed < recent()))
        .take(6)
        .collect();
    for c in newly_attested {
        let record = app.store.customer_get(CONTOSO_TENANT, &c.id).await.unwrap().unwrap();
        let dates: Vec<_> = record.attestations.iter().map(|a| a.date_agreed).collect();
        assert!(dates.contains(&recent()), "{}: {dates:?}", c.company_name);
        assert_eq!(record.status, mca_portal::domain::EffectiveStatus::Attested, "{}", c.company_name);
    }
}

#[tokio::test]
async fn without_the_listing_every_customer_is_read_one_by_one() {
    let app = spawn_app_with(Db::Sqlite, |_, sandbox| {
        sandbox.faults.refusal = Some(mca_portal::sandbox::Refusal {
            path_contains: "/v1/partners/customeragreementrecords".into(),
            method: None,
            status: 404,
            body: "{\"code\": 404, \"description\": \"Not found\"}".into(),
        });
    })
    .await
    .unwrap();
    let b = app.signed_in(SAM_SALES).await;
    let (_, html) = b.get_html("/customers?status=reattestation_required").await;
    assert!(html.contains("Graphic Design Institute"), "statuses as before");
    let run = wait_for_the_run(&app).await;
    assert_eq!((run.state, run.listing, run.done), (RunState::Finished, false, 36));
    let agreements = app
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.path_and_query.ends_with("agreementType=MicrosoftCustomerAgreement"))
        .count();
    assert_eq!(agreements, 36, "the agreements of every customer, one by one");
}

#[tokio::test]
async fn statuses_that_changed_since_the_last_refresh_are_recorded_with_the_one_before() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    assert_eq!(b.get_html("/customers").await.0, StatusCode::OK);
    wait_for_the_run(&app).await;
    let (bellows, adatum) = (app.customer_id("Bellows College"), app.customer_id("A. Datum Labs"));
    assert!(app.sandbox.set_accepted_directly(&bellows, true));
    app.sandbox.add_attestation(&adatum, "Ade", "Okafor", "ade@adatumlabs.example", None, recent());
    refresh_list(&b).await;
    let run = wait_for_the_run(&app).await;
    let last = app.store.refresh_run_last_finished(CONTOSO_TENANT).await.unwrap().unwrap();
    assert_eq!(last.run_id, run.run_id, "the last complete refresh");
    let (changes, next) = app.store.customers_status_changed(CONTOSO_TENANT, run.started_at, None, 10).await.unwrap();
    assert!(next.is_none());
    let mut seen: Vec<_> =
        changes.iter().map(|c| (c.company_name.as_str(), c.previous_status.key(), c.status.key())).collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("A. Datum Labs", "reattestation_required", "attested"),
            ("Bellows College", "not_confirmed", "accepted_directly")
        ]
    );
    // A page at a time, newest first, through the cursor.
    let (page1, cursor) = app.store.customers_status_changed(CONTOSO_TENANT, run.started_at, None, 1).await.unwrap();
    let (page2, _) =
        app.store.customers_status_changed(CONTOSO_TENANT, run.started_at, cursor.as_ref(), 1).await.unwrap();
    assert_eq!(page1.len() + page2.len(), 2);
    assert_ne!(page1[0].customer_id, page2[0].customer_id);
    assert!(page1[0].changed_at >= page2[0].changed_at);
}

#[tokio::test]
async fn a_configured_pace_below_partner_centers_limit_gets_no_429() {
    let app = spawn_app_with(Db::Sqlite, |s, sandbox| {
        s.refresh.refresh_rate_limit_per_minute = 120;
        s.refresh.refresh_concurrency = 4;
        s.refresh.refresh_wait_seconds = 0;
        sandbox.faults = Faults { rate_limit_per_minute: 150, ..Default::default() };
    })
    .await
    .unwrap();
    let started = Instant::now();
    let b = app.signed_in(SAM_SALES).await;
    assert_eq!(b.get_html("/customers").await.0, StatusCode::OK);
    let run = wait_for_the_run(&app).await;
    assert_eq!((run.state, run.done, run.failed), (RunState::Finished, 36, 0));
    let calls = api_calls_since(&app, 0);
    assert!(calls.iter().all(|r| r.status != Some(429)), "no call was throttled");
    // About 38 calls at two a second after a burst of four: well over ten seconds.
    assert!(run.calls >= 38, "{}", run.calls);
    assert!(started.elapsed() >= Duration::from_secs(10), "paced: {:?}", started.elapsed());
}

#[tokio::test]
async fn a_429_that_still_comes_is_waited_out() {
    let app = spawn_app_with(Db::Sqlite, |s, _| s.http_max_retries = 0).await.unwrap();
    let b = app.signed_in(SAM_SALES).await;
    // From now on Partner Center throttles a fifth of the calls, and the client does not
    // try again by itself: the refresh waits each 429 out.
    app.sandbox.set_faults(Faults { throttle_percent: 20, ..Default::default() });
    let _ = b.get("/customers").await;
    let run = wait_for_the_run(&app).await;
    assert_eq!((run.state, run.done, run.failed), (RunState::Finished, 36, 0), "{:?}", run.stop_reason);
    let throttled = api_calls_since(&app, 0).iter().filter(|r| r.status == Some(429)).count();
    assert!(throttled > 0, "Partner Center throttled some calls");
}

/// A refresh that takes a few seconds: 236 customers, every call 40 ms late.
fn slow_portfolio(s: &mut Settings, sandbox: &mut mca_portal::sandbox::SandboxOptions) {
    s.refresh.refresh_wait_seconds = 0;
    s.refresh.refresh_concurrency = 2;
    s.refresh.refresh_lease_seconds = 2;
    s.refresh.refresh_poll_seconds = 1;
    sandbox.extra_customers = 200;
    sandbox.faults = Faults { latency_ms: 40, ..Default::default() };
}

#[tokio::test]
async fn a_run_held_by_another_instance_is_not_started_twice() {
    let Some(a) = spawn_app_with(Db::Postgres, slow_portfolio).await else { return };
    let sam = a.signed_in(SAM_SALES).await;
    assert_eq!(sam.get_html("/customers").await.0, StatusCode::OK);
    let b = start_instance(Settings { refresh: a_settings_refresh(), ..another_instance_settings(&a) }).await;
    let alex = Browser::new(&b);
    assert_eq!(alex.sign_in_as(ALEX_ADMIN).await.status(), StatusCode::SEE_OTHER);
    let (_, html) = alex.get_html("/customers/refresh").await;
    assert!(html.contains("Reading your customers from Partner Center"), "B shows A's run");
    assert!(html.contains("by Sam Sales"), "who started it");
    refresh_list(&alex).await;
    let kept = a.store.refresh_sign_in(CONTOSO_TENANT).await.unwrap().expect("a sign-in kept");
    assert_eq!(kept.user_name, "Sam Sales", "joining a run leaves it the sign-in of whoever started it");
    let run = wait_for_the_run(&a).await;
    assert_eq!((run.state, run.done), (RunState::Finished, 236));
    let db = a.database().await;
    let runs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM refresh_runs WHERE tenant_id = $1")
        .bind(CONTOSO_TENANT)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(runs, 1, "Refresh list on B while A runs starts nothing");
    let first_pages = a
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.path_and_query == "/v1/customers?size=100" && r.continuation_token.is_none())
        .count();
    assert_eq!(first_pages, 1, "the list was read once");
}

fn a_settings_refresh() -> mca_portal::config::RefreshSettings {
    mca_portal::config::RefreshSettings { refresh_lease_seconds: 2, refresh_poll_seconds: 1, ..unpaced() }
}

/// Sam's first visit to the list starts the run; waits until it has read `at_least`
/// customers and gives it as it stood then (`context` names the case when it fails).
async fn read_in_part(app: &TestApp, at_least: i64, context: &str) -> mca_portal::store::RefreshRun {
    let sam = app.signed_in(SAM_SALES).await;
    assert_eq!(sam.get_html("/customers").await.0, StatusCode::OK);
    let mut last = None;
    let read = holds_within_a_minute(async || {
        last = app.store.refresh_run_latest(CONTOSO_TENANT).await.unwrap();
        last.as_ref().is_some_and(|r| r.done >= at_least)
    })
    .await;
    assert!(read, "{at_least} customers read {context}; the run as it stood: {last:#?}");
    last.unwrap()
}

#[tokio::test]
async fn a_run_stopped_mid_way_is_continued_by_a_new_instance_from_where_it_stopped() {
    for db in [Db::Sqlite, Db::Postgres] {
        let Some(a) = spawn_app_with(db, slow_portfolio).await else { return };
        read_in_part(&a, 40, &format!("on {db:?}")).await;
        a.stopper.stop().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Not `a.store`: its PostgreSQL connections may belong to the stopped server's
        // threads, whose I/O ended with them.
        let store = Store::connect(&a._db.url).await.unwrap();
        let stopped = store.refresh_run_latest(CONTOSO_TENANT).await.unwrap().unwrap();
        assert_eq!(stopped.state, RunState::Running, "left unfinished on {db:?}: {stopped:#?}");
        assert!(stopped.done < 236, "stopped mid-way on {db:?}: {stopped:#?}");
        let before = a.sandbox.requests().len();
        start_instance(Settings { refresh: a_settings_refresh(), ..another_instance_settings(&a) }).await;
        let run = wait_for_the_run_in(&store).await;
        assert_eq!(run.run_id, stopped.run_id, "the same run, continued on {db:?}: {run:#?}");
        let outcome = (run.state, run.total, run.done, run.failed);
        assert_eq!(outcome, (RunState::Finished, 236, 236, 0), "on {db:?}: {run:#?}");
        let after = api_calls_since(&a, before);
        let list_again = after.iter().find(|r| r.path_and_query.starts_with("/v1/customers?"));
        assert!(list_again.is_none(), "the list is not read again on {db:?}: {list_again:?}");
        let direct = after
            .iter()
            .filter(|r| r.path_and_query.ends_with("/directSignedMicrosoftCustomerAgreementStatus"))
            .count();
        let left = 236 - stopped.done;
        assert!(direct <= left as usize, "only customers not read before on {db:?}: {direct} for {left}");
    }
}

#[tokio::test]
async fn a_run_whose_lease_ran_out_while_its_runner_lives_is_not_taken_over_by_its_own_instance() {
    let app = spawn_app_with(Db::Sqlite, |s, sandbox| {
        slow_portfolio(s, sandbox);
        // Renewed every 20 s: the lease set in the past below stays there for the test.
        s.refresh.refresh_lease_seconds = 60;
    })
    .await
    .unwrap();
    let run = read_in_part(&app, 5, "").await;
    assert_eq!(run.state, RunState::Running, "under way: {run:#?}");
    // As if the runner had renewed too late on a busy machine.
    let gone = mca_portal::store::timestamp(chrono::Utc::now() - chrono::Duration::seconds(30));
    let db = app.database().await;
    sqlx::query("UPDATE refresh_runs SET lease_until = $1 WHERE run_id = $2")
        .bind(gone)
        .bind(&run.run_id)
        .execute(&db)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let now = app.store.refresh_run_latest(CONTOSO_TENANT).await.unwrap().unwrap();
    assert_eq!(now.pace_since, run.pace_since, "no takeover (it would start the estimate afresh): {now:#?}");
    let finished = wait_for_the_run(&app).await;
    assert_eq!((finished.state, finished.done, finished.failed), (RunState::Finished, 236, 0), "{finished:#?}");
}

#[tokio::test]
async fn the_progress_page_works_without_javascript() {
    let app = spawn_app_with(Db::Sqlite, slow_portfolio).await.unwrap();
    let b = app.signed_in(SAM_SALES).await;
    assert_eq!(b.get_html("/customers").await.0, StatusCode::OK);
    let (status, html) = b.get_html("/customers/refresh").await;
    assert_eq!(status, StatusCode::OK);
    let reload = "<noscript><meta http-equiv=\"refresh\" content=\"5\"></noscript>";
    assert!(html.contains(reload), "it reloads itself when no script updates it");
    assert!(html.contains("<progress id=\"refresh-progress\" max=\""), "a bar");
    let counted = html.contains("customers done") || html.contains("Listing your customers");
    assert!(counted && html.contains("by Sam Sales") && html.contains("Time left"), "{}", text_of(&html));
    wait_for_the_run(&app).await;
    let helpdesk = app.signed_in(HANA_HELPDESK).await;
    let (_, html) = helpdesk.get_html("/customers/refresh").await;
    assert!(!html.contains("http-equiv"), "no reloading once done");
    assert!(html.contains("read 236 of 236 customers") && html.contains("every one read"), "{}", text_of(&html));
    let p: serde_json::Value = helpdesk.get("/customers/refresh/progress").await.json().await.unwrap();
    assert_eq!((p["running"].as_bool(), p["done"].as_i64(), p["total"].as_i64()), (Some(false), Some(236), Some(236)));
}
