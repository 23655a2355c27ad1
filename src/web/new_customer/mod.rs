//! Add customer, as Partner Center had it: Account info and Customer agreement, then
//! Next: Review (with Update to change the person who accepted), then Submit. The
//! confirmation shows the new admin's sign-in name and temporary password once: they are
//! never stored, logged or shown again.

mod form;
mod pages;
mod send_now;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::AppState;
use super::errors::{AppError, html};
use super::extractors::{Attester, Signed};
use super::session;
use crate::domain::new_customer::{CULTURES, DomainPrefix, NewCustomer};
use crate::domain::{CustomerSummary, FieldError, IdempotencyKey};
use crate::store::{Submission, SubmissionState};
use crate::web::invitations::InvitationEditor;
use crate::workflows::MadeInvitation;
use crate::workflows::{AddCustomerOutcome, AddressReview, DomainCheck, Outcome, ReviewOutcome};
use crate::workflows::{CreatedCustomer, RelatedPartner, SuggestedAddress};
use form::NewCustomerForm;
use pages::{DonePage, NewCustomerPage, ReviewPage};

fn today_utc() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

/// Whether attestations go through the enhanced flow (the customer accepts at a link).
fn enhanced_mode(state: &AppState) -> bool {
    state.settings.attestation_mode == crate::config::AttestationMode::Enhanced
}

/// The indirect resellers to offer (an indirect provider's); none when they can't be read.
async fn resellers_of(state: &AppState, signed: &Signed) -> Vec<RelatedPartner> {
    session::indirect_resellers(state, signed).await
}

/// The form again, with what the page must say besides the fields.
#[derive(Default)]
struct Notes {
    errors: Vec<FieldError>,
    suggestion: Option<SuggestedAddress>,
    address_message: Option<String>,
    refused: Option<String>,
}

fn form_page(
    signed: &Signed,
    form: NewCustomerForm,
    resellers: Vec<RelatedPartner>,
    notes: Notes,
    status: StatusCode,
) -> HttpResponse {
    let page = NewCustomerPage {
        layout: signed.layout("Add customer"),
        form,
        errors: notes.errors,
        resellers,
        suggestion: notes.suggestion,
        address_message: notes.address_message,
        refused: notes.refused,
        today_utc: today_utc().to_string(),
        countries: pages::country_options(),
        cultures: &CULTURES,
    };
    html(status, page.render())
}

#[get("/customers/new")]
async fn new_form(state: web::Data<AppState>, attester: Attester) -> HttpResponse {
    let signed = attester.signed;
    let resellers = resellers_of(&state, &signed).await;
    let form = NewCustomerForm {
        idempotency_key: session::random_token(),
        country: "US".into(),
        agreement: "attest".into(),
        ..Default::default()
    }
    .in_mode(enhanced_mode(&state));
    form_page(&signed, form, resellers, Notes::default(), StatusCode::OK)
}

#[derive(Deserialize)]
struct DomainQuery {
    prefix: String,
}

/// For the check as the agent leaves the field (static/app.js); answers in words.
#[get("/customers/new/domain")]
async fn domain_check(
    state: web::Data<AppState>,
    attester: Attester,
    q: web::Query<DomainQuery>,
) -> Result<HttpResponse, AppError> {
    let body = match DomainPrefix::parse(DomainPrefix::FIELD, &q.prefix) {
        Err(e) => serde_json::json!({"available": false, "message": e.message}),
        Ok(prefix) => {
            let token = session::access_token(&state, &attester.signed).await?;
            match state.workflows.domain_check(&token, &prefix).await {
                DomainCheck::Available(m) => serde_json::json!({"available": true, "message": m}),
                DomainCheck::Taken(m) => serde_json::json!({"available": false, "message": m}),
                DomainCheck::Unknown(m) => serde_json::json!({"available": null, "message": m}),
            }
        }
    };
    Ok(HttpResponse::Ok().json(body))
}

/// A suggested address offered at the top of the form, with the form ready to take it.
fn offer_suggestion(mut form: NewCustomerForm, s: &SuggestedAddress) -> NewCustomerForm {
    form.suggested_line1 = s.line1.clone();
    form.suggested_line2 = s.line2.clone().unwrap_or_default();
    form.suggested_city = s.city.clone();
    form.suggested_state = s.state.clone().unwrap_or_default();
    form.suggested_postal_code = s.postal_code.clone();
    form.address_choice = "suggested".into();
    form
}

#[post("/customers/new/review")]
async fn review(
    state: web::Data<AppState>,
    attester: Attester,
    form: web::Form<NewCustomerForm>,
) -> Result<HttpResponse, AppError> {
    let Attester { signed, proof } = attester;
    let mut form = form.into_inner().in_mode(enhanced_mode(&state));
    form.apply_suggestion();
    form.drop_unused_date();
    let token = session::access_token(&state, &signed).await?;
    let answered = !form.address_choice.is_empty();
    let outcome = state.workflows.review_new_customer(&proof, &token, form.draft(), answered).await?;
    let resellers = resellers_of(&state, &signed).await;
    Ok(reviewed(&signed, form, resellers, outcome))
}

/// The Review page, or the form again with what must be corrected or answered first.
fn reviewed(
    signed: &Signed,
    form: NewCustomerForm,
    resellers: Vec<RelatedPartner>,
    outcome: ReviewOutcome,
) -> HttpResponse {
    let (customer, address, same_name) = match outcome {
        ReviewOutcome::Invalid(errors) => {
            let notes = Notes { errors, ..Notes::default() };
            return form_page(signed, form, resellers, notes, StatusCode::UNPROCESSABLE_ENTITY);
        }
        ReviewOutcome::Valid { customer, address, same_name } => (customer, address, same_name),
    };
    let note = match address {
        Some(AddressReview::Suggest { suggestion, message }) => {
            let form = offer_suggestion(form, &suggestion);
            let notes = Notes { suggestion: Some(suggestion), address_message: Some(message), ..Notes::default() };
            return form_page(signed, form, resellers, notes, StatusCode::OK);
        }
        Some(AddressReview::NotFound(message)) => {
            let message = format!("{message} Check the address, or choose to keep it as typed.");
            let form = NewCustomerForm { address_choice: "typed".into(), ..form };
            let notes = Notes { errors: vec![FieldError::new("address_line1", message)], ..Notes::default() };
            return form_page(signed, form, resellers, notes, StatusCode::UNPROCESSABLE_ENTITY);
        }
        Some(AddressReview::Unchecked(note)) => Some(note),
        Some(AddressReview::Verified) | None => None,
    };
    review_page(signed, form, &customer, &resellers, ReviewNotes { address: note, same_name })
}

/// What Review says besides the values: an address that could not be checked, and the
/// customers that already have this name.
struct ReviewNotes {
    address: Option<String>,
    same_name: Vec<CustomerSummary>,
}

fn review_page(
    signed: &Signed,
    form: NewCustomerForm,
    customer: &NewCustomer,
    resellers: &[RelatedPartner],
    notes: ReviewNotes,
) -> HttpResponse {
    // The reseller by name, or by its id when the names could not be read now.
    let reseller = customer.associated_partner_id.as_ref().map(|id| {
        resellers.iter().find(|r| r.id == id.as_str()).map(|r| r.name.clone()).unwrap_or_else(|| id.to_string())
    });
    let page = ReviewPage {
        layout: signed.layout("Review — Add customer"),
        domain: customer.domain_prefix.domain(),
        country_name: customer.address.country.name().to_string(),
        culture_name: customer.culture.name().to_string(),
        reseller,
        address_note: notes.address,
        same_name: notes.same_name,
        form,
    };
    html(StatusCode::OK, page.render())
}

/// Update on the Review page: back to the form with everything kept.
#[post("/customers/new/update")]
async fn update(state: web::Data<AppState>, attester: Attester, form: web::Form<NewCustomerForm>) -> HttpResponse {
    let resellers = resellers_of(&state, &attester.signed).await;
    let form = form.into_inner().in_mode(enhanced_mode(&state));
    form_page(&attester.signed, form, resellers, Notes::default(), StatusCode::OK)
}

fn already_message(s: &Submission) -> String {
    match s.state {
        SubmissionState::Delivered => "This customer was already submitted and Partner Center created it. Nothing was sent again.".into(),
        SubmissionState::Queued => "This customer was already submitted and is saved; it will be sent to Partner Center automatically. Nothing was sent again.".into(),
        SubmissionState::NeedsSignIn => "This customer was already submitted and is saved, but the sign-in it was saved with has ended, so it waits for an Admin or Sales agent to send it again. Nothing was sent.".into(),
        SubmissionState::Failed => format!("This was already submitted and Partner Center refused it: {}", s.last_error.as_deref().unwrap_or("no reason given")),
    }
}

/// What the confirmation says of the new customer: as the form was typed, or as a
/// submission sent later with Send now was stored.
struct Summary {
    company_name: String,
    contact_email: String,
    attested: bool,
    /// The customer accepts at the link of an enhanced attestation.
    at_link: bool,
}

impl Summary {
    fn of_form(form: &NewCustomerForm) -> Summary {
        Summary {
            company_name: form.company_name.trim().to_string(),
            contact_email: form.email.trim().to_string(),
            attested: form.attesting(),
            at_link: form.accepts_at_link(),
        }
    }

    fn of_customer(customer: &NewCustomer, enhanced: bool) -> Summary {
        Summary {
            company_name: customer.company_name.as_str().to_string(),
            contact_email: customer.contact.email.as_str().to_string(),
            attested: customer.attests(),
            at_link: enhanced && customer.attests(),
        }
    }
}

/// The confirmation when nothing was created in this request: saved, or sent before.
fn saved_page(signed: &Signed, summary: Summary, already: Option<String>, customer_id: Option<String>) -> HttpResponse {
    let page = DonePage {
        layout: signed.layout("Add customer"),
        company_name: summary.company_name,
        customer_id,
        sign_in_name: None,
        password: None,
        attested: summary.attested,
        at_link: summary.at_link,
        acceptance_link: None,
        contact_email: summary.contact_email,
        attestation_note: None,
        invitation: None,
        saved_only: true,
        already,
    };
    html(StatusCode::OK, page.render())
}

/// The confirmation of a customer created in this request, with its admin's sign-in
/// details (shown this once) and the invitation email when the customer must act.
fn created_page(
    signed: &Signed,
    summary: Summary,
    created: &CreatedCustomer,
    outcome: &Outcome,
    invitation: Option<MadeInvitation>,
    can_send: bool,
) -> HttpResponse {
    let invitation = invitation.map(|m| {
        let mut ed =
            InvitationEditor::of(&m.record.invitation.id, &m.record.invitation.link, &m.on_screen, true, can_send);
        ed.password = Some(created.password.expose_secret().to_string()).filter(|p| !p.is_empty());
        ed
    });
    let page = DonePage {
        layout: signed.layout("Customer added"),
        customer_id: Some(created.customer.id.clone()),
        sign_in_name: Some(created.user_name.clone()),
        password: Some(created.password.expose_secret().to_string()).filter(|p| !p.is_empty()),
        attestation_note: attestation_note(outcome, summary.attested),
        acceptance_link: match outcome {
            Outcome::Waiting { link, .. } => Some(link.clone()),
            _ => None,
        },
        company_name: summary.company_name,
        attested: summary.attested,
        at_link: summary.at_link,
        contact_email: summary.contact_email,
        invitation,
        saved_only: false,
        already: None,
    };
    html(StatusCode::OK, page.render())
}

/// What the confirmation says of the attestation, when it did not simply succeed.
fn attestation_note(outcome: &Outcome, attesting: bool) -> Option<String> {
    match (outcome, attesting) {
        (_, false) | (Outcome::Delivered, true) => None,
        (Outcome::Waiting { .. }, true) => Some(
            "The customer's acceptance link is ready. Send it to the signatory with the email below, or, if you already hold the customer's acceptance, choose Open the acceptance page now. The customer shows Pending, waiting for the customer to accept, until it is accepted there."
                .into(),
        ),
        (Outcome::Failed { reason, .. }, true) => {
            Some(format!("{reason} Open the customer and use Edit to correct it and send it again."))
        }
        (_, true) => Some(
            "The attestation is saved and will be sent to Partner Center automatically; the customer shows Pending until then."
                .into(),
        ),
    }
}

#[post("/customers/new/submit")]
async fn submit(
    state: web::Data<AppState>,
    attester: Attester,
    form: web::Form<NewCustomerForm>,
) -> Result<HttpResponse, AppError> {
    let Attester { signed, proof } = attester;
    let mut form = form.into_inner().in_mode(enhanced_mode(&state));
    form.drop_unused_date();
    let key = IdempotencyKey::parse(&form.idempotency_key).ok_or_else(|| {
        AppError::BadRequest("The form is missing its submission key. Open Add customer again.".into())
    })?;
    let tokens = session::fresh_tokens(&state, &signed).await?;
    let outcome = state.workflows.add_customer(&proof, &tokens, form.draft(), &key).await?;
    Ok(match outcome {
        AddCustomerOutcome::AlreadySubmitted(s) => {
            let id = s.customer_id.clone();
            saved_page(&signed, Summary::of_form(&form), Some(already_message(&s)), id)
        }
        AddCustomerOutcome::Invalid(errors) => {
            let resellers = resellers_of(&state, &signed).await;
            let notes = Notes { errors, ..Notes::default() };
            form_page(&signed, form, resellers, notes, StatusCode::UNPROCESSABLE_ENTITY)
        }
        AddCustomerOutcome::Saved => saved_page(&signed, Summary::of_form(&form), None, None),
        AddCustomerOutcome::NotCreatedYet { customer_id } => {
            saved_page(&signed, Summary::of_form(&form), None, customer_id)
        }
        AddCustomerOutcome::Refused(reason) => {
            // Refused before the customer existed: the form again, everything kept, with
            // Partner Center's reason and a new key for the corrected submission.
            let resellers = resellers_of(&state, &signed).await;
            let form = NewCustomerForm { idempotency_key: session::random_token(), ..form };
            let notes = Notes { refused: Some(reason), ..Notes::default() };
            form_page(&signed, form, resellers, notes, StatusCode::UNPROCESSABLE_ENTITY)
        }
        AddCustomerOutcome::Created { created, outcome, invitation } => created_page(
            &signed,
            Summary::of_form(&form),
            &created,
            &outcome,
            invitation,
            state.workflows.can_send_email(),
        ),
    })
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(new_form)
        .service(domain_check)
        .service(review)
        .service(update)
        .service(submit)
        .service(send_now::send_now);
}
