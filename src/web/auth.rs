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

/// Only paths of this portal: never an absolute or scheme-relative address.
fn safe_return_to(s: Option<&str>) -> String {
    match s {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.starts_with("/login")
                && !p.starts_with("/auth/") =>
        {
            p.to_string()
        }
        _ => "/customers".to_string(),
    }
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
    if let Some(error) = q.error {
        if error == "access_denied" {
            return Err(AppError::SignIn {
                user: "You cancelled the sign-in, so you are not signed in.".into(),
                detail: error,
            });
        }
        return Err(AppError::SignIn {
            user: format!(
                "The sign-in was not completed: {}",
                q.error_description.as_deref().filter(|d| !d.is_empty()).unwrap_or(&error)
            ),
            detail: error,
        });
    }
    let Some(pending) = pending else {
        return Err(AppError::SignIn {
            user: "This sign-in answer does not belong to a sign-in started in this browser, or it was already used. Start again.".into(),
            detail: "no sign-in cookie, or it did not open".into(),
        });
    };
    let state_ok = q.state.as_deref().is_some_and(|s| {
        s.len() == pending.state.len()
            && s.as_bytes().iter().zip(pending.state.as_bytes()).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0
    });
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
    let (user, tokens) = match state.workflows.finish_sign_in(&pending, code).await {
        Ok(signed_in) => signed_in,
        Err(WorkflowError::IdentityProvider(e)) => {
            return Err(AppError::SignIn {
                user: "Your sign-in could not be verified, so you were not signed in. Start again; if it keeps failing, tell your administrator.".into(),
                detail: e.to_string(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    session::sign_in(session, &user, &tokens).map_err(|e| AppError::Internal(e.into()))?;
    Ok(redirect(if user.roles.is_empty() { "/no-access" } else { &pending.return_to }))
}

#[post("/logout")]
async fn logout(state: web::Data<AppState>, signed: Signed) -> Result<HttpResponse, AppError> {
    state.workflows.signed_out(&signed.user).await?;
    // Deletes the server-side session: the old cookie is worth nothing from now on.
    signed.session.purge();
    Ok(redirect("/?signed_out=1"))
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
        for bad in ["https://evil.example/", "//evil.example", "/\\evil", "/login", "/auth/callback", ""] {
            assert_eq!(safe_return_to(Some(bad)), "/customers", "{bad}");
        }
        assert_eq!(safe_return_to(None), "/customers");
    }
}
