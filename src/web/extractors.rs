//! A role is a type: a handler obtains the signed-in user only through one of these
//! extractors, each of which proves what it names. Forgetting the check does not compile.

use std::future::{Ready, ready};

use actix_session::{Session, SessionExt};
use actix_web::{FromRequest, HttpRequest, dev::Payload, http::Method, web};

use super::AppState;
use super::errors::AppError;
use super::pages::Layout;
use super::session::{self, SignedInUser};
use crate::domain::{AgentRole, AttestRefusal};

/// Any signed-in user, agent role or not.
pub struct Signed {
    pub user: SignedInUser,
    pub session: Session,
}

impl Signed {
    /// The page frame: name, role, partner, the CSRF token for forms, a flash message.
    pub fn layout(&self, title: &str) -> Layout {
        Layout::signed(title, &self.user, session::csrf_token(&self.session), session::take_flash(&self.session))
    }
}

fn return_to(req: &HttpRequest) -> String {
    if req.method() == Method::GET {
        req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_else(|| "/".into())
    } else {
        "/customers".into()
    }
}

fn signed(req: &HttpRequest) -> Result<Signed, AppError> {
    let session = req.get_session();
    let Some(user) = session::user(&session) else {
        return Err(AppError::SignInRequired { return_to: return_to(req) });
    };
    let absolute_seconds = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.settings.session_absolute_hours as i64 * 3600)
        .unwrap_or(12 * 3600);
    if chrono::Utc::now().timestamp() - user.signed_in_at > absolute_seconds {
        // Past the absolute lifetime: the server-side session goes, whatever the activity.
        session.purge();
        return Err(AppError::SignInRequired { return_to: return_to(req) });
    }
    Ok(Signed { user, session })
}

impl FromRequest for Signed {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(signed(req))
    }
}

/// A user with any Partner Center agent role (Admin, Sales or Helpdesk): may look up.
pub struct Agent(pub Signed);

fn agent(req: &HttpRequest) -> Result<Agent, AppError> {
    let s = signed(req)?;
    if s.user.roles.is_empty() {
        return Err(AppError::NoAgentRole { layout: Box::new(s.layout("No agent role")) });
    }
    Ok(Agent(s))
}

impl FromRequest for Agent {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(agent(req))
    }
}

/// An Admin agent or Sales agent of a partner that may attest (not an indirect
/// reseller), with the domain's proof of it that the attest use cases take.
pub struct Attester {
    pub signed: Signed,
    pub proof: crate::domain::Attester,
}

fn attester(req: &HttpRequest) -> Result<Attester, AppError> {
    let Agent(signed) = agent(req)?;
    match signed.user.attester() {
        Ok(proof) => Ok(Attester { signed, proof }),
        Err(refusal @ (AttestRefusal::NotAdminOrSales | AttestRefusal::IndirectReseller)) => {
            Err(AppError::Forbidden(refusal.message(signed.user.provider_name.as_deref())))
        }
    }
}

impl FromRequest for Attester {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(attester(req))
    }
}

/// An Admin agent.
pub struct Admin(pub Signed);

impl FromRequest for Admin {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(agent(req).and_then(|Agent(s)| {
            if s.user.roles.contains(AgentRole::Admin) {
                Ok(Admin(s))
            } else {
                Err(AppError::Forbidden("Only Admin agents can do this.".into()))
            }
        }))
    }
}
