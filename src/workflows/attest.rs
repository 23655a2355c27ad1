//! Edit agreement: an attestation for an existing customer. Before anything is stored the
//! 600061 rule is checked against what Partner Center listed and what is already on its
//! way, so that the agent learns at once why Partner Center would refuse it.

use super::delivery::Attempt;
use super::submit::{AuditNote, Submitted};
use super::{WorkflowResult, Workflows};
use crate::domain::{AttestationRequest, Attester, IdempotencyKey, Request, UserTokens};
use crate::store::{CustomerRecord, Submission, SubmissionState};

/// What became of an attestation handed in (made once per request: the size of its
/// variants does not matter).
#[allow(clippy::large_enum_variant)]
pub enum AttestOutcome {
    /// This form was sent before: what became of it. Nothing was sent again.
    AlreadySubmitted(Submission),
    /// An attestation with the same four details is listed or on its way (600061).
    SameContact,
    /// Stored now; what the first attempt came to, or None when it did not end within the
    /// wait (it will be sent).
    Stored(Option<Attempt>),
}

impl Workflows {
    /// Stores the attestation, then sends it (see `submit`).
    #[tracing::instrument(skip_all, fields(tenant_id = %who.user().tenant_id, customer_id = %customer.customer.id), err(level = "warn"))]
    pub async fn attest(
        &self,
        who: &Attester,
        tokens: &UserTokens,
        customer: &CustomerRecord,
        request: AttestationRequest,
        key: &IdempotencyKey,
    ) -> WorkflowResult<AttestOutcome> {
        let user = who.user();
        if let Some(existing) = self.submission_by_key(user, key).await? {
            return Ok(AttestOutcome::AlreadySubmitted(existing));
        }
        let on_its_way = self.same_contact_on_its_way(customer, &request).await?;
        if let Some(same) = on_its_way.as_ref().filter(|s| s.idempotency_key == key.as_str()) {
            // The same form, sent twice at once: the first one is on its way.
            return Ok(AttestOutcome::AlreadySubmitted(same.clone()));
        }
        if on_its_way.is_some() || customer.attestations.iter().any(|a| request.contact.repeats(a)) {
            return Ok(AttestOutcome::SameContact);
        }
        let c = &request.contact;
        let note = AuditNote {
            action: "attest_submitted",
            customer_id: Some(customer.customer.id.clone()),
            detail: format!(
                "contact: {} {} <{}>; agreement acceptance date: {}",
                c.first_name.as_str(),
                c.last_name.as_str(),
                c.email.as_str(),
                request.date.date()
            ),
        };
        let request = Request::Attest(request);
        let submitted = self.submit(user, tokens, key, Some(&customer.customer.id), &request, note).await?;
        Ok(match submitted {
            Submitted::Already(s) => AttestOutcome::AlreadySubmitted(s),
            Submitted::Stored { attempt, .. } => AttestOutcome::Stored(attempt),
        })
    }

    /// A saved submission for this customer, still on its way (or waiting for a sign-in),
    /// with the same four details.
    async fn same_contact_on_its_way(
        &self,
        customer: &CustomerRecord,
        request: &AttestationRequest,
    ) -> WorkflowResult<Option<Submission>> {
        let recent = self.store.submissions_for_customer(&customer.tenant_id, &customer.customer.id, 50).await?;
        Ok(recent
            .into_iter()
            .filter(|s| matches!(s.state, SubmissionState::Queued | SubmissionState::NeedsSignIn))
            .find(|s| s.request.contact().same_person_as(&request.contact)))
    }
}
