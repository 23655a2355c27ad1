//! The Partner Center client: the same code talks to the built-in sandbox and to
//! Microsoft. It takes and returns domain types; wire details stay in `models`.
//!
//! Every call carries `MS-RequestId` and `MS-CorrelationId`. A timed-out call is retried
//! with the same request id (that is what makes create-customer idempotent); after any
//! answer the next try gets a new one. 429 waits for `Retry-After`; 5xx and timeouts back
//! off exponentially with full jitter, a bounded number of times.

pub mod agreement_records;
pub mod create;
pub mod enhanced;
pub mod error;
mod links;
pub mod models;
pub mod relationship_requests;

use std::time::Duration;

use rand::Rng;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use uuid::Uuid;

pub use agreement_records::{AgreementRecord, AgreementRecordsPage};
pub use create::{AddressCheck, CreatedCustomer, SuggestedAddress};
pub use enhanced::{EnhancedAttestation, EnhancedRequest, EnhancedStatus};
pub use error::PcError;
use models::*;
pub use relationship_requests::RelationshipFor;

use crate::domain::backoff::Backoff;
use crate::domain::{AcceptanceDate, Attestation, Contact, Customer, PartnerType};

/// How hard the client tries before it gives up.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited for: the caller is told instead.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(400),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

/// Where a page of the customer list is read: the path and the headers the previous
/// page's `next` link named. Kept as text by a refresh, so that it resumes at that page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CustomersCursor {
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl CustomersCursor {
    /// The first page, of `page_size` customers.
    pub fn first(page_size: u32) -> Self {
        CustomersCursor { path: format!("/v1/customers?size={page_size}"), headers: Vec::new() }
    }
}

/// The MCA template as the metadata call gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementTemplate {
    pub template_id: String,
    pub agreement_link: Option<String>,
}

/// A partner that the caller has an indirect relationship with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelatedPartner {
    pub id: String,
    pub name: String,
    pub mpn_id: Option<String>,
}

/// The MCA template id, read from agreement metadata and kept a short time: never
/// hard-coded (docs/partner-center.md, "MCA template metadata"). The lock guards only the
/// kept value and is never held while Partner Center is asked: a slow or throttled read
/// made with one partner's token holds up no other partner (two callers that find it
/// stale at the same moment both read it).
#[derive(Default)]
pub struct TemplateCache {
    cached: std::sync::Mutex<Option<(std::time::Instant, String)>>,
}

impl TemplateCache {
    const TTL: Duration = Duration::from_secs(600);

    fn kept(&self) -> std::sync::MutexGuard<'_, Option<(std::time::Instant, String)>> {
        self.cached.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub async fn get(&self, pc: &PartnerCenter, token: &str, correlation: Uuid) -> Result<String, PcError> {
        let fresh = self.kept().as_ref().filter(|(at, _)| at.elapsed() < Self::TTL).map(|(_, id)| id.clone());
        if let Some(id) = fresh {
            return Ok(id);
        }
        let t = pc.mca_template(token, correlation).await?;
        *self.kept() = Some((std::time::Instant::now(), t.template_id.clone()));
        Ok(t.template_id)
    }
}

/// The answer body and the ids that went with the request, for the audit log.
#[derive(Debug, Clone)]
pub struct Answer<T> {
    pub body: T,
    pub request_id: Uuid,
    pub correlation_id: Uuid,
}

/// One logical call: what to send. `request_id` is the `MS-RequestId` of the first try
/// (a new one when None); the client keeps it across timeouts.
struct Call<'a> {
    method: Method,
    path: &'a str,
    headers: &'a [(String, String)],
    body: Option<&'a serde_json::Value>,
    what: &'static str,
    request_id: Option<Uuid>,
    /// Keep the same `MS-RequestId` after answers too (create customer: one id for every
    /// retry, so that Partner Center creates one tenant).
    keep_request_id: bool,
    /// The answer has no body (HEAD).
    no_body: bool,
}

impl<'a> Call<'a> {
    fn get(path: &'a str, what: &'static str) -> Self {
        Call {
            method: Method::GET,
            path,
            headers: &[],
            body: None,
            what,
            request_id: None,
            keep_request_id: false,
            no_body: false,
        }
    }
}

#[derive(Clone, Debug)]
pub struct PartnerCenter {
    http: reqwest::Client,
    base: String,
    retry: RetryPolicy,
}

impl PartnerCenter {
    /// `base` is the API root without the version segment, e.g.
    /// `https://api.partnercenter.microsoft.com`.
    pub fn new(base: &str, timeout: Duration, retry: RetryPolicy) -> Result<Self, PcError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("mca-portal/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PcError::Transport(e.to_string()))?;
        Ok(PartnerCenter { http, base: base.trim_end_matches('/').to_string(), retry })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn backoff(&self, retry: u32) -> Duration {
        let b = Backoff { base: self.retry.base_delay, max: self.retry.max_delay };
        b.delay(retry, rand::thread_rng().r#gen::<f64>())
    }

    /// Sends one logical call with retries. `path` starts with `/v1/`.
    async fn call<T: DeserializeOwned>(
        &self,
        token: &str,
        req: Call<'_>,
        correlation_id: Uuid,
    ) -> Result<Answer<T>, PcError> {
        let mut request_id = req.request_id.unwrap_or_else(Uuid::new_v4);
        let tries = self.retry.max_retries + 1;
        for attempt in 0..tries {
            let sent = self.send(token, &req, request_id, correlation_id).await;
            match self.judge(sent, &req, attempt, tries, (request_id, correlation_id)).await {
                Step::Done(result) => return result.and_then(|bytes| decode(&bytes, &req, request_id, correlation_id)),
                Step::Again { wait, answered } => {
                    tokio::time::sleep(wait).await;
                    // Same request id after no answer: the call may have been carried out.
                    if answered && !req.keep_request_id {
                        request_id = Uuid::new_v4();
                    }
                }
            }
        }
        unreachable!("the last try always ends the loop")
    }

    /// One try on the wire, with the headers every call carries.
    async fn send(
        &self,
        token: &str,
        req: &Call<'_>,
        request_id: Uuid,
        correlation_id: Uuid,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let mut r = self
            .http
            .request(req.method.clone(), format!("{}{}", self.base, req.path))
            .bearer_auth(token)
            .header("Accept", "application/json")
            .header("MS-RequestId", request_id.to_string())
            .header("MS-CorrelationId", correlation_id.to_string())
            .header("MS-Contract-Version", "v1")
            .header("X-Locale", "en-US");
        for (k, v) in req.headers {
            r = r.header(k.as_str(), v.as_str());
        }
        if let Some(b) = req.body {
            r = r.json(b);
        }
        r.send().await
    }

    /// What one try's result means: an answer to return, or a wait before the next try.
    async fn judge(
        &self,
        sent: Result<reqwest::Response, reqwest::Error>,
        req: &Call<'_>,
        attempt: u32,
        tries: u32,
        (request_id, correlation_id): (Uuid, Uuid),
    ) -> Step {
        let last = attempt + 1 == tries;
        let what = req.what;
        let resp = match sent {
            Ok(resp) => resp,
            Err(e) if e.is_timeout() || e.is_connect() => {
                tracing::warn!(%request_id, %correlation_id, attempt, what, error = %e, "Partner Center call timed out or failed to connect");
                if !last {
                    return Step::Again { wait: self.backoff(attempt), answered: false };
                }
                return Step::Done(Err(if e.is_timeout() {
                    PcError::Unavailable { attempts: tries, last: format!("timeout: {e}"), request_id, correlation_id }
                } else {
                    PcError::Transport(e.to_string())
                }));
            }
            Err(e) => return Step::Done(Err(PcError::Transport(e.to_string()))),
        };
        let status = resp.status();
        tracing::debug!(%request_id, %correlation_id, what, status = status.as_u16(), "Partner Center answered");
        if status.is_success() {
            return Step::Done(resp.bytes().await.map_err(|e| PcError::Transport(e.to_string())));
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            return self.throttled(&resp, attempt, last, what, (request_id, correlation_id));
        }
        if status.is_server_error() {
            let text = resp.text().await.unwrap_or_default();
            tracing::warn!(%request_id, what, status = status.as_u16(), "Partner Center answered with a server error");
            if !last {
                return Step::Again { wait: self.backoff(attempt), answered: true };
            }
            let last = format!("HTTP {status}: {}", text.chars().take(300).collect::<String>());
            return Step::Done(Err(PcError::Unavailable { attempts: tries, last, request_id, correlation_id }));
        }
        if status == StatusCode::UNAUTHORIZED {
            return Step::Done(Err(PcError::Unauthorized { request_id, correlation_id }));
        }
        let bytes = resp.bytes().await.unwrap_or_default();
        Step::Done(Err(api_error(status, &bytes, request_id, correlation_id)))
    }

    /// 429: wait for `Retry-After` (or back off), unless it is longer than we wait.
    fn throttled(
        &self,
        resp: &reqwest::Response,
        attempt: u32,
        last: bool,
        what: &'static str,
        (request_id, correlation_id): (Uuid, Uuid),
    ) -> Step {
        let retry_after =
            resp.headers().get("Retry-After").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
        let wait = retry_after.map(Duration::from_secs).unwrap_or_else(|| self.backoff(attempt));
        if last || wait > self.retry.max_retry_after {
            let attempts = attempt + 1;
            return Step::Done(Err(PcError::Throttled { attempts, retry_after, request_id, correlation_id }));
        }
        tracing::warn!(%request_id, what, wait_s = wait.as_secs_f32(), "Partner Center throttled the call");
        Step::Again { wait, answered: true }
    }

    async fn get<T: DeserializeOwned>(
        &self,
        token: &str,
        path: &str,
        what: &'static str,
        correlation_id: Uuid,
    ) -> Result<T, PcError> {
        Ok(self.call(token, Call::get(path, what), correlation_id).await?.body)
    }

    /// Every customer of the caller's partner tenant, following continuation links.
    #[tracing::instrument(skip_all, fields(%correlation_id), err(level = "warn"))]
    pub async fn list_customers(
        &self,
        token: &str,
        page_size: u32,
        correlation_id: Uuid,
    ) -> Result<Vec<Customer>, PcError> {
        let mut out = Vec::new();
        let mut cursor = CustomersCursor::first(page_size);
        // A bound on pages so that a service that keeps sending the same link cannot loop us.
        for _ in 0..10_000 {
            let (customers, next) = self.list_customers_page(token, &cursor, correlation_id).await?;
            out.extend(customers);
            match next {
                Some(next) => cursor = next,
                None => break,
            }
        }
        Ok(out)
    }

    /// One page of the customer list at `cursor`, and where the next page is (None after
    /// the last).
    #[tracing::instrument(skip_all, fields(%correlation_id), err(level = "warn"))]
    pub async fn list_customers_page(
        &self,
        token: &str,
        cursor: &CustomersCursor,
        correlation_id: Uuid,
    ) -> Result<(Vec<Customer>, Option<CustomersCursor>), PcError> {
        let call = Call { headers: &cursor.headers, ..Call::get(&cursor.path, "list customers") };
        let page: Collection<CustomerWire> = self.call(token, call, correlation_id).await?.body;
        let customers = page.items.into_iter().map(CustomerWire::into_domain).collect();
        let Some(next) = page.links.and_then(|l| l.next) else {
            return Ok((customers, None));
        };
        let path = if next.uri.starts_with("/v1/") { next.uri } else { format!("/v1{}", next.uri) };
        let mut headers: Vec<(String, String)> = next.headers.into_iter().map(|h| (h.key, h.value)).collect();
        if headers.is_empty()
            && let Some(token) = &page.continuation_token
        {
            headers.push(("MS-ContinuationToken".into(), token.clone()));
        }
        Ok((customers, Some(CustomersCursor { path, headers })))
    }

    #[tracing::instrument(skip_all, fields(%customer_id, %correlation_id), err(level = "warn"))]
    pub async fn customer(&self, token: &str, customer_id: &str, correlation_id: Uuid) -> Result<Customer, PcError> {
        let w: CustomerWire =
            self.get(token, &format!("/v1/customers/{}", enc(customer_id)), "get customer", correlation_id).await?;
        Ok(w.into_domain())
    }

    /// The customer's MCA attestations. `agreementType` is always sent: without it the
    /// service answers with the Microsoft Cloud Agreement.
    #[tracing::instrument(skip_all, fields(%customer_id, %correlation_id), err(level = "warn"))]
    pub async fn mca_attestations(
        &self,
        token: &str,
        customer_id: &str,
        correlation_id: Uuid,
    ) -> Result<Vec<Attestation>, PcError> {
        let c: Collection<AgreementWire> = self
            .get(
                token,
                &format!("/v1/customers/{}/agreements?agreementType={MCA_AGREEMENT_TYPE}", enc(customer_id)),
                "list agreements",
                correlation_id,
            )
            .await?;
        Ok(c.items.into_iter().filter_map(AgreementWire::into_domain).collect())
    }

    /// "Customer acceptance through Microsoft": true means Provided.
    #[tracing::instrument(skip_all, fields(%customer_id, %correlation_id), err(level = "warn"))]
    pub async fn direct_acceptance(
        &self,
        token: &str,
        customer_id: &str,
        correlation_id: Uuid,
    ) -> Result<bool, PcError> {
        let d: DirectSignedWire = self
            .get(
                token,
                &format!("/v1/customers/{}/directSignedMicrosoftCustomerAgreementStatus", enc(customer_id)),
                "direct acceptance",
                correlation_id,
            )
            .await?;
        Ok(d.is_signed)
    }

    /// The current MCA template: the one of lowest `versionRank` (0 in every example seen;
    /// the documentation does not say which way the rank runs).
    #[tracing::instrument(skip_all, fields(%correlation_id), err(level = "warn"))]
    pub async fn mca_template(&self, token: &str, correlation_id: Uuid) -> Result<AgreementTemplate, PcError> {
        let c: Collection<TemplateWire> = self
            .get(
                token,
                &format!("/v1/agreements?agreementType={MCA_AGREEMENT_TYPE}"),
                "agreement metadata",
                correlation_id,
            )
            .await?;
        let t = c
            .items
            .into_iter()
            .filter(|t| t.agreement_type.as_deref().is_none_or(|a| a == MCA_AGREEMENT_TYPE))
            .min_by_key(|t| t.version_rank.unwrap_or(0))
            .ok_or(PcError::Decode {
                what: "agreement metadata",
                detail: "no Microsoft Customer Agreement template listed".into(),
            })?;
        Ok(AgreementTemplate { template_id: t.template_id, agreement_link: t.agreement_link })
    }

    /// A link to the agreement document, valid a few minutes: never store or email it.
    #[tracing::instrument(skip_all, fields(%template_id, %language, %country, %correlation_id), err(level = "warn"))]
    pub async fn agreement_document(
        &self,
        token: &str,
        template_id: &str,
        language: &str,
        country: &str,
        correlation_id: Uuid,
    ) -> Result<String, PcError> {
        let d: DocumentWire = self
            .get(
                token,
                &format!(
                    "/v1/agreementtemplates/{}/document?language={}&country={}",
                    enc(template_id),
                    enc(language),
                    enc(country)
                ),
                "agreement document",
                correlation_id,
            )
            .await?;
        self.upstream_link("agreement document", &d.display_uri)
    }

    #[tracing::instrument(skip_all, fields(%kind, %correlation_id), err(level = "warn"))]
    async fn relationships(
        &self,
        token: &str,
        kind: &str,
        correlation_id: Uuid,
    ) -> Result<Vec<RelatedPartner>, PcError> {
        let c: Collection<RelationshipWire> = self
            .get(token, &format!("/v1/relationships?relationship_type={kind}"), "partner relationships", correlation_id)
            .await?;
        Ok(c.items
            .into_iter()
            .filter_map(|r| Some(RelatedPartner { id: r.id?, name: r.name.unwrap_or_default(), mpn_id: r.mpn_id }))
            .collect())
    }

    /// A non-empty `IsIndirectResellerOf` answer means the caller is an indirect reseller
    /// (its items are the reseller's indirect providers, returned by name); a non-empty
    /// `IsIndirectCloudSolutionProviderOf` one, an indirect provider.
    #[tracing::instrument(skip_all, fields(%correlation_id), err(level = "warn"))]
    pub async fn partner_type(&self, token: &str, correlation_id: Uuid) -> Result<(PartnerType, Vec<String>), PcError> {
        let providers = self.relationships(token, "IsIndirectResellerOf", correlation_id).await?;
        if !providers.is_empty() {
            let names = providers.into_iter().map(|p| p.name.trim().to_string()).filter(|n| !n.is_empty()).collect();
            return Ok((PartnerType::IndirectReseller, names));
        }
        if !self.relationships(token, "IsIndirectCloudSolutionProviderOf", correlation_id).await?.is_empty() {
            return Ok((PartnerType::IndirectProvider, Vec::new()));
        }
        Ok((PartnerType::DirectBill, Vec::new()))
    }

    /// The indirect resellers of an indirect provider.
    #[tracing::instrument(skip_all, fields(%correlation_id), err(level = "warn"))]
    pub async fn indirect_resellers(&self, token: &str, correlation_id: Uuid) -> Result<Vec<RelatedPartner>, PcError> {
        self.relationships(token, "IsIndirectCloudSolutionProviderOf", correlation_id).await
    }

    /// The partner organization's display name.
    #[tracing::instrument(skip_all, fields(%correlation_id), err(level = "warn"))]
    pub async fn organization_name(&self, token: &str, correlation_id: Uuid) -> Result<Option<String>, PcError> {
        let p: OrganizationProfileWire =
            self.get(token, "/v1/profiles/organization", "organization profile", correlation_id).await?;
        Ok(p.company_name.filter(|n| !n.trim().is_empty()))
    }
}

impl PartnerCenter {
    /// Attests that the customer accepted the MCA (the documented confirm call), with the
    /// signed-in user's delegated token. `userId` is not sent: the service fills it in.
    #[tracing::instrument(skip_all, fields(%customer_id, %request_id, %correlation_id), err(level = "warn"))]
    #[allow(clippy::too_many_arguments)]
    pub async fn attest(
        &self,
        token: &str,
        customer_id: &str,
        contact: &Contact,
        date: AcceptanceDate,
        template_id: &str,
        request_id: Uuid,
        correlation_id: Uuid,
    ) -> Result<Answer<Attestation>, PcError> {
        let body = agreement_body(contact, template_id, &date.wire());
        self.post_agreement(token, customer_id, &body, "attest", request_id, correlation_id).await
    }

    /// `POST /v1/customers/{id}/agreements`, for both ways of attesting.
    #[tracing::instrument(skip_all, fields(%customer_id, %what, %request_id, %correlation_id), err(level = "warn"))]
    pub(crate) async fn post_agreement(
        &self,
        token: &str,
        customer_id: &str,
        body: &serde_json::Value,
        what: &'static str,
        request_id: Uuid,
        correlation_id: Uuid,
    ) -> Result<Answer<Attestation>, PcError> {
        let path = format!("/v1/customers/{}/agreements", enc(customer_id));
        let call =
            Call { method: Method::POST, body: Some(body), request_id: Some(request_id), ..Call::get(&path, what) };
        let a: Answer<AgreementWire> = self.call(token, call, correlation_id).await?;
        let attestation = a
            .body
            .into_domain()
            .ok_or(PcError::Decode { what, detail: "the answer is not an MCA attestation".into() })?;
        Ok(Answer { body: attestation, request_id: a.request_id, correlation_id: a.correlation_id })
    }
}

/// The agreement body of docs/partner-center.md ("Attest (confirm)"); `phoneNumber` only
/// when there is one, and never `userId`.
pub(crate) fn agreement_body(contact: &Contact, template_id: &str, date_agreed: &str) -> serde_json::Value {
    let mut primary = serde_json::json!({
        "firstName": contact.first_name.as_str(),
        "lastName": contact.last_name.as_str(),
        "email": contact.email.as_str(),
    });
    if let Some(p) = &contact.phone {
        primary["phoneNumber"] = serde_json::json!(p.as_str());
    }
    serde_json::json!({
        "primaryContact": primary,
        "templateId": template_id,
        "dateAgreed": date_agreed,
        "type": MCA_AGREEMENT_TYPE,
    })
}

/// What a try came to.
enum Step {
    /// The answer's body, or the error to return.
    Done(Result<bytes::Bytes, PcError>),
    /// Try again after `wait`; `answered` when Partner Center did answer this try.
    Again { wait: Duration, answered: bool },
}

/// A successful answer's body as `T` (a HEAD answer has none: it reads as `null`).
fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    req: &Call<'_>,
    request_id: Uuid,
    correlation_id: Uuid,
) -> Result<Answer<T>, PcError> {
    let bytes = if req.no_body { b"null".as_slice() } else { bytes };
    let body = serde_json::from_slice(bytes).map_err(|e| PcError::Decode { what: req.what, detail: e.to_string() })?;
    Ok(Answer { body, request_id, correlation_id })
}

/// A refusal in either of Partner Center's error shapes, with its code.
fn api_error(status: StatusCode, bytes: &[u8], request_id: Uuid, correlation_id: Uuid) -> PcError {
    let parsed: Option<ErrorWire> = serde_json::from_slice(bytes).ok();
    let (code, message, error_name) = match parsed {
        Some(e) => (e.code_text().filter(|c| error::plausible_code(c)), e.text(), e.error_name.clone()),
        None => (None, String::from_utf8_lossy(bytes).chars().take(300).collect(), None),
    };
    PcError::Api { status: status.as_u16(), code, message, error_name, request_id, correlation_id }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
