//! Tokens do not outlive their session: signing out removes the delegated tokens kept with
//! the user's queued submissions; such a submission then waits as "Needs sign-in", and any
//! attester of the partner sends it with their own sign-in (docs/architecture.md, "Tokens
//! kept with a submission").

use mca_portal::sandbox::{Faults, seed};
use mca_portal::store::{Submission, SubmissionState};
use reqwest::StatusCode;

use crate::helpers::*;

const EMAIL: &str = "tania@northwindhealth.example";

/// The one submission of the customer.
async fn the_submission(app: &TestApp, customer_id: &str) -> Submission {
    let mut all = app.store.submissions_for_customer(seed::CONTOSO_TENANT, customer_id, 10).await.unwrap();
    assert_eq!(all.len(), 1, "one submission");
    all.remove(0)
}

/// Sam records an attestation while Partner Center fails, so that it stays queued, then
/// signs out; returns the customer id and the submission.
async fn queued_when_sam_signs_out(app: &TestApp) -> (String, Submission) {
    let sam = app.signed_in(SAM_SALES).await;
    let id = app.customer_id("Northwind Health");
    let _ = sam.customer_page(&id).await; // read once while Partner Center still answers
    app.sandbox.set_faults(Faults { error_percent: 100, ..Faults::default() });
    let r = sam.edit_agreement(&id, &tania(EMAIL, &today_utc())).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let queued = the_submission(app, &id).await;
    assert_eq!(queued.state, SubmissionState::Queued, "Partner Center fails: it stays queued");
    assert!(queued.tokens.is_some(), "with Sam's tokens to send it");
    let r = sam.post_with_token_of(&format!("/customers/{id}"), "/logout").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    (id, queued)
}

#[tokio::test]
async fn signing_out_takes_the_tokens_and_another_attester_sends_it_now() {
    let app = spawn_app_with(Db::Sqlite, |s, _| impatient(s)).await.unwrap();
    let (alex, hana) = (app.signed_in(ALEX_ADMIN).await, app.signed_in(HANA_HELPDESK).await);
    let (id, queued) = queued_when_sam_signs_out(&app).await;
    assert!(the_submission(&app, &id).await.tokens.is_none(), "Sam's tokens went with Sam's sign-in");
    app.wait_until("it waits for a sign-in", async || {
        the_submission(&app, &id).await.state == SubmissionState::NeedsSignIn
    })
    .await;
    let send_now = format!("/customers/{id}/submissions/{}/send", queued.id);
    let helpdesk_page = hana.customer_page(&id).await;
    assert!(shows_submission(&helpdesk_page, "needs sign-in"), "the page says so to every agent");
    assert!(!helpdesk_page.contains(&send_now), "but offers Send now to attesters only");
    let r = hana.post_form(&send_now, &[("csrf_token", &csrf_of(&helpdesk_page))]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "the role is checked on the server");
    let page = alex.customer_page(&id).await;
    assert!(shows_submission(&page, "needs sign-in") && page.contains("Send now"), "{page}");
    assert_eq!(customer_status(&page), "pending");
    app.sandbox.set_faults(Faults::default());
    let (status, _) = alex.post_page_form(&page, &send_now).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    app.wait_until("Partner Center has it", async || app.attestations_by(&id, EMAIL) == 1).await;
    let alex_oid = seed::users().into_iter().find(|u| u.name == ALEX_ADMIN).unwrap().oid;
    let recorded = app.sandbox.attestations_of(&id);
    assert!(recorded.iter().any(|(e, _, by)| e == EMAIL && by.as_deref() == Some(alex_oid)), "{recorded:?}");
    app.wait_until("it is settled", async || the_submission(&app, &id).await.state == SubmissionState::Delivered).await;
    let log = app.store.audit_recent(seed::CONTOSO_TENANT, 100).await.unwrap();
    let by_alex = |action: &str, outcome: &str| {
        log.iter().any(|e| {
            e.entry.action == action && e.entry.outcome == outcome && e.entry.actor_name.as_deref() == Some(ALEX_ADMIN)
        })
    };
    assert!(by_alex("send_now", "queued"), "the audit log says Alex sent it");
    assert!(by_alex("attest_attempt", "delivered"), "and delivered it with Alex's sign-in");
    assert_eq!(customer_status(&alex.customer_page(&id).await), "attested");
}

#[tokio::test]
async fn an_enhanced_attestation_waits_for_the_customer_without_tokens_then_for_a_sign_in() {
    let app = spawn_app_with(Db::Sqlite, |s, _| s.attestation_mode = mca_portal::config::AttestationMode::Enhanced)
        .await
        .unwrap();
    let (sam, alex) = (app.signed_in(SAM_SALES).await, app.signed_in(ALEX_ADMIN).await);
    let id = app.customer_id("Northwind Health");
    let r = sam.edit_agreement(&id, &tania(EMAIL, &today_utc())).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let waiting = the_submission(&app, &id).await;
    let attestation_id = waiting.attestation_id.clone().expect("the acceptance link is made");
    let r = sam.post_with_token_of(&format!("/customers/{id}"), "/logout").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let after = the_submission(&app, &id).await;
    assert!(after.tokens.is_none(), "Sam's tokens went with Sam's sign-in");
    assert_eq!(after.state, SubmissionState::Queued, "it goes on waiting for the customer");
    assert!(app.sandbox.accept_enhanced(&attestation_id), "the customer accepts");
    // Refresh looks at once: accepted, but the agreement needs a delegated token.
    let refresh = format!("/customers/{id}/refresh");
    assert_eq!(alex.post_with_token_of(&format!("/customers/{id}"), &refresh).await.status(), StatusCode::SEE_OTHER);
    app.wait_until("it waits for a sign-in", async || {
        the_submission(&app, &id).await.state == SubmissionState::NeedsSignIn
    })
    .await;
    let page = alex.customer_page(&id).await;
    let (status, _) = alex.post_page_form(&page, &format!("/customers/{id}/submissions/{}/send", waiting.id)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    app.wait_until("Partner Center has it", async || app.attestations_by(&id, EMAIL) == 1).await;
}
