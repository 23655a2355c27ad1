//! One error type for handlers, with two faces: the page says what happened and what to
//! do next, with the request id; the log gets the whole cause.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use super::pages::{ErrorPage, Layout, NoAccessPage};
use crate::store::StoreError;
use crate::workflows::PcError;
use crate::workflows::{SignInRefusal, WorkflowError};

tokio::task_local! {
    /// The id of the request being served; set by the request-id middleware.
    pub static REQUEST_ID: String;
    /// The page frame of the signed-in user, for error pages; None when signed out.
    pub static SIGNED_IN_FRAME: Option<Layout>;
}

pub fn current_request_id() -> String {
    REQUEST_ID.try_with(|r| r.clone()).unwrap_or_else(|_| "-".to_string())
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("sign-in required")]
    SignInRequired { return_to: String },
    #[error("signed in without an agent role")]
    NoAgentRole { layout: Box<Layout> },
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("CSRF token missing or wrong")]
    Csrf,
    /// Over a rate limit (docs/rate-limits.md); may try again after this many seconds.
    #[error("too many requests; retry after {retry_after_seconds} s")]
    TooManyRequests { retry_after_seconds: u64 },
    /// The sign-in could not be completed; the text is for the user.
    #[error("sign-in failed: {user} ({detail:?})")]
    SignIn { user: String, detail: String },
    /// The identity provider answered the sign-in with an error: the page says what the
    /// portal makes of its code, and shows its description only quoted, after that. Both
    /// come from the address bar, so the log gets them escaped (`:?`), never raw.
    #[error("the identity provider answered the sign-in with {error:?}: {description:?}")]
    SignInDeclined { user: String, error: String, description: Option<String> },
    #[error(transparent)]
    Upstream(#[from] PcError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0:#}")]
    Internal(#[from] anyhow::Error),
}

impl From<WorkflowError> for AppError {
    fn from(e: WorkflowError) -> Self {
        match e {
            WorkflowError::Upstream(e) => AppError::Upstream(e),
            WorkflowError::Store(e) => AppError::Store(e),
            WorkflowError::SignInRequired(_) => AppError::SignInRequired { return_to: "/customers".into() },
            WorkflowError::IdentityProvider(e) => AppError::SignIn {
                user: "The sign-in service could not be reached or did not accept the sign-in. Try again in a minute; if it keeps failing, tell your administrator.".into(),
                detail: e.to_string(),
            },
            WorkflowError::SignInRefused(refusal) => AppError::SignIn {
                user: refusal_sentence(&refusal).into(),
                detail: refusal.to_string(),
            },
        }
    }
}

/// What a user is told when the identity provider vouched for them but the portal can't
/// serve them, with what to pass on to the administrator.
fn refusal_sentence(refusal: &SignInRefusal) -> &'static str {
    match refusal {
        SignInRefusal::NoTenant(_) => {
            "You were not signed in: your sign-in did not say which partner organization (Microsoft Entra tenant) you belong to, and the portal keeps each organization's customers apart, so it will not guess. Tell your administrator: the identity provider sent an ID token without a usable tid claim (a tenant id); either make the provider send it, or set tenant_id in the portal's settings to your organization's tenant id."
        }
        SignInRefusal::OtherTenant { .. } => {
            "You were not signed in: you signed in with an account of another organization than the one this portal serves. Sign in with your account of the partner organization; if you believe this portal should serve your organization, tell your administrator (the portal's tenant_id setting names the one organization it serves)."
        }
    }
}

impl AppError {
    fn title_and_message(&self) -> (&'static str, String, Option<(&'static str, String)>) {
        match self {
            AppError::SignInRequired { .. } => ("Sign in", "Sign in to continue.".into(), Some(("Sign in", "/login".into()))),
            AppError::NoAgentRole { .. } => ("No agent role", String::new(), None),
            AppError::Forbidden(m) => ("Not allowed", m.clone(), Some(("Back to customers", "/customers".into()))),
            AppError::NotFound => (
                "Page not found",
                "There is nothing at this address. If you followed a link to a customer, the customer may no longer be listed for your organization. Go back to the customer list.".into(),
                Some(("Customers", "/customers".into())),
            ),
            AppError::BadRequest(m) => ("Request not understood", m.clone(), Some(("Customers", "/customers".into()))),
            AppError::Csrf => (
                "This form has expired",
                "The form you sent did not come from this portal or belongs to an earlier session. Nothing was changed. Go back, reload the page and send it again.".into(),
                Some(("Start page", "/".into())),
            ),
            AppError::SignIn { user, .. } | AppError::SignInDeclined { user, .. } => {
                ("Sign-in not completed", user.clone(), Some(("Sign in again", "/login".into())))
            }
            AppError::TooManyRequests { retry_after_seconds } => (
                "Too many requests",
                format!(
                    "The portal received more requests from you than it accepts in a minute, so it did not carry this one out. Wait {retry_after_seconds} seconds (until {} UTC), then try again.",
                    (chrono::Utc::now() + chrono::Duration::seconds(*retry_after_seconds as i64)).format("%H:%M:%S")
                ),
                Some(("Start page", "/".into())),
            ),
            AppError::Upstream(e) => ("Partner Center could not complete this", e.user_message(), None),
            AppError::Store(_) | AppError::Internal(_) => (
                "Something went wrong on our side",
                "The portal could not finish this. Nothing you typed is lost where the page says it was saved. Try again; if it keeps happening, give your administrator the request id below.".into(),
                Some(("Start page", "/".into())),
            ),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::SignInRequired { .. } => StatusCode::SEE_OTHER,
            AppError::NoAgentRole { .. } | AppError::Forbidden(_) | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) | AppError::SignIn { .. } | AppError::SignInDeclined { .. } => {
                StatusCode::BAD_REQUEST
            }
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Upstream(PcError::Unauthorized { .. }) => StatusCode::SEE_OTHER,
            AppError::Upstream(PcError::Api { status: 403, .. }) => StatusCode::FORBIDDEN,
            AppError::Upstream(PcError::Api { status: 404, .. }) => StatusCode::NOT_FOUND,
            AppError::Upstream(PcError::Throttled { .. }) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Upstream(PcError::Unavailable { .. } | PcError::Transport(_)) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Upstream(_) => StatusCode::BAD_GATEWAY,
            AppError::Store(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let request_id = current_request_id();
        match self {
            AppError::Store(_) | AppError::Internal(_) => {
                tracing::error!(%request_id, error = %self, "request failed")
            }
            AppError::Upstream(_) | AppError::SignIn { .. } | AppError::SignInDeclined { .. } => {
                tracing::warn!(%request_id, error = %self, "request failed")
            }
            _ => tracing::info!(%request_id, error = %self, "request refused"),
        }
        match self {
            AppError::SignInRequired { return_to } => return sign_in_redirect(return_to),
            AppError::Upstream(PcError::Unauthorized { .. }) => {
                return sign_in_redirect("/customers");
            }
            AppError::NoAgentRole { layout } => {
                let page = NoAccessPage { layout: (**layout).clone() };
                return html(status, page.render());
            }
            _ => {}
        }
        let (title, message, action) = self.title_and_message();
        let layout = match SIGNED_IN_FRAME.try_with(|f| f.clone()).ok().flatten() {
            Some(mut frame) => {
                frame.title = title.to_string();
                frame
            }
            None => Layout::anonymous(title),
        };
        let page = ErrorPage {
            layout,
            status: status.as_u16(),
            message,
            request_id,
            upstream_code: match self {
                AppError::Upstream(e) => e.code().map(String::from),
                _ => None,
            },
            upstream_request_id: match self {
                AppError::Upstream(e) => e.request_id().map(|r| r.to_string()),
                _ => None,
            },
            quoted_detail: match self {
                AppError::SignInDeclined { description, .. } => description.as_deref().and_then(quotable),
                _ => None,
            },
            action,
        };
        let mut res = html(status, page.render());
        if let AppError::TooManyRequests { retry_after_seconds } = self {
            res.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(*retry_after_seconds));
        }
        res
    }
}

/// The most of an upstream text a page quotes.
const QUOTE_LIMIT: usize = 200;

/// An upstream description as a page may quote it: one line of visible characters,
/// shortened; askama escapes what is left. None when nothing visible remains.
fn quotable(text: &str) -> Option<String> {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if line.is_empty() {
        return None;
    }
    let mut quoted: String = line.chars().take(QUOTE_LIMIT).collect();
    if line.chars().count() > QUOTE_LIMIT {
        quoted.push('…');
    }
    Some(quoted)
}

fn sign_in_redirect(return_to: &str) -> HttpResponse {
    let target =
        format!("/login?return_to={}", url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect::<String>());
    HttpResponse::SeeOther().insert_header((header::LOCATION, target)).finish()
}

pub fn html(status: StatusCode, rendered: askama::Result<String>) -> HttpResponse {
    match rendered {
        Ok(body) => HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body),
        Err(e) => {
            tracing::error!(error = %e, "template failed to render");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body(format!("The page could not be shown. Request id: {}", current_request_id()))
        }
    }
}

/// Renders a page with status 200.
pub fn page<T: Template>(t: &T) -> HttpResponse {
    html(StatusCode::OK, t.render())
}

pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, to.to_string())).finish()
}
