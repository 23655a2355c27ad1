//! Send now of a new customer not created yet: one whose author's sign-in ended while it
//! was queued waits for a sign-in, and has no customer page to send it from; the Customers
//! page lists it, and an attester sends it from there with their own sign-in. The answer
//! is Add customer's confirmation (docs/architecture.md, "New customers not created yet").

use actix_web::{HttpResponse, post, web};

use super::{Summary, already_message, created_page, saved_page};
use crate::domain::is_customer_id;
use crate::web::AppState;
use crate::web::errors::{AppError, redirect};
use crate::web::extractors::Attester;
use crate::web::session;
use crate::workflows::{AddCustomerOutcome, NewCustomerSendNow};

#[post("/customers/new/submissions/{submission}/send")]
pub(super) async fn send_now(
    state: web::Data<AppState>,
    attester: Attester,
    submission: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    // Submission ids have the form of customer ids (a GUID).
    if !is_customer_id(&submission) {
        return Err(AppError::NotFound);
    }
    let Attester { signed, proof } = attester;
    let tokens = session::fresh_tokens(&state, &signed).await?;
    let (customer, outcome) = match state.workflows.send_new_customer_now(&proof, &tokens, &submission).await? {
        NewCustomerSendNow::NotFound => return Err(AppError::NotFound),
        NewCustomerSendNow::NotWaiting => {
            let message = "This new customer no longer waits for a sign-in: someone sent it already. It is listed below: under New customers not created yet while Partner Center has not created it, in the list of customers once it has.";
            session::set_flash(&signed.session, message);
            return Ok(redirect("/customers"));
        }
        NewCustomerSendNow::Sent { customer, outcome } => (customer, outcome),
    };
    let enhanced = state.settings.attestation_mode == crate::config::AttestationMode::Enhanced;
    let summary = Summary::of_customer(&customer, enhanced);
    let refused = |reason: &str| {
        let message = format!(
            "{} was sent with your sign-in, and Partner Center refused it: {reason} Choose Add customer to enter it again, corrected.",
            customer.company_name.as_str()
        );
        session::set_flash(&signed.session, &message);
        redirect("/customers")
    };
    Ok(match outcome {
        AddCustomerOutcome::Created { created, outcome, invitation } => {
            created_page(&signed, summary, &created, &outcome, invitation, state.workflows.can_send_email())
        }
        AddCustomerOutcome::Saved => saved_page(&signed, summary, None, None),
        AddCustomerOutcome::NotCreatedYet { customer_id } => saved_page(&signed, summary, None, customer_id),
        AddCustomerOutcome::AlreadySubmitted(s) => {
            let id = s.customer_id.clone();
            saved_page(&signed, summary, Some(already_message(&s)), id)
        }
        AddCustomerOutcome::Refused(reason) => refused(&reason),
        AddCustomerOutcome::Invalid(errors) => {
            refused(&errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join(" "))
        }
    })
}
