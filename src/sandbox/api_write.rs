//! The sandbox Partner Center API, write side: attestation of the MCA, enforcing what
//! Partner Center enforces (partner-center-api.md): App+User only, Admin or Sales agents
//! of a partner that may attest, no date after now in UTC, the current template, and no
//! second attestation with exactly the same contact (600061).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Value, json};

use super::api::{Caller, authenticate, groups_of, pc_error};
use super::seed::{self, SeedAgreement, SeedContact};
use super::state::SandboxState;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/customers/{id}/agreements", web::post().to(attest));
}

/// Only Admin agents and Sales agents (a Global admin counts) of a partner that is not an
/// indirect reseller.
fn require_attester(caller: &Caller) -> Result<String, HttpResponse> {
    let Caller::User { tenant, oid, groups } = caller else {
        return Err(pc_error(
            StatusCode::FORBIDDEN,
            600006,
            "ActionNotAllowed",
            "Attestation requires App+User credentials.",
        ));
    };
    let Some(g) = groups_of(tenant) else {
        return Err(pc_error(StatusCode::FORBIDDEN, 600006, "ActionNotAllowed", "Unknown partner."));
    };
    if tenant == seed::FABRIKAM_TENANT {
        return Err(pc_error(
            StatusCode::FORBIDDEN,
            600006,
            "ActionNotAllowed",
            "Indirect resellers can't attest on behalf of their customers. Work with your indirect provider to complete attestation.",
        ));
    }
    if !groups.iter().any(|x| [g.admin, g.sales, g.global_admin].contains(&x.as_str())) {
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
    let user_oid = match require_attester(&caller) {
        Ok(oid) => oid,
        Err(r) => return r,
    };
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return pc_error(StatusCode::BAD_REQUEST, 400, "InvalidRequestBody", "The body is not JSON.");
    };
    if v["type"] != "MicrosoftCustomerAgreement" {
        return pc_error(
            StatusCode::BAD_REQUEST,
            400,
            "InvalidAgreementType",
            "type must be MicrosoftCustomerAgreement.",
        );
    }
    if !v["userId"].is_null() {
        return pc_error(
            StatusCode::BAD_REQUEST,
            400,
            "InvalidRequestBody",
            "userId is filled in by the service from the App+User token; do not send it.",
        );
    }
    match v["templateId"].as_str() {
        Some(t) if t == state.template_id => {}
        Some(_) => {
            return pc_error(
                StatusCode::BAD_REQUEST,
                400,
                "InvalidTemplate",
                "The agreement template is no longer supported. Read the current template id from the agreement metadata.",
            );
        }
        None => return pc_error(StatusCode::BAD_REQUEST, 400, "InvalidTemplate", "templateId is required."),
    }
    let Some(when) = v["dateAgreed"].as_str().and_then(parse_when) else {
        return pc_error(
            StatusCode::BAD_REQUEST,
            400,
            "InvalidDate",
            "dateAgreed is required, as YYYY-MM-DDT00:00:00Z.",
        );
    };
    if when > Utc::now() {
        return pc_error(
            StatusCode::BAD_REQUEST,
            600002,
            "InvalidDateAgreed",
            "Date of agreement cannot be greater than the current date",
        );
    }
    let c = &v["primaryContact"];
    let (Some(first), Some(last), Some(email)) = (text(&c["firstName"]), text(&c["lastName"]), text(&c["email"]))
    else {
        return pc_error(
            StatusCode::BAD_REQUEST,
            400,
            "InvalidPrimaryContact",
            "primaryContact needs firstName, lastName and email.",
        );
    };
    if first.chars().count() > 50 || last.chars().count() > 50 || !email.contains('@') {
        return pc_error(
            StatusCode::BAD_REQUEST,
            400,
            "InvalidPrimaryContact",
            "The primary contact's names or email are not valid.",
        );
    }
    let contact = SeedContact { first_name: first, last_name: last, email, phone: text(&c["phoneNumber"]) };
    let mut data = state.data();
    let Some(customer) = data.customers.iter_mut().find(|x| x.id == *id && x.tenant_id == caller.tenant()) else {
        return pc_error(
            StatusCode::NOT_FOUND,
            404,
            "CustomerNotFound",
            "The customer was not found for this partner.",
        );
    };
    if customer.agreements.iter().any(|a| a.contact == contact) {
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
