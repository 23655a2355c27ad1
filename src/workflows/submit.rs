//! The sequence every submission shares, written once: the idempotency key decides
//! whether it is new; it is stored (with the user's tokens, sealed) before anything is
//! sent; the audit log records it; the customer shows Pending; then the first delivery
//! attempt runs, and the agent waits for it at most `deliver_wait_seconds` (after that
//! the worker goes on and the agent is told it is saved and will be sent).

use std::time::Duration;

use super::delivery::Attempt;
use super::{WorkflowResult, Workflows, audit_of};
use crate::domain::{IdempotencyKey, PartnerUser, Request, UserTokens};
use crate::store::{AuditEntry, Created, NewSubmission, Submission};

/// What became of a submission handed in (made once per request: the size of its
/// variants does not matter).
#[allow(clippy::large_enum_variant)]
pub enum Submitted {
    /// The key was used before: the first submission, as it stands; nothing was sent.
    Already(Submission),
    /// Stored now; the first attempt's result, or None when it did not end within the wait.
    Stored { submission: Submission, attempt: Option<Attempt> },
}

/// What the audit entry of a new submission says besides who and when.
pub(super) struct AuditNote {
    pub action: &'static str,
    pub customer_id: Option<String>,
    pub detail: String,
}

impl Workflows {
    /// A submission stored under its key (or the one stored before).
    pub(super) async fn submission_by_key(
        &self,
        user: &PartnerUser,
        key: &IdempotencyKey,
    ) -> WorkflowResult<Option<Submission>> {
        Ok(self.store.submission_by_key(&user.tenant_id, key.as_str()).await?)
    }

    /// Stores, audits and makes a first attempt; see the module's description.
    #[tracing::instrument(skip_all, fields(tenant_id = %user.tenant_id, customer_id = ?customer_id), err(level = "warn"))]
    pub(super) async fn submit(
        &self,
        user: &PartnerUser,
        tokens: &UserTokens,
        key: &IdempotencyKey,
        customer_id: Option<&str>,
        request: &Request,
        note: AuditNote,
    ) -> WorkflowResult<Submitted> {
        let created = self
            .store
            .submission_create(&NewSubmission {
                tenant_id: &user.tenant_id,
                idempotency_key: key.as_str(),
                customer_id,
                request,
                created_by_oid: &user.oid,
                created_by_name: &user.name,
                tokens,
                tokens_kept_until: self.session_end(user),
            })
            .await?;
        let submission = match created {
            Created::New(s) => s,
            Created::Existing(s) => return Ok(Submitted::Already(s)),
        };
        let entry = AuditEntry {
            customer_id: note.customer_id,
            detail: Some(note.detail),
            request_id: Some(submission.ms_request_id.clone()),
            correlation_id: Some(submission.ms_correlation_id.clone()),
            ..audit_of(user, note.action, "saved")
        };
        self.store.audit(&entry).await?;
        if let Some(id) = customer_id {
            self.store.customer_recompute_status(&user.tenant_id, id, &self.settings.policy()).await?;
        }
        if self.forget_tokens_if_signed_out(user).await? {
            let now = self.store.submission_get(&user.tenant_id, &submission.id).await?;
            return Ok(Submitted::Stored { submission: now.unwrap_or(submission), attempt: None });
        }
        let wait = Duration::from_secs(self.settings.deliver_wait_seconds);
        let attempt = self.delivery.deliver_now(&user.tenant_id, &submission.id, wait).await?;
        Ok(Submitted::Stored { submission, attempt })
    }
}
