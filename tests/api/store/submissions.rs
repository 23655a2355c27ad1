//! Submissions: stored once per idempotency key before anything is sent, then delivered
//! through a queue of leases that only their holder may settle, retry or park.

use chrono::{Duration, Utc};
use mca_portal::domain::{AcceptanceDate, AttestationRequest, Contact, Request, UserTokens};
use mca_portal::store::{Created, NewSubmission, Settled, Store, Submission, SubmissionState};

on_both_databases!(
    one_idempotency_key_keeps_one_row,
    a_submission_reads_back_with_its_tokens,
    a_claim_is_a_lease_no_other_owner_can_take,
    a_lease_that_ran_out_can_be_claimed_again,
    only_the_lease_holder_settles_and_settling_drops_the_tokens,
    a_retry_counts_an_attempt_and_waits_until_due,
    waiting_for_the_customer_counts_no_attempt,
    the_status_says_pending_then_why_it_failed,
    a_new_customer_gets_its_id_from_the_lease_holder,
    a_customers_submissions_come_newest_first_in_their_tenant,
);

const WORKER_A: &str = "worker-a";
const WORKER_B: &str = "worker-b";

fn lease() -> Duration {
    Duration::seconds(60)
}

/// An attestation of `email`'s owner, agreed on 2025-03-03.
fn attest(email: &str) -> Request {
    let today = Utc::now().date_naive();
    Request::Attest(AttestationRequest {
        contact: Contact::parse("Tania", "Carr", email, "").unwrap(),
        date: AcceptanceDate::parse("2025-03-03", today).unwrap(),
    })
}

fn sams_tokens() -> UserTokens {
    UserTokens {
        access_token: "access-of-sam".into(),
        refresh_token: Some("refresh-of-sam".into()),
        expires_at: Utc::now().timestamp() + 3600,
    }
}

/// Stores a submission Sam made in `tenant` under `key`.
async fn submit(s: &Store, tenant: &str, key: &str, customer_id: Option<&str>, request: &Request) -> Created {
    s.submission_create(&NewSubmission {
        tenant_id: tenant,
        idempotency_key: key,
        customer_id,
        request,
        created_by_oid: "oid-sam",
        created_by_name: "Sam Sales",
        tokens: &sams_tokens(),
        tokens_kept_until: Utc::now() + Duration::hours(12),
    })
    .await
    .unwrap()
}

/// A new submission in t1 for customer c1; panics if the key was used before.
async fn new_submission(s: &Store, key: &str) -> Submission {
    match submit(s, "t1", key, Some("c1"), &attest(&format!("{key}@example.com"))).await {
        Created::New(sub) => sub,
        Created::Existing(_) => panic!("{key} was a new key"),
    }
}

async fn reread(s: &Store, id: &str) -> Submission {
    s.submission_get("t1", id).await.unwrap().expect("the submission is stored")
}

async fn one_idempotency_key_keeps_one_row(s: &Store) {
    let first = attest("first@example.com");
    let Created::New(created) = submit(s, "t1", "key-1", Some("c1"), &first).await else {
        panic!("the first use of a key stores a new submission")
    };
    let Created::Existing(again) = submit(s, "t1", "key-1", Some("c1"), &attest("second@example.com")).await else {
        panic!("the same key again gives the submission stored before")
    };
    assert_eq!(again.id, created.id);
    assert_eq!(again.request, first, "unchanged by the second request");
    assert_eq!(s.submission_counts("t1").await.unwrap(), vec![("queued".to_string(), 1)]);
    assert_eq!(s.submission_by_key("t1", "key-1").await.unwrap().map(|sub| sub.id), Some(created.id));
    assert!(matches!(submit(s, "t2", "key-1", Some("c9"), &first).await, Created::New(_)), "keys are per tenant");
}

async fn a_submission_reads_back_with_its_tokens(s: &Store) {
    let sub = reread(s, &new_submission(s, "key-1").await.id).await;
    assert_eq!(sub.state, SubmissionState::Queued);
    assert_eq!(sub.attempts, 0);
    assert_eq!(sub.customer_id.as_deref(), Some("c1"));
    assert_eq!(sub.created_by_name, "Sam Sales");
    assert_eq!(sub.request, attest("key-1@example.com"));
    let tokens = sub.tokens.expect("the tokens to deliver it with");
    assert_eq!(tokens.access_token, "access-of-sam");
    assert_eq!(tokens.refresh_token.as_deref(), Some("refresh-of-sam"));
    assert!(s.submission_get("t2", &sub.id).await.unwrap().is_none(), "not another tenant's");
}

async fn a_claim_is_a_lease_no_other_owner_can_take(s: &Store) {
    let sub = new_submission(s, "key-1").await;
    let claimed = s.submission_claim("t1", &sub.id, WORKER_A, lease()).await.unwrap();
    assert_eq!(claimed.map(|c| c.id), Some(sub.id.clone()));
    assert!(s.submission_claim("t1", &sub.id, WORKER_B, lease()).await.unwrap().is_none(), "held by worker A");
    assert!(s.submissions_claim_due(WORKER_B, lease(), 10).await.unwrap().is_empty(), "not due for another");
}

async fn a_lease_that_ran_out_can_be_claimed_again(s: &Store) {
    let sub = new_submission(s, "key-1").await;
    assert!(s.submission_claim("t1", &sub.id, WORKER_A, Duration::milliseconds(1)).await.unwrap().is_some());
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    let due = s.submissions_claim_due(WORKER_B, lease(), 10).await.unwrap();
    assert_eq!(due.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), [sub.id.as_str()]);
}

async fn only_the_lease_holder_settles_and_settling_drops_the_tokens(s: &Store) {
    let sub = new_submission(s, "key-1").await;
    s.submission_claim("t1", &sub.id, WORKER_A, lease()).await.unwrap().expect("claimed");
    assert!(!s.submission_settle(&sub.id, WORKER_B, Settled::Delivered).await.unwrap(), "not the holder");
    assert_eq!(reread(s, &sub.id).await.state, SubmissionState::Queued);
    assert!(s.submission_settle(&sub.id, WORKER_A, Settled::Delivered).await.unwrap());
    let settled = reread(s, &sub.id).await;
    assert_eq!(settled.state, SubmissionState::Delivered);
    assert_eq!(settled.attempts, 1);
    assert!(settled.tokens.is_none(), "the delegated tokens are removed");
    assert!(!s.submission_settle(&sub.id, WORKER_A, Settled::Delivered).await.unwrap(), "settled once");
    assert_eq!(s.submission_counts("t1").await.unwrap(), vec![("delivered".to_string(), 1)]);
}

async fn a_retry_counts_an_attempt_and_waits_until_due(s: &Store) {
    let sub = new_submission(s, "key-1").await;
    s.submission_claim("t1", &sub.id, WORKER_A, lease()).await.unwrap().expect("claimed");
    let later = Utc::now() + Duration::hours(1);
    assert!(!s.submission_retry_later(&sub.id, WORKER_B, later, "503", None).await.unwrap(), "not the holder");
    assert!(s.submission_retry_later(&sub.id, WORKER_A, later, "503", None).await.unwrap());
    let waiting = reread(s, &sub.id).await;
    assert_eq!(waiting.attempts, 1);
    assert_eq!(waiting.last_error.as_deref(), Some("503"));
    assert_eq!(waiting.state, SubmissionState::Queued);
    assert!(s.submissions_claim_due(WORKER_B, lease(), 10).await.unwrap().is_empty(), "not due for an hour");
    assert_eq!(s.submissions_make_due("t1", "c1").await.unwrap(), [sub.id], "Refresh makes it due");
    assert_eq!(s.submissions_claim_due(WORKER_B, lease(), 10).await.unwrap().len(), 1);
}

async fn waiting_for_the_customer_counts_no_attempt(s: &Store) {
    let sub = new_submission(s, "key-1").await;
    s.submission_claim("t1", &sub.id, WORKER_A, lease()).await.unwrap().expect("claimed");
    assert!(!s.submission_set_attestation(&sub.id, WORKER_B, "att-1", "https://accept.example/1").await.unwrap());
    assert!(s.submission_set_attestation(&sub.id, WORKER_A, "att-1", "https://accept.example/1").await.unwrap());
    assert!(s.submission_wait(&sub.id, WORKER_A, Utc::now() + Duration::minutes(5), None).await.unwrap());
    let parked = reread(s, &sub.id).await;
    assert_eq!(parked.attempts, 0, "waiting is not an attempt");
    assert_eq!(parked.attestation_id.as_deref(), Some("att-1"));
    assert_eq!(parked.acceptance_link.as_deref(), Some("https://accept.example/1"));
    let status = s.submission_status("t1", "c1").await.unwrap();
    assert!(status.pending && status.waiting_for_customer, "{status:?}");
}

async fn the_status_says_pending_then_why_it_failed(s: &Store) {
    assert_eq!(s.submission_status("t1", "c1").await.unwrap(), Default::default(), "nothing submitted");
    let refused = new_submission(s, "key-1").await;
    let status = s.submission_status("t1", "c1").await.unwrap();
    assert!(status.pending && status.failed_reason.is_none(), "{status:?}");
    s.submission_claim("t1", &refused.id, WORKER_A, lease()).await.unwrap().expect("claimed");
    let failed = Settled::Failed { reason: "already attested", code: Some("600061") };
    assert!(s.submission_settle(&refused.id, WORKER_A, failed).await.unwrap());
    let status = s.submission_status("t1", "c1").await.unwrap();
    assert!(!status.pending, "{status:?}");
    assert_eq!(status.failed_reason.as_deref(), Some("already attested"));
    assert_eq!(reread(s, &refused.id).await.pc_code.as_deref(), Some("600061"));
    // A later submission that is delivered settles it.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let corrected = new_submission(s, "key-2").await;
    s.submission_claim("t1", &corrected.id, WORKER_A, lease()).await.unwrap().expect("claimed");
    assert!(s.submission_settle(&corrected.id, WORKER_A, Settled::Delivered).await.unwrap());
    assert_eq!(s.submission_status("t1", "c1").await.unwrap().failed_reason, None);
}

async fn a_new_customer_gets_its_id_from_the_lease_holder(s: &Store) {
    let Created::New(sub) = submit(s, "t1", "key-1", None, &attest("new@example.com")).await else {
        panic!("a new key")
    };
    assert_eq!(sub.customer_id, None, "no customer before Partner Center creates it");
    s.submission_claim("t1", &sub.id, WORKER_A, lease()).await.unwrap().expect("claimed");
    assert!(!s.submission_set_customer(&sub.id, WORKER_B, "c7").await.unwrap(), "not the holder");
    assert!(s.submission_set_customer(&sub.id, WORKER_A, "c7").await.unwrap());
    assert_eq!(reread(s, &sub.id).await.customer_id.as_deref(), Some("c7"));
}

async fn a_customers_submissions_come_newest_first_in_their_tenant(s: &Store) {
    let older = new_submission(s, "key-1").await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let newer = new_submission(s, "key-2").await;
    let listed = s.submissions_for_customer("t1", "c1", 10).await.unwrap();
    assert_eq!(listed.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(), [newer.id.as_str(), older.id.as_str()]);
    assert!(s.submissions_for_customer("t2", "c1", 10).await.unwrap().is_empty());
}
