//! Fault injection for the sandbox Partner Center API, by setting: added latency, a share
//! of 5xx answers, a share of 429 with `Retry-After`, a share of timeouts, and a rate
//! limit per partner tenant. Also the replay of a POST sent again with the same
//! `MS-RequestId`, which is what makes a retry after a timeout safe.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use rand::Rng;

use super::state::SandboxState;

/// What goes wrong, and how often. Percentages of API requests (0–100).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    pub latency_ms: u64,
    pub error_percent: u8,
    pub throttle_percent: u8,
    pub timeout_percent: u8,
    /// How long a "timeout" holds the answer back (after carrying the request out).
    pub timeout_seconds: u64,
    /// Requests per minute per partner tenant; 0 for none. Microsoft's throttling guidance
    /// (<https://learn.microsoft.com/partner-center/developer/api-throttling-guidance>) gives
    /// no per-minute figure, so this is a setting to try the portal with, not a fact.
    pub rate_limit_per_minute: u32,
    /// An error answer given instead of carrying out the requests it matches.
    pub refusal: Option<Refusal>,
}

/// An error answer of the API's, scripted by a test or a demo: every API request whose
/// path contains `path_contains` (and whose method is `method`, when given) gets `status`
/// with `body` (JSON when it starts with `{`, else HTML), whatever Partner Center's error
/// bodies normally say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub path_contains: String,
    pub method: Option<String>,
    pub status: u16,
    pub body: String,
}

impl Refusal {
    fn matches(&self, req: &ServiceRequest) -> bool {
        req.path().contains(&self.path_contains) && self.method.as_deref().is_none_or(|m| req.method().as_str() == m)
    }

    fn answer(&self) -> HttpResponse {
        let content_type =
            if self.body.trim_start().starts_with('{') { "application/json" } else { "text/html; charset=utf-8" };
        HttpResponse::build(StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST))
            .content_type(content_type)
            .body(self.body.clone())
    }
}

#[derive(Default)]
pub(crate) struct FaultState {
    pub faults: Faults,
    windows: HashMap<String, VecDeque<Instant>>,
    /// (tenant, MS-RequestId) → the answer given, for POSTs.
    replies: HashMap<(String, String), (StatusCode, web::Bytes)>,
    /// API requests per partner tenant since the start, and how many got a 429.
    counts: HashMap<String, ApiCounts>,
}

/// How many API requests a partner tenant made, and how many of them were throttled.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct ApiCounts {
    pub requests: u64,
    pub throttled: u64,
}

/// The partner tenant of a request, from its token, without judging the token.
fn tenant_of(state: &SandboxState, req: &ServiceRequest) -> String {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| state.key.verify(t.trim()).ok())
        .and_then(|c| c["tid"].as_str().map(String::from))
        .unwrap_or_else(|| "anonymous".into())
}

enum Fate {
    Normal,
    Throttle(u64),
    Fail,
    HoldBack(Duration),
}

impl FaultState {
    pub(crate) fn new(faults: Faults) -> Self {
        FaultState { faults, ..Default::default() }
    }
}

pub(crate) async fn inject(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<SandboxState>>().cloned() else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    if !req.path().starts_with("/v1/") {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let refusal = state.faults().faults.refusal.clone().filter(|r| r.matches(&req));
    if let Some(r) = refusal {
        return Ok(req.into_response(r.answer()));
    }
    let tenant = tenant_of(&state, &req);
    let (latency, fate) = decide_fate(&state, &tenant);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some(res) = fault_answer(&fate) {
        return Ok(req.into_response(res));
    }
    let res = replay(&state, &tenant, req, next).await?;
    if let Fate::HoldBack(d) = fate {
        // Carried out, but the answer comes too late: the worst case for a client.
        tokio::time::sleep(d).await;
    }
    Ok(res)
}

/// The added latency and what becomes of one request of `tenant`: first the rate limit,
/// then a roll of the dice against the fault percentages.
fn decide_fate(state: &SandboxState, tenant: &str) -> (Duration, Fate) {
    let mut f = state.faults();
    let faults = f.faults.clone();
    let fate = match rate_limited(&mut f, tenant, faults.rate_limit_per_minute) {
        Some(fate) => fate,
        None => roll(&faults),
    };
    let counts = f.counts.entry(tenant.to_string()).or_default();
    counts.requests += 1;
    counts.throttled += u64::from(matches!(fate, Fate::Throttle(_)));
    (Duration::from_millis(faults.latency_ms), fate)
}

/// A 429 fate when `tenant` already made `limit` requests in the last minute; otherwise
/// the request is counted. A limit of 0 means none.
fn rate_limited(f: &mut FaultState, tenant: &str, limit: u32) -> Option<Fate> {
    if limit == 0 {
        return None;
    }
    let window = f.windows.entry(tenant.to_string()).or_default();
    let now = Instant::now();
    while window.front().is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60)) {
        window.pop_front();
    }
    if window.len() as u32 >= limit {
        let wait = 60 - window.front().map(|t| now.duration_since(*t).as_secs()).unwrap_or(0);
        return Some(Fate::Throttle(wait.max(1)));
    }
    window.push_back(now);
    None
}

/// A throttle, a failure, a late answer or nothing, each as often as its percentage says.
fn roll(faults: &Faults) -> Fate {
    let dice = rand::thread_rng().gen_range(0..100u8);
    let (t, e, o) = (faults.throttle_percent, faults.error_percent, faults.timeout_percent);
    if dice < t {
        Fate::Throttle(1)
    } else if dice < t.saturating_add(e) {
        Fate::Fail
    } else if dice < t.saturating_add(e).saturating_add(o) {
        Fate::HoldBack(Duration::from_secs(faults.timeout_seconds.max(1)))
    } else {
        Fate::Normal
    }
}

/// The answer given instead of carrying the request out, if the fate is to be refused.
fn fault_answer(fate: &Fate) -> Option<HttpResponse> {
    match fate {
        Fate::Throttle(seconds) => Some(
            HttpResponse::TooManyRequests()
                .insert_header((header::RETRY_AFTER, seconds.to_string()))
                .json(serde_json::json!({"statusCode": 429, "message": format!("Rate limit is exceeded. Try again in {seconds} seconds.")})),
        ),
        Fate::Fail => Some(HttpResponse::ServiceUnavailable().json(
            serde_json::json!({"code": 503, "description": "The service is temporarily unavailable (sandbox fault)."}),
        )),
        Fate::Normal | Fate::HoldBack(_) => None,
    }
}

/// A POST with an `MS-RequestId` already answered gets the same answer again, and is not
/// carried out twice.
async fn replay(
    state: &SandboxState,
    tenant: &str,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let request_id = req.headers().get("MS-RequestId").and_then(|v| v.to_str().ok()).map(String::from);
    let Some(request_id) = request_id.filter(|_| req.method() == Method::POST) else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let key = (tenant.to_string(), request_id);
    let cached = state.faults().replies.get(&key).cloned();
    if let Some((status, body)) = cached {
        let res = HttpResponse::build(status)
            .content_type("application/json")
            .insert_header(("MS-Replayed", "true"))
            .body(body);
        return Ok(req.into_response(res));
    }
    let res = next.call(req).await?;
    let status = res.status();
    let (http_req, response) = res.into_parts();
    let body = actix_web::body::to_bytes(response.into_body())
        .await
        .map_err(|_| actix_web::error::ErrorInternalServerError("body"))?;
    if status.is_success() || status.is_client_error() {
        let mut f = state.faults();
        if f.replies.len() > 50_000 {
            f.replies.clear();
        }
        f.replies.insert(key, (status, body.clone()));
    }
    let res = HttpResponse::build(status).content_type("application/json").body(body);
    Ok(ServiceResponse::new(http_req, res))
}

/// `GET /sandbox/api-counts`: the API requests of each partner tenant since the sandbox
/// started and how many got a 429, as JSON (`{"<tenant id>": {"requests": …, "throttled": …}}`),
/// so that a benchmark or a demo can see what the portal asked and what was refused.
async fn api_counts(state: web::Data<SandboxState>) -> HttpResponse {
    let counts = state.faults().counts.clone();
    HttpResponse::Ok().json(counts)
}

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sandbox/api-counts", web::get().to(api_counts));
}
