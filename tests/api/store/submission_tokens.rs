//! The delegated tokens a queued submission keeps: removed when their user signs out or
//! when their session's absolute lifetime ends; a submission that needs them then waits
//! for a sign-in, untried, until an attester sends it with their own.

use chrono::{DateTime, Duration, Utc};
use mca_portal::domain::{AcceptanceDate, AttestationRequest, Contact, Request, UserTokens};
use mca_portal::store::{Created, NewSubmission, Store, Submission, SubmissionState, TokenHolder};

on_both_databases!(
    signing_out_removes_that_users_tokens_and_parks_what_needs_them,
    tokens_past_their_session_are_not_read_and_the_sweep_removes_them,
    an_attempt_under_way_can_not_bring_removed_tokens_back,
    send_now_gives_a_parked_submission_the_senders_tokens,
);

const WORKER: &str = "worker-a";

/// A person of tenant t1 (or another) who submits or sends.
struct Person {
    tenant: &'static str,
    oid: &'static str,
    name: &'static str,
}

const SAM: Person = Person { tenant: "t1", oid: "oid-sam", name: "Sam Sales" };
const ALEX: Person = Person { tenant: "t1", oid: "oid-alex", name: "Alex Admin" };
const SAM_ELSEWHERE: Person = Person { tenant: "t2", oid: "oid-sam", name: "Sam Sales" };

fn tokens_of(who: &Person) -> UserTokens {
    UserTokens {
        access_token: format!("access-of-{}", who.oid),
        refresh_token: Some(format!("refresh-of-{}", who.oid)),
        expires_at: Utc::now().timestamp() + 3600,
    }
}

/// An attestation for customer c1, stored by `who` under `key`, its tokens kept until `until`.
async fn stored(s: &Store, who: &Person, key: &str, until: DateTime<Utc>) -> Submission {
    let request = Request::Attest(AttestationRequest {
        contact: Contact::parse("Tania", "Carr", &format!("{key}@example.com"), "").unwrap(),
        date: AcceptanceDate::parse("2025-03-03", Utc::now().date_naive()).unwrap(),
    });
    let created = s
        .submission_create(&NewSubmission {
            tenant_id: who.tenant,
            idempotency_key: key,
            customer_id: Some("c1"),
            request: &request,
            created_by_oid: who.oid,
            created_by_name: who.name,
            tokens: &tokens_of(who),
            tokens_kept_until: until,
        })
        .await
        .unwrap();
    let Created::New(sub) = created else { panic!("{key} is a new key") };
    sub
}

async fn reread(s: &Store, sub: &Submission) -> Submission {
    s.submission_get(&sub.tenant_id, &sub.id).await.unwrap().expect("stored")
}

fn in_hours(h: i64) -> DateTime<Utc> {
    Utc::now() + Duration::hours(h)
}

async fn signing_out_removes_that_users_tokens_and_parks_what_needs_them(s: &Store) {
    let queued = stored(s, &SAM, "queued", in_hours(12)).await;
    let waiting = stored(s, &SAM, "waiting", in_hours(12)).await;
    s.submission_claim("t1", &waiting.id, WORKER, Duration::seconds(60)).await.unwrap().expect("claimed");
    assert!(s.submission_set_attestation(&waiting.id, WORKER, "att-1", "https://accept.example/1").await.unwrap());
    assert!(s.submission_wait(&waiting.id, WORKER, in_hours(1), None).await.unwrap());
    let alexs = stored(s, &ALEX, "alexs", in_hours(12)).await;
    let elsewhere = stored(s, &SAM_ELSEWHERE, "elsewhere", in_hours(12)).await;

    let touched = s.submissions_forget_tokens_of("t1", "oid-sam", "Sam signed out.").await.unwrap();
    assert_eq!(touched, [("t1".to_string(), "c1".to_string())]);
    let parked = reread(s, &queued).await;
    assert_eq!(parked.state, SubmissionState::NeedsSignIn, "it needs a delegated token to be sent");
    assert!(parked.tokens.is_none() && parked.token_holder.is_none(), "the tokens are gone");
    assert_eq!(parked.last_error.as_deref(), Some("Sam signed out."));
    let still_waiting = reread(s, &waiting).await;
    assert_eq!(still_waiting.state, SubmissionState::Queued, "App-only checks go on waiting for the customer");
    assert!(still_waiting.tokens.is_none(), "but without the tokens");
    assert!(reread(s, &alexs).await.tokens.is_some(), "another user's tokens stay");
    assert!(reread(s, &elsewhere).await.tokens.is_some(), "the same oid in another tenant is another user");
    let status = s.submission_status("t1", "c1").await.unwrap();
    assert!(status.pending && status.needs_sign_in, "{status:?}");
    assert!(
        s.submissions_claim_due(WORKER, Duration::seconds(60), 10).await.unwrap().iter().all(|c| c.id != queued.id)
    );
}

async fn tokens_past_their_session_are_not_read_and_the_sweep_removes_them(s: &Store) {
    let ended = stored(s, &SAM, "ended", Utc::now() - Duration::seconds(1)).await;
    let current = stored(s, &ALEX, "current", in_hours(1)).await;
    assert!(reread(s, &ended).await.tokens.is_none(), "past the session's end they are not read");
    let touched = s.submissions_forget_expired_tokens("Time is up.").await.unwrap();
    assert_eq!(touched, [("t1".to_string(), "c1".to_string())]);
    let swept = reread(s, &ended).await;
    assert_eq!(swept.state, SubmissionState::NeedsSignIn);
    assert_eq!(swept.last_error.as_deref(), Some("Time is up."));
    let kept = reread(s, &current).await;
    assert_eq!(kept.tokens.map(|t| t.access_token).as_deref(), Some("access-of-oid-alex"));
    assert_eq!(kept.token_holder.map(|h| h.name).as_deref(), Some("Alex Admin"));
    assert!(s.submissions_forget_expired_tokens("Time is up.").await.unwrap().is_empty(), "nothing left to remove");
}

async fn an_attempt_under_way_can_not_bring_removed_tokens_back(s: &Store) {
    let sub = stored(s, &SAM, "leased", in_hours(12)).await;
    s.submission_claim("t1", &sub.id, WORKER, Duration::seconds(60)).await.unwrap().expect("claimed");
    s.submissions_forget_tokens_of("t1", "oid-sam", "Sam signed out.").await.unwrap();
    let leased = reread(s, &sub).await;
    assert_eq!(leased.state, SubmissionState::Queued, "left to the attempt that holds it");
    assert!(leased.tokens.is_none());
    let renewed = tokens_of(&SAM);
    assert!(s.submission_retry_later(&sub.id, WORKER, Utc::now(), "503", Some(&renewed)).await.unwrap());
    assert!(reread(s, &sub).await.tokens.is_none(), "renewed tokens do not come back");
    s.submission_claim("t1", &sub.id, WORKER, Duration::seconds(60)).await.unwrap().expect("claimed again");
    assert!(!s.submission_needs_sign_in(&sub.id, "worker-b", "no tokens").await.unwrap(), "only the holder");
    assert!(s.submission_needs_sign_in(&sub.id, WORKER, "no tokens").await.unwrap());
    assert_eq!(reread(s, &sub).await.state, SubmissionState::NeedsSignIn);
    assert!(s.submission_claim("t1", &sub.id, WORKER, Duration::seconds(60)).await.unwrap().is_none(), "not tried");
}

async fn send_now_gives_a_parked_submission_the_senders_tokens(s: &Store) {
    let sub = stored(s, &SAM, "parked", in_hours(12)).await;
    let alex = TokenHolder { oid: "oid-alex".into(), name: "Alex Admin".into(), kept_until: in_hours(3) };
    assert!(s.submission_send_with("t1", &sub.id, &tokens_of(&ALEX), &alex).await.unwrap().is_none(), "not parked");
    s.submissions_forget_tokens_of("t1", "oid-sam", "Sam signed out.").await.unwrap();
    assert!(s.submission_send_with("t2", &sub.id, &tokens_of(&ALEX), &alex).await.unwrap().is_none(), "t1's only");
    let sent = s.submission_send_with("t1", &sub.id, &tokens_of(&ALEX), &alex).await.unwrap().expect("sent");
    assert_eq!(sent.state, SubmissionState::Queued);
    assert_eq!(sent.last_error, None);
    assert_eq!(sent.tokens.map(|t| t.access_token).as_deref(), Some("access-of-oid-alex"));
    assert_eq!(sent.token_holder.map(|h| h.oid).as_deref(), Some("oid-alex"));
    assert_eq!(sent.created_by_name, "Sam Sales", "still Sam's submission");
    let due = s.submissions_claim_due(WORKER, Duration::seconds(60), 10).await.unwrap();
    assert_eq!(due.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), [sub.id.as_str()], "due at once");
    assert!(s.submission_send_with("t1", &sub.id, &tokens_of(&ALEX), &alex).await.unwrap().is_none(), "once");
}
