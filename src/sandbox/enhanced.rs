//! The sandbox's enhanced attestation: created with an App-only token, accepted by the
//! customer's signatory on a plain page, then turned into an agreement with its id. The
//! real wire format is UNCONFIRMED; this follows the portal's guess in
//! `partner_center::enhanced`, which is where to correct both.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde_json::{Value, json};

use super::api::{Caller, authenticate, pc_error};
use super::idp::message;
use super::seed::{self, SeedContact};
use super::state::{Enhanced, SandboxState};

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/attestations/enhanced", web::post().to(create))
        .route("/v1/attestations/enhanced/{id}", web::get().to(status))
        .route("/accept/{id}", web::get().to(accept_page))
        .route("/accept/{id}", web::post().to(accept));
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(String::from)
}

async fn create(state: web::Data<SandboxState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let tenant = match authenticate(&state, &req).and_then(|c| require_app_of_attesting_partner(&state, &c)) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return pc_error(StatusCode::BAD_REQUEST, 400, "InvalidRequestBody", "The body is not JSON.");
    };
    let enhanced = match read_enhanced(tenant, &v) {
        Ok(e) => e,
        Err(r) => return r,
    };
    let id = uuid::Uuid::new_v4().to_string();
    let expires_at = enhanced.expires_at;
    state.data().enhanced.insert(id.clone(), enhanced);
    HttpResponse::Created().json(json!({
        "id": id,
        "acceptanceUrl": format!("{}/accept/{id}", state.link_base()),
        "status": "Pending",
        "expiresAt": chrono::DateTime::from_timestamp(expires_at, 0).map(|t| t.to_rfc3339()),
    }))
}

/// App-only, and not for indirect resellers unless they are direct-bill partners too (see
/// the enhanced attestation in `docs/partner-center.md`). Returns the partner tenant.
fn require_app_of_attesting_partner(state: &SandboxState, caller: &Caller) -> Result<String, HttpResponse> {
    let Caller::App { tenant } = caller else {
        return Err(pc_error(
            StatusCode::FORBIDDEN,
            600006,
            "ActionNotAllowed",
            "The enhanced attestation requires an App-only token.",
        ));
    };
    if !state.may_attest_as_partner(tenant) {
        return Err(pc_error(
            StatusCode::FORBIDDEN,
            600006,
            "ActionNotAllowed",
            "Indirect resellers can't attest on behalf of their customers.",
        ));
    }
    Ok(tenant.clone())
}

/// The request's required fields, its optional ones and the link's lifetime (5 minutes
/// to a week, a week when not given), as a pending attestation.
fn read_enhanced(tenant: String, v: &Value) -> Result<Enhanced, HttpResponse> {
    let (Some(country), Some(_language), Some(company), Some(first), Some(last)) = (
        text(&v["country"]),
        text(&v["language"]),
        text(&v["companyName"]),
        text(&v["signatoryFirstName"]),
        text(&v["signatoryLastName"]),
    ) else {
        return Err(pc_error(
            StatusCode::BAD_REQUEST,
            400,
            "InvalidRequestBody",
            "country, language, companyName, signatoryFirstName and signatoryLastName are required.",
        ));
    };
    if country.len() != 2 {
        return Err(pc_error(StatusCode::BAD_REQUEST, 400, "InvalidCountry", "country must be ISO 3166-1 alpha-2."));
    }
    let minutes = v["linkExpiryInMinutes"].as_i64().unwrap_or(10080).clamp(5, 10080);
    Ok(Enhanced {
        tenant_id: tenant,
        customer_id: text(&v["customerId"]),
        company_name: company,
        contact: SeedContact {
            first_name: first,
            last_name: last,
            email: text(&v["signatoryEmail"]).unwrap_or_default(),
            phone: text(&v["signatoryPhoneNumber"]),
        },
        expires_at: chrono::Utc::now().timestamp() + minutes * 60,
        accepted_at: None,
    })
}

fn status_of(e: &Enhanced) -> &'static str {
    if e.accepted_at.is_some() {
        "Accepted"
    } else if e.expires_at < chrono::Utc::now().timestamp() {
        "Expired"
    } else {
        "Pending"
    }
}

async fn status(state: web::Data<SandboxState>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let caller = match authenticate(&state, &req) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let d = state.data();
    match d.enhanced.get(id.as_str()).filter(|e| e.tenant_id == caller.tenant()) {
        Some(e) => HttpResponse::Ok().json(json!({
            "id": id.as_str(),
            "status": status_of(e),
            "acceptedAt": e.accepted_at.map(|t| t.to_rfc3339()),
        })),
        None => pc_error(StatusCode::NOT_FOUND, 404, "AttestationNotFound", "The attestation was not found."),
    }
}

#[derive(Template)]
#[template(path = "sandbox/accept.html")]
struct AcceptPage<'a> {
    id: &'a str,
    company: &'a str,
    signatory: String,
    partner: &'a str,
}

async fn accept_page(state: web::Data<SandboxState>, id: web::Path<String>) -> HttpResponse {
    let d = state.data();
    let Some(e) = d.enhanced.get(id.as_str()) else {
        return message(
            StatusCode::NOT_FOUND,
            "Link not found",
            "This acceptance link is not known. Ask your partner for a new one.",
        );
    };
    match status_of(e) {
        "Accepted" => message(
            StatusCode::OK,
            "Already accepted",
            "The Microsoft Customer Agreement was already accepted with this link. Nothing more to do.",
        ),
        "Expired" => message(StatusCode::GONE, "This link has expired", "Ask your partner for a new acceptance link."),
        _ => {
            let partner = seed::TENANTS.iter().find(|t| t.id == e.tenant_id).map(|t| t.name).unwrap_or("Your partner");
            let page = AcceptPage {
                id: &id,
                company: &e.company_name,
                signatory: format!("{} {}", e.contact.first_name, e.contact.last_name),
                partner,
            };
            let body = page.render().unwrap_or_default();
            HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .insert_header(("Content-Security-Policy", "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"))
                .insert_header(("Cache-Control", "no-store"))
                .body(body)
        }
    }
}

async fn accept(state: web::Data<SandboxState>, id: web::Path<String>) -> HttpResponse {
    let accepted = {
        let mut d = state.data();
        match d.enhanced.get_mut(id.as_str()) {
            Some(e) if status_of(e) == "Pending" => {
                e.accepted_at = Some(chrono::Utc::now());
                true
            }
            _ => false,
        }
    };
    if accepted {
        message(StatusCode::OK, "Thank you", "You accepted the Microsoft Customer Agreement. You can close this page.")
    } else {
        message(StatusCode::BAD_REQUEST, "Not accepted", "This link is unknown, expired or already used.")
    }
}

/// Checks an `attestationId` sent with an agreement: the caller's, accepted, for this
/// customer. Returns the signatory and the day of acceptance.
pub(crate) fn accepted_attestation(
    state: &SandboxState,
    tenant: &str,
    customer_id: &str,
    id: &str,
) -> Result<(SeedContact, chrono::NaiveDate), HttpResponse> {
    let d = state.data();
    let Some(e) = d.enhanced.get(id).filter(|e| e.tenant_id == tenant) else {
        return Err(pc_error(StatusCode::BAD_REQUEST, 400, "InvalidAttestation", "The attestation id is unknown."));
    };
    if e.customer_id.as_deref().is_some_and(|c| c != customer_id) {
        return Err(pc_error(
            StatusCode::BAD_REQUEST,
            400,
            "InvalidAttestation",
            "The attestation belongs to another customer.",
        ));
    }
    match e.accepted_at {
        Some(t) => Ok((e.contact.clone(), t.date_naive())),
        None => {
            Err(pc_error(StatusCode::BAD_REQUEST, 400, "AttestationNotAccepted", "The customer has not accepted yet."))
        }
    }
}
