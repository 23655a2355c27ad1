//! Sign in, sign out, the start page and the page for users without an agent role.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, ResponseError, get, post, web};
use serde::Deserialize;

use super::AppState;
use super::errors::{AppError, page, redirect};
use super::extractors::Signed;
use super::pages::{LandingPage, Layout, NoAccessPage};
use super::session;
use super::sign_in_cookie::SignInCookie;
use crate::workflows::{PendingSignIn, WorkflowError};

/// How long a started sign-in may take before its state is no longer accepted.
const SIGN_IN_WINDOW_SECONDS: i64 = 600;

/// Where a sign-in goes when no usable return address was given.
const AFTER_SIGN_IN: &str = "/customers";

/// A return address longer than this is not kept (it must fit in the sign-in cookie,
/// which allows the same length).
const RETURN_TO_LIMIT: usize = 1024;

/// The return address as a path of this portal, or `/customers`. Browsers drop tabs and
/// line breaks from a `Location`, read `\` as `/` and resolve dot segments, so the
/// address is read as a URL reference the way a browser would (joined onto a fixed base)
/// and kept only when that stays on the base's origin, and only in the form that was
/// checked (docs/architecture.md, "Sign-in and roles").
fn safe_return_to(s: Option<&str>) -> String {
    s.and_then(portal_path).unwrap_or_else(|| AFTER_SIGN_IN.to_string())
}

fn portal_path(raw: &str) -> Option<String> {
    // Visible ASCII only: no controls, spaces or look-alike letters; a path the portal
    // links to is always written this way.
    let plain = raw.bytes().all(|b| b.is_ascii_graphic()) && raw.len() <= RETURN_TO_LIMIT;
    if !plain || !raw.starts_with('/') || raw.starts_with("//") || raw.contains('\\') {
        return None;
    }
    // Encoded slashes, backslashes and controls, which some servers and browsers decode.
    let decoded = url::form_urlencoded::parse(format!("p={}", raw.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())?;
    let lower = raw.to_ascii_lowercase();
    if lower.contains("%2f") || lower.contains("%5c") || decoded.chars().any(|c| c.is_control() || c == '\\') {
        return None;
    }
    let base = url::Url::parse("https://portal.invalid/").ok()?;
    let joined = base.join(raw).ok()?;
    if joined.origin() != base.origin() || !joined.username().is_empty() || joined.password().is_some() {
        return None;
    }
    let path = joined.path();
    if path.starts_with("//") || path == "/login" || path.starts_with("/login/") || path.starts_with("/auth/") {
        return None;
    }
    Some(match joined.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    })
}

#[derive(Deserialize)]
struct LandingQuery {
    signed_out: Option<String>,
}

#[get("/")]
async fn landing(state: web::Data<AppState>, session: Session, q: web::Query<LandingQuery>) -> HttpResponse {
    if let Some(user) = session::user(&session) {
        return redirect(if user.roles.is_empty() { "/no-access" } else { "/customers" });
    }
    page(&LandingPage {
        layout: Layout::anonymous("Sign in"),
        signed_out: q.signed_out.is_some(),
        sandbox: state.settings.uses_sandbox(),
    })
}

#[derive(Deserialize)]
struct LoginQuery {
    return_to: Option<String>,
}

/// Sends the browser to the identity provider; what the answer is checked against goes
/// into the sign-in cookie, nothing into the database.
#[get("/login")]
async fn login(
    state: web::Data<AppState>,
    sign_in_cookie: web::Data<SignInCookie>,
    q: web::Query<LoginQuery>,
) -> Result<HttpResponse, AppError> {
    let (url, pending) =
        state.workflows.start_sign_in(safe_return_to(q.return_to.as_deref())).await.map_err(|e| AppError::SignIn {
            user: "The sign-in service could not be reached. Try again in a minute; if it keeps failing, tell your administrator.".into(),
            detail: e.to_string(),
        })?;
    let mut res = HttpResponse::SeeOther().insert_header((actix_web::http::header::LOCATION, url)).finish();
    sign_in_cookie.set(&mut res, &pending, SIGN_IN_WINDOW_SECONDS)?;
    Ok(res)
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The identity provider's answer. The sign-in cookie is removed whatever the outcome:
/// each sign-in start is answered once.
#[get("/auth/callback")]
async fn callback(
    state: web::Data<AppState>,
    sign_in_cookie: web::Data<SignInCookie>,
    req: HttpRequest,
    session: Session,
    q: web::Query<CallbackQuery>,
) -> HttpResponse {
    let pending = sign_in_cookie.read(&req);
    let mut res =
        finish_callback(&state, &session, pending, q.into_inner()).await.unwrap_or_else(|e| e.error_response());
    sign_in_cookie.remove(&mut res);
    res
}

async fn finish_callback(
    state: &AppState,
    session: &Session,
    pending: Option<PendingSignIn>,
    q: CallbackQuery,
) -> Result<HttpResponse, AppError> {
    let Some(pending) = pending else {
        return Err(AppError::SignIn {
            user: "This sign-in answer does not belong to a sign-in started in this browser, or it was already used. Start again.".into(),
            detail: "no sign-in cookie, or it did not open".into(),
        });
    };
    let state_ok = q.state.as_deref().is_some_and(|s| same_secret(s, &pending.state));
    // An error is shown as the identity provider's only when it answers this browser's
    // sign-in: otherwise anyone could put words on the portal's page with a link.
    if let Some(error) = q.error.filter(|_| state_ok) {
        return Err(declined(error, q.error_description));
    }
    if !state_ok || chrono::Utc::now().timestamp() - pending.started_at > SIGN_IN_WINDOW_SECONDS {
        return Err(AppError::SignIn {
            user: "The sign-in answer did not match the sign-in started here, or it took too long. Nothing was changed. Start again.".into(),
            detail: "state mismatch or sign-in window passed".into(),
        });
    }
    let Some(code) = q.code else {
        return Err(AppError::SignIn {
            user: "The identity provider sent no authorization code. Start again.".into(),
            detail: "no code".into(),
        });
    };
    let signed_in = match state.workflows.finish_sign_in(&pending, code).await {
        Ok(signed_in) => signed_in,
        Err(WorkflowError::IdentityProvider(e)) => {
            return Err(AppError::SignIn {
                user: "Your sign-in could not be verified, so you were not signed in. Start again; if it keeps failing, tell your administrator.".into(),
                detail: e.to_string(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    session::sign_in(session, &signed_in).map_err(|e| AppError::Internal(e.into()))?;
    // Checked again on the way out: whatever carried the pending sign-in, only a path of
    // the portal is ever sent.
    let back = match signed_in.user.roles.is_empty() {
        true => "/no-access".to_string(),
        false => safe_return_to(Some(&pending.return_to)),
    };
    Ok(redirect(&back))
}

/// The error codes of OAuth 2.0 and OpenID Connect a sign-in may come back with, and what
/// the portal tells the user of each.
const PROVIDER_ERRORS: [(&str, &str); 8] = [
    (
        "access_denied",
        "You cancelled the sign-in, or the sign-in service refused it, so you are not signed in. Sign in again to continue.",
    ),
    ("login_required", NEEDS_STEPS),
    ("interaction_required", NEEDS_STEPS),
    ("consent_required", NEEDS_STEPS),
    ("account_selection_required", NEEDS_STEPS),
    ("server_error", TRY_LATER),
    ("temporarily_unavailable", TRY_LATER),
    (
        "invalid_scope",
        "The sign-in service refused the access the portal asks for, so you are not signed in. Tell your administrator: the portal's oidc_scopes setting and the application's registration do not agree.",
    ),
];
const NEEDS_STEPS: &str = "The sign-in service needs you to sign in or approve the portal's access first, so you are not signed in. Sign in again and follow its steps.";
const TRY_LATER: &str = "The sign-in service could not complete the sign-in just now, so you are not signed in. Try again in a minute; if it keeps failing, tell your administrator.";
const OTHER_ERROR: &str = "The sign-in service refused the sign-in, so you are not signed in. Try again; if it keeps failing, tell your administrator the request id below.";

/// The portal's sentence for an error the identity provider answered a sign-in with. A
/// standard code is named; the provider's own words only ever follow, quoted.
fn declined(error: String, description: Option<String>) -> AppError {
    let user = match PROVIDER_ERRORS.iter().find(|(code, _)| *code == error) {
        Some((code, sentence)) => format!("{sentence} (Error code: {code}.)"),
        None => OTHER_ERROR.to_string(),
    };
    // Bounded: both come from the address bar, and they go to the log.
    let error: String = error.chars().take(ERROR_CODE_LIMIT).collect();
    let description = description.filter(|d| !d.trim().is_empty()).map(|d| d.chars().take(DESCRIPTION_LIMIT).collect());
    AppError::SignInDeclined { user, error, description }
}

/// Compares two secrets in time that does not depend on where they differ.
fn same_secret(given: &str, kept: &str) -> bool {
    given.len() == kept.len() && given.bytes().zip(kept.bytes()).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0
}

/// How much of an `error` and an `error_description` from the address bar is kept.
const ERROR_CODE_LIMIT: usize = 64;
const DESCRIPTION_LIMIT: usize = 400;

#[post("/logout")]
async fn logout(state: web::Data<AppState>, signed: Signed) -> Result<HttpResponse, AppError> {
    state.workflows.signed_out(&signed.user).await?;
    let hint = session::id_token(&signed.session);
    // Deletes the server-side session: the old cookie is worth nothing from now on.
    signed.session.purge();
    // Then the session at the identity provider, when it offers a way to end it; it
    // sends the browser back to the signed-out page.
    Ok(match state.workflows.end_session_url(hint.as_ref()).await {
        Some(url) => redirect(&url),
        None => redirect("/?signed_out=1"),
    })
}

#[get("/no-access")]
async fn no_access(signed: Signed) -> HttpResponse {
    if !signed.user.roles.is_empty() {
        return redirect("/customers");
    }
    page(&NoAccessPage { layout: signed.layout("No agent role") })
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(landing).service(login).service(callback).service(logout).service(no_access);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_stays_on_the_portal() {
        assert_eq!(safe_return_to(Some("/customers/1?x=2")), "/customers/1?x=2");
        assert_eq!(safe_return_to(Some("/customers?q=a%20b&status=attested")), "/customers?q=a%20b&status=attested");
        assert_eq!(safe_return_to(Some("/customers/./1")), "/customers/1", "the checked form is the one kept");
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil",
            "\\/evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/%09/evil.example",
            "/%2f%2fevil.example",
            "/%2F%2Fevil.example",
            "/%5cevil.example",
            "/.//evil.example",
            "/./\\evil.example",
            "https:evil.example",
            "/ /evil",
            "/\u{3000}/evil",
            "/login",
            "/login?return_to=/x",
            "/auth/callback",
            "/x/../login",
            "",
            "customers",
        ] {
            assert_eq!(safe_return_to(Some(bad)), "/customers", "{bad:?}");
        }
        assert_eq!(safe_return_to(None), "/customers");
    }

    #[test]
    fn an_error_from_the_address_bar_reaches_the_log_escaped_and_bounded() {
        let forged = format!("x\n2026-12-02T13:50:00Z  INFO forged\u{1b}[31m{}", "e".repeat(5000));
        let logged = declined(forged, Some(format!("two\r\nlines{}", "d".repeat(5000)))).to_string();
        assert!(!logged.contains('\n') && !logged.contains('\r') && !logged.contains('\u{1b}'), "{logged}");
        assert!(logged.len() < 1000, "bounded: {} bytes", logged.len());
    }
}
