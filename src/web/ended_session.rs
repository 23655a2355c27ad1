//! A sign-out is final: when the session ended (signed out in another request, or idle
//! too long) while a request was under way, that request's answer carries no cookie that
//! would give the browser a session back; it tells the browser to forget the cookie
//! instead (docs/sessions.md).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};

use super::AppState;
use super::session::session_cookie_name;
use crate::store::noting_ended_session;

/// Wraps the session middleware: the store notes a session that ended meanwhile (it then
/// writes nothing), and this removes the session cookie from the answer.
pub async fn no_cookie_for_ended_session(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let https = req.app_data::<web::Data<AppState>>().map(|s| s.settings.is_https()).unwrap_or(false);
    let (res, ended) = noting_ended_session(next.call(req)).await;
    let mut res = res?.map_into_boxed_body();
    if ended {
        forget_session_cookie(res.response_mut(), session_cookie_name(https), https);
    }
    Ok(res)
}

fn sets_cookie(value: &HeaderValue, name: &str) -> bool {
    value.to_str().ok().and_then(|v| v.split_once('=')).is_some_and(|(n, _)| n.trim() == name)
}

/// Drops every `Set-Cookie` of the session cookie and adds one that removes it.
fn forget_session_cookie(res: &mut HttpResponse, name: &'static str, https: bool) {
    let others: Vec<HeaderValue> =
        res.headers().get_all(header::SET_COOKIE).filter(|v| !sets_cookie(v, name)).cloned().collect();
    res.headers_mut().remove(header::SET_COOKIE);
    for v in others {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    let removal = Cookie::build(name, "").path("/").secure(https).http_only(true).same_site(SameSite::Lax).finish();
    if let Err(e) = res.add_removal_cookie(&removal) {
        tracing::warn!(error = %e, "could not remove the cookie of an ended session");
    }
}
