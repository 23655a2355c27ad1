//! Add customer, as Partner Center had it: Account info and Customer agreement, then
//! Next: Review (with Update to change the person who accepted), then Submit. The
//! confirmation shows the new admin's sign-in name and temporary password once: they are
//! never stored, logged or shown again.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use secrecy::ExposeSecret;
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use super::customers::access_token;
use super::errors::{AppError, html};
use super::extractors::{Attester, Signed};
use super::pages::Layout;
use super::session;
use crate::domain::invitation::{self, AdminCenterInvitation, Invitation};
use crate::domain::new_customer::{
    self, AgreementChoice, COUNTRIES, CULTURES, DomainPrefix, NewCustomer, NewCustomerInput,
};
use crate::domain::{FieldError, PartnerType};
use crate::jobs::delivery::Outcome;
use crate::partner_center::RelatedPartner;
use crate::store::{AttestPayload, AuditEntry, Created, CustomerPayload, NewSubmission, Submission, SubmissionState};

/// Everything the form carries, as typed; it travels whole through Review and back.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NewCustomerForm {
    pub company_name: String,
    pub domain_prefix: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub country: String,
    pub address_line1: String,
    pub address_line2: String,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub culture: String,
    pub registration_number: String,
    pub associated_partner_id: String,
    /// "attest" or "admin_center".
    pub agreement: String,
    pub accepted: Option<String>,
    pub date_agreed: String,
    /// "", "typed" or "suggested": the answer to an address suggestion.
    pub address_choice: String,
    pub suggested_line1: String,
    pub suggested_line2: String,
    pub suggested_city: String,
    pub suggested_state: String,
    pub suggested_postal_code: String,
    pub idempotency_key: String,
}

impl NewCustomerForm {
    fn input(&self) -> NewCustomerInput<'_> {
        NewCustomerInput {
            company_name: &self.company_name,
            domain_prefix: &self.domain_prefix,
            first_name: &self.first_name,
            last_name: &self.last_name,
            email: &self.email,
            phone: &self.phone,
            country: &self.country,
            address_line1: &self.address_line1,
            address_line2: &self.address_line2,
            city: &self.city,
            state: &self.state,
            postal_code: &self.postal_code,
            culture: &self.culture,
            registration_number: &self.registration_number,
            associated_partner_id: &self.associated_partner_id,
            agreement: &self.agreement,
            accepted: self.accepted.is_some(),
            date_agreed: &self.date_agreed,
        }
    }

    fn attesting(&self) -> bool {
        self.agreement == "attest"
    }

    /// Takes the suggested address the agent chose.
    fn apply_suggestion(&mut self) {
        if self.address_choice == "suggested" && !self.suggested_line1.is_empty() {
            self.address_line1 = std::mem::take(&mut self.suggested_line1);
            self.address_line2 = std::mem::take(&mut self.suggested_line2);
            self.city = std::mem::take(&mut self.suggested_city);
            self.state = std::mem::take(&mut self.suggested_state);
            self.postal_code = std::mem::take(&mut self.suggested_postal_code);
            self.address_choice = "typed".into();
        }
    }
}

#[derive(Template)]
#[template(path = "new_customer.html")]
pub struct NewCustomerPage {
    pub layout: Layout,
    pub form: NewCustomerForm,
    pub errors: Vec<FieldError>,
    pub resellers: Vec<RelatedPartner>,
    pub suggestion: Option<crate::domain::new_customer::Address>,
    pub address_message: Option<String>,
    pub refused: Option<String>,
    pub today_utc: String,
    pub countries: &'static [(&'static str, &'static str)],
    pub cultures: &'static [(&'static str, &'static str, &'static str)],
}

impl NewCustomerPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
    pub fn has_error(&self, field: &str) -> bool {
        self.error_for(field).is_some()
    }
}

#[derive(Template)]
#[template(path = "new_customer_review.html")]
pub struct ReviewPage {
    pub layout: Layout,
    pub form: NewCustomerForm,
    pub domain: String,
    pub country_name: String,
    pub culture_name: String,
    pub reseller_name: Option<String>,
    pub address_note: Option<String>,
}

/// The confirmation. Holds the temporary password for one render; no Debug, no storage.
#[derive(Template)]
#[template(path = "new_customer_done.html")]
pub struct DonePage {
    pub layout: Layout,
    pub company_name: String,
    pub customer_id: Option<String>,
    pub sign_in_name: Option<String>,
    pub password: Option<String>,
    pub attested: bool,
    pub contact_email: String,
    /// What became of the attestation, when it did not simply succeed.
    pub attestation_note: Option<String>,
    pub invitation: Option<Invitation>,
    pub saved_only: bool,
    pub already: Option<String>,
}

fn today_utc() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

async fn resellers_of(state: &AppState, signed: &Signed) -> Vec<RelatedPartner> {
    if signed.user.partner_type != PartnerType::IndirectProvider {
        return Vec::new();
    }
    if let Some((at, list)) = state.resellers.lock().await.get(&signed.user.tenant_id)
        && at.elapsed() < std::time::Duration::from_secs(600)
    {
        return list.clone();
    }
    let Ok(token) = access_token(state, signed).await else { return Vec::new() };
    match state.pc.indirect_resellers(&token, Uuid::new_v4()).await {
        Ok(r) => {
            state.resellers.lock().await.insert(signed.user.tenant_id.clone(), (std::time::Instant::now(), r.clone()));
            r
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not read the indirect resellers");
            Vec::new()
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn form_page(
    signed: &Signed,
    form: NewCustomerForm,
    errors: Vec<FieldError>,
    resellers: Vec<RelatedPartner>,
    suggestion: Option<crate::domain::new_customer::Address>,
    address_message: Option<String>,
    refused: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let page = NewCustomerPage {
        layout: signed.layout("Add customer"),
        form,
        errors,
        resellers,
        suggestion,
        address_message,
        refused,
        today_utc: today_utc().to_string(),
        countries: &COUNTRIES,
        cultures: &CULTURES,
    };
    html(status, page.render())
}

#[get("/customers/new")]
async fn new_form(state: web::Data<AppState>, Attester(signed): Attester) -> HttpResponse {
    let resellers = resellers_of(&state, &signed).await;
    let form = NewCustomerForm {
        idempotency_key: session::random_token(),
        country: "US".into(),
        culture: "en-US".into(),
        agreement: "attest".into(),
        ..Default::default()
    };
    form_page(&signed, form, Vec::new(), resellers, None, None, None, StatusCode::OK)
}

#[derive(Deserialize)]
struct DomainQuery {
    prefix: String,
}

/// For the check as the agent leaves the field (static/app.js); answers in words.
#[get("/customers/new/domain")]
async fn domain_check(
    state: web::Data<AppState>,
    Attester(signed): Attester,
    q: web::Query<DomainQuery>,
) -> Result<HttpResponse, AppError> {
    let body = match DomainPrefix::parse(&q.prefix) {
        Err(e) => serde_json::json!({"available": false, "message": e.message}),
        Ok(prefix) => {
            let token = access_token(&state, &signed).await?;
            match state.pc.domain_available(&token, &prefix.domain(), Uuid::new_v4()).await {
                Ok(true) => {
                    serde_json::json!({"available": true, "message": format!("{} is available.", prefix.domain())})
                }
                Ok(false) => {
                    serde_json::json!({"available": false, "message": format!("{} is taken. Choose another domain prefix.", prefix.domain())})
                }
                Err(e) => {
                    serde_json::json!({"available": null, "message": format!("The domain could not be checked now ({}); it is checked again when you continue.", e.user_message())})
                }
            }
        }
    };
    Ok(HttpResponse::Ok().json(body))
}

/// Domain taken? Adds the error; a Partner Center that does not answer is no reason to
/// stop here (the create call checks again).
async fn check_domain(state: &AppState, token: &str, prefix: &str, errors: &mut Vec<FieldError>) {
    let Ok(p) = DomainPrefix::parse(prefix) else { return };
    match state.pc.domain_available(token, &p.domain(), Uuid::new_v4()).await {
        Ok(true) => {}
        Ok(false) => errors.push(FieldError::new(
            DomainPrefix::FIELD,
            format!("{} is taken. Choose another domain prefix.", p.domain()),
        )),
        Err(e) => tracing::warn!(error = %e, "domain availability could not be checked"),
    }
}

fn reseller_ids(resellers: &[RelatedPartner]) -> Vec<String> {
    resellers.iter().map(|r| r.id.clone()).collect()
}

/// A form that parsed and whose domain is free, or the form again with every mistake.
enum Checked {
    Valid { customer: NewCustomer, resellers: Vec<RelatedPartner>, token: String },
    Invalid(HttpResponse),
}

async fn check(state: &AppState, signed: &Signed, form: &NewCustomerForm) -> Result<Checked, AppError> {
    let resellers = resellers_of(state, signed).await;
    let parsed = NewCustomer::parse(&form.input(), today_utc(), &reseller_ids(&resellers));
    let mut errors = parsed.as_ref().err().cloned().unwrap_or_default();
    let token = access_token(state, signed).await?;
    check_domain(state, &token, &form.domain_prefix, &mut errors).await;
    Ok(match parsed {
        Ok(customer) if errors.is_empty() => Checked::Valid { customer, resellers, token },
        _ => Checked::Invalid(form_page(
            signed,
            form.clone(),
            errors,
            resellers,
            None,
            None,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
    })
}

#[post("/customers/new/review")]
async fn review(
    state: web::Data<AppState>,
    Attester(signed): Attester,
    form: web::Form<NewCustomerForm>,
) -> Result<HttpResponse, AppError> {
    let mut form = form.into_inner();
    form.apply_suggestion();
    let (customer, resellers, token) = match check(&state, &signed, &form).await? {
        Checked::Valid { customer, resellers, token } => (customer, resellers, token),
        Checked::Invalid(page) => return Ok(page),
    };
    let mut address_note = None;
    if form.address_choice.is_empty() {
        match state.pc.validate_address(&token, &customer.address, Uuid::new_v4()).await {
            Ok(check) if !check.suggestions.is_empty() => {
                let message =
                    check.message.unwrap_or_else(|| "Partner Center suggests a slightly different address.".into());
                let mut form = form;
                let s = &check.suggestions[0];
                form.suggested_line1 = s.line1.clone();
                form.suggested_line2 = s.line2.clone().unwrap_or_default();
                form.suggested_city = s.city.clone();
                form.suggested_state = s.state.clone().unwrap_or_default();
                form.suggested_postal_code = s.postal_code.clone();
                form.address_choice = "suggested".into();
                return Ok(form_page(
                    &signed,
                    form,
                    Vec::new(),
                    resellers,
                    Some(s.clone()),
                    Some(message),
                    None,
                    StatusCode::OK,
                ));
            }
            Ok(check) if !check.verified() => {
                let message = check.message.unwrap_or_else(|| "Partner Center could not find this address.".into());
                let errors = vec![FieldError::new(
                    "address_line1",
                    format!("{message} Check the address, or choose to keep it as typed."),
                )];
                let mut form = form;
                form.address_choice = "typed".into();
                return Ok(form_page(
                    &signed,
                    form,
                    errors,
                    resellers,
                    None,
                    None,
                    None,
                    StatusCode::UNPROCESSABLE_ENTITY,
                ));
            }
            Ok(_) => {}
            Err(e) => {
                address_note = Some(format!(
                    "The address could not be checked now ({}); Partner Center checks it when the customer is created.",
                    e.user_message()
                ))
            }
        }
    }
    let reseller_name = customer
        .associated_partner_id
        .as_ref()
        .and_then(|id| resellers.iter().find(|r| &r.id == id).map(|r| r.name.clone()));
    let page = ReviewPage {
        layout: signed.layout("Review — Add customer"),
        domain: customer.domain_prefix.domain(),
        country_name: new_customer::country_name(&customer.address.country).unwrap_or_default().to_string(),
        culture_name: CULTURES.iter().find(|c| c.0 == customer.culture).map(|c| c.2.to_string()).unwrap_or_default(),
        reseller_name,
        address_note,
        form,
    };
    Ok(html(StatusCode::OK, page.render()))
}

/// Update on the Review page: back to the form with everything kept.
#[post("/customers/new/update")]
async fn update(
    state: web::Data<AppState>,
    Attester(signed): Attester,
    form: web::Form<NewCustomerForm>,
) -> HttpResponse {
    let resellers = resellers_of(&state, &signed).await;
    form_page(&signed, form.into_inner(), Vec::new(), resellers, None, None, None, StatusCode::OK)
}

fn already_message(s: &Submission) -> String {
    match s.state {
        SubmissionState::Delivered => "This customer was already submitted and Partner Center created it. Nothing was sent again.".into(),
        SubmissionState::Queued => "This customer was already submitted and is saved; it will be sent to Partner Center automatically. Nothing was sent again.".into(),
        SubmissionState::Failed => format!("This was already submitted and Partner Center refused it: {}", s.last_error.as_deref().unwrap_or("no reason given")),
    }
}

#[post("/customers/new/submit")]
async fn submit(
    state: web::Data<AppState>,
    Attester(signed): Attester,
    form: web::Form<NewCustomerForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let tenant = signed.user.tenant_id.clone();
    let key = form.idempotency_key.trim().to_string();
    if key.is_empty() || key.len() > 100 {
        return Err(AppError::BadRequest("The form is missing its submission key. Open Add customer again.".into()));
    }
    let done_page = |already: Option<String>, customer_id: Option<String>| DonePage {
        layout: signed.layout("Add customer"),
        company_name: form.company_name.clone(),
        customer_id,
        sign_in_name: None,
        password: None,
        attested: form.attesting(),
        contact_email: form.email.clone(),
        attestation_note: None,
        invitation: None,
        saved_only: true,
        already,
    };
    if let Some(existing) = state.store.submission_by_key(&tenant, &key).await? {
        let id = Some(existing.customer_id.clone()).filter(|c| !c.is_empty());
        return Ok(html(StatusCode::OK, done_page(Some(already_message(&existing)), id).render()));
    }
    let (customer, resellers, token) = match check(&state, &signed, &form).await? {
        Checked::Valid { customer, resellers, token } => (customer, resellers, token),
        Checked::Invalid(page) => return Ok(page),
    };
    let tokens =
        session::tokens(&signed.session).ok_or(AppError::SignInRequired { return_to: "/customers/new".into() })?;
    let tokens = crate::identity::UserTokens { access_token: token, ..tokens };
    let c = &customer.contact;
    let payload = AttestPayload {
        first_name: c.first_name.as_str().into(),
        last_name: c.last_name.as_str().into(),
        email: c.email.as_str().into(),
        phone: c.phone.as_ref().map(|p| p.as_str().to_string()).unwrap_or_default(),
        date_agreed: match customer.agreement {
            AgreementChoice::Attest(d) => d.date().to_string(),
            AgreementChoice::AdminCenter => String::new(),
        },
    };
    let details = CustomerPayload {
        company_name: customer.company_name.clone(),
        domain_prefix: customer.domain_prefix.as_str().into(),
        country: customer.address.country.clone(),
        address_line1: customer.address.line1.clone(),
        address_line2: customer.address.line2.clone().unwrap_or_default(),
        city: customer.address.city.clone(),
        state: customer.address.state.clone().unwrap_or_default(),
        postal_code: customer.address.postal_code.clone(),
        culture: customer.culture.clone(),
        registration_number: customer.registration_number.clone().unwrap_or_default(),
        associated_partner_id: customer.associated_partner_id.clone().unwrap_or_default(),
    };
    // Stored first: from here on nothing typed can be lost.
    let created = state
        .store
        .submission_create(&NewSubmission {
            tenant_id: &tenant,
            idempotency_key: &key,
            customer_id: "",
            payload: &payload,
            customer: Some(&details),
            created_by_oid: &signed.user.oid,
            created_by_name: &signed.user.name,
            tokens: &tokens,
        })
        .await?;
    let sub = match created {
        Created::New(s) => s,
        Created::Existing(s) => {
            let id = Some(s.customer_id.clone()).filter(|c| !c.is_empty());
            return Ok(html(StatusCode::OK, done_page(Some(already_message(&s)), id).render()));
        }
    };
    state
        .store
        .audit(&AuditEntry {
            detail: Some(format!(
                "{} ({}); {}",
                details.company_name,
                customer.domain_prefix.domain(),
                if payload.date_agreed.is_empty() {
                    "to accept in the Microsoft 365 admin center".to_string()
                } else {
                    format!("attested, agreement acceptance date {}", payload.date_agreed)
                }
            )),
            request_id: Some(sub.ms_request_id.clone()),
            correlation_id: Some(sub.ms_correlation_id.clone()),
            ..signed.user.audit("create_customer_submitted", "saved")
        })
        .await?;
    let attempt = state
        .delivery
        .deliver_now(&tenant, &sub.id, std::time::Duration::from_secs(state.settings.deliver_wait_seconds))
        .await?;
    let Some(attempt) = attempt else {
        return Ok(html(StatusCode::OK, done_page(None, None).render()));
    };
    let Some(created) = attempt.created else {
        return Ok(match attempt.outcome {
            Outcome::Failed { reason, .. } => {
                // Refused before the customer existed: the form again, everything kept,
                // with Partner Center's reason and a new key for the corrected submission.
                let form = NewCustomerForm { idempotency_key: session::random_token(), ..form };
                form_page(
                    &signed,
                    form,
                    Vec::new(),
                    resellers,
                    None,
                    None,
                    Some(reason),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
            }
            _ => html(StatusCode::OK, done_page(None, attempt.customer_id).render()),
        });
    };
    let attestation_note = match (&attempt.outcome, form.attesting()) {
        (_, false) | (Outcome::Delivered, true) => None,
        (Outcome::Waiting { .. }, true) => Some(
            "Send the customer the acceptance link in the email below: they accept the Microsoft Customer Agreement there, without signing in. The customer shows Pending until then."
                .into(),
        ),
        (Outcome::Failed { reason, .. }, true) => Some(format!("{reason} Open the customer and use Edit to correct it and send it again.")),
        (_, true) => Some("The attestation is saved and will be sent to Partner Center automatically; the customer shows Pending until then.".into()),
    };
    let invitation = match &attempt.outcome {
        _ if !form.attesting() => Some(invitation::admin_center(&AdminCenterInvitation {
            contact_first_name: customer.contact.first_name.as_str(),
            contact_email: customer.contact.email.as_str(),
            company_name: &customer.company_name,
            sign_in_name: Some(&created.user_name),
            partner_name: &signed.user.partner_name,
            agent_name: &signed.user.name,
        })),
        Outcome::Waiting { link } => Some(invitation::acceptance_link(&invitation::AcceptanceLinkInvitation {
            contact_first_name: customer.contact.first_name.as_str(),
            contact_email: customer.contact.email.as_str(),
            company_name: &customer.company_name,
            link,
            partner_name: &signed.user.partner_name,
            agent_name: &signed.user.name,
            new_customer: true,
        })),
        _ => None,
    };
    if invitation.is_some() {
        state
            .store
            .audit(&AuditEntry {
                customer_id: Some(created.customer.id.clone()),
                detail: Some(format!(
                    "accept in the Microsoft 365 admin center: {}",
                    invitation::ADMIN_CENTER_AGREEMENT_LINK
                )),
                ..signed.user.audit("invitation_generated", "ok")
            })
            .await?;
    }
    let page = DonePage {
        layout: signed.layout("Customer added"),
        company_name: customer.company_name.clone(),
        customer_id: Some(created.customer.id.clone()),
        sign_in_name: Some(created.user_name.clone()),
        password: Some(created.password.expose_secret().to_string()).filter(|p| !p.is_empty()),
        attested: form.attesting(),
        contact_email: customer.contact.email.as_str().to_string(),
        attestation_note,
        invitation,
        saved_only: false,
        already: None,
    };
    Ok(html(StatusCode::OK, page.render()))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(new_form).service(domain_check).service(review).service(update).service(submit);
}
