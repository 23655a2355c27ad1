//! Delivery of stored submissions to Partner Center: right after submit for a few
//! seconds, and by a background worker with backoff for whatever is still queued
//! (including after a restart). Submissions are claimed with leases, and each keeps its
//! `MS-RequestId`s for all its attempts, so a retry after a timeout cannot attest twice
//! or create two tenants.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures_util::{StreamExt, stream};
use rand::Rng;
use uuid::Uuid;

use crate::config::AttestationMode;
use crate::domain::contact::DUPLICATE_CONTACT_MESSAGE;
use crate::domain::new_customer::{NewCustomer, NewCustomerInput};
use crate::domain::{AcceptanceDate, Attestation, Contact, ReattestationPolicy, StatusInputs};
use crate::identity::{Oidc, UserTokens};
use crate::partner_center::{CreatedCustomer, EnhancedRequest, EnhancedStatus, PartnerCenter, PcError, TemplateCache};
use crate::store::{AuditEntry, Store, StoreError, Submission, SubmissionKind, SubmissionState};

/// After this many attempts a submission fails for good with a reason to act on.
const MAX_ATTEMPTS: i64 = 40;

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    Failed {
        reason: String,
        code: Option<String>,
    },
    /// Not settled; another attempt follows at the time stored.
    RetryLater {
        reason: String,
    },
    /// Enhanced attestation: waiting for the customer to accept at this link.
    Waiting {
        link: String,
    },
    /// Another instance holds the submission now.
    LeaseLost,
}

/// One attempt's result: the outcome, and for a new customer created in this very attempt
/// its sign-in details, handed to the page that waits and to nothing else.
pub struct Attempt {
    pub outcome: Outcome,
    pub created: Option<CreatedCustomer>,
    /// The customer the submission is about (known once a new customer is created).
    pub customer_id: Option<String>,
}

pub struct Delivery {
    store: Store,
    pc: PartnerCenter,
    oidc: Arc<Oidc>,
    templates: Arc<TemplateCache>,
    policy: ReattestationPolicy,
    /// This instance, as lease owner.
    owner: String,
    lease: chrono::Duration,
    concurrency: usize,
    mode: AttestationMode,
    /// How often a waiting enhanced attestation is looked at again.
    check_every: chrono::Duration,
}

fn backoff(attempts: i64) -> chrono::Duration {
    let base = 5i64.saturating_mul(1i64 << attempts.clamp(0, 7)).min(600);
    let jitter = rand::thread_rng().gen_range(0..=base / 5);
    chrono::Duration::seconds(base + jitter)
}

/// What one try produced, before it is recorded.
struct Tried {
    outcome: Outcome,
    renewed: Option<UserTokens>,
    recorded_upstream: Option<Attestation>,
    created: Option<CreatedCustomer>,
    customer_id: Option<String>,
}

impl Tried {
    fn just(outcome: Outcome) -> Self {
        Tried { outcome, renewed: None, recorded_upstream: None, created: None, customer_id: None }
    }
}

impl Delivery {
    pub fn new(
        store: Store,
        pc: PartnerCenter,
        oidc: Arc<Oidc>,
        templates: Arc<TemplateCache>,
        policy: ReattestationPolicy,
        lease: Duration,
        concurrency: usize,
        mode: AttestationMode,
        check_every: Duration,
    ) -> Self {
        Delivery {
            store,
            pc,
            oidc,
            templates,
            policy,
            owner: format!("portal-{}", Uuid::new_v4()),
            lease: chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(5)),
            concurrency: concurrency.max(1),
            mode,
            check_every: chrono::Duration::from_std(check_every).unwrap_or(chrono::Duration::minutes(1)),
        }
    }

    /// Tries to deliver a submission just stored, waiting at most `wait` for the answer.
    /// If Partner Center is slower the attempt goes on in the background (nothing is cut
    /// off mid-request) and None is returned: the agent is told it will be sent.
    pub async fn deliver_now(
        self: &Arc<Self>,
        tenant_id: &str,
        submission_id: &str,
        wait: Duration,
    ) -> Result<Option<Attempt>, StoreError> {
        let Some(sub) = self.store.submission_claim(tenant_id, submission_id, &self.owner, self.lease).await? else {
            return Ok(None);
        };
        let this = self.clone();
        let task = tokio::spawn(async move { this.attempt(sub).await });
        match tokio::time::timeout(wait, task).await {
            Ok(Ok(result)) => result.map(Some),
            Ok(Err(join)) => {
                tracing::error!(error = %join, "delivery task failed");
                Ok(None)
            }
            Err(_) => Ok(None),
        }
    }

    /// Delivers what is due, until there is nothing left; returns how many were tried.
    pub async fn run_due(self: &Arc<Self>) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let due = self.store.submissions_claim_due(&self.owner, self.lease, (self.concurrency * 4) as i64).await?;
            if due.is_empty() {
                return Ok(total);
            }
            total += due.len();
            let results: Vec<_> =
                stream::iter(due).map(|s| self.attempt(s)).buffer_unordered(self.concurrency).collect().await;
            for r in results {
                if let Err(e) = r {
                    tracing::error!(error = %e, "delivery attempt could not be recorded");
                }
            }
        }
    }

    /// The background worker: looks for due submissions every `poll`.
    pub fn spawn_worker(self: Arc<Self>, poll: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                if let Err(e) = self.run_due().await {
                    tracing::warn!(error = %e, "delivery worker could not read the queue");
                }
                tokio::time::sleep(poll).await;
            }
        })
    }

    /// A delegated token good for a few minutes more, refreshed when needed.
    async fn fresh_tokens(&self, sub: &Submission) -> Result<(UserTokens, bool), String> {
        let Some(tokens) = sub.tokens.clone() else {
            return Err("the sign-in it was submitted with is gone".into());
        };
        if tokens.expires_at - Utc::now().timestamp() > 120 {
            return Ok((tokens, false));
        }
        let Some(rt) = tokens.refresh_token.as_deref() else {
            return Err("the sign-in it was submitted with has expired".into());
        };
        self.oidc
            .refresh(rt)
            .await
            .map(|t| (t, true))
            .map_err(|e| format!("the sign-in it was submitted with could not be renewed ({e})"))
    }

    /// One delivery attempt of a claimed submission, recorded in the submission, the
    /// audit log and the customer's status.
    async fn attempt(&self, sub: Submission) -> Result<Attempt, StoreError> {
        let request_id = Uuid::parse_str(&sub.ms_request_id).unwrap_or_else(|_| Uuid::new_v4());
        let correlation_id = Uuid::parse_str(&sub.ms_correlation_id).unwrap_or_else(|_| Uuid::new_v4());
        let tried = self.try_once(&sub, request_id, correlation_id).await;
        let customer_id = tried.customer_id.clone().or_else(|| Some(sub.customer_id.clone()).filter(|c| !c.is_empty()));
        let recorded = match &tried.outcome {
            Outcome::Delivered => {
                self.store.submission_settle(&sub.id, &self.owner, SubmissionState::Delivered, None, None, None).await?
            }
            Outcome::Failed { reason, code } => {
                self.store
                    .submission_settle(
                        &sub.id,
                        &self.owner,
                        SubmissionState::Failed,
                        Some(reason),
                        code.as_deref(),
                        None,
                    )
                    .await?
            }
            Outcome::RetryLater { reason } if sub.attempts + 1 >= MAX_ATTEMPTS => {
                let reason = format!(
                    "Partner Center did not take this after {MAX_ATTEMPTS} attempts since {} (last: {reason}). Send it again.",
                    sub.created_at.format("%Y-%m-%d %H:%M UTC")
                );
                self.store
                    .submission_settle(&sub.id, &self.owner, SubmissionState::Failed, Some(&reason), None, None)
                    .await?
            }
            Outcome::RetryLater { reason } => {
                self.store
                    .submission_retry_later(
                        &sub.id,
                        &self.owner,
                        Utc::now() + backoff(sub.attempts),
                        reason,
                        tried.renewed.as_ref(),
                    )
                    .await?
            }
            Outcome::Waiting { .. } => {
                self.store
                    .submission_wait(&sub.id, &self.owner, Utc::now() + self.check_every, tried.renewed.as_ref())
                    .await?
            }
            Outcome::LeaseLost => false,
        };
        let outcome = if recorded { tried.outcome } else { Outcome::LeaseLost };
        let p = &sub.payload;
        let (label, reason, code) = match &outcome {
            Outcome::Delivered => ("delivered", None, None),
            Outcome::Failed { reason, code } => ("failed", Some(reason.clone()), code.clone()),
            Outcome::RetryLater { reason } => ("retry_later", Some(reason.clone()), None),
            Outcome::Waiting { link } => ("waiting_for_customer", Some(format!("acceptance link {link}")), None),
            Outcome::LeaseLost => ("lease_lost", None, None),
        };
        let what = match (&sub.customer, p.date_agreed.is_empty()) {
            (Some(c), true) => format!(
                "new customer {} ({}.onmicrosoft.com), to accept in the Microsoft 365 admin center",
                c.company_name, c.domain_prefix
            ),
            (Some(c), false) => {
                format!("new customer {} ({}.onmicrosoft.com) with attestation", c.company_name, c.domain_prefix)
            }
            (None, _) => "attestation".into(),
        };
        self.store
            .audit(&AuditEntry {
                tenant_id: sub.tenant_id.clone(),
                actor_oid: Some(sub.created_by_oid.clone()),
                actor_name: Some(sub.created_by_name.clone()),
                action: match sub.kind {
                    SubmissionKind::Attest => "attest_attempt".into(),
                    SubmissionKind::CreateCustomer => "create_customer_attempt".into(),
                },
                customer_id: customer_id.clone(),
                detail: Some(format!(
                    "{what}; contact: {} {} <{}>{}{}{}",
                    p.first_name,
                    p.last_name,
                    p.email,
                    if p.phone.is_empty() { String::new() } else { format!(", phone {}", p.phone) },
                    if p.date_agreed.is_empty() {
                        String::new()
                    } else {
                        format!("; agreement acceptance date: {}", p.date_agreed)
                    },
                    reason.map(|r| format!("; {r}")).unwrap_or_default()
                )),
                outcome: label.into(),
                pc_code: code,
                request_id: Some(request_id.to_string()),
                correlation_id: Some(correlation_id.to_string()),
            })
            .await?;
        if let Some(id) = &customer_id {
            if outcome == Outcome::Delivered
                && let Some(a) = &tried.recorded_upstream
            {
                // What Partner Center recorded joins the customer's attestations at once,
                // without another read (and its share of the rate limit).
                self.store.attestation_add(&sub.tenant_id, id, a).await?;
            }
            if outcome != Outcome::LeaseLost {
                self.store.customer_recompute_status(&sub.tenant_id, id, &self.policy).await?;
            }
        }
        Ok(Attempt { outcome, created: tried.created, customer_id })
    }

    async fn try_once(&self, sub: &Submission, request_id: Uuid, correlation_id: Uuid) -> Tried {
        let p = &sub.payload;
        let attest = !p.date_agreed.is_empty();
        let contact = match Contact::parse(&p.first_name, &p.last_name, &p.email, &p.phone) {
            Ok(c) => c,
            Err(errors) => {
                let reason = errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join(" ");
                return Tried::just(Outcome::Failed { reason, code: None });
            }
        };
        let date = if attest {
            match AcceptanceDate::parse(&p.date_agreed, Utc::now().date_naive()) {
                Ok(d) => Some(d),
                Err(e) => return Tried::just(Outcome::Failed { reason: e.message, code: None }),
            }
        } else {
            None
        };
        let (tokens, renewed) = match self.fresh_tokens(sub).await {
            Ok(t) => t,
            Err(why) => {
                return Tried::just(Outcome::Failed {
                    reason: format!("Not sent: {why}. Sign in and send it again."),
                    code: None,
                });
            }
        };
        let mut tried = Tried { renewed: renewed.then(|| tokens.clone()), ..Tried::just(Outcome::Delivered) };
        let mut customer_id = sub.customer_id.clone();
        if sub.kind == SubmissionKind::CreateCustomer && customer_id.is_empty() {
            let Some(c) = &sub.customer else {
                tried.outcome =
                    Outcome::Failed { reason: "The new customer's details are missing.".into(), code: None };
                return tried;
            };
            let input = NewCustomerInput {
                company_name: &c.company_name,
                domain_prefix: &c.domain_prefix,
                first_name: &p.first_name,
                last_name: &p.last_name,
                email: &p.email,
                phone: &p.phone,
                country: &c.country,
                address_line1: &c.address_line1,
                address_line2: &c.address_line2,
                city: &c.city,
                state: &c.state,
                postal_code: &c.postal_code,
                culture: &c.culture,
                registration_number: &c.registration_number,
                associated_partner_id: &c.associated_partner_id,
                agreement: if attest { "attest" } else { "admin_center" },
                accepted: attest,
                date_agreed: &p.date_agreed,
            };
            let resellers = vec![c.associated_partner_id.clone()];
            let new_customer = match NewCustomer::parse(&input, Utc::now().date_naive(), &resellers) {
                Ok(n) => n,
                Err(errors) => {
                    let reason = errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join(" ");
                    tried.outcome = Outcome::Failed { reason, code: None };
                    return tried;
                }
            };
            match self.pc.create_customer(&tokens.access_token, &new_customer, request_id, correlation_id).await {
                Ok(answer) => {
                    let created = answer.body;
                    customer_id = created.customer.id.clone();
                    if let Err(e) = self.record_new_customer(sub, &created, attest).await {
                        tracing::error!(error = %e, "could not record the created customer");
                    }
                    tried.customer_id = Some(customer_id.clone());
                    tried.created = Some(created);
                }
                Err(e) => {
                    tried.outcome = match retry_or_fail(e) {
                        Outcome::Failed { code, .. } if code.as_deref() == Some("409") => Outcome::Failed {
                            reason: format!(
                                "The domain {}.onmicrosoft.com was taken meanwhile. Choose another domain prefix and submit again.",
                                c.domain_prefix
                            ),
                            code,
                        },
                        other => other,
                    };
                    return tried;
                }
            }
        }
        let Some(date) = date else {
            // The customer accepts in the Microsoft 365 admin center: created is done.
            return tried;
        };
        let attest_request_id = match sub.kind {
            SubmissionKind::Attest => request_id,
            SubmissionKind::CreateCustomer => {
                sub.attest_request_id.as_deref().and_then(|r| Uuid::parse_str(r).ok()).unwrap_or(request_id)
            }
        };
        let (outcome, renewed, recorded) = match self.mode {
            AttestationMode::Confirm => {
                self.attest(&customer_id, &contact, date, tokens, renewed, attest_request_id, correlation_id).await
            }
            AttestationMode::Enhanced => {
                // Step 1 and step 3 each keep an id of their own across attempts.
                let (create_id, agreement_id) = match sub.kind {
                    SubmissionKind::Attest => (
                        request_id,
                        sub.attest_request_id
                            .as_deref()
                            .and_then(|r| Uuid::parse_str(r).ok())
                            .unwrap_or_else(Uuid::new_v4),
                    ),
                    SubmissionKind::CreateCustomer => (attest_request_id, Uuid::new_v4()),
                };
                self.enhanced(
                    sub,
                    &customer_id,
                    &contact,
                    date,
                    tokens,
                    renewed,
                    (create_id, agreement_id),
                    correlation_id,
                )
                .await
            }
        };
        tried.outcome = match outcome {
            Outcome::Failed { reason, code } if sub.kind == SubmissionKind::CreateCustomer => Outcome::Failed {
                reason: format!(
                    "The customer was created in Partner Center, but the attestation was not accepted: {reason}"
                ),
                code,
            },
            other => other,
        };
        tried.renewed = renewed.or(tried.renewed);
        tried.recorded_upstream = recorded;
        tried
    }

    /// Company name, country and language of the customer, for the enhanced attestation.
    async fn company_facts(&self, sub: &Submission, customer_id: &str) -> (String, String, String) {
        if let Some(c) = &sub.customer {
            let language = c.culture.clone();
            return (c.company_name.clone(), c.country.clone(), language);
        }
        match self.store.customer_get(&sub.tenant_id, customer_id).await {
            Ok(Some(r)) => {
                let (language, country) = r.customer.document_locale();
                (r.customer.company_name, country, language)
            }
            _ => (String::new(), "US".into(), "en-US".into()),
        }
    }

    /// The enhanced attestation, one step per attempt: create it (App-only) and wait;
    /// look whether the customer accepted; then create the agreement with its id.
    #[allow(clippy::too_many_arguments)]
    async fn enhanced(
        &self,
        sub: &Submission,
        customer_id: &str,
        contact: &Contact,
        typed_date: AcceptanceDate,
        tokens: UserTokens,
        renewed: bool,
        (create_id, agreement_id): (Uuid, Uuid),
        correlation_id: Uuid,
    ) -> (Outcome, Option<UserTokens>, Option<Attestation>) {
        let renewed_tokens = renewed.then(|| tokens.clone());
        let app_token = match self.oidc.app_token().await {
            Ok(t) => t,
            Err(e) => {
                return (Outcome::RetryLater { reason: format!("no application token: {e}") }, renewed_tokens, None);
            }
        };
        let Some(attestation_id) = &sub.attestation_id else {
            let (company, country, language) = self.company_facts(sub, customer_id).await;
            let request = EnhancedRequest {
                country: &country,
                language: &language,
                company_name: &company,
                signatory: contact,
                customer_id,
            };
            return match self.pc.create_enhanced_attestation(&app_token, &request, create_id, correlation_id).await {
                Ok(a) => match self.store.submission_set_attestation(&sub.id, &self.owner, &a.id, &a.link).await {
                    Ok(true) => (Outcome::Waiting { link: a.link }, renewed_tokens, None),
                    Ok(false) => (Outcome::LeaseLost, renewed_tokens, None),
                    Err(e) => (Outcome::RetryLater { reason: e.to_string() }, renewed_tokens, None),
                },
                Err(e) => (retry_or_fail(e), renewed_tokens, None),
            };
        };
        let link = sub.acceptance_link.clone().unwrap_or_default();
        let accepted = match self.pc.enhanced_attestation_status(&app_token, attestation_id, correlation_id).await {
            Ok(EnhancedStatus::Pending) => return (Outcome::Waiting { link }, renewed_tokens, None),
            Ok(EnhancedStatus::Expired) => {
                let reason =
                    "The customer did not accept before the acceptance link expired. Use Edit to send a new one."
                        .to_string();
                return (Outcome::Failed { reason, code: None }, renewed_tokens, None);
            }
            Ok(EnhancedStatus::Accepted { date }) => date,
            Err(e) => return (retry_or_fail(e), renewed_tokens, None),
        };
        let date = if accepted <= Utc::now().date_naive() { accepted } else { typed_date.date() };
        let template = match self.templates.get(&self.pc, &tokens.access_token, correlation_id).await {
            Ok(t) => t,
            Err(e) => return (retry_or_fail(e), renewed_tokens, None),
        };
        match self
            .pc
            .agreement_from_attestation(
                &tokens.access_token,
                customer_id,
                attestation_id,
                contact,
                date,
                &template,
                agreement_id,
                correlation_id,
            )
            .await
        {
            Ok(answer) => (Outcome::Delivered, renewed_tokens, Some(answer.body)),
            Err(e @ PcError::Api { .. }) if e.code() == Some("600061") => {
                match self.pc.mca_attestations(&tokens.access_token, customer_id, correlation_id).await {
                    Ok(list) => match list.into_iter().find(|a| contact.repeats(a) && a.date_agreed == date) {
                        Some(a) => (Outcome::Delivered, renewed_tokens, Some(a)),
                        None => (
                            Outcome::Failed { reason: DUPLICATE_CONTACT_MESSAGE.into(), code: Some("600061".into()) },
                            renewed_tokens,
                            None,
                        ),
                    },
                    Err(e) => (retry_or_fail(e), renewed_tokens, None),
                }
            }
            Err(e) => (retry_or_fail(e), renewed_tokens, None),
        }
    }

    /// Keeps the new customer in the portal's list right away, before any refresh.
    async fn record_new_customer(
        &self,
        sub: &Submission,
        created: &CreatedCustomer,
        attest: bool,
    ) -> Result<(), StoreError> {
        self.store.submission_set_customer(&sub.id, &self.owner, &created.customer.id).await?;
        let verdict = StatusInputs { accepted_directly: Some(false), pending: attest, ..Default::default() }
            .verdict(&self.policy);
        self.store.customer_save(&sub.tenant_id, &created.customer, Some(false), &[], &verdict, Utc::now()).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn attest(
        &self,
        customer_id: &str,
        contact: &Contact,
        date: AcceptanceDate,
        mut tokens: UserTokens,
        mut renewed: bool,
        request_id: Uuid,
        correlation_id: Uuid,
    ) -> (Outcome, Option<UserTokens>, Option<Attestation>) {
        let template = match self.templates.get(&self.pc, &tokens.access_token, correlation_id).await {
            Ok(t) => t,
            Err(e) => return (retry_or_fail(e), renewed.then_some(tokens), None),
        };
        let mut result = self
            .pc
            .attest(&tokens.access_token, customer_id, contact, date, &template, request_id, correlation_id)
            .await;
        if matches!(result, Err(PcError::Unauthorized { .. }))
            && !renewed
            && let Some(rt) = tokens.refresh_token.clone()
        {
            // The token was refused early (revoked or rotated): renew once and try again.
            match self.oidc.refresh(&rt).await {
                Ok(t) => {
                    tokens = t;
                    renewed = true;
                    result = self
                        .pc
                        .attest(&tokens.access_token, customer_id, contact, date, &template, request_id, correlation_id)
                        .await;
                }
                Err(e) => tracing::info!(error = %e, "token refresh refused"),
            }
        }
        let renewed_tokens = renewed.then_some(tokens.clone());
        let (outcome, recorded) = match result {
            Ok(answer) => (Outcome::Delivered, Some(answer.body)),
            Err(e @ PcError::Api { .. }) if e.code() == Some("600061") => {
                // Refused as a duplicate: an earlier attempt of ours may have landed.
                match self.pc.mca_attestations(&tokens.access_token, customer_id, correlation_id).await {
                    Ok(list) => match list.into_iter().find(|a| contact.repeats(a) && a.date_agreed == date.date()) {
                        Some(a) => (Outcome::Delivered, Some(a)),
                        None => (
                            Outcome::Failed { reason: DUPLICATE_CONTACT_MESSAGE.into(), code: Some("600061".into()) },
                            None,
                        ),
                    },
                    Err(e) => (retry_or_fail(e), None),
                }
            }
            Err(e) => (retry_or_fail(e), None),
        };
        (outcome, renewed_tokens, recorded)
    }
}

/// Errors that may pass are retried later; refusals are final, with Partner Center's
/// words and code.
fn retry_or_fail(e: PcError) -> Outcome {
    match &e {
        PcError::Throttled { .. } | PcError::Unavailable { .. } | PcError::Transport(_) | PcError::Decode { .. } => {
            Outcome::RetryLater { reason: e.to_string() }
        }
        PcError::Api { status, .. } if *status >= 500 || *status == 408 => {
            Outcome::RetryLater { reason: e.to_string() }
        }
        PcError::Unauthorized { .. } => Outcome::Failed {
            reason: "Partner Center no longer accepts the sign-in this was submitted with. Sign in and send it again."
                .into(),
            code: None,
        },
        PcError::Api { code, message, .. } => {
            let reason = match code.as_deref() {
                Some("600002") => format!("Partner Center refused the agreement acceptance date as later than today in UTC ({message}). Correct the date and send it again."),
                Some("600051") => "Partner Center requires a phone number for customers in this country. Add the primary contact's phone number and send it again.".into(),
                _ => e.user_message(),
            };
            Outcome::Failed { reason, code: code.clone() }
        }
    }
}
