//! Keeps a signed-in session's roles current: before any handler runs, the session's
//! delegated tokens are renewed when they are due, and with them the user's roles and
//! partner type (docs/architecture.md, "Sign-in and roles"). A handler therefore never
//! acts on roles older than the access token, at most an hour.

use actix_session::SessionExt;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};

use super::AppState;
use super::middleware::routed_path;
use super::session;

/// Paths that need no current roles: files every page loads, health checks, signing in
/// or out (which a failed renewal must not stand in the way of), and the readiness API,
/// which answers to an API key, never to a session.
fn needs_current_roles(path: &str) -> bool {
    !(path.starts_with("/static/")
        || path.starts_with("/api/")
        || path.starts_with("/favicon")
        || path.starts_with("/auth/")
        || matches!(path, "/login" | "/logout" | "/healthz" | "/readyz"))
}

/// Where to come back to after signing in again: the page asked for, for a GET.
fn return_to(req: &ServiceRequest) -> String {
    match *req.method() {
        Method::GET => req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_else(|| "/".into()),
        _ => "/customers".into(),
    }
}

pub async fn renew_sign_in_when_due(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let session = req.get_session();
    let signed_in = session::user(&session).filter(|_| needs_current_roles(routed_path(&req)));
    if let (Some(state), Some(user)) = (state, signed_in) {
        let back = return_to(&req);
        if let Err(e) = session::renew_sign_in(&state, &session, &user, &back).await {
            return Ok(req.into_response(e.error_response()));
        }
    }
    next.call(req).await.map(ServiceResponse::map_into_boxed_body)
}
