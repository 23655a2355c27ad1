//! One attempt of a claimed submission: try the steps it still needs, then record what
//! came of it in the submission, the audit log and the customer's status.

use chrono::Utc;

use super::outcome::Outcome;
use super::{Attempt, BETWEEN_ATTEMPTS, Delivery, Ids, MAX_ATTEMPTS, Tokens, TokensAtHand};
use crate::config::AttestationMode;
use crate::domain::{Attestation, Request, StatusInputs};
use crate::partner_center::CreatedCustomer;
use crate::store::{AuditEntry, Settled, StoreError, Submission};

/// What the attestation step of an attempt came to.
pub(super) struct Step {
    pub outcome: Outcome,
    pub renewed: Option<crate::domain::UserTokens>,
    pub recorded: Option<Attestation>,
}

impl Step {
    /// An outcome with nothing recorded upstream; renewed tokens are kept.
    pub fn ended(outcome: Outcome, tokens: &Tokens) -> Step {
        Step { outcome, renewed: tokens.renewed.then(|| tokens.current.clone()), recorded: None }
    }

    /// An outcome reached without delegated tokens.
    pub fn just(outcome: Outcome) -> Step {
        Step { outcome, renewed: None, recorded: None }
    }

    /// An outcome of an attempt that may have had no delegated tokens at all.
    pub fn ended_with(outcome: Outcome, tokens: &TokensAtHand) -> Step {
        match tokens {
            Ok(t) => Step::ended(outcome, t),
            Err(_) => Step::just(outcome),
        }
    }
}

/// What one try produced, before it is recorded.
pub(super) struct Tried {
    pub outcome: Outcome,
    /// Tokens renewed during the try: they replace the stored ones.
    pub renewed: Option<crate::domain::UserTokens>,
    /// What Partner Center recorded, to show at once without another read.
    pub recorded_upstream: Option<Attestation>,
    pub created: Option<CreatedCustomer>,
    pub customer_id: Option<String>,
}

impl Tried {
    pub fn just(outcome: Outcome) -> Self {
        Tried { outcome, renewed: None, recorded_upstream: None, created: None, customer_id: None }
    }
}

impl Delivery {
    /// One delivery attempt of a claimed submission, recorded.
    pub(super) async fn attempt(&self, sub: Submission) -> Result<Attempt, StoreError> {
        let ids = Ids::of(&sub);
        let tried = self.try_once(&sub, ids).await;
        let customer_id = tried.customer_id.clone().or_else(|| sub.customer_id.clone());
        let outcome = if self.record(&sub, &tried).await? { tried.outcome } else { Outcome::LeaseLost };
        if outcome.audited() {
            self.audit_attempt(&sub, &outcome, customer_id.clone(), ids).await?;
        }
        if let Some(id) = &customer_id {
            self.update_customer(&sub, id, &outcome, tried.recorded_upstream.as_ref()).await?;
        }
        Ok(Attempt { outcome, created: tried.created, customer_id })
    }

    /// The steps the submission still needs: the new customer (unless created already),
    /// then the attestation (unless the customer accepts in the admin center). A step
    /// that needs the delegated tokens and finds none asks for a sign-in.
    async fn try_once(&self, sub: &Submission, ids: Ids) -> Tried {
        let tokens = self.tokens_at_hand(sub).await;
        let mut tried = Tried {
            renewed: tokens.as_ref().ok().filter(|t| t.renewed).map(|t| t.current.clone()),
            ..Tried::just(Outcome::Delivered)
        };
        let customer_id = match (&sub.request, &sub.customer_id) {
            (_, Some(id)) => id.clone(),
            (Request::CreateCustomer(c), None) => {
                let current = match &tokens {
                    Ok(t) => &t.current,
                    Err(why) => return Tried::just(Outcome::needs_sign_in(why)),
                };
                match self.create_customer(sub, c, current, ids).await {
                    Ok(created) => {
                        let id = created.customer.id.clone();
                        tried.customer_id = Some(id.clone());
                        tried.created = Some(created);
                        id
                    }
                    Err(outcome) => return Tried { outcome, ..tried },
                }
            }
            (Request::Attest(_), None) => return Tried::just(Outcome::failed("The submission names no customer.")),
        };
        let Some(date) = sub.request.date() else {
            // The customer accepts in the Microsoft 365 admin center: created is all.
            return tried;
        };
        let step = match (self.mode, tokens) {
            (AttestationMode::Confirm, Ok(tokens)) => self.confirm(sub, &customer_id, date, tokens, ids).await,
            (AttestationMode::Confirm, Err(why)) => Step::just(Outcome::needs_sign_in(&why)),
            (AttestationMode::Enhanced, tokens) => self.enhanced(sub, &customer_id, date, tokens, ids).await,
        };
        tried.renewed = step.renewed.or(tried.renewed);
        tried.recorded_upstream = step.recorded;
        tried.outcome = match step.outcome {
            Outcome::Failed { reason, code } if sub.request.new_customer().is_some() => {
                let reason = format!(
                    "The customer was created in Partner Center, but the attestation was not accepted: {reason}"
                );
                Outcome::Failed { reason, code }
            }
            other => other,
        };
        tried
    }

    /// Writes the outcome into the submission; false when another instance holds it now.
    async fn record(&self, sub: &Submission, tried: &Tried) -> Result<bool, StoreError> {
        let (id, owner, renewed) = (&sub.id, &self.owner, tried.renewed.as_ref());
        match &tried.outcome {
            Outcome::Delivered => self.store.submission_settle(id, owner, Settled::Delivered).await,
            Outcome::Failed { reason, code } => {
                self.store.submission_settle(id, owner, Settled::Failed { reason, code: code.as_deref() }).await
            }
            Outcome::RetryLater { reason } if sub.attempts + 1 >= MAX_ATTEMPTS => {
                let reason = format!(
                    "Partner Center did not take this after {MAX_ATTEMPTS} attempts since {} (last: {reason}). Send it again.",
                    sub.created_at.format("%Y-%m-%d %H:%M UTC")
                );
                self.store.submission_settle(id, owner, Settled::Failed { reason: &reason, code: None }).await
            }
            Outcome::RetryLater { reason } => {
                let wait = BETWEEN_ATTEMPTS.delay(sub.attempts.clamp(0, 30) as u32, rand::random::<f64>());
                let next = Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::minutes(10));
                self.store.submission_retry_later(id, owner, next, reason, renewed).await
            }
            Outcome::Waiting { .. } => {
                self.store.submission_wait(id, owner, Utc::now() + self.check_every, renewed).await
            }
            Outcome::NeedsSignIn { reason } => self.store.submission_needs_sign_in(id, owner, reason).await,
            Outcome::LeaseLost => Ok(false),
        }
    }

    /// The audit entry of an attempt: what was sent, to whom, and how it ended.
    async fn audit_attempt(
        &self,
        sub: &Submission,
        outcome: &Outcome,
        customer_id: Option<String>,
        ids: Ids,
    ) -> Result<(), StoreError> {
        let (label, reason, code) = outcome.audit_label();
        let c = sub.request.contact();
        let phone = c.phone.as_ref().map(|p| format!(", phone {}", p.as_str())).unwrap_or_default();
        let date = sub.request.date().map(|d| format!("; agreement acceptance date: {}", d.date())).unwrap_or_default();
        let detail = format!(
            "{}; contact: {} {} <{}>{phone}{date}{}",
            sub.request.describe(),
            c.first_name.as_str(),
            c.last_name.as_str(),
            c.email.as_str(),
            reason.map(|r| format!("; {r}")).unwrap_or_default()
        );
        let action = match sub.request {
            Request::Attest(_) => "attest_attempt",
            Request::CreateCustomer(_) => "create_customer_attempt",
        };
        // The person whose sign-in the attempt used: the submitter, or the attester who
        // chose Send now.
        let (actor_oid, actor_name) = match &sub.token_holder {
            Some(h) => (h.oid.clone(), h.name.clone()),
            None => (sub.created_by_oid.clone(), sub.created_by_name.clone()),
        };
        let entry = AuditEntry {
            tenant_id: sub.tenant_id.clone(),
            actor_oid: Some(actor_oid),
            actor_name: Some(actor_name),
            action: action.into(),
            customer_id,
            detail: Some(detail),
            outcome: label.into(),
            pc_code: code,
            request_id: Some(ids.request.to_string()),
            correlation_id: Some(ids.correlation.to_string()),
        };
        self.store.audit(&entry).await.map(drop)
    }

    /// What Partner Center recorded joins the customer's attestations at once (without
    /// another read, and its share of the rate limit); the status is derived again.
    async fn update_customer(
        &self,
        sub: &Submission,
        customer_id: &str,
        outcome: &Outcome,
        recorded: Option<&Attestation>,
    ) -> Result<(), StoreError> {
        if *outcome == Outcome::LeaseLost {
            return Ok(());
        }
        if let (Outcome::Delivered, Some(a)) = (outcome, recorded) {
            self.store.attestation_add(&sub.tenant_id, customer_id, a).await?;
        }
        if *outcome == Outcome::Delivered {
            self.store.invitations_note_link_accepted(&sub.tenant_id, &sub.id, chrono::Utc::now()).await?;
        }
        self.store.customer_recompute_status(&sub.tenant_id, customer_id, &self.policy).await
    }

    /// Keeps a customer just created in the portal's list right away, before any refresh.
    pub(super) async fn record_new_customer(
        &self,
        sub: &Submission,
        created: &CreatedCustomer,
        attests: bool,
    ) -> Result<(), StoreError> {
        self.store.submission_set_customer(&sub.id, &self.owner, &created.customer.id).await?;
        let verdict = StatusInputs { accepted_directly: Some(false), pending: attests, ..Default::default() }
            .verdict(&self.policy);
        let now = Utc::now();
        self.store.customer_save(&sub.tenant_id, &created.customer, Some(false), &[], &verdict, now).await?;
        self.store.customer_mark_added_here(&sub.tenant_id, &created.customer.id, now).await
    }
}
