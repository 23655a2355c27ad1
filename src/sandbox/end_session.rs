//! The sandbox identity provider's end-session endpoint (OpenID Connect RP-Initiated
//! Logout 1.0): the client names the session by an ID token it was issued, or by its
//! client id, and is sent back only to an address registered for it.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::idp::{message, redirect_allowed};
use super::state::SandboxState;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/idp/v2.0/logout", web::get().to(end_session_get))
        .route("/idp/v2.0/logout", web::post().to(end_session_post));
}

#[derive(Debug, Deserialize, Default)]
struct EndSession {
    #[serde(default)]
    id_token_hint: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    post_logout_redirect_uri: Option<String>,
    #[serde(default)]
    state: Option<String>,
}

async fn end_session_get(state: web::Data<SandboxState>, q: web::Query<EndSession>) -> HttpResponse {
    end_session(&state, q.into_inner())
}

async fn end_session_post(state: web::Data<SandboxState>, f: web::Form<EndSession>) -> HttpResponse {
    end_session(&state, f.into_inner())
}

fn refused(why: &str) -> HttpResponse {
    message(StatusCode::BAD_REQUEST, "Sign-out request refused", why)
}

/// Ends the session the request names and sends the browser back, or says why not; an
/// address it can't vouch for is never redirected to.
fn end_session(state: &SandboxState, req: EndSession) -> HttpResponse {
    let subject = match hinted_subject(state, &req) {
        Ok(subject) => subject,
        Err(why) => return refused(why),
    };
    let Some(back) = req.post_logout_redirect_uri.filter(|u| !u.is_empty()) else {
        record(state, subject);
        return message(StatusCode::OK, "Signed out", "You are signed out of the sandbox's sign-in service.");
    };
    if req.id_token_hint.is_none() && req.client_id.is_none() {
        return refused("A post_logout_redirect_uri needs an id_token_hint or a client_id to say whose address it is.");
    }
    if !redirect_allowed(&back) {
        return refused("The post_logout_redirect_uri is not an address registered for the application.");
    }
    let Ok(mut target) = url::Url::parse(&back) else {
        return refused("The post_logout_redirect_uri is not an address.");
    };
    if let Some(s) = req.state.filter(|s| !s.is_empty()) {
        target.query_pairs_mut().append_pair("state", &s);
    }
    record(state, subject);
    HttpResponse::Found().insert_header((header::LOCATION, target.to_string())).finish()
}

/// The user an `id_token_hint` names, checked: signed by this provider, issued by it, to
/// the registered client (the one `client_id` names, when both are sent). An expired
/// hint is still a hint. Without a hint, only the client id is checked.
fn hinted_subject(state: &SandboxState, req: &EndSession) -> Result<Option<String>, &'static str> {
    let client = &state.options.client_id;
    if let Some(id) = req.client_id.as_deref()
        && id != client
    {
        return Err("The application is not registered with the sandbox.");
    }
    let Some(hint) = req.id_token_hint.as_deref() else {
        return Ok(None);
    };
    let claims = state.key.verify(hint).map_err(|_| "The id_token_hint is not an ID token this provider signed.")?;
    if claims["iss"] != state.issuer.as_str() {
        return Err("The id_token_hint was issued by another provider.");
    }
    let audience_ok = match &claims["aud"] {
        serde_json::Value::String(a) => a == client,
        serde_json::Value::Array(list) => list.iter().any(|a| a == client.as_str()),
        _ => false,
    };
    if !audience_ok {
        return Err("The id_token_hint was issued to another application.");
    }
    Ok(claims["sub"].as_str().map(String::from))
}

fn record(state: &SandboxState, subject: Option<String>) {
    if let Some(oid) = subject {
        state.data().ended_sessions.push(oid);
    }
}
