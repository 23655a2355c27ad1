//! The delegated tokens queued submissions keep, which must not outlive the sign-in they
//! came from: removed when their user signs out and when that session's absolute lifetime
//! ends; and Send now, which gives a submission left waiting for a sign-in the tokens of
//! the attester who sends it. docs/architecture.md, "Tokens kept with a submission".

use chrono::{DateTime, Utc};

use super::delivery::Outcome;
use super::{WorkflowResult, Workflows, audit_of};
use crate::domain::{Attester, PartnerUser, UserTokens};
use crate::store::{AuditEntry, SubmissionState, TokenHolder};

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
        self.recompute_statuses(&touched).await
    }

    /// Removes the tokens kept past the end of the session they came from; the session
    /// sweeper runs it.
    #[tracing::instrument(skip_all, err(level = "warn"))]
    pub async fn forget_expired_tokens(&self) -> WorkflowResult<()> {
        let reason = "Not sent yet: the sign-in it was saved with reached its time limit.";
        let touched = self.store.submissions_forget_expired_tokens(reason).await?;
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
    /// attester's tokens (kept no longer than the attester's session), recorded in the
    /// audit log as sent by them.
    #[tracing::instrument(skip_all, fields(tenant_id = %who.user().tenant_id, %customer_id, %submission_id), err(level = "warn"))]
    pub async fn send_now(
        &self,
        who: &Attester,
        tokens: &UserTokens,
        customer_id: &str,
        submission_id: &str,
    ) -> WorkflowResult<SendNowOutcome> {
        let user = who.user();
        let waiting = self
            .store
            .submission_get(&user.tenant_id, submission_id)
            .await?
            .filter(|s| s.state == SubmissionState::NeedsSignIn && s.customer_id.as_deref() == Some(customer_id));
        if waiting.is_none() {
            return Ok(SendNowOutcome::NotWaiting);
        }
        let holder = TokenHolder { oid: user.oid.clone(), name: user.name.clone(), kept_until: self.session_end(user) };
        let Some(sub) = self.store.submission_send_with(&user.tenant_id, submission_id, tokens, &holder).await? else {
            return Ok(SendNowOutcome::NotWaiting);
        };
        let entry = AuditEntry {
            customer_id: Some(customer_id.to_string()),
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
        self.store.customer_recompute_status(&user.tenant_id, customer_id, &self.settings.policy()).await?;
        let wait = std::time::Duration::from_secs(self.settings.deliver_wait_seconds);
        let attempt = self.delivery.deliver_now(&user.tenant_id, submission_id, wait).await?;
        Ok(SendNowOutcome::Sent(attempt.map(|a| a.outcome)))
    }
}
