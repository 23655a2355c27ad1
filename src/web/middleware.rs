//! Request id, security headers, the signed-in frame for error pages and the CSRF check,
//! each once for every route.

use actix_session::SessionExt;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{HttpResponse, ResponseError};
use tracing::Instrument;

use super::AppState;
use super::errors::{AppError, REQUEST_ID, SIGNED_IN_FRAME};
use super::pages::Layout;
use super::session;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The path as the router matches it, with percent-encoding undone (`/%6cogin` is
/// `/login`). Every middleware that treats some paths differently decides on this, never
/// on the raw path, or an encoded letter would walk around it.
pub fn routed_path(req: &ServiceRequest) -> &str {
    req.match_info().as_str()
}
pub const CSRF_FIELD: &str = "csrf_token";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Gives every request an id (in the log span, on error pages, in `X-Request-Id`) and
/// every response, error or not, the security headers.
pub async fn request_id_and_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let state = req.app_data::<web::Data<AppState>>();
    let https = state.map(|s| s.settings.is_https()).unwrap_or(false);
    // Sign out posts to the portal, which may send the browser on to the identity
    // provider to end its session there: browsers hold that redirect to `form-action`.
    let form_action = match state.and_then(|s| s.workflows.identity_provider_origin()) {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".to_string(),
    };
    let span = tracing::info_span!("request", request_id = %request_id, method = %req.method(), path = %req.path());
    let started = std::time::Instant::now();
    // Handler and extractor errors become pages inside the scope, so that they carry the
    // request id; the inner middlewares answer with pages rather than errors too.
    let mut res =
        REQUEST_ID.scope(request_id.clone(), next.call(req)).instrument(span.clone()).await?.map_into_boxed_body();
    let status = res.status().as_u16();
    span.in_scope(|| tracing::info!(status, elapsed_ms = started.elapsed().as_millis() as u64, "served"));
    let h = res.headers_mut();
    let set = |h: &mut header::HeaderMap, name: HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    set(h, HeaderName::from_static(REQUEST_ID_HEADER), &request_id);
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        &format!(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
        ),
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "same-origin");
    set(h, HeaderName::from_static("permissions-policy"), "camera=(), microphone=(), geolocation=()");
    set(h, HeaderName::from_static("cross-origin-opener-policy"), "same-origin");
    if !h.contains_key(header::CACHE_CONTROL) {
        // Pages carry customer data: never keep them in shared or back/forward caches.
        set(h, header::CACHE_CONTROL, "no-store");
    }
    if https {
        set(h, header::STRICT_TRANSPORT_SECURITY, "max-age=31536000; includeSubDomains");
    }
    Ok(res)
}

/// Makes the signed-in frame (name, role, Sign out) known to error pages, which are
/// rendered without the request at hand.
pub async fn signed_in_frame(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let session = req.get_session();
    let frame = session::user(&session).map(|u| Layout::signed("", &u, session::csrf_token(&session), None));
    Ok(SIGNED_IN_FRAME.scope(frame, next.call(req)).await?.map_into_boxed_body())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Every state-changing request must carry this session's synchronizer token, in the
/// `csrf_token` form field or the `X-CSRF-Token` header.
pub async fn csrf_guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // The API takes no cookie, only a key in a header (web::api::auth), so a cross-site
    // form can't act with it; it answers every method in JSON.
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) || req.path().starts_with("/api/") {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let session = req.get_session();
    let expected = session::expected_csrf(&session);
    if routed_path(&req) == "/logout" && session::user(&session).is_none() {
        // Signing out of a session that has already ended (another tab, a timeout) is
        // harmless: say so instead of calling the form expired.
        let res = HttpResponse::SeeOther().insert_header((header::LOCATION, "/?signed_out=1")).finish();
        return Ok(req.into_response(res));
    }
    let mut sent = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()).map(String::from);
    if sent.is_none() {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        if is_form {
            let body = req.extract::<Bytes>().await?;
            sent = url::form_urlencoded::parse(&body).find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v.into_owned());
            // Put the body back for the handler.
            req.set_payload(actix_web::dev::Payload::from(body));
        }
    }
    match (expected, sent) {
        (Some(e), Some(s)) if constant_time_eq(e.as_bytes(), s.as_bytes()) => {
            next.call(req).await.map(ServiceResponse::map_into_boxed_body)
        }
        _ => Ok(req.into_response(AppError::Csrf.error_response())),
    }
}
