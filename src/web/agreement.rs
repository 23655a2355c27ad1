//! Edit agreement: the Microsoft Customer Agreement attestation of an existing customer,
//! as Partner Center's Edit screen had it. Validated here, stored, then sent.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::AppState;
use super::customers::access_token;
use super::errors::{AppError, html, redirect};
use super::extractors::{Attester, Signed};
use super::pages::Layout;
use super::session;
use crate::domain::contact::DUPLICATE_CONTACT_MESSAGE;
use crate::domain::{AcceptanceDate, Contact, FieldError};
use crate::jobs::delivery::Outcome;
use crate::store::{AttestPayload, AuditEntry, Created, CustomerRecord, NewSubmission, Submission, SubmissionState};

/// What the agent typed; kept whole on every failed submit.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AgreementForm {
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub date_agreed: String,
    #[serde(default)]
    pub idempotency_key: String,
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
}

impl EditAgreementPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
    pub fn has_error(&self, field: &str) -> bool {
        self.error_for(field).is_some()
    }
}

async fn customer_of(state: &web::Data<AppState>, signed: &Signed, id: &str) -> Result<CustomerRecord, AppError> {
    if !super::customers::valid_customer_id(id) {
        return Err(AppError::NotFound);
    }
    super::customers::sync_if_never_read(state, signed).await?;
    state.store.customer_get(&signed.user.tenant_id, id).await?.ok_or(AppError::NotFound)
}

fn today_utc() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

async fn render(
    state: &AppState,
    signed: &Signed,
    record: &CustomerRecord,
    form: AgreementForm,
    errors: Vec<FieldError>,
    refused: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let pending = state.store.submission_status(&signed.user.tenant_id, &record.customer.id).await?.pending;
    let page = EditAgreementPage {
        enhanced: state.settings.attestation_mode == crate::config::AttestationMode::Enhanced,
        pending,
        layout: signed.layout(&format!("Edit agreement — {}", record.customer.company_name)),
        customer_id: record.customer.id.clone(),
        company_name: record.customer.company_name.clone(),
        form,
        errors,
        refused,
        today_utc: today_utc().to_string(),
    };
    Ok(html(status, page.render()))
}

#[derive(Deserialize)]
struct EditQuery {
    /// A failed submission to correct.
    from: Option<String>,
}

#[get("/customers/{id}/agreement/edit")]
async fn edit(
    state: web::Data<AppState>,
    Attester(signed): Attester,
    id: web::Path<String>,
    q: web::Query<EditQuery>,
) -> Result<HttpResponse, AppError> {
    let record = customer_of(&state, &signed, &id).await?;
    let mut form = AgreementForm { idempotency_key: session::random_token(), ..Default::default() };
    let corrected = match q.from.as_deref().filter(|f| super::customers::valid_customer_id(f)) {
        Some(from) => state
            .store
            .submission_get(&signed.user.tenant_id, from)
            .await?
            .filter(|s| s.customer_id == record.customer.id),
        None => None,
    };
    let mut refused = None;
    if let Some(s) = corrected {
        let p = s.payload;
        form = AgreementForm {
            first_name: p.first_name,
            last_name: p.last_name,
            email: p.email,
            phone: p.phone,
            date_agreed: p.date_agreed,
            ..form
        };
        refused = s.last_error.filter(|_| s.state == SubmissionState::Failed);
    } else if let Some(latest) = record.attestations.first() {
        // Pre-filled from the latest attestation's contact; the date is the agent's to give.
        form.first_name = latest.first_name.clone();
        form.last_name = latest.last_name.clone();
        form.email = latest.email.clone();
        form.phone = latest.phone.clone().unwrap_or_default();
    }
    render(&state, &signed, &record, form, Vec::new(), refused, StatusCode::OK).await
}

/// The flash message that tells what became of a submission.
fn outcome_message(outcome: Option<&Outcome>, email: &str) -> String {
    match outcome {
        Some(Outcome::Waiting { .. }) => format!(
            "The customer's acceptance link is ready. Copy it below and send it to {email}: the customer accepts the Microsoft Customer Agreement there, and the customer shows Pending until then."
        ),
        Some(Outcome::Delivered) => format!(
            "Partner Center recorded the attestation. Microsoft emails the customer's primary contact ({email}) within 30 minutes."
        ),
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
        SubmissionState::Failed => format!(
            "This was already sent and Partner Center refused it: {}",
            s.last_error.as_deref().unwrap_or("no reason given")
        ),
    }
}

#[post("/customers/{id}/agreement")]
async fn submit(
    state: web::Data<AppState>,
    Attester(signed): Attester,
    id: web::Path<String>,
    form: web::Form<AgreementForm>,
) -> Result<HttpResponse, AppError> {
    let record = customer_of(&state, &signed, &id).await?;
    let form = form.into_inner();
    let tenant = signed.user.tenant_id.clone();
    let key = form.idempotency_key.trim().to_string();
    if key.is_empty() || key.len() > 100 {
        return Err(AppError::BadRequest(
            "The form is missing its submission key. Open Edit again from the customer's page.".into(),
        ));
    }
    // A second submit of the same form (double click, reload): the first outcome, nothing sent.
    if let Some(existing) = state.store.submission_by_key(&tenant, &key).await? {
        session::set_flash(&signed.session, &message_for_existing(&existing));
        return Ok(redirect(&format!("/customers/{}", record.customer.id)));
    }
    let contact = Contact::parse(&form.first_name, &form.last_name, &form.email, &form.phone);
    let date = AcceptanceDate::parse(&form.date_agreed, today_utc());
    let (contact, date) = match (contact, date) {
        (Ok(c), Ok(d)) => (c, d),
        (c, d) => {
            let mut errors = c.err().unwrap_or_default();
            errors.extend(d.err());
            return render(&state, &signed, &record, form, errors, None, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    // Partner Center's 600061 rule, checked here first and explained.
    let pending_same = state
        .store
        .submissions_for_customer(&tenant, &record.customer.id, 50)
        .await?
        .into_iter()
        .filter(|s| s.state == SubmissionState::Queued)
        .find(|s| {
            s.payload.first_name == contact.first_name.as_str()
                && s.payload.last_name == contact.last_name.as_str()
                && s.payload.email.eq_ignore_ascii_case(contact.email.as_str())
                && s.payload.phone == contact.phone.as_ref().map(|p| p.as_str()).unwrap_or("")
        });
    if let Some(same) = pending_same.as_ref().filter(|s| s.idempotency_key == key) {
        // The same form, sent twice at once: the first one is on its way.
        session::set_flash(&signed.session, &message_for_existing(same));
        return Ok(redirect(&format!("/customers/{}", record.customer.id)));
    }
    if pending_same.is_some() || record.attestations.iter().any(|a| contact.repeats(a)) {
        let errors = vec![FieldError::new("first_name", DUPLICATE_CONTACT_MESSAGE)];
        return render(&state, &signed, &record, form, errors, None, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let token = access_token(&state, &signed).await?;
    let tokens = session::tokens(&signed.session)
        .ok_or(AppError::SignInRequired { return_to: format!("/customers/{}", record.customer.id) })?;
    let tokens = crate::identity::UserTokens { access_token: token, ..tokens };
    let payload = AttestPayload {
        first_name: contact.first_name.as_str().into(),
        last_name: contact.last_name.as_str().into(),
        email: contact.email.as_str().into(),
        phone: contact.phone.as_ref().map(|p| p.as_str().to_string()).unwrap_or_default(),
        date_agreed: date.date().to_string(),
    };
    // Stored first: from here on nothing typed can be lost.
    let created = state
        .store
        .submission_create(&NewSubmission {
            tenant_id: &tenant,
            idempotency_key: &key,
            customer_id: &record.customer.id,
            payload: &payload,
            customer: None,
            created_by_oid: &signed.user.oid,
            created_by_name: &signed.user.name,
            tokens: &tokens,
        })
        .await?;
    let sub = match created {
        Created::New(s) => s,
        Created::Existing(s) => {
            session::set_flash(&signed.session, &message_for_existing(&s));
            return Ok(redirect(&format!("/customers/{}", record.customer.id)));
        }
    };
    state
        .store
        .audit(&AuditEntry {
            customer_id: Some(record.customer.id.clone()),
            detail: Some(format!(
                "contact: {} {} <{}>; agreement acceptance date: {}",
                payload.first_name, payload.last_name, payload.email, payload.date_agreed
            )),
            request_id: Some(sub.ms_request_id.clone()),
            correlation_id: Some(sub.ms_correlation_id.clone()),
            ..signed.user.audit("attest_submitted", "saved")
        })
        .await?;
    state.store.customer_recompute_status(&tenant, &record.customer.id, &state.settings.policy()).await?;
    let outcome = state
        .delivery
        .deliver_now(&tenant, &sub.id, std::time::Duration::from_secs(state.settings.deliver_wait_seconds))
        .await?;
    let outcome = outcome.map(|a| a.outcome);
    if let Some(Outcome::Failed { reason, .. }) = &outcome {
        // Refused: the same page, everything kept, with Partner Center's reason and a new
        // key, so that the corrected form is a new submission.
        let form = AgreementForm { idempotency_key: session::random_token(), ..form };
        return render(
            &state,
            &signed,
            &record,
            form,
            Vec::new(),
            Some(reason.clone()),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    session::set_flash(&signed.session, &outcome_message(outcome.as_ref(), contact.email.as_str()));
    Ok(redirect(&format!("/customers/{}", record.customer.id)))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(edit).service(submit);
}
