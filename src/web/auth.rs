//! Sign in, sign out, the start page and the page for users without an agent role.

use actix_session::Session;
use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use super::errors::{AppError, page, redirect};
use super::extractors::Signed;
use super::pages::{LandingPage, Layout, NoAccessPage};
use super::session::{self, SignedInUser};
use crate::config::{RolesFrom, Settings};
use crate::domain::{AgentRole, PartnerType, RoleSet};
use crate::identity::Identity;
use crate::store::AuditEntry;

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

/// Partner Center roles from the ID token, by configuration (DESIGN.md: a Global admin
/// counts as Admin agent).
pub fn map_roles(identity: &Identity, settings: &Settings) -> RoleSet {
    let (values, admin, sales, helpdesk, global) = match settings.roles_from {
        RolesFrom::Groups => (
            &identity.groups,
            &settings.admin_agent_groups,
            &settings.sales_agent_groups,
            &settings.helpdesk_agent_groups,
            &settings.global_admin_groups,
        ),
        RolesFrom::AppRoles => (
            &identity.app_roles,
            &settings.admin_agent_app_roles,
            &settings.sales_agent_app_roles,
            &settings.helpdesk_agent_app_roles,
            &settings.global_admin_app_roles,
        ),
    };
    let has = |list: &Vec<String>| values.iter().any(|v| list.iter().any(|l| l.eq_ignore_ascii_case(v)));
    let mut roles = Vec::new();
    if has(admin) || has(global) {
        roles.push(AgentRole::Admin);
    }
    if has(sales) {
        roles.push(AgentRole::Sales);
    }
    if has(helpdesk) {
        roles.push(AgentRole::Helpdesk);
    }
    RoleSet::new(roles)
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

#[get("/login")]
async fn login(
    state: web::Data<AppState>,
    session: Session,
    q: web::Query<LoginQuery>,
) -> Result<HttpResponse, AppError> {
    let (url, pending) = state.oidc.start(safe_return_to(q.return_to.as_deref())).await.map_err(|e| AppError::SignIn {
        user: "The sign-in service could not be reached. Try again in a minute; if it keeps failing, tell your administrator.".into(),
        detail: e.to_string(),
    })?;
    session::set_pending(&session, &pending).map_err(|e| AppError::Internal(e.into()))?;
    Ok(HttpResponse::SeeOther().insert_header((actix_web::http::header::LOCATION, url)).finish())
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

#[get("/auth/callback")]
async fn callback(
    state: web::Data<AppState>,
    session: Session,
    q: web::Query<CallbackQuery>,
) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    let pending = session::take_pending(&session);
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
            detail: "no pending sign-in in the session".into(),
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
    let (identity, tokens) = state.oidc.finish(&pending, code).await.map_err(|e| AppError::SignIn {
        user: "Your sign-in could not be verified, so you were not signed in. Start again; if it keeps failing, tell your administrator.".into(),
        detail: e.to_string(),
    })?;
    let roles = map_roles(&identity, &state.settings);
    let tenant_id = identity
        .tenant_id
        .clone()
        .or_else(|| state.settings.tenant_id.clone())
        .unwrap_or_else(|| "default".to_string());
    let (partner_type, partner_name) = partner_of(&state, &tenant_id, &roles, &tokens.access_token).await?;
    let user = SignedInUser {
        oid: identity.oid.clone(),
        name: identity.name.clone(),
        email: identity.email.clone(),
        tenant_id: tenant_id.clone(),
        roles,
        partner_type,
        partner_name,
        signed_in_at: chrono::Utc::now().timestamp(),
    };
    session::sign_in(&session, &user, &tokens).map_err(|e| AppError::Internal(e.into()))?;
    state.store.partner_user_seen(&user.tenant_id, &user.oid, &user.name, &user.email).await?;
    state
        .store
        .audit(&AuditEntry { detail: Some(format!("roles: {}", user.roles.label())), ..user.audit("sign_in", "ok") })
        .await?;
    Ok(redirect(if user.roles.is_empty() { "/no-access" } else { &pending.return_to }))
}

/// The partner's type and name: from settings, Partner Center, or what was read before.
async fn partner_of(
    state: &AppState,
    tenant_id: &str,
    roles: &RoleSet,
    token: &str,
) -> Result<(PartnerType, String), AppError> {
    let stored = state.store.tenant_get(tenant_id).await?;
    let override_type = state.settings.partner_types.get(tenant_id).copied();
    if roles.is_empty() {
        // Partner Center answers nothing to a user without an agent role.
        return Ok(match stored {
            Some(t) => (override_type.unwrap_or(t.partner_type), t.name),
            None => (override_type.unwrap_or(PartnerType::IndirectReseller), tenant_id.to_string()),
        });
    }
    // Read again at most once a day: a partner's type and name rarely change, and every
    // sign-in would otherwise wait for three Partner Center calls.
    if let Some(t) = &stored
        && chrono::Utc::now() - t.type_checked_at < chrono::Duration::hours(24)
    {
        return Ok((override_type.unwrap_or(t.partner_type), t.name.clone()));
    }
    let correlation = Uuid::new_v4();
    let looked_up = async {
        let pt = match override_type {
            Some(t) => t,
            None => state.pc.partner_type(token, correlation).await?,
        };
        let name = state.pc.organization_name(token, correlation).await?.unwrap_or_else(|| tenant_id.to_string());
        Ok::<_, crate::partner_center::PcError>((pt, name))
    }
    .await;
    match (looked_up, stored) {
        (Ok((pt, name)), _) => {
            state.store.tenant_upsert(tenant_id, &name, pt).await?;
            Ok((pt, name))
        }
        (Err(e), Some(t)) => {
            tracing::warn!(error = %e, "partner type lookup failed; using what was read before");
            Ok((override_type.unwrap_or(t.partner_type), t.name))
        }
        (Err(e), None) => Err(AppError::Upstream(e)),
    }
}

#[post("/logout")]
async fn logout(state: web::Data<AppState>, signed: Signed) -> Result<HttpResponse, AppError> {
    state.store.audit(&signed.user.audit("sign_out", "ok")).await?;
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

    fn identity(groups: &[&str], roles: &[&str]) -> Identity {
        Identity {
            oid: "o".into(),
            tenant_id: None,
            name: "n".into(),
            email: "e".into(),
            groups: groups.iter().map(|s| s.to_string()).collect(),
            app_roles: roles.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn roles_from_groups_and_app_roles() {
        let s = Settings {
            admin_agent_groups: vec!["g-admin".into()],
            sales_agent_groups: vec!["g-sales".into()],
            global_admin_groups: vec!["g-global".into()],
            ..Default::default()
        };
        assert_eq!(map_roles(&identity(&["g-sales"], &[]), &s), RoleSet::new([AgentRole::Sales]));
        assert_eq!(map_roles(&identity(&["G-GLOBAL"], &[]), &s), RoleSet::new([AgentRole::Admin]));
        assert!(map_roles(&identity(&["someone-else"], &["AdminAgent"]), &s).is_empty());
        let by_roles = Settings { roles_from: RolesFrom::AppRoles, ..Default::default() };
        assert_eq!(map_roles(&identity(&[], &["HelpdeskAgent"]), &by_roles), RoleSet::new([AgentRole::Helpdesk]));
    }
}
