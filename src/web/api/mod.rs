//! The readiness API for the partner's order systems (docs/readiness.md): a customer's
//! transact readiness, and the customers page by page with theirs; its OpenAPI
//! description. JSON only, an API key per request (no session, no cookie, no CSRF),
//! `Cache-Control: no-store`.

pub mod auth;

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::AppState;
use crate::domain::{EffectiveStatus, ReattestationPolicy, is_customer_id};
use crate::store::{CustomerFacts, FactsCursor};
use auth::{ApiClient, ApiError};

/// The OpenAPI 3.1 description of this API, written by hand beside the code.
pub const OPENAPI: &str = include_str!("../../../static/openapi.json");

/// Customers per page unless `limit` says otherwise, and the most it may say.
pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 500;

#[derive(Serialize)]
struct Reason {
    code: &'static str,
    text: String,
}

/// One customer with its readiness, as every answer of the API gives it.
#[derive(Serialize)]
struct CustomerReadiness {
    id: String,
    company_name: String,
    domain: String,
    status: &'static str,
    status_label: &'static str,
    accepted_directly: Option<bool>,
    latest_attestation_date: Option<String>,
    readiness: &'static str,
    readiness_label: &'static str,
    reasons: Vec<Reason>,
    blocked_actions: Vec<&'static str>,
    blocked_from: Option<String>,
    /// The day (UTC) the readiness holds for.
    as_of_date: String,
    read_at: String,
}

impl CustomerReadiness {
    fn of(c: &CustomerFacts, policy: &ReattestationPolicy, today: NaiveDate) -> Self {
        let v = c.readiness_inputs().readiness(policy, today);
        CustomerReadiness {
            id: c.id.clone(),
            company_name: c.company_name.clone(),
            domain: c.domain.clone(),
            status: c.status.key(),
            status_label: c.status.label(),
            accepted_directly: c.accepted_directly,
            latest_attestation_date: c.latest_attestation.map(|d| d.to_string()),
            readiness: v.readiness.key(),
            readiness_label: v.readiness.label(),
            reasons: v.reasons.into_iter().map(|r| Reason { code: r.code, text: r.text }).collect(),
            blocked_actions: v.blocked_actions,
            blocked_from: v.blocked_from.map(|d| d.to_string()),
            as_of_date: today.to_string(),
            read_at: crate::store::timestamp(c.read_at),
        }
    }
}

fn json<T: Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(body)
}

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

#[get("/api/v1/customers/{id}/readiness")]
async fn readiness(
    state: web::Data<AppState>,
    ApiClient(caller): ApiClient,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if !is_customer_id(&id) {
        return Err(ApiError::NotFound);
    }
    let tenant = &caller.tenant_id;
    // An id is a GUID, which order systems may write in capitals; the portal keeps
    // Partner Center's spelling (lower case).
    let facts = match state.store.customer_facts(tenant, &id).await? {
        Some(facts) => facts,
        None if id.bytes().any(|b| b.is_ascii_uppercase()) => {
            state.store.customer_facts(tenant, &id.to_ascii_lowercase()).await?.ok_or(ApiError::NotFound)?
        }
        None => return Err(ApiError::NotFound),
    };
    Ok(json(&CustomerReadiness::of(&facts, &state.settings.policy(), today())))
}

/// The list's query; every value arrives as text, so that a wrong one gets the API's
/// own sentence rather than a failed parse.
#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

/// The position after a page's last customer, as `after` carries it: opaque to callers.
fn encode_cursor(c: &FactsCursor) -> String {
    let pair = serde_json::json!([c.company_name, c.customer_id]);
    URL_SAFE_NO_PAD.encode(pair.to_string())
}

fn decode_cursor(text: &str) -> Option<FactsCursor> {
    let bytes = URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
    let (company_name, customer_id): (String, String) = serde_json::from_slice(&bytes).ok()?;
    Some(FactsCursor { company_name, customer_id })
}

/// The list's query, read.
struct ListRequest {
    status: Option<EffectiveStatus>,
    after: Option<FactsCursor>,
    limit: i64,
}

fn list_request(q: &ListQuery) -> Result<ListRequest, ApiError> {
    let status = match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(EffectiveStatus::parse(s).ok_or_else(|| {
            let keys: Vec<_> = EffectiveStatus::ALL.iter().map(|s| s.key()).collect();
            ApiError::BadRequest(format!("status must be one of {}.", keys.join(", ")))
        })?),
    };
    let after = match q.after.as_deref().filter(|s| !s.trim().is_empty()) {
        None => None,
        Some(a) => Some(decode_cursor(a).ok_or_else(|| {
            ApiError::BadRequest("after must be the next_after value of an earlier answer of this API.".into())
        })?),
    };
    let limit = match q.limit.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| ApiError::BadRequest(format!("limit must be a whole number from 1 to {MAX_LIMIT}.")))?,
    };
    Ok(ListRequest { status, after, limit })
}

#[derive(Serialize)]
struct CustomerList {
    customers: Vec<CustomerReadiness>,
    limit: i64,
    /// Where the next page starts (`after`); None on the last page.
    next_after: Option<String>,
    /// The address of the next page; None on the last page.
    next: Option<String>,
}

fn next_href(r: &ListRequest, after: &str) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    if let Some(st) = r.status {
        s.append_pair("status", st.key());
    }
    s.append_pair("limit", &r.limit.to_string());
    s.append_pair("after", after);
    format!("/api/v1/customers?{}", s.finish())
}

#[get("/api/v1/customers")]
async fn customers(
    state: web::Data<AppState>,
    ApiClient(caller): ApiClient,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let r = list_request(&q)?;
    // One more than asked for says whether a next page exists, without counting.
    let mut page = state.store.customer_facts_page(&caller.tenant_id, r.status, r.after.as_ref(), r.limit + 1).await?;
    let more = page.len() as i64 > r.limit;
    page.truncate(r.limit as usize);
    let next_after = page.last().filter(|_| more).map(|c| encode_cursor(&c.cursor()));
    let (policy, today) = (state.settings.policy(), today());
    let body = CustomerList {
        customers: page.iter().map(|c| CustomerReadiness::of(c, &policy, today)).collect(),
        limit: r.limit,
        next: next_after.as_deref().map(|a| next_href(&r, a)),
        next_after,
    };
    Ok(json(&body))
}

/// The OpenAPI description: public, like any API's documentation.
#[get("/api/v1/openapi.json")]
async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").insert_header((header::CACHE_CONTROL, "no-store")).body(OPENAPI)
}

/// Any other address under `/api/` answers in JSON too.
async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// The API only reads: any other method, at any address of it, is refused in JSON.
async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(openapi)
        .service(customers)
        .service(readiness)
        .route("/api/{rest:.*}", web::get().to(not_found))
        .route("/api/{rest:.*}", web::route().to(method_not_allowed));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_anything_else_is_refused() {
        let c = FactsCursor { company_name: "Liberty's \"Bakery\" & Café".into(), customer_id: "c-1".into() };
        assert_eq!(decode_cursor(&encode_cursor(&c)), Some(c));
        assert_eq!(decode_cursor("not a cursor"), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("[1,2]")), None);
    }

    #[test]
    fn the_query_is_read_with_a_sentence_for_each_mistake() {
        let q = |status: Option<&str>, after: Option<&str>, limit: Option<&str>| ListQuery {
            status: status.map(String::from),
            after: after.map(String::from),
            limit: limit.map(String::from),
        };
        let r = list_request(&q(Some("attested"), None, Some("500"))).unwrap();
        assert_eq!((r.status, r.limit), (Some(EffectiveStatus::Attested), 500));
        assert_eq!(list_request(&q(None, Some(""), None)).unwrap().limit, DEFAULT_LIMIT);
        for (bad, says) in [
            (q(Some("Attested"), None, None), "status must be one of"),
            (q(None, None, Some("501")), "from 1 to 500"),
            (q(None, None, Some("0")), "from 1 to 500"),
            (q(None, Some("xyz"), None), "next_after"),
        ] {
            match list_request(&bad) {
                Err(ApiError::BadRequest(m)) => assert!(m.contains(says), "{m}"),
                _ => panic!("refused: {says}"),
            }
        }
    }
}
