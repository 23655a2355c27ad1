//! Tokens do not outlive their session: signing out removes the delegated tokens kept with
//! the user's queued submissions; such a submission then waits as "Needs sign-in", and any
//! attester of the partner sends it with their own sign-in (docs/architecture.md, "Tokens
//! kept with a submission"). A new customer left waiting so has no page yet: the Customers
//! page lists it, with Send now (docs/architecture.md, "New customers not created yet").

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
    // The attempt settles the submission first, then audits it, then updates the customer.
    app.wait_until("the customer shows it", async || customer_status(&alex.customer_page(&id).await) == "attested")
        .await;
    let log = app.store.audit_recent(seed::CONTOSO_TENANT, 100).await.unwrap();
    let by_alex = |action: &str, outcome: &str| {
        log.iter().any(|e| {
            e.entry.action == action && e.entry.outcome == outcome && e.entry.actor_name.as_deref() == Some(ALEX_ADMIN)
        })
    };
    assert!(by_alex("send_now", "queued"), "the audit log says Alex sent it");
    assert!(by_alex("attest_attempt", "delivered"), "and delivered it with Alex's sign-in");
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

/// The domain prefix of the new customer Sam leaves waiting.
const NEW_PREFIX: &str = "tailwindsignout";

/// Contoso's new customers not created yet, newest first.
async fn not_created(app: &TestApp) -> Vec<Submission> {
    app.store.new_customers_not_created(seed::CONTOSO_TENANT, 20).await.unwrap().newest
}

/// Sam adds a new customer while Partner Center fails, so that it stays queued, then signs
/// out; returns the submission once it waits for a sign-in.
async fn new_customer_queued_when_sam_signs_out(app: &TestApp) -> Submission {
    let sam = app.signed_in(SAM_SALES).await;
    let _ = sam.get_html("/customers").await; // the list read once while Partner Center still answers
    let (status, review) = sam.review_new_customer(&CustomerFields::tailwind(NEW_PREFIX, "attest", &today_utc())).await;
    assert!(status == StatusCode::OK && review.contains("<h1>Review</h1>"), "{review}");
    app.sandbox.set_faults(Faults { error_percent: 100, ..Faults::default() });
    let (status, saved) = sam.submit_new_customer(&review).await;
    assert_eq!(status, StatusCode::OK);
    assert!(saved.contains("Saved — it will be sent to Partner Center automatically."), "{saved}");
    let r = sam.post_with_token_of("/customers", "/logout").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    app.wait_until("the new customer waits for a sign-in", async || {
        not_created(app).await.first().is_some_and(|s| s.state == SubmissionState::NeedsSignIn)
    })
    .await;
    let waiting = not_created(app).await.remove(0);
    assert!(waiting.tokens.is_none() && waiting.customer_id.is_none(), "no tokens, no customer yet");
    waiting
}

/// How many customers with this domain Partner Center lists for the partner of `who`.
async fn customers_in_partner_center(app: &TestApp, who: &str, domain: &str) -> usize {
    let token = user_tokens(&app.sandbox_url, who).await["access_token"].as_str().unwrap().to_string();
    let url = format!("{}/v1/customers?size=500", app.sandbox_url);
    let page: serde_json::Value =
        reqwest::Client::new().get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    let items = page["items"].as_array().expect("a page of customers");
    items.iter().filter(|c| c["companyProfile"]["domain"] == domain).count()
}

#[tokio::test]
async fn a_new_customer_left_waiting_by_a_sign_out_is_listed_and_an_attester_sends_it_now() {
    let app = spawn_app_with(Db::Sqlite, |s, _| {
        impatient(s);
        s.deliver_wait_seconds = 10;
    })
    .await
    .unwrap();
    let (alex, hana) = (app.signed_in(ALEX_ADMIN).await, app.signed_in(HANA_HELPDESK).await);
    let waiting = new_customer_queued_when_sam_signs_out(&app).await;
    let send_now = format!("/customers/new/submissions/{}/send", waiting.id);
    let (_, helpdesk_list) = hana.get_html("/customers").await;
    assert!(helpdesk_list.contains("New customers not created yet"), "{helpdesk_list}");
    assert_eq!(submission_states(&helpdesk_list), ["needs sign-in"], "listed to every agent, with its state");
    assert!(helpdesk_list.contains(&format!("({NEW_PREFIX}.onmicrosoft.com); saved")), "{helpdesk_list}");
    assert!(helpdesk_list.contains("by Sam Sales") && helpdesk_list.contains("An Admin or Sales agent"));
    assert!(!helpdesk_list.contains(&send_now), "but Send now is offered to attesters only");
    let r = hana.post_form(&send_now, &[("csrf_token", &csrf_of(&helpdesk_list))]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "the role is checked on the server");
    let (_, list) = alex.get_html("/customers").await;
    assert!(list.contains(&escaped("Tailwind Traders & Co")) && list.contains("Choose Send now"), "{list}");
    app.sandbox.set_faults(Faults::default());
    let (status, done) = alex.post_page_form(&list, &send_now).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert!(done.contains(&escaped("Tailwind Traders & Co was added")), "Add customer's confirmation: {done}");
    assert_eq!(code_shown(&done, "sign-in-name"), format!("admin@{NEW_PREFIX}.onmicrosoft.com"));
    assert!(code_shown(&done, "temporary-password").len() >= 8, "the admin's password, shown this once");
    let id = between(&done, "href=\"/customers/", "\"").expect("a link to the new customer").to_string();
    let alex_oid = seed::users().into_iter().find(|u| u.name == ALEX_ADMIN).unwrap().oid;
    let recorded = app.sandbox.attestations_of(&id);
    assert!(matches!(&recorded[..], [(e, _, Some(by))] if e == "tania@tailwind.example" && by == alex_oid));
    let domain = format!("{NEW_PREFIX}.onmicrosoft.com");
    assert_eq!(customers_in_partner_center(&app, ALEX_ADMIN, &domain).await, 1, "created exactly once");
    let (_, after) = alex.get_html(&format!("/customers?q={NEW_PREFIX}")).await;
    assert!(after.contains("of 1 customer.") && !after.contains("New customers not created yet"), "{after}");
    let log = app.store.audit_recent(seed::CONTOSO_TENANT, 100).await.unwrap();
    let sent = log.iter().find(|e| e.entry.action == "send_now").expect("Send now is in the audit log");
    assert_eq!((sent.entry.actor_name.as_deref(), sent.entry.outcome.as_str()), (Some(ALEX_ADMIN), "queued"));
    // A second press, from the page as it was: nothing is sent again.
    let r = alex.post_form(&send_now, &[("csrf_token", &csrf_of(&list))]).await;
    assert_eq!((r.status(), location(&r)), (StatusCode::SEE_OTHER, "/customers".to_string()));
    assert!(alex.get_html("/customers").await.1.contains("no longer waits for a sign-in"));
    assert_eq!(customers_in_partner_center(&app, ALEX_ADMIN, &domain).await, 1);
}

#[tokio::test]
async fn another_partners_attester_can_not_send_a_new_customer_waiting_for_a_sign_in() {
    // Fabrikam IT as a direct-bill partner: Fiona is an attester, of her own partner only.
    let app = spawn_app_with(Db::Sqlite, |s, sandbox| {
        impatient(s);
        s.partner_types.insert(seed::FABRIKAM_TENANT.to_string(), mca_portal::domain::PartnerType::DirectBill);
        sandbox.direct_bill_tenants = vec![seed::FABRIKAM_TENANT.to_string()];
    })
    .await
    .unwrap();
    let fiona = app.signed_in(FIONA_FABRIKAM).await;
    let waiting = new_customer_queued_when_sam_signs_out(&app).await;
    app.sandbox.set_faults(Faults::default());
    let (_, list) = fiona.get_html("/customers").await;
    assert!(list.contains("href=\"/customers/new\""), "Fiona may add customers of her own");
    assert!(!list.contains("New customers not created yet") && !list.contains(&waiting.id), "{list}");
    let send_now = format!("/customers/new/submissions/{}/send", waiting.id);
    let r = fiona.post_form(&send_now, &[("csrf_token", &csrf_of(&list))]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "not a submission of her partner");
    let still = not_created(&app).await.remove(0);
    assert_eq!((still.id, still.state), (waiting.id, SubmissionState::NeedsSignIn), "it still waits");
    assert!(still.tokens.is_none(), "without Fiona's tokens");
    let domain = format!("{NEW_PREFIX}.onmicrosoft.com");
    assert_eq!(customers_in_partner_center(&app, SAM_SALES, &domain).await, 0, "nothing was created");
}

/// Sam's Edit agreement is posted while the partner's customers are still being read for
/// the first time (slow Partner Center), and Sam signs out before it is stored.
async fn attest_while_signing_out(app: &TestApp, customer_id: &str) -> reqwest::Response {
    let sam = app.signed_in(SAM_SALES).await;
    let csrf = sam.token_of("/no/such/page").await;
    let key = uuid::Uuid::new_v4().to_string();
    let hidden = [("csrf_token".to_string(), csrf.clone()), ("idempotency_key".to_string(), key)];
    let today = today_utc();
    let posted = async { sam.post_agreement(customer_id, &hidden, &tania(EMAIL, &today)).await };
    let signing_out = async {
        app.wait_until("the first read of the customers is under way", async || {
            app.sandbox.requests().iter().any(|r| r.path_and_query.starts_with("/v1/customers"))
        })
        .await;
        let r = sam.post_form("/logout", &[("csrf_token", &csrf)]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "signed out while the form waits");
    };
    tokio::join!(posted, signing_out).0
}

#[tokio::test]
async fn a_submission_stored_by_a_request_under_way_at_sign_out_keeps_no_tokens() {
    let app = spawn_app_with(Db::Sqlite, |s, sandbox| {
        s.refresh.refresh_wait_seconds = 60;
        sandbox.faults = Faults { latency_ms: 300, ..Faults::default() };
    })
    .await
    .unwrap();
    let id = app.customer_id("Northwind Health");
    let r = attest_while_signing_out(&app, &id).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the form is still stored");
    let sub = the_submission(&app, &id).await;
    assert_eq!(sub.state, SubmissionState::NeedsSignIn, "it waits for a sign-in instead of using Sam's");
    assert!(sub.tokens.is_none() && sub.token_holder.is_none(), "no tokens are kept after Sam signed out");
    let stored: Option<String> = sqlx::query_scalar("SELECT access_token FROM submissions WHERE id = $1")
        .bind(&sub.id)
        .fetch_one(&app.database().await)
        .await
        .unwrap();
    assert!(stored.is_none(), "not even sealed");
    app.sandbox.set_faults(Faults::default());
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await; // a delivery worker round
    assert!(app.attestation_posts().is_empty(), "Partner Center never got it with Sam's sign-in");
}
