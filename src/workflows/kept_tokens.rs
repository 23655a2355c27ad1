//! The delegated tokens queued submissions keep, which must not outlive the sign-in they
//! came from: removed when their user signs out and when that session's absolute lifetime
//! ends; and Send now, which gives a submission left waiting for a sign-in (an attestation,
//! or a new customer not created yet) the tokens of the attester who sends it.
//! docs/architecture.md, "Tokens kept with a submission".

use chrono::{DateTime, Utc};

use super::add_customer::AddCustomerOutcome;
use super::delivery::{Attempt, Outcome};
use super::{WorkflowResult, Workflows, audit_of};
use crate::domain::new_customer::NewCustomer;
use crate::domain::{Attester, PartnerUser, UserTokens};
use crate::store::{AuditEntry, Submission, SubmissionState, TokenHolder};

/// What became of a Send now.
#[derive(Debug)]
pub enum SendNowOutcome {
    /// The submission did not wait for a sign-in (someone sent it meanwhile, or it is not
    /// this customer's): nothing was done.
    NotWaiting,
    /// Handed over with the attester's sign-in: what the first attempt came to, or None
    /// when it goes on in the background.
    Sent(Option<Outcome>),
}

/// What became of a Send now of a new customer not created yet. (Made once per request
/// and matched at once: the size of its variants does not matter.)
#[allow(clippy::large_enum_variant)]
pub enum NewCustomerSendNow {
    /// The partner has no new customer submission with this id.
    NotFound,
    /// It did not wait for a sign-in (someone sent it meanwhile): nothing was done.
    NotWaiting,
    /// Handed over with the attester's sign-in: the new customer, and what Add customer
    /// answers for it (the admin's sign-in details, when it was created now).
    Sent { customer: Box<NewCustomer>, outcome: AddCustomerOutcome },
}

/// What `send_waiting` found and did (made once per request: the size of its variants
/// does not matter).
#[allow(clippy::large_enum_variant)]
enum Sending {
    NotFound,
    NotWaiting,
    /// Sent, with the first attempt's result (None when it goes on in the background).
    Sent(Submission, Option<Attempt>),
}

impl Workflows {
    /// The absolute end of the user's session: tokens of theirs are not kept past it.
    pub(super) fn session_end(&self, user: &PartnerUser) -> DateTime<Utc> {
        let seconds = i64::try_from(self.settings.session_absolute_hours).unwrap_or(i64::MAX).saturating_mul(3600);
        DateTime::from_timestamp(user.signed_in_at.saturating_add(seconds), 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// The user signed out: their tokens kept with queued submissions go too.
    pub(super) async fn forget_tokens_of(&self, user: &PartnerUser) -> WorkflowResult<()> {
        let reason = format!("Not sent yet: {} signed out, which ended the sign-in it was saved with.", user.name);
        let touched = self.store.submissions_forget_tokens_of(&user.tenant_id, &user.oid, &reason).await?;
        self.store.refresh_sign_in_forget_of(&user.tenant_id, &user.oid).await?;
        self.recompute_statuses(&touched).await
    }

    /// A request still under way when its user signed out may store a submission after the
    /// sign-out removed the user's tokens: if the user has signed out since this sign-in
    /// began, the user's queued tokens go again (this one's too, which then waits for a
    /// sign-in). True when they went.
    pub(super) async fn forget_tokens_if_signed_out(&self, user: &PartnerUser) -> WorkflowResult<bool> {
        let sign_outs = self.store.partner_user_sign_outs(&user.tenant_id, &user.oid).await?;
        if sign_outs <= user.sign_outs_before {
            return Ok(false);
        }
        self.forget_tokens_of(user).await?;
        Ok(true)
    }

    /// Removes the tokens kept past the end of the session they came from; the session
    /// sweeper runs it.
    #[tracing::instrument(skip_all, err(level = "warn"))]
    pub async fn forget_expired_tokens(&self) -> WorkflowResult<()> {
        let reason = "Not sent yet: the sign-in it was saved with reached its time limit.";
        let touched = self.store.submissions_forget_expired_tokens(reason).await?;
        self.store.refresh_sign_ins_forget_expired().await?;
        if !touched.is_empty() {
            tracing::info!(customers = touched.len(), "removed delegated tokens kept past their session");
        }
        self.recompute_statuses(&touched).await
    }

    async fn recompute_statuses(&self, touched: &[(String, String)]) -> WorkflowResult<()> {
        let policy = self.settings.policy();
        for (tenant_id, customer_id) in touched {
            self.store.customer_recompute_status(tenant_id, customer_id, &policy).await?;
        }
        Ok(())
    }

    /// Send now: a submission of this customer waiting for a sign-in is sent with the
    /// attester's tokens (see `send_waiting`).
    #[tracing::instrument(skip_all, fields(tenant_id = %who.user().tenant_id, %customer_id, %submission_id), err(level = "warn"))]
    pub async fn send_now(
        &self,
        who: &Attester,
        tokens: &UserTokens,
        customer_id: &str,
        submission_id: &str,
    ) -> WorkflowResult<SendNowOutcome> {
        let of_customer = |s: &Submission| s.customer_id.as_deref() == Some(customer_id);
        Ok(match self.send_waiting(who, tokens, submission_id, of_customer).await? {
            Sending::NotFound | Sending::NotWaiting => SendNowOutcome::NotWaiting,
            Sending::Sent(_, attempt) => SendNowOutcome::Sent(attempt.map(|a| a.outcome)),
        })
    }

    /// Send now of a new customer not created yet: it is sent with the attester's tokens,
    /// and the answer is the one Add customer gives (the admin's sign-in details when it
    /// is created now).
    #[tracing::instrument(skip_all, fields(tenant_id = %who.user().tenant_id, %submission_id), err(level = "warn"))]
    pub async fn send_new_customer_now(
        &self,
        who: &Attester,
        tokens: &UserTokens,
        submission_id: &str,
    ) -> WorkflowResult<NewCustomerSendNow> {
        let new_customer = |s: &Submission| s.request.new_customer().is_some();
        let (sub, attempt) = match self.send_waiting(who, tokens, submission_id, new_customer).await? {
            Sending::NotFound => return Ok(NewCustomerSendNow::NotFound),
            Sending::NotWaiting => return Ok(NewCustomerSendNow::NotWaiting),
            Sending::Sent(sub, attempt) => (sub, attempt),
        };
        let customer = sub.request.new_customer().cloned().map(Box::new).expect("a new customer's submission");
        let outcome = match attempt {
            None => AddCustomerOutcome::Saved,
            Some(attempt) => self.after_first_attempt(who.user(), &sub.request, &sub.id, attempt).await?,
        };
        Ok(NewCustomerSendNow::Sent { customer, outcome })
    }

    /// The partner's submission `submission_id`, when `belongs` says it is one of those
    /// asked for and it waits for a sign-in, is sent with the attester's tokens (kept no
    /// longer than the attester's session), recorded in the audit log as sent by them;
    /// then its first attempt runs, within the wait.
    async fn send_waiting(
        &self,
        who: &Attester,
        tokens: &UserTokens,
        submission_id: &str,
        belongs: impl Fn(&Submission) -> bool,
    ) -> WorkflowResult<Sending> {
        let user = who.user();
        match self.store.submission_get(&user.tenant_id, submission_id).await? {
            Some(s) if belongs(&s) && s.state == SubmissionState::NeedsSignIn => {}
            Some(s) if belongs(&s) => return Ok(Sending::NotWaiting),
            _ => return Ok(Sending::NotFound),
        }
        let holder = TokenHolder { oid: user.oid.clone(), name: user.name.clone(), kept_until: self.session_end(user) };
        let Some(sub) = self.store.submission_send_with(&user.tenant_id, submission_id, tokens, &holder).await? else {
            return Ok(Sending::NotWaiting);
        };
        let entry = AuditEntry {
            customer_id: sub.customer_id.clone(),
            detail: Some(format!(
                "{} sent with the sign-in of {}; saved {} by {}",
                sub.request.describe(),
                user.name,
                sub.created_at.format("%Y-%m-%d %H:%M UTC"),
                sub.created_by_name
            )),
            request_id: Some(sub.ms_request_id.clone()),
            correlation_id: Some(sub.ms_correlation_id.clone()),
            ..audit_of(user, "send_now", "queued")
        };
        self.store.audit(&entry).await?;
        if let Some(customer_id) = &sub.customer_id {
            self.store.customer_recompute_status(&user.tenant_id, customer_id, &self.settings.policy()).await?;
        }
        if self.forget_tokens_if_signed_out(user).await? {
            return Ok(Sending::Sent(sub, None));
        }
        let wait = std::time::Duration::from_secs(self.settings.deliver_wait_seconds);
        let attempt = self.delivery.deliver_now(&user.tenant_id, submission_id, wait).await?;
        Ok(Sending::Sent(sub, attempt))
    }
}
