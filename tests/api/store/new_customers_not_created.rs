//! New customers not created yet: a partner's Add customer submissions for which Partner
//! Center has no customer, newest first, at most as many as asked for, with how many
//! there are in all.

use chrono::{Duration, Utc};
use mca_portal::domain::new_customer::{AgreementChoice, NewCustomer, NewCustomerText};
use mca_portal::domain::{AcceptanceDate, AttestationRequest, Contact, Request, UserTokens};
use mca_portal::store::{Created, NewSubmission, Settled, Store, Submission, SubmissionState};

on_both_databases!(
    only_the_tenants_new_customers_not_created_are_listed_newest_first,
    at_most_the_limit_is_listed_with_the_count_of_all,
);

const WORKER: &str = "worker-a";

/// A new customer of this company name, attested.
fn new_customer(company: &str) -> Request {
    let text = NewCustomerText {
        company_name: company,
        domain_prefix: &company.to_lowercase().replace(' ', ""),
        country: "US",
        address_line1: "1 Main Street",
        address_line2: "",
        city: "Redmond",
        state: "WA",
        postal_code: "98052",
        culture: "en-US",
        registration_number: "",
    };
    let contact = Contact::parse("Tania", "Carr", "tania@example.com", "").unwrap();
    let today = Utc::now().date_naive();
    let agreement = AgreementChoice::parse("attest", "2025-03-03", today).unwrap();
    Request::CreateCustomer(Box::new(NewCustomer::assemble(&text, contact, agreement, None).unwrap()))
}

/// Stores what Sam submitted in `tenant` (for customer `customer_id`, or a new one).
async fn stored(s: &Store, tenant: &str, customer_id: Option<&str>, request: &Request) -> Submission {
    let key = uuid::Uuid::new_v4().to_string();
    let tokens =
        UserTokens { access_token: "access".into(), refresh_token: None, expires_at: Utc::now().timestamp() + 3600 };
    let created = s
        .submission_create(&NewSubmission {
            tenant_id: tenant,
            idempotency_key: &key,
            customer_id,
            request,
            created_by_oid: "oid-sam",
            created_by_name: "Sam Sales",
            tokens: &tokens,
            tokens_kept_until: Utc::now() + Duration::hours(12),
        })
        .await
        .unwrap();
    // Apart in time, so that newest first is one order.
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    match created {
        Created::New(sub) => sub,
        Created::Existing(_) => panic!("a new key"),
    }
}

fn ids(subs: &[Submission]) -> Vec<&str> {
    subs.iter().map(|s| s.id.as_str()).collect()
}

async fn only_the_tenants_new_customers_not_created_are_listed_newest_first(s: &Store) {
    let lease = Duration::seconds(60);
    let refused = stored(s, "t1", None, &new_customer("Refused Co")).await;
    s.submission_claim("t1", &refused.id, WORKER, lease).await.unwrap().expect("claimed");
    let how = Settled::Failed { reason: "The domain was taken meanwhile.", code: Some("409") };
    assert!(s.submission_settle(&refused.id, WORKER, how).await.unwrap());
    let created = stored(s, "t1", None, &new_customer("Created Co")).await;
    s.submission_claim("t1", &created.id, WORKER, lease).await.unwrap().expect("claimed");
    assert!(s.submission_set_customer(&created.id, WORKER, "c-created").await.unwrap());
    let waiting = stored(s, "t1", None, &new_customer("Waiting Co")).await;
    s.submissions_forget_tokens_of("t1", "oid-sam", "Sam signed out.").await.unwrap();
    let queued = stored(s, "t1", None, &new_customer("Queued Co")).await;
    let attest = Request::Attest(AttestationRequest {
        contact: Contact::parse("Tania", "Carr", "tania@example.com", "").unwrap(),
        date: AcceptanceDate::parse("2025-03-03", Utc::now().date_naive()).unwrap(),
    });
    stored(s, "t1", Some("c1"), &attest).await;
    stored(s, "t2", None, &new_customer("Elsewhere Co")).await;

    let found = s.new_customers_not_created("t1", 20).await.unwrap();
    assert_eq!(ids(&found.newest), [&queued.id, &waiting.id, &refused.id], "newest first; no created one");
    assert_eq!(found.total, 3);
    let states: Vec<_> = found.newest.iter().map(|n| n.state).collect();
    assert_eq!(states, [SubmissionState::Queued, SubmissionState::NeedsSignIn, SubmissionState::Failed]);
    assert_eq!(found.newest[2].last_error.as_deref(), Some("The domain was taken meanwhile."), "with the reason");
    assert_eq!(ids(&s.new_customers_not_created("t2", 20).await.unwrap().newest).len(), 1, "t2's own");
    assert_eq!(s.new_customers_not_created("t3", 20).await.unwrap().total, 0);
}

async fn at_most_the_limit_is_listed_with_the_count_of_all(s: &Store) {
    let mut all = Vec::new();
    for i in 0..5 {
        all.push(stored(s, "t1", None, &new_customer(&format!("Company {i}"))).await);
    }
    let found = s.new_customers_not_created("t1", 2).await.unwrap();
    assert_eq!(ids(&found.newest), [&all[4].id, &all[3].id]);
    assert_eq!(found.total, 5, "all of them counted");
    let found = s.new_customers_not_created("t1", 5).await.unwrap();
    assert_eq!((found.newest.len(), found.total), (5, 5));
}
