//! The sandbox's agreement-records listing: each customer's latest MCA attestation, in
//! pages of the sandbox's own size, behind a continuation token bound to the caller's
//! partner tenant. App+User only, like the per-customer agreement reads.
//!
//! What the real service sends is known only from Microsoft's bulk re-attestation tool:
//! the sandbox writes the date in seconds for some records and in milliseconds for
//! others (the tool accepts both), and leaves out customers created through the API
//! since it started, as a listing that is produced ahead of time would.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{Caller, authenticate, pc_error, require_agent};
use super::rules;
use super::seed::SeedCustomer;
use super::state::SandboxState;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/partners/customeragreementrecords", web::get().to(list_records));
}

#[derive(Deserialize)]
struct RecordsQuery {
    continuation_token: Option<String>,
}

/// A token for the records from `offset` on, readable only for `tenant`.
fn token_for(tenant: &str, offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("records|{tenant}|{offset}"))
}

fn offset_of(tenant: &str, token: &str) -> Option<usize> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(token.trim()).ok()?).ok()?;
    let rest = text.strip_prefix("records|")?;
    let (t, offset) = rest.rsplit_once('|')?;
    (t == tenant).then(|| offset.parse().ok()).flatten()
}

/// Whether the listing has this customer: not those created through the API since the
/// sandbox started (they carry the billing profile they were created with).
fn listed(c: &SeedCustomer) -> bool {
    c.billing.is_none()
}

/// One record; `position` chooses seconds (even) or milliseconds (odd) for the date.
fn record_json(c: &SeedCustomer, position: usize) -> Value {
    let latest = c.agreements.iter().max_by_key(|a| a.date_agreed);
    let Some(a) = latest else {
        return json!({
            "customerTenantId": c.id,
            "lastAgreementPrimaryContact": null,
            "lastAgreementDateEpoch": null,
            "partnerAttestationCompleted": false,
        });
    };
    let seconds = a.date_agreed.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp()).unwrap_or_default();
    let epoch = if position.is_multiple_of(2) { seconds } else { seconds * 1000 };
    json!({
        "customerTenantId": c.id,
        "lastAgreementPrimaryContact": {
            "firstName": a.contact.first_name,
            "lastName": a.contact.last_name,
            "email": a.contact.email,
            "phoneNumber": a.contact.phone.clone().unwrap_or_default(),
        },
        "lastAgreementDateEpoch": epoch,
        "partnerAttestationCompleted": true,
    })
}

fn caller_of(state: &SandboxState, req: &HttpRequest) -> Result<Caller, HttpResponse> {
    let caller = authenticate(state, req)?;
    if matches!(caller, Caller::App { .. }) {
        return Err(pc_error(
            StatusCode::FORBIDDEN,
            600006,
            "ActionNotAllowed",
            "This call requires App+User credentials.",
        ));
    }
    require_agent(&caller)?;
    Ok(caller)
}

async fn list_records(state: web::Data<SandboxState>, req: HttpRequest, q: web::Query<RecordsQuery>) -> HttpResponse {
    let caller = match caller_of(&state, &req) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let offset = match q.continuation_token.as_deref().filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => match offset_of(caller.tenant(), t) {
            Some(o) => o,
            None => {
                return pc_error(
                    StatusCode::BAD_REQUEST,
                    400,
                    "InvalidContinuationToken",
                    "The continuation token is not valid.",
                );
            }
        },
    };
    let size = state.options.agreement_records_page_size.max(1);
    let d = state.data();
    let mine: Vec<&SeedCustomer> =
        d.customers.iter().filter(|c| rules::sees_customer(caller.tenant(), c) && listed(c)).collect();
    let records: Vec<Value> = mine.iter().enumerate().skip(offset).take(size).map(|(i, c)| record_json(c, i)).collect();
    let mut body = json!({ "customerAgreementRecords": records });
    if offset + size < mine.len() {
        body["continuationToken"] = json!(token_for(caller.tenant(), offset + size));
    }
    HttpResponse::Ok().json(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_only_for_its_tenant() {
        let t = token_for("tenant-a", 250);
        assert_eq!(offset_of("tenant-a", &t), Some(250));
        assert_eq!(offset_of("tenant-b", &t), None);
        assert_eq!(offset_of("tenant-a", "not-a-token"), None);
    }
}
