//! Edit agreement: the Microsoft Customer Agreement attestation of an existing customer,
//! as Partner Center's Edit screen had it. Validated here, stored, then sent.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;
use validator::Validate;

use super::AppState;
use super::errors::{AppError, html, redirect};
use super::extractors::{Attester, Signed};
use super::pages::Layout;
use super::session;
use crate::domain::contact::same_four_details_errors;
use crate::domain::rules::field;
use crate::domain::{
    AcceptanceDate, Attestation, AttestationRequest, Contact, FieldError, IdempotencyKey, is_customer_id,
};
use crate::store::{CustomerRecord, Submission, SubmissionState};
use crate::workflows::{AttestOutcome, Outcome};

/// What the agent typed; kept whole on every failed submit.
#[derive(Debug, Clone, Default, Deserialize, Validate)]
#[serde(default)]
pub struct AgreementForm {
    #[validate(custom(function = "field::first_name"))]
    pub first_name: String,
    #[validate(custom(function = "field::last_name"))]
    pub last_name: String,
    #[validate(custom(function = "field::email"))]
    pub email: String,
    #[validate(custom(function = "field::phone"))]
    pub phone: String,
    /// Checked by the domain: it needs the clock.
    pub date_agreed: String,
    pub idempotency_key: String,
}

const FIELD_ORDER: [&str; 5] = ["first_name", "last_name", "email", "phone", "date_agreed"];

/// The form becomes an attestation, or every mistake in it.
impl TryFrom<&AgreementForm> for AttestationRequest {
    type Error = Vec<FieldError>;

    fn try_from(f: &AgreementForm) -> Result<Self, Vec<FieldError>> {
        let mut errors = f.validate().err().map(|e| FieldError::from_validation(&e)).unwrap_or_default();
        let date = AcceptanceDate::parse(&f.date_agreed, today_utc()).map_err(|e| errors.push(e)).ok();
        let contact = Contact::parse(&f.first_name, &f.last_name, &f.email, &f.phone);
        match (contact, date) {
            (Ok(contact), Some(date)) if errors.is_empty() => Ok(AttestationRequest { contact, date }),
            _ => {
                FieldError::sort_by_form(&mut errors, &FIELD_ORDER);
                Err(errors)
            }
        }
    }
}

#[derive(Template)]
#[template(path = "edit_agreement.html")]
pub struct EditAgreementPage {
    pub layout: Layout,
    pub customer_id: String,
    pub company_name: String,
    pub form: AgreementForm,
    pub errors: Vec<FieldError>,
    /// Partner Center's refusal of the last send, shown above the form.
    pub refused: Option<String>,
    pub today_utc: String,
    /// The enhanced attestation: the customer accepts at a link.
    pub enhanced: bool,
    /// Something of ours is already on its way for this customer.
    pub pending: bool,
    /// The latest attestation Partner Center listed, shown beside the form for reference.
    pub latest: Option<Attestation>,
}

impl EditAgreementPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
    pub fn has_error(&self, field: &str) -> bool {
        self.error_for(field).is_some()
    }
}

async fn customer_of(state: &AppState, signed: &Signed, id: &str) -> Result<CustomerRecord, AppError> {
    if !is_customer_id(id) {
        return Err(AppError::NotFound);
    }
    session::read_if_never_read(state, signed).await?;
    state.store.customer_get(&signed.user.tenant_id, id).await?.ok_or(AppError::NotFound)
}

fn today_utc() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

/// Whether attestations go through the enhanced flow, where the customer's acceptance at
/// the link dates the agreement (docs/partner-center.md, "Enhanced attestation").
fn enhanced_mode(state: &AppState) -> bool {
    state.settings.attestation_mode == crate::config::AttestationMode::Enhanced
}

/// The attestation the form asks for. In enhanced mode no date is asked for and one posted
/// is ignored: the day the customer accepts is the agreement's, and today's date
/// stands in only if Partner Center's date of the acceptance is unusable.
fn request_of(form: &AgreementForm, enhanced: bool) -> Result<AttestationRequest, Vec<FieldError>> {
    if enhanced {
        AttestationRequest::try_from(&AgreementForm { date_agreed: today_utc().to_string(), ..form.clone() })
    } else {
        AttestationRequest::try_from(form)
    }
}

/// The Edit agreement page with what was typed, the mistakes and Partner Center's refusal.
struct Shown {
    form: AgreementForm,
    errors: Vec<FieldError>,
    refused: Option<String>,
    status: StatusCode,
}

async fn render(
    state: &AppState,
    signed: &Signed,
    record: &CustomerRecord,
    shown: Shown,
) -> Result<HttpResponse, AppError> {
    let pending = state.store.submission_status(&signed.user.tenant_id, &record.customer.id).await?.pending;
    let page = EditAgreementPage {
        enhanced: enhanced_mode(state),
        pending,
        layout: signed.layout(&format!("Edit agreement — {}", record.customer.company_name)),
        customer_id: record.customer.id.clone(),
        company_name: record.customer.company_name.clone(),
        form: shown.form,
        errors: shown.errors,
        refused: shown.refused,
        today_utc: today_utc().to_string(),
        latest: record.attestations.first().cloned(),
    };
    Ok(html(shown.status, page.render()))
}

#[derive(Deserialize)]
struct EditQuery {
    /// A failed submission to correct.
    from: Option<String>,
    /// `latest`: the form filled with the latest attestation's person (the **Use these
    /// details** link, for browsers without the script).
    #[serde(rename = "use")]
    use_details: Option<String>,
}

/// The form filled with an attestation's person; the date stays the agent's to give.
fn form_with_person_of(a: &Attestation, key: String) -> AgreementForm {
    AgreementForm {
        first_name: a.first_name.clone(),
        last_name: a.last_name.clone(),
        email: a.email.clone(),
        phone: a.phone.clone().unwrap_or_default(),
        date_agreed: String::new(),
        idempotency_key: key,
    }
}

/// The form filled from a submission: its contact and date, as stored.
fn form_of(s: &Submission, key: String) -> AgreementForm {
    let c = s.request.contact();
    AgreementForm {
        first_name: c.first_name.to_string(),
        last_name: c.last_name.to_string(),
        email: c.email.to_string(),
        phone: c.phone.as_ref().map(|p| p.to_string()).unwrap_or_default(),
        date_agreed: s.request.date().map(|d| d.date().to_string()).unwrap_or_default(),
        idempotency_key: key,
    }
}

#[get("/customers/{id}/agreement/edit")]
async fn edit(
    state: web::Data<AppState>,
    attester: Attester,
    id: web::Path<String>,
    q: web::Query<EditQuery>,
) -> Result<HttpResponse, AppError> {
    let signed = attester.signed;
    let record = customer_of(&state, &signed, &id).await?;
    let mut form = AgreementForm { idempotency_key: session::random_token(), ..Default::default() };
    let corrected = match q.from.as_deref().filter(|f| is_customer_id(f)) {
        Some(from) => state
            .store
            .submission_get(&signed.user.tenant_id, from)
            .await?
            .filter(|s| s.customer_id.as_deref() == Some(record.customer.id.as_str())),
        None => None,
    };
    let mut refused = None;
    let latest = record.attestations.first().filter(|_| q.use_details.as_deref() == Some("latest"));
    if let Some(s) = corrected {
        form = form_of(&s, form.idempotency_key);
        refused = s.last_error.filter(|_| s.state == SubmissionState::Failed);
    } else if let Some(latest) = latest {
        form = form_with_person_of(latest, form.idempotency_key);
    }
    // Otherwise the form starts empty: the latest person is shown beside it, since the same
    // four details again would be refused (docs/partner-center.md, 600061).
    render(&state, &signed, &record, Shown { form, errors: Vec::new(), refused, status: StatusCode::OK }).await
}

/// Who Microsoft emails after a partner attestation: the customer's primary contact as
/// Partner Center holds it (the billing profile, whose email the account page shows), who
/// need not be the person just attested.
fn primary_contact_of(record: &CustomerRecord) -> Option<String> {
    let b = record.customer.billing.as_ref()?;
    let email = b.email.as_deref().filter(|e| !e.trim().is_empty())?;
    let name: Vec<&str> = [b.first_name.as_deref(), b.last_name.as_deref()].into_iter().flatten().collect();
    Some(if name.is_empty() { email.to_string() } else { format!("{}, {email}", name.join(" ")) })
}

/// What the background worker made of a submission when it took the first attempt
/// before this request could (both look for it at once): a link waiting for the customer,
/// or the attestation recorded; None while nothing is settled.
async fn worker_outcome(state: &AppState, signed: &Signed, key: &str) -> Result<Option<Outcome>, AppError> {
    let stored = state.store.submission_by_key(&signed.user.tenant_id, key).await?;
    Ok(stored.and_then(|s| match (s.state, s.acceptance_link) {
        (SubmissionState::Delivered, _) => Some(Outcome::Delivered),
        (SubmissionState::Queued, Some(link)) => Some(Outcome::Waiting { link, link_created: false }),
        _ => None,
    }))
}

/// The flash message that tells what became of a submission. `attested` is the email of
/// the person the agent entered; `record` the customer as read from Partner Center.
fn outcome_message(outcome: Option<&Outcome>, attested: &str, record: &CustomerRecord) -> String {
    match outcome {
        Some(Outcome::Waiting { .. }) => format!(
            "The customer's acceptance link is ready below. Send it to {attested} with the email ready to copy, or, if you already hold the customer's acceptance, choose Open the acceptance page now. The customer shows Pending, waiting for the customer to accept, until the agreement is accepted there."
        ),
        Some(Outcome::Delivered) => match primary_contact_of(record) {
            Some(contact) => format!(
                "Partner Center recorded the attestation. Within 30 minutes Microsoft emails the customer's primary contact as Partner Center holds it: {contact} (the billing email under Account info)."
            ),
            None => "Partner Center recorded the attestation. Within 30 minutes Microsoft emails the customer's primary contact as Partner Center holds it; Refresh shows its billing email under Account info.".into(),
        },
        _ => "Saved — it will be sent to Partner Center automatically. The customer shows Pending until Partner Center has it.".into(),
    }
}

fn message_for_existing(s: &Submission) -> String {
    match s.state {
        SubmissionState::Delivered => {
            "This was already sent: Partner Center recorded the attestation. Nothing was sent again.".into()
        }
        SubmissionState::Queued => {
            "This was already saved and will be sent to Partner Center automatically. Nothing was sent again.".into()
        }
        SubmissionState::NeedsSignIn => {
            "This was already saved and waits for a sign-in: choose Send now beside it below. Nothing was sent again."
                .into()
        }
        SubmissionState::Failed => format!(
            "This was already sent and Partner Center refused it: {}",
            s.last_error.as_deref().unwrap_or("no reason given")
        ),
    }
}

#[post("/customers/{id}/agreement")]
async fn submit(
    state: web::Data<AppState>,
    attester: Attester,
    id: web::Path<String>,
    form: web::Form<AgreementForm>,
) -> Result<HttpResponse, AppError> {
    let Attester { signed, proof } = attester;
    let record = customer_of(&state, &signed, &id).await?;
    let mut form = form.into_inner();
    let enhanced = enhanced_mode(&state);
    if enhanced {
        form.date_agreed.clear();
    }
    let key = IdempotencyKey::parse(&form.idempotency_key).ok_or_else(|| {
        AppError::BadRequest("The form is missing its submission key. Open Edit again from the customer's page.".into())
    })?;
    let request = match request_of(&form, enhanced) {
        Ok(r) => r,
        Err(errors) => {
            let shown = Shown { form, errors, refused: None, status: StatusCode::UNPROCESSABLE_ENTITY };
            return render(&state, &signed, &record, shown).await;
        }
    };
    let email = request.contact.email.to_string();
    let tokens = session::fresh_tokens(&state, &signed).await?;
    let outcome = state.workflows.attest(&proof, &tokens, &record, request, &key).await?;
    respond(&state, &signed, &record, form, outcome, &email).await
}

/// What the agent sees of an attestation handed in: the customer's page with a message,
/// or the form again (the same contact as before, or Partner Center's refusal).
async fn respond(
    state: &AppState,
    signed: &Signed,
    record: &CustomerRecord,
    form: AgreementForm,
    outcome: AttestOutcome,
    email: &str,
) -> Result<HttpResponse, AppError> {
    let again = |form, errors, refused| Shown { form, errors, refused, status: StatusCode::UNPROCESSABLE_ENTITY };
    let message = match outcome {
        AttestOutcome::AlreadySubmitted(s) => message_for_existing(&s),
        AttestOutcome::SameContact => {
            let errors = same_four_details_errors();
            return render(state, signed, record, again(form, errors, None)).await;
        }
        AttestOutcome::Stored(attempt) => match attempt.map(|a| a.outcome) {
            // Refused: the same page, everything kept, with Partner Center's reason and a
            // new key, so that the corrected form is a new submission.
            Some(Outcome::Failed { reason, .. }) => {
                let form = AgreementForm { idempotency_key: session::random_token(), ..form };
                return render(state, signed, record, again(form, Vec::new(), Some(reason))).await;
            }
            Some(outcome) => outcome_message(Some(&outcome), email, record),
            None => {
                let meanwhile = worker_outcome(state, signed, &form.idempotency_key).await?;
                outcome_message(meanwhile.as_ref(), email, record)
            }
        },
    };
    session::set_flash(&signed.session, &message);
    Ok(redirect(&format!("/customers/{}", record.customer.id)))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(edit).service(submit);
}
