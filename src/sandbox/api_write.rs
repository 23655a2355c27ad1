//! The sandbox Partner Center API, write side: attestation of the MCA and creation of
//! customers. Attestation follows Microsoft's page on confirming customer acceptance
//! (<https://learn.microsoft.com/partner-center/developer/confirm-customer-consent-customer-agreement>;
//! the call is summarised in `docs/partner-center.md`): App+User only, Admin or Sales
//! agents of a partner that may attest, no date after now in UTC, the current template,
//! and no second attestation with exactly the same contact (600061). The rules and lists
//! themselves are in `rules`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Value, json};

use super::api::{Caller, authenticate, pc_error};
use super::rules;
use super::seed::{self, SeedAgreement, SeedContact};
use super::state::SandboxState;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/customers/{id}/agreements", web::post().to(attest));
}

/// Only Admin agents and Sales agents (a Global admin counts) of a partner that is not an
/// indirect reseller (or is a direct-bill partner too).
fn require_attester(state: &SandboxState, caller: &Caller) -> Result<String, HttpResponse> {
    let Caller::User { tenant, oid, groups } = caller else {
        return Err(pc_error(
            StatusCode::FORBIDDEN,
            600006,
            "ActionNotAllowed",
            "Attestation requires App+User credentials.",
        ));
    };
    let Some(roles) = rules::agent_roles(tenant, groups) else {
        return Err(pc_error(StatusCode::FORBIDDEN, 600006, "ActionNotAllowed", "Unknown partner."));
    };
    if !state.may_attest_as_partner(tenant) {
        return Err(pc_error(
            StatusCode::FORBIDDEN,
            600006,
            "ActionNotAllowed",
            "Indirect resellers can't attest on behalf of their customers. Work with your indirect provider to complete attestation.",
        ));
    }
    if !rules::admin_or_sales(&roles) {
        return Err(pc_error(
            StatusCode::FORBIDDEN,
            600006,
            "ActionNotAllowed",
            "Only Admin agents and Sales agents can attest.",
        ));
    }
    Ok(oid.clone())
}

fn parse_when(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").ok().map(|t| t.and_utc()))
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc())
        })
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(String::from)
}

async fn attest(
    state: web::Data<SandboxState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let caller = match authenticate(&state, &req) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let user_oid = match require_attester(&state, &caller) {
        Ok(oid) => oid,
        Err(r) => return r,
    };
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return pc_error(StatusCode::BAD_REQUEST, 400, "InvalidRequestBody", "The body is not JSON.");
    };
    let (when, contact) = match read_agreement(&state, &v) {
        Ok(read) => read,
        Err(r) => return r,
    };
    // Step 3 of the enhanced attestation: the customer must have accepted at the link.
    if let Some(attestation_id) = v["attestationId"].as_str()
        && let Err(r) = super::enhanced::accepted_attestation(&state, caller.tenant(), &id, attestation_id)
    {
        return r;
    }
    record_agreement(&state, caller.tenant(), &id, contact, when, user_oid)
}

/// The checks of the body, in Partner Center's order; the date and the contact.
fn read_agreement(state: &SandboxState, v: &Value) -> Result<(DateTime<Utc>, SeedContact), HttpResponse> {
    check_agreement_kind(state, v)?;
    Ok((agreed_at(v)?, primary_contact(v)?))
}

/// The body's type, `userId` and template: an MCA, no user id (the service fills it in
/// from the token), and the current template.
fn check_agreement_kind(state: &SandboxState, v: &Value) -> Result<(), HttpResponse> {
    if v["type"] != "MicrosoftCustomerAgreement" {
        return Err(pc_error(
            StatusCode::BAD_REQUEST,
            400,
            "InvalidAgreementType",
            "type must be MicrosoftCustomerAgreement.",
        ));
    }
    if !v["userId"].is_null() {
        return Err(pc_error(
            StatusCode::BAD_REQUEST,
            400,
            "InvalidRequestBody",
            "userId is filled in by the service from the App+User token; do not send it.",
        ));
    }
    match v["templateId"].as_str() {
        Some(t) if t == state.template_id => Ok(()),
        Some(_) => Err(pc_error(
            StatusCode::BAD_REQUEST,
            400,
            "InvalidTemplate",
            "The agreement template is no longer supported. Read the current template id from the agreement metadata.",
        )),
        None => Err(pc_error(StatusCode::BAD_REQUEST, 400, "InvalidTemplate", "templateId is required.")),
    }
}

/// `dateAgreed`, readable and not after now in UTC (600002).
fn agreed_at(v: &Value) -> Result<DateTime<Utc>, HttpResponse> {
    let Some(when) = v["dateAgreed"].as_str().and_then(parse_when) else {
        return Err(pc_error(
            StatusCode::BAD_REQUEST,
            400,
            "InvalidDate",
            "dateAgreed is required, as YYYY-MM-DDT00:00:00Z.",
        ));
    };
    if when > Utc::now() {
        return Err(pc_error(
            StatusCode::BAD_REQUEST,
            600002,
            "InvalidDateAgreed",
            "Date of agreement cannot be greater than the current date",
        ));
    }
    Ok(when)
}

/// `primaryContact`: first name, last name (each at most 50 characters) and an email
/// address are required, the phone number is optional.
fn primary_contact(v: &Value) -> Result<SeedContact, HttpResponse> {
    let c = &v["primaryContact"];
    let (Some(first), Some(last), Some(email)) = (text(&c["firstName"]), text(&c["lastName"]), text(&c["email"]))
    else {
        return Err(pc_error(
            StatusCode::BAD_REQUEST,
            400,
            "InvalidPrimaryContact",
            "primaryContact needs firstName, lastName and email.",
        ));
    };
    if first.chars().count() > 50 || last.chars().count() > 50 || !email.contains('@') {
        return Err(pc_error(
            StatusCode::BAD_REQUEST,
            400,
            "InvalidPrimaryContact",
            "The primary contact's names or email are not valid.",
        ));
    }
    Ok(SeedContact { first_name: first, last_name: last, email, phone: text(&c["phoneNumber"]) })
}

/// Adds the agreement to the caller's customer, unless the same contact already has one
/// (600061), and answers with it.
fn record_agreement(
    state: &SandboxState,
    tenant: &str,
    customer_id: &str,
    contact: SeedContact,
    when: DateTime<Utc>,
    user_oid: String,
) -> HttpResponse {
    let mut data = state.data();
    let Some(customer) = data.customers.iter_mut().find(|x| x.id == customer_id && x.tenant_id == tenant) else {
        return pc_error(
            StatusCode::NOT_FOUND,
            404,
            "CustomerNotFound",
            "The customer was not found for this partner.",
        );
    };
    if customer.agreements.iter().any(|a| rules::same_contact(&a.contact, &contact)) {
        return pc_error(
            StatusCode::BAD_REQUEST,
            600061,
            "PartnerConfirmedAgreementAlreadyExists",
            "A partner confirmed agreement already exists with the same primary contact details.",
        );
    }
    customer.agreements.push(SeedAgreement {
        contact: contact.clone(),
        date_agreed: when.date_naive(),
        user_id: Some(user_oid.clone()),
    });
    HttpResponse::Created().json(json!({
        "primaryContact": {
            "firstName": contact.first_name,
            "lastName": contact.last_name,
            "email": contact.email,
            "phoneNumber": contact.phone,
        },
        "templateId": state.template_id,
        "dateAgreed": format!("{}T00:00:00Z", when.date_naive()),
        "type": "MicrosoftCustomerAgreement",
        "userId": user_oid,
    }))
}

pub(crate) fn create_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/domains/{domain}", web::head().to(domain_taken))
        .route("/v1/validations/address", web::post().to(validate_address))
        .route("/v1/customers", web::post().to(create_customer));
}

/// Prefixes no new customer may take in the sandbox, besides existing customers'.
const RESERVED_PREFIXES: [&str; 4] = ["contoso", "fabrikam", "microsoft", "admin"];

pub(crate) fn domain_is_taken(state: &SandboxState, domain: &str) -> bool {
    let d = domain.to_ascii_lowercase();
    let prefix = d.trim_end_matches(".onmicrosoft.com");
    RESERVED_PREFIXES.contains(&prefix)
        || seed::TENANTS.iter().any(|t| t.domain == d)
        || state.data().customers.iter().any(|c| c.domain.eq_ignore_ascii_case(&d))
}

/// `HEAD /v1/domains/{domain}`: 200 when taken, 404 when free.
async fn domain_taken(state: web::Data<SandboxState>, req: HttpRequest, domain: web::Path<String>) -> HttpResponse {
    if let Err(r) = authenticate(&state, &req) {
        return r;
    }
    if domain_is_taken(&state, &domain) { HttpResponse::Ok().finish() } else { HttpResponse::NotFound().finish() }
}

fn title_case(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Near-miss addresses get suggestions: an abbreviated street type spelled out, a city
/// typed in lower case capitalised.
async fn validate_address(state: web::Data<SandboxState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    if let Err(r) = authenticate(&state, &req) {
        return r;
    }
    let Ok(a) = serde_json::from_slice::<Value>(&body) else {
        return pc_error(StatusCode::BAD_REQUEST, 400, "InvalidRequestBody", "The body is not JSON.");
    };
    let country = a["country"].as_str().unwrap_or_default();
    if country.len() != 2 {
        return pc_error(StatusCode::BAD_REQUEST, 400, "InvalidCountry", "country must be two letters.");
    }
    let line1 = a["addressLine1"].as_str().unwrap_or_default().trim().to_string();
    let city = a["city"].as_str().unwrap_or_default().trim().to_string();
    let postal = a["postalCode"].as_str().unwrap_or_default().trim().to_string();
    if line1.is_empty() || city.is_empty() || postal.is_empty() {
        return HttpResponse::Ok().json(json!({
            "originalAddress": a, "suggestedAddresses": [], "status": "None",
            "validationMessage": "The address is missing its street, city or postal code.",
        }));
    }
    let mut suggested = a.clone();
    let mut changed = false;
    for (short, long) in [(" St", " Street"), (" Rd", " Road"), (" Ave", " Avenue")] {
        if line1.ends_with(short) {
            suggested["addressLine1"] = json!(format!("{}{long}", &line1[..line1.len() - short.len()]));
            changed = true;
        }
    }
    if city.chars().all(|c| !c.is_uppercase()) {
        suggested["city"] = json!(title_case(&city));
        changed = true;
    }
    if changed {
        HttpResponse::Ok().json(json!({
            "originalAddress": a, "suggestedAddresses": [suggested], "status": "InteractionRequired",
            "validationMessage": "The address was found with small differences; choose the suggested address or keep yours.",
        }))
    } else {
        HttpResponse::Ok().json(json!({"originalAddress": a, "suggestedAddresses": [], "status": "VerifiedShippable", "validationMessage": ""}))
    }
}

fn random_password() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    let body: String = (0..12).map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char).collect();
    format!("{body}!7")
}

async fn create_customer(state: web::Data<SandboxState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let caller = match authenticate(&state, &req).and_then(|c| require_creator(&c).map(|()| c)) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return pc_error(StatusCode::BAD_REQUEST, 400, "InvalidRequestBody", "The body is not JSON.");
    };
    let (domain, associated) = match read_new_customer(&caller, &v) {
        Ok(read) => read,
        Err(r) => return r,
    };
    if domain_is_taken(&state, &domain) {
        return pc_error(
            StatusCode::CONFLICT,
            409,
            "DomainAlreadyExists",
            "The domain is already taken; choose another domain prefix.",
        );
    }
    let created = new_customer(caller.tenant(), domain, &v["billingProfile"], associated);
    let password = random_password();
    let mut answer = super::api::customer_json(&created, true);
    state.data().customers.push(created);
    answer["userCredentials"] = json!({"userName": "admin", "password": password});
    HttpResponse::Created().json(answer)
}

/// A user creating a customer must be an Admin or Sales agent; the application itself may.
fn require_creator(caller: &Caller) -> Result<(), HttpResponse> {
    let Caller::User { tenant, groups, .. } = caller else {
        return Ok(());
    };
    if rules::agent_roles(tenant, groups).is_some_and(|roles| rules::admin_or_sales(&roles)) {
        return Ok(());
    }
    Err(pc_error(
        StatusCode::FORBIDDEN,
        600006,
        "ActionNotAllowed",
        "Only Admin agents and Sales agents can create customers.",
    ))
}

fn invalid_customer(why: &str) -> HttpResponse {
    pc_error(StatusCode::BAD_REQUEST, 400, "InvalidCustomer", why)
}

/// The length of a text field without surrounding spaces, 0 when it is missing.
fn trimmed_len(x: &Value) -> usize {
    x.as_str().map(|s| s.trim().chars().count()).unwrap_or(0)
}

/// The checks of a new customer, in Partner Center's order; the domain (in lower case)
/// and the indirect reseller it is created for, if any.
fn read_new_customer(caller: &Caller, v: &Value) -> Result<(String, Option<String>), HttpResponse> {
    let domain = new_domain(v)?;
    check_billing_profile(&v["billingProfile"])?;
    check_country_rules(v)?;
    Ok((domain, associated_partner(caller, v)?))
}

/// `companyProfile.domain`: `<prefix>.onmicrosoft.com`, the prefix 1–27 letters and digits.
fn new_domain(v: &Value) -> Result<String, HttpResponse> {
    let domain = v["companyProfile"]["domain"].as_str().unwrap_or_default().to_ascii_lowercase();
    let prefix = domain.strip_suffix(".onmicrosoft.com").unwrap_or_default();
    if prefix.is_empty() || prefix.len() > 27 || !prefix.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        return Err(invalid_customer(
            "companyProfile.domain must be <prefix>.onmicrosoft.com with 1–27 letters and digits.",
        ));
    }
    Ok(domain)
}

/// The billing profile's company name and email, and the lengths of its address fields.
fn check_billing_profile(b: &Value) -> Result<(), HttpResponse> {
    let a = &b["defaultAddress"];
    let len = trimmed_len;
    if len(&b["companyName"]) == 0 || !b["email"].as_str().unwrap_or_default().contains('@') {
        return Err(invalid_customer("billingProfile needs companyName and a valid email."));
    }
    if !(1..=50).contains(&len(&a["firstName"])) || !(1..=50).contains(&len(&a["lastName"])) {
        return Err(invalid_customer("defaultAddress.firstName and lastName must have 1 to 50 characters."));
    }
    if !(1..=200).contains(&len(&a["addressLine1"]))
        || len(&a["addressLine2"]) > 200
        || len(&a["state"]) > 2
        || len(&a["country"]) != 2
        || len(&a["city"]) == 0
    {
        return Err(invalid_customer(
            "defaultAddress: addressLine1 1–200, addressLine2 0–200, state 0–2, city required, country exactly 2.",
        ));
    }
    Ok(())
}

/// What the address's country asks for: a phone number (600051), a registration number.
fn check_country_rules(v: &Value) -> Result<(), HttpResponse> {
    let a = &v["billingProfile"]["defaultAddress"];
    let country = a["country"].as_str().unwrap_or_default().to_ascii_uppercase();
    if rules::phone_required(&country) && trimmed_len(&a["phoneNumber"]) == 0 {
        return Err(pc_error(
            StatusCode::BAD_REQUEST,
            600051,
            "PhoneNumberRequired",
            "A phone number is required in this country.",
        ));
    }
    if rules::registration_number_required(&country)
        && trimmed_len(&v["companyProfile"]["organizationRegistrationNumber"]) == 0
    {
        return Err(invalid_customer("organizationRegistrationNumber is required in this country."));
    }
    Ok(())
}

/// `associatedPartnerId`: with App+User credentials only, and one of the caller's own
/// indirect resellers.
fn associated_partner(caller: &Caller, v: &Value) -> Result<Option<String>, HttpResponse> {
    let Some(p) = v["associatedPartnerId"].as_str() else {
        return Ok(None);
    };
    let Caller::User { tenant, .. } = caller else {
        return Err(pc_error(
            StatusCode::FORBIDDEN,
            600006,
            "ActionNotAllowed",
            "associatedPartnerId requires App+User credentials.",
        ));
    };
    if !rules::resells_for(p, tenant) {
        return Err(invalid_customer("associatedPartnerId is not one of your indirect resellers."));
    }
    Ok(Some(p.to_string()))
}

/// The customer as the sandbox keeps it, with a fresh tenant id.
fn new_customer(
    partner: &str,
    domain: String,
    billing: &Value,
    associated_partner_id: Option<String>,
) -> seed::SeedCustomer {
    seed::SeedCustomer {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: seed::TENANTS.iter().find(|t| t.id == partner).map(|t| t.id).unwrap_or(seed::CONTOSO_TENANT),
        company_name: billing["companyName"].as_str().unwrap_or_default().trim().to_string(),
        domain,
        country: "US",
        culture: "en-US",
        city: "",
        accepted_directly: false,
        agreements: Vec::new(),
        billing: Some(billing.clone()),
        associated_partner_id,
    }
}
