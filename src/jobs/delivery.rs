//! Delivery of stored submissions to Partner Center: right after submit for a few
//! seconds, and by a background worker with backoff for whatever is still queued
//! (including after a restart). Submissions are claimed with leases, and each keeps one
//! `MS-RequestId` for all its attempts, so a retry after a timeout cannot attest twice.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures_util::{StreamExt, stream};
use rand::Rng;
use uuid::Uuid;

use crate::domain::contact::DUPLICATE_CONTACT_MESSAGE;
use crate::domain::{AcceptanceDate, Attestation, Contact, ReattestationPolicy};
use crate::identity::{Oidc, UserTokens};
use crate::partner_center::{PartnerCenter, PcError, TemplateCache};
use crate::store::{AuditEntry, Store, StoreError, Submission, SubmissionState};

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
    /// Another instance holds the submission now.
    LeaseLost,
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
}

fn backoff(attempts: i64) -> chrono::Duration {
    let base = 5i64.saturating_mul(1i64 << attempts.clamp(0, 7)).min(600);
    let jitter = rand::thread_rng().gen_range(0..=base / 5);
    chrono::Duration::seconds(base + jitter)
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
    ) -> Result<Option<Outcome>, StoreError> {
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
    async fn attempt(&self, sub: Submission) -> Result<Outcome, StoreError> {
        let request_id = Uuid::parse_str(&sub.ms_request_id).unwrap_or_else(|_| Uuid::new_v4());
        let correlation_id = Uuid::parse_str(&sub.ms_correlation_id).unwrap_or_else(|_| Uuid::new_v4());
        let (outcome, renewed, recorded_upstream) = self.try_once(&sub, request_id, correlation_id).await;
        let recorded = match &outcome {
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
                        renewed.as_ref(),
                    )
                    .await?
            }
            Outcome::LeaseLost => false,
        };
        let outcome = if recorded { outcome } else { Outcome::LeaseLost };
        let p = &sub.payload;
        let (label, reason, code) = match &outcome {
            Outcome::Delivered => ("delivered", None, None),
            Outcome::Failed { reason, code } => ("failed", Some(reason.clone()), code.clone()),
            Outcome::RetryLater { reason } => ("retry_later", Some(reason.clone()), None),
            Outcome::LeaseLost => ("lease_lost", None, None),
        };
        self.store
            .audit(&AuditEntry {
                tenant_id: sub.tenant_id.clone(),
                actor_oid: Some(sub.created_by_oid.clone()),
                actor_name: Some(sub.created_by_name.clone()),
                action: "attest_attempt".into(),
                customer_id: Some(sub.customer_id.clone()),
                detail: Some(format!(
                    "contact: {} {} <{}>{}; agreement acceptance date: {}{}",
                    p.first_name,
                    p.last_name,
                    p.email,
                    if p.phone.is_empty() { String::new() } else { format!(", phone {}", p.phone) },
                    p.date_agreed,
                    reason.map(|r| format!("; {r}")).unwrap_or_default()
                )),
                outcome: label.into(),
                pc_code: code,
                request_id: Some(request_id.to_string()),
                correlation_id: Some(correlation_id.to_string()),
            })
            .await?;
        if outcome == Outcome::Delivered
            && let Some(a) = recorded_upstream
        {
            // What Partner Center recorded joins the customer's attestations at once,
            // without another read (and its share of the rate limit).
            self.store.attestation_add(&sub.tenant_id, &sub.customer_id, &a).await?;
        }
        if outcome != Outcome::LeaseLost {
            self.store.customer_recompute_status(&sub.tenant_id, &sub.customer_id, &self.policy).await?;
        }
        Ok(outcome)
    }

    async fn try_once(
        &self,
        sub: &Submission,
        request_id: Uuid,
        correlation_id: Uuid,
    ) -> (Outcome, Option<UserTokens>, Option<Attestation>) {
        let p = &sub.payload;
        let contact = match Contact::parse(&p.first_name, &p.last_name, &p.email, &p.phone) {
            Ok(c) => c,
            Err(errors) => {
                let reason = errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join(" ");
                return (Outcome::Failed { reason, code: None }, None, None);
            }
        };
        let date = match AcceptanceDate::parse(&p.date_agreed, Utc::now().date_naive()) {
            Ok(d) => d,
            Err(e) => return (Outcome::Failed { reason: e.message, code: None }, None, None),
        };
        let (mut tokens, mut renewed) = match self.fresh_tokens(sub).await {
            Ok((t, r)) => (t, r),
            Err(why) => {
                return (
                    Outcome::Failed { reason: format!("Not sent: {why}. Sign in and send it again."), code: None },
                    None,
                    None,
                );
            }
        };
        let template = match self.templates.get(&self.pc, &tokens.access_token, correlation_id).await {
            Ok(t) => t,
            Err(e) => return (retry_or_fail(e), renewed.then_some(tokens), None),
        };
        let mut result = self
            .pc
            .attest(&tokens.access_token, &sub.customer_id, &contact, date, &template, request_id, correlation_id)
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
                        .attest(
                            &tokens.access_token,
                            &sub.customer_id,
                            &contact,
                            date,
                            &template,
                            request_id,
                            correlation_id,
                        )
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
                match self.pc.mca_attestations(&tokens.access_token, &sub.customer_id, correlation_id).await {
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
                Some("600002") => format!(
                    "Partner Center refused the agreement acceptance date as later than today in UTC ({message}). Correct the date and send it again."
                ),
                _ => e.user_message(),
            };
            Outcome::Failed { reason, code: code.clone() }
        }
    }
}
