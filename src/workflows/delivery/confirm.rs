//! The attestation by the documented confirm call, with the submitter's delegated token.
//! A 600061 after a retry of ours may mean our earlier try landed: the customer's list of
//! attestations decides.

use uuid::Uuid;

use super::attempt::Step;
use super::outcome::{Outcome, retry_or_fail};
use super::{Delivery, Ids, Tokens};
use crate::domain::contact::DUPLICATE_CONTACT_MESSAGE;
use crate::domain::{AcceptanceDate, Attestation, Contact};
use crate::partner_center::PcError;
use crate::store::Submission;

impl Delivery {
    pub(super) async fn confirm(
        &self,
        sub: &Submission,
        customer_id: &str,
        date: AcceptanceDate,
        tokens: Tokens,
        ids: Ids,
    ) -> Step {
        let contact = sub.request.contact();
        // After a new customer's creation, the attestation has an id of its own.
        let request_id = match sub.request.new_customer() {
            Some(_) => sub.attest_request_id.as_deref().and_then(|r| Uuid::parse_str(r).ok()).unwrap_or(ids.request),
            None => ids.request,
        };
        let template = match self.templates.get(&self.pc, &tokens.current.access_token, ids.correlation).await {
            Ok(t) => t,
            Err(e) => return Step::ended(retry_or_fail(e), &tokens),
        };
        let send = |token: String, request_id: Uuid| {
            let template = template.clone();
            async move { self.pc.attest(&token, customer_id, contact, date, &template, request_id, ids.correlation).await }
        };
        let mut tokens = tokens;
        let mut result = send(tokens.current.access_token.clone(), request_id).await;
        if matches!(result, Err(PcError::Unauthorized { .. })) && !tokens.renewed {
            // Refused early (revoked or rotated): renew once and send again, under a new
            // request id, since Partner Center answered the first.
            match self.fresh_tokens(tokens.current.clone(), true).await {
                Ok(t) => {
                    tokens = t;
                    result = send(tokens.current.access_token.clone(), Uuid::new_v4()).await;
                }
                Err(why) => tracing::info!(%why, "token renewal refused"),
            }
        }
        match result {
            Ok(answer) => Step { recorded: Some(answer.body), ..Step::ended(Outcome::Delivered, &tokens) },
            Err(e) if e.code() == Some("600061") => {
                let found =
                    self.landed_before(&tokens.current.access_token, customer_id, contact, date.date(), ids).await;
                Step { recorded: found.as_ref().ok().cloned().flatten(), ..Step::ended(duplicate(found), &tokens) }
            }
            Err(e) => Step::ended(retry_or_fail(e), &tokens),
        }
    }

    /// The attestation with this contact and date, if Partner Center lists it already.
    pub(super) async fn landed_before(
        &self,
        token: &str,
        customer_id: &str,
        contact: &Contact,
        date: chrono::NaiveDate,
        ids: Ids,
    ) -> Result<Option<Attestation>, PcError> {
        let list = self.pc.mca_attestations(token, customer_id, ids.correlation).await?;
        Ok(list.into_iter().find(|a| contact.repeats(a) && a.date_agreed == date))
    }
}

/// A 600061: delivered when our own earlier try is listed, refused otherwise.
pub(super) fn duplicate(found: Result<Option<Attestation>, PcError>) -> Outcome {
    match found {
        Ok(Some(_)) => Outcome::Delivered,
        Ok(None) => Outcome::Failed { reason: DUPLICATE_CONTACT_MESSAGE.into(), code: Some("600061".into()) },
        Err(e) => retry_or_fail(e),
    }
}
