//! The Partner Center client against a scripted server answering with the literal JSON
//! examples of Microsoft's documentation (docs/partner-center.md), so that a mistake
//! shared by the client and the sandbox cannot hide; and its retry rules.

use std::collections::{HashMap, VecDeque};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use mca_portal::partner_center::{PartnerCenter, PcError, RetryPolicy, TemplateCache};
use uuid::Uuid;

use crate::helpers::wait_until;

#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path_and_query: String,
    headers: HashMap<String, String>,
}

#[derive(Clone)]
struct Scripted {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

fn answer(status: u16, body: &str) -> Scripted {
    Scripted { status, headers: vec![], body: body.to_string(), delay: Duration::ZERO }
}

/// Partner Center's 429, asking to come back in `seconds`.
fn throttled(seconds: u32) -> Scripted {
    Scripted {
        headers: vec![("Retry-After", seconds.to_string())],
        ..answer(
            429,
            &format!(r#"{{"statusCode": 429, "message": "Rate limit is exceeded. Try again in {seconds} seconds."}}"#),
        )
    }
}

#[derive(Default)]
struct Script {
    seen: Mutex<Vec<Seen>>,
    answers: Mutex<HashMap<String, VecDeque<Scripted>>>,
}

async fn handle(req: HttpRequest, script: web::Data<Script>) -> HttpResponse {
    let path = req.uri().path().to_string();
    script.seen.lock().unwrap().push(Seen {
        method: req.method().to_string(),
        path_and_query: req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default(),
        headers: req
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_lowercase(), v.to_str().unwrap_or_default().to_string()))
            .collect(),
    });
    let next = script.answers.lock().unwrap().get_mut(&path).and_then(|q| q.pop_front());
    let Some(a) = next else {
        return HttpResponse::NotFound().body("{\"code\": 404, \"description\": \"not scripted\"}");
    };
    if !a.delay.is_zero() {
        tokio::time::sleep(a.delay).await;
    }
    let mut r = HttpResponse::build(actix_web::http::StatusCode::from_u16(a.status).unwrap());
    for (k, v) in a.headers {
        r.insert_header((k, v));
    }
    r.content_type("application/json").body(a.body)
}

struct Fake {
    url: String,
    script: web::Data<Script>,
}

impl Fake {
    fn start() -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let script = web::Data::new(Script::default());
        let s = script.clone();
        let server = HttpServer::new(move || App::new().app_data(s.clone()).default_service(web::to(handle)))
            .workers(1)
            .disable_signals()
            .listen(listener)
            .unwrap()
            .run();
        tokio::spawn(server);
        Fake { url, script }
    }
    fn script(&self, path: &str, answers: Vec<Scripted>) {
        self.script.answers.lock().unwrap().insert(path.to_string(), answers.into());
    }
    fn seen(&self) -> Vec<Seen> {
        self.script.seen.lock().unwrap().clone()
    }
    fn client(&self, timeout: Duration) -> PartnerCenter {
        let retry = RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_retry_after: Duration::from_secs(5),
        };
        PartnerCenter::new(&self.url, timeout, retry).unwrap()
    }
}

const TEMPLATES: &str = r#"{"totalCount": 1, "items": [{"templateId": "117a77b0-9360-443b-8795-c6dedc750cf9",
  "agreementType": "MicrosoftCustomerAgreement", "agreementLink": "https://aka.ms/customeragreement",
  "versionRank": 0}], "attributes": {"objectType": "Collection"}}"#;

const ATTESTATIONS: &str = r#"{"totalCount": 1, "items": [{"primaryContact": {"firstName": "Tania", "lastName": "Carr", "email": "tania@example.com", "phoneNumber": "1234567890"},
 "templateId": "117a77b0-9360-443b-8795-c6dedc750cf9", "dateAgreed": "2026-11-20T00:00:00Z",
 "type": "MicrosoftCustomerAgreement", "userId": null}]}"#;

fn check_common_headers(s: &Seen) {
    assert_eq!(s.headers.get("authorization").map(String::as_str), Some("Bearer token-1"), "{}", s.path_and_query);
    assert_eq!(s.headers.get("accept").map(String::as_str), Some("application/json"));
    assert!(Uuid::parse_str(&s.headers["ms-requestid"]).is_ok());
    assert!(Uuid::parse_str(&s.headers["ms-correlationid"]).is_ok());
    assert_eq!(s.headers.get("ms-contract-version").map(String::as_str), Some("v1"));
}

#[tokio::test]
async fn reads_the_documented_examples_and_sends_the_documented_requests() {
    let fake = Fake::start();
    let pc = fake.client(Duration::from_secs(5));
    let corr = Uuid::new_v4();
    fake.script("/v1/agreements", vec![answer(200, TEMPLATES)]);
    let t = pc.mca_template("token-1", corr).await.unwrap();
    assert_eq!(t.template_id, "117a77b0-9360-443b-8795-c6dedc750cf9");
    fake.script("/v1/customers/c1/agreements", vec![answer(200, ATTESTATIONS)]);
    let a = pc.mca_attestations("token-1", "c1", corr).await.unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!((a[0].first_name.as_str(), a[0].email.as_str()), ("Tania", "tania@example.com"));
    assert_eq!(a[0].date_agreed.to_string(), "2026-11-20");
    fake.script(
        "/v1/customers/c1/directSignedMicrosoftCustomerAgreementStatus",
        vec![answer(200, r#"{"isSigned": true}"#)],
    );
    assert!(pc.direct_acceptance("token-1", "c1", corr).await.unwrap());
    fake.script(
        "/v1/agreementtemplates/117a77b0-9360-443b-8795-c6dedc750cf9/document",
        vec![answer(200, r#"{"displayUri": "https://docs.example/mca", "downloadUri": "https://docs.example/mca?dl", "language": "en-US", "country": "US"}"#)],
    );
    let link =
        pc.agreement_document("token-1", "117a77b0-9360-443b-8795-c6dedc750cf9", "en-US", "US", corr).await.unwrap();
    assert_eq!(link, "https://docs.example/mca");

    let seen = fake.seen();
    assert_eq!(seen.len(), 4);
    for s in &seen {
        check_common_headers(s);
        assert_eq!(s.method, "GET");
        assert_eq!(s.headers["ms-correlationid"], corr.to_string(), "one correlation id for one piece of work");
    }
    assert_eq!(seen[0].path_and_query, "/v1/agreements?agreementType=MicrosoftCustomerAgreement");
    assert_eq!(
        seen[1].path_and_query, "/v1/customers/c1/agreements?agreementType=MicrosoftCustomerAgreement",
        "agreementType is always sent"
    );
    assert_eq!(
        seen[3].path_and_query,
        "/v1/agreementtemplates/117a77b0-9360-443b-8795-c6dedc750cf9/document?language=en-US&country=US"
    );
    let ids: std::collections::HashSet<_> = seen.iter().map(|s| s.headers["ms-requestid"].clone()).collect();
    assert_eq!(ids.len(), 4, "a new request id per call");
}

#[tokio::test]
async fn follows_continuation_links() {
    let fake = Fake::start();
    let page1 = r#"{"totalCount": 1, "items": [{"id": "a", "companyProfile": {"tenantId": "a", "domain": "a.onmicrosoft.com", "companyName": "A"}}],
        "links": {"next": {"uri": "/customers?size=1&seekOperation=Next", "method": "GET", "headers": [{"key": "MS-ContinuationToken", "value": "tok-2"}]}},
        "continuationToken": "tok-2", "attributes": {"objectType": "Collection"}}"#;
    let page2 = r#"{"totalCount": 1, "items": [{"id": "b", "companyProfile": {"tenantId": "b", "domain": "b.onmicrosoft.com", "companyName": "B"}}], "attributes": {"objectType": "Collection"}}"#;
    fake.script("/v1/customers", vec![answer(200, page1), answer(200, page2)]);
    let customers = fake.client(Duration::from_secs(5)).list_customers("token-1", 1, Uuid::new_v4()).await.unwrap();
    assert_eq!(customers.iter().map(|c| c.company_name.as_str()).collect::<Vec<_>>(), ["A", "B"]);
    let seen = fake.seen();
    assert_eq!(seen[0].path_and_query, "/v1/customers?size=1");
    assert_eq!(seen[1].path_and_query, "/v1/customers?size=1&seekOperation=Next");
    assert_eq!(seen[1].headers.get("ms-continuationtoken").map(String::as_str), Some("tok-2"));
}

#[tokio::test]
async fn waits_for_retry_after_on_429_then_succeeds_with_a_new_request_id() {
    let fake = Fake::start();
    fake.script(
        "/v1/customers/c1/directSignedMicrosoftCustomerAgreementStatus",
        vec![throttled(1), answer(200, r#"{"isSigned": false}"#)],
    );
    let started = std::time::Instant::now();
    let signed = fake.client(Duration::from_secs(5)).direct_acceptance("token-1", "c1", Uuid::new_v4()).await.unwrap();
    assert!(!signed);
    assert!(started.elapsed() >= Duration::from_millis(950), "Retry-After was honoured");
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    assert_ne!(seen[0].headers["ms-requestid"], seen[1].headers["ms-requestid"], "a new request id after an answer");
}

#[tokio::test]
async fn retries_server_errors_and_gives_up_after_the_bound() {
    let fake = Fake::start();
    fake.script(
        "/v1/customers/c1",
        vec![
            answer(503, "{}"),
            answer(500, "{}"),
            answer(200, r#"{"id": "c1", "companyProfile": {"companyName": "C"}}"#),
        ],
    );
    let c = fake.client(Duration::from_secs(5)).customer("token-1", "c1", Uuid::new_v4()).await.unwrap();
    assert_eq!(c.company_name, "C");
    assert_eq!(fake.seen().len(), 3);

    fake.script("/v1/customers/c2", (0..10).map(|_| answer(500, "{}")).collect());
    let e = fake.client(Duration::from_secs(5)).customer("token-1", "c2", Uuid::new_v4()).await.unwrap_err();
    assert!(matches!(e, PcError::Unavailable { attempts: 4, .. }), "{e:?}");
    assert_eq!(fake.seen().iter().filter(|s| s.path_and_query == "/v1/customers/c2").count(), 4, "1 try + 3 retries");
    assert!(e.user_message().contains("try again"));
}

#[tokio::test]
async fn a_timeout_is_retried_with_the_same_request_id() {
    let fake = Fake::start();
    let slow = Scripted {
        status: 200,
        headers: vec![],
        body: r#"{"isSigned": true}"#.into(),
        delay: Duration::from_millis(1500),
    };
    fake.script(
        "/v1/customers/c1/directSignedMicrosoftCustomerAgreementStatus",
        vec![slow, answer(200, r#"{"isSigned": true}"#)],
    );
    let ok = fake.client(Duration::from_millis(400)).direct_acceptance("token-1", "c1", Uuid::new_v4()).await.unwrap();
    assert!(ok);
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[0].headers["ms-requestid"], seen[1].headers["ms-requestid"],
        "the same MS-RequestId after a timeout"
    );
}

#[tokio::test]
async fn errors_keep_partner_centers_code_in_both_shapes() {
    let fake = Fake::start();
    fake.script(
        "/v1/customers/c1/agreements",
        vec![answer(400, r#"{"code": 600061, "message": "A partner confirmed agreement already exists", "description": "A partner confirmed agreement already exists", "errorName": "PartnerConfirmedAgreementAlreadyExists", "isRetryable": false, "parameters": {}, "errorMessageExtended": "InternalErrorCode=600061"}"#)],
    );
    let e = fake.client(Duration::from_secs(5)).mca_attestations("token-1", "c1", Uuid::new_v4()).await.unwrap_err();
    assert_eq!(e.code(), Some("600061"));
    assert!(e.request_id().is_some());
    fake.script("/v1/customers/c2/agreements", vec![answer(403, r#"{"code": 600006, "description": "The requested action is not allowed", "data": [], "source": "PartnerFD"}"#)]);
    let e = fake.client(Duration::from_secs(5)).mca_attestations("token-1", "c2", Uuid::new_v4()).await.unwrap_err();
    assert_eq!(e.code(), Some("600006"));
    assert!(e.user_message().contains("not allowed"));
    fake.script("/v1/customers/c3/agreements", vec![answer(401, "")]);
    let e = fake.client(Duration::from_secs(5)).mca_attestations("token-1", "c3", Uuid::new_v4()).await.unwrap_err();
    assert!(matches!(e, PcError::Unauthorized { .. }));
}

#[tokio::test]
async fn a_retry_after_longer_than_we_wait_is_reported_not_slept() {
    let fake = Fake::start();
    fake.script("/v1/customers/c1", vec![throttled(57)]);
    let started = std::time::Instant::now();
    let e = fake.client(Duration::from_secs(5)).customer("token-1", "c1", Uuid::new_v4()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(matches!(e, PcError::Throttled { retry_after: Some(57), .. }), "{e:?}");
    assert!(e.user_message().contains("Try again in 57 seconds"), "{}", e.user_message());
}

#[tokio::test]
async fn a_slow_template_read_for_one_partner_holds_up_no_other_partner() {
    let fake = Fake::start();
    let slow = Scripted { delay: Duration::from_secs(10), ..answer(200, TEMPLATES) };
    fake.script("/v1/agreements", vec![slow, answer(200, TEMPLATES)]);
    let pc = fake.client(Duration::from_secs(20));
    let cache = Arc::new(TemplateCache::default());
    let first = tokio::spawn({
        let (cache, pc) = (cache.clone(), pc.clone());
        async move { cache.get(&pc, "token-of-one-partner", Uuid::new_v4()).await }
    });
    wait_until("the first partner's read reaches Partner Center", async || !fake.seen().is_empty()).await;
    let other = tokio::time::timeout(Duration::from_secs(3), cache.get(&pc, "token-of-another", Uuid::new_v4())).await;
    let template = other.expect("another partner does not wait for the slow read").expect("the template");
    assert_eq!(template, "117a77b0-9360-443b-8795-c6dedc750cf9");
    assert!(!first.is_finished(), "the first read is still slow");
    first.abort();
    assert_eq!(cache.get(&pc, "token-of-another", Uuid::new_v4()).await.unwrap(), template);
    assert_eq!(fake.seen().len(), 2, "the third call takes the template kept from the second");
}

/// The relationship request's documented answer, with a partner id of our own.
const RELATIONSHIP_REQUEST: &str = r#"{"url": "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship&partnerId=1b2c3d4e-0000-4000-8000-00000000abcd&msppId=0&DAP=true#/BillingAccounts/partner-invitation",
 "attributes": {"objectType": "RelationshipRequest"}}"#;

#[tokio::test]
async fn asks_for_a_relationship_link_with_the_picked_id_and_passes_on_only_a_safe_link() {
    use mca_portal::partner_center::RelationshipFor;
    let fake = Fake::start();
    let pc = fake.client(Duration::from_secs(5));
    let path = "/v1/customers/relationshiprequests";
    fake.script(path, vec![answer(200, RELATIONSHIP_REQUEST); 3]);
    let corr = Uuid::new_v4();
    let kinds = [
        RelationshipFor::Own,
        RelationshipFor::ForIndirectReseller("reseller id&x=1".into()),
        RelationshipFor::WithIndirectProvider("provider-1".into()),
    ];
    for r in &kinds {
        let link = pc.relationship_request("token-1", r, corr).await.unwrap();
        assert_eq!(link, RELATIONSHIP_REQUEST.split('"').nth(3).unwrap(), "the link exactly as answered");
    }
    let seen = fake.seen();
    seen.iter().for_each(check_common_headers);
    assert_eq!(
        seen.iter().map(|s| s.path_and_query.as_str()).collect::<Vec<_>>(),
        [
            path.to_string(),
            format!("{path}?indirectResellerId=reseller+id%26x%3D1"),
            format!("{path}?indirectCloudSolutionProviderId=provider-1"),
        ]
    );
    for body in [
        r#"{"attributes": {"objectType": "RelationshipRequest"}}"#,
        r#"{"url": "  "}"#,
        r#"{"url": "http://admin.example.com/invite"}"#,
        r#"{"url": "javascript:alert(1)"}"#,
    ] {
        fake.script(path, vec![answer(200, body)]);
        let e = pc.relationship_request("token-1", &RelationshipFor::Own, corr).await.unwrap_err();
        assert!(matches!(e, PcError::Decode { .. }), "{body}: {e}");
        assert!(e.user_message().contains("could not read"), "the agent is told the answer was unusable");
    }
    let relationships = r#"{"totalCount": 1, "items": [{"id": "a2b3c4d5-0000-4000-8000-000000000001", "name": "Provider One",
      "relationshipType": "IsIndirectResellerOf", "mpnId": "1234567", "attributes": {"objectType": "PartnerRelationship"}}],
      "attributes": {"objectType": "Collection"}}"#;
    fake.script("/v1/relationships", vec![answer(200, relationships)]);
    let providers = pc.indirect_providers("token-1", corr).await.unwrap();
    assert_eq!((providers[0].name.as_str(), providers[0].mpn_id.as_deref()), ("Provider One", Some("1234567")));
    assert_eq!(fake.seen().last().unwrap().path_and_query, "/v1/relationships?relationship_type=IsIndirectResellerOf");
}
