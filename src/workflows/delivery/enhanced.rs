//! The enhanced attestation, one step per attempt: create it with the application's own
//! token and wait; look whether the customer accepted at the link; then create the
//! agreement with its id. Each of the three steps keeps a request id of its own across
//! attempts.

use chrono::Utc;
use uuid::Uuid;

use super::attempt::Step;
use super::confirm::duplicate;
use super::outcome::{Outcome, retry_or_fail};
use super::{Delivery, Ids, Tokens, TokensAtHand};
use crate::domain::{AcceptanceDate, Request};
use crate::partner_center::{EnhancedRequest, EnhancedStatus};
use crate::store::Submission;

/// The request ids of the two enhanced steps of a submission: creating the attestation,
/// and creating the agreement from it.
fn step_ids(sub: &Submission, ids: Ids) -> (Uuid, Uuid) {
    let second = sub.attest_request_id.as_deref().and_then(|r| Uuid::parse_str(r).ok());
    match &sub.request {
        Request::Attest(_) => (ids.request, second.unwrap_or_else(Uuid::new_v4)),
        // The submission's first id went to creating the customer; the third is derived
        // from the second, so that it too stays the same from attempt to attempt.
        Request::CreateCustomer(_) => {
            let second = second.unwrap_or(ids.request);
            (second, Uuid::from_u128(second.as_u128() ^ 0x0e0e))
        }
    }
}

impl Delivery {
    /// One step of the enhanced attestation. Creating it and looking at it are App-only;
    /// the agreement that follows the customer's acceptance needs delegated tokens, so
    /// without them nothing is started, and an accepted one waits for a sign-in.
    pub(super) async fn enhanced(
        &self,
        sub: &Submission,
        customer_id: &str,
        typed: AcceptanceDate,
        tokens: TokensAtHand,
        ids: Ids,
    ) -> Step {
        let (create_id, agreement_id) = step_ids(sub, ids);
        // The application's own token of the submission's partner tenant: the attestation is
        // that partner's, whoever else uses the portal.
        let app_token = match self.oidc.app_token(&sub.tenant_id).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "no application token for the enhanced attestation");
                let reason = "The portal's own Partner Center token could not be obtained; it tries again.".to_string();
                return Step::ended_with(Outcome::RetryLater { reason }, &tokens);
            }
        };
        let Some(attestation_id) = &sub.attestation_id else {
            if let Err(why) = &tokens {
                return Step::just(Outcome::needs_sign_in(why));
            }
            let outcome = self.create_attestation(sub, customer_id, &app_token, create_id, ids).await;
            return Step::ended_with(outcome, &tokens);
        };
        let accepted = match self.pc.enhanced_attestation_status(&app_token, attestation_id, ids.correlation).await {
            Ok(EnhancedStatus::Pending) => {
                let link = sub.acceptance_link.clone().unwrap_or_default();
                return Step::ended_with(Outcome::Waiting { link, link_created: false }, &tokens);
            }
            Ok(EnhancedStatus::Expired) => {
                let reason =
                    "The customer did not accept before the acceptance link expired. Use Edit to send a new one.";
                return Step::ended_with(Outcome::failed(reason), &tokens);
            }
            Ok(EnhancedStatus::Accepted { date }) => date,
            Err(e) => return Step::ended_with(retry_or_fail(e), &tokens),
        };
        let tokens = match tokens {
            Ok(t) => t,
            Err(why) => return Step::just(Outcome::needs_sign_in(&why)),
        };
        let date = if accepted <= Utc::now().date_naive() { accepted } else { typed.date() };
        self.agreement(sub, customer_id, attestation_id, date, tokens, (agreement_id, ids)).await
    }

    /// Step 1: the attestation, and the link where the customer accepts.
    async fn create_attestation(
        &self,
        sub: &Submission,
        customer_id: &str,
        app_token: &str,
        request_id: Uuid,
        ids: Ids,
    ) -> Outcome {
        let (company, country, language) = self.company_facts(sub, customer_id).await;
        let request = EnhancedRequest {
            country: &country,
            language: &language,
            company_name: &company,
            signatory: sub.request.contact(),
            customer_id,
        };
        match self.pc.create_enhanced_attestation(app_token, &request, request_id, ids.correlation).await {
            Ok(a) => match self.store.submission_set_attestation(&sub.id, &self.owner, &a.id, &a.link).await {
                Ok(true) => Outcome::Waiting { link: a.link, link_created: true },
                Ok(false) => Outcome::LeaseLost,
                Err(e) => Outcome::RetryLater { reason: e.to_string() },
            },
            Err(e) => retry_or_fail(e),
        }
    }

    /// Step 3: the agreement from the accepted attestation, with the submitter's token.
    async fn agreement(
        &self,
        sub: &Submission,
        customer_id: &str,
        attestation_id: &str,
        date: chrono::NaiveDate,
        tokens: Tokens,
        (request_id, ids): (Uuid, Ids),
    ) -> Step {
        let token = tokens.current.access_token.clone();
        let template = match self.templates.get(&self.pc, &token, ids.correlation).await {
            Ok(t) => t,
            Err(e) => return Step::ended(retry_or_fail(e), &tokens),
        };
        let contact = sub.request.contact();
        let sent = self
            .pc
            .agreement_from_attestation(
                &token,
                customer_id,
                attestation_id,
                contact,
                date,
                &template,
                request_id,
                ids.correlation,
            )
            .await;
        match sent {
            Ok(answer) => Step { recorded: Some(answer.body), ..Step::ended(Outcome::Delivered, &tokens) },
            Err(e) if e.code() == Some("600061") => {
                let found = self.landed_before(&token, customer_id, contact, date, ids).await;
                Step { recorded: found.as_ref().ok().cloned().flatten(), ..Step::ended(duplicate(found), &tokens) }
            }
            Err(e) => Step::ended(retry_or_fail(e), &tokens),
        }
    }

    /// Company name, country and language of the customer, for the enhanced attestation.
    async fn company_facts(&self, sub: &Submission, customer_id: &str) -> (String, String, String) {
        if let Some(c) = sub.request.new_customer() {
            let country = c.address.country.as_str().to_string();
            return (c.company_name.as_str().to_string(), country, c.culture.as_str().to_string());
        }
        match self.store.customer_get(&sub.tenant_id, customer_id).await {
            Ok(Some(r)) => {
                let (language, country) = r.customer.document_locale();
                (r.customer.company_name, country, language)
            }
            _ => (String::new(), "US".into(), "en-US".into()),
        }
    }
}
