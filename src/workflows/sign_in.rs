//! Sign-in and sign-out: the OpenID Connect exchange, the agent roles from the ID token,
//! the partner's type and name, and the audit of both.

use uuid::Uuid;

use super::{WorkflowError, WorkflowResult, Workflows, audit_of};
use crate::config::{RolesFrom, Settings};
use crate::domain::{AgentRole, IdToken, PartnerType, PartnerUser, RoleSet, UserTokens, parse_tenant_id};
use crate::identity::{Identity, Oidc, PendingSignIn};
use crate::store::{AuditEntry, TenantRecord};

/// Partner Center roles from the ID token, by configuration (a Global admin counts as
/// Admin agent).
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

/// What the session keeps of a sign-in: the user, their delegated tokens, and the ID
/// token that names the session when signing out at the identity provider.
#[derive(Debug, Clone)]
pub struct SignInState {
    pub user: PartnerUser,
    pub tokens: UserTokens,
    pub id_token: IdToken,
}

/// Why a sign-in the identity provider vouched for is still refused.
#[derive(Debug, thiserror::Error)]
pub enum SignInRefusal {
    /// No `tid` that is a tenant id, and no `tenant_id` configured to stand in for it.
    #[error("the ID token names no usable tenant (tid {0:?}) and tenant_id is not configured")]
    NoTenant(Option<String>),
    /// The deployment serves one configured tenant, and the token names another.
    #[error("the ID token names tenant {found}, but this deployment serves only tenant {configured}")]
    OtherTenant { found: String, configured: String },
}

/// The partner tenant a verified identity belongs to: its `tid` when that is a tenant id
/// (a GUID). A deployment that configures `tenant_id` serves that tenant alone: it stands
/// in for a missing or unusable `tid`, and a token of another tenant is refused. There is
/// no shared fallback tenant (docs/architecture.md, "Sign-in and roles").
pub fn tenant_of(identity: &Identity, settings: &Settings) -> Result<String, SignInRefusal> {
    let claimed = identity.tenant_id.as_deref().and_then(parse_tenant_id);
    let configured = settings.tenant_id.as_deref().and_then(parse_tenant_id);
    match (claimed, configured) {
        (Some(found), Some(configured)) if found != configured => Err(SignInRefusal::OtherTenant { found, configured }),
        (Some(tenant), _) | (None, Some(tenant)) => Ok(tenant),
        (None, None) => Err(SignInRefusal::NoTenant(identity.tenant_id.clone())),
    }
}

/// How old a partner's stored type may be at sign-in: a partner's type and name rarely
/// change, and every sign-in would otherwise wait for three Partner Center calls.
const PARTNER_TYPE_AT_SIGN_IN: chrono::TimeDelta = chrono::TimeDelta::hours(24);

impl Workflows {
    /// Where to send the browser to sign in, and what to keep to finish.
    pub async fn start_sign_in(&self, return_to: String) -> WorkflowResult<(String, PendingSignIn)> {
        Ok(self.oidc.start(return_to).await?)
    }

    /// Exchanges the code (verifying the ID token) and makes the signed-in user: roles,
    /// partner tenant, partner type and name. Recorded in the audit log.
    #[tracing::instrument(skip_all, err(level = "warn"))]
    pub async fn finish_sign_in(&self, pending: &PendingSignIn, code: String) -> WorkflowResult<SignInState> {
        let signed_in = self.oidc.finish(pending, code).await?;
        let (identity, tokens) = (signed_in.identity, signed_in.tokens);
        let tenant_id = tenant_of(&identity, &self.settings)?;
        let roles = map_roles(&identity, &self.settings);
        let partner = self.partner_of(&tenant_id, &roles, &tokens.access_token, PARTNER_TYPE_AT_SIGN_IN).await?;
        let user = PartnerUser {
            oid: identity.oid,
            name: identity.name,
            email: identity.email,
            tenant_id,
            roles,
            partner_type: partner.partner_type,
            partner_name: partner.name,
            provider_name: partner.provider,
            signed_in_at: chrono::Utc::now().timestamp(),
            sign_outs_before: 0,
        };
        self.store.partner_user_seen(&user.tenant_id, &user.oid, &user.name, &user.email).await?;
        let user = PartnerUser {
            sign_outs_before: self.store.partner_user_sign_outs(&user.tenant_id, &user.oid).await?,
            ..user
        };
        let entry =
            AuditEntry { detail: Some(format!("roles: {}", user.roles.label())), ..audit_of(&user, "sign_in", "ok") };
        self.store.audit(&entry).await?;
        Ok(SignInState { user, tokens, id_token: signed_in.id_token })
    }

    /// Renews a signed-in user's delegated tokens when they are about to expire, and with
    /// them who the user is: the ID token of the renewal is verified, roles are mapped and
    /// the partner type is read again, so that a role removed in Entra ID is gone at the
    /// next renewal (at most an hour). A renewal that brings no ID token, or one for
    /// another user or tenant, can't confirm the roles: the user must sign in again.
    /// `Ok(None)`: the tokens and the user will do as they are. Requests of one session
    /// that ask at the same time share one renewal.
    #[tracing::instrument(skip_all, fields(tenant_id = %user.tenant_id), err(level = "info"))]
    pub async fn renew_sign_in(&self, user: &PartnerUser, tokens: &UserTokens) -> WorkflowResult<Option<SignInState>> {
        if !Oidc::due(tokens) {
            return Ok(None);
        }
        let Some(refresh_token) = tokens.refresh_token.as_deref() else {
            return Err(WorkflowError::SignInRequired("the sign-in has expired and can't be renewed".into()));
        };
        let slot = self.renewals.slot(refresh_token);
        let shared = slot
            .get_or_init(|| async {
                self.renew_once(user, tokens).await.map_err(|e| match e {
                    WorkflowError::SignInRequired(why) => why,
                    other => format!("the renewal could not be completed: {other}"),
                })
            })
            .await;
        shared.clone().map_err(WorkflowError::SignInRequired)
    }

    async fn renew_once(&self, user: &PartnerUser, tokens: &UserTokens) -> WorkflowResult<Option<SignInState>> {
        let renewed =
            self.oidc.fresh_identity(tokens).await.map_err(|e| WorkflowError::SignInRequired(e.to_string()))?;
        let Some(renewed) = renewed else {
            return Ok(None);
        };
        let Some((identity, id_token)) = renewed.verified else {
            return Err(WorkflowError::SignInRequired(
                "the renewal carried no ID token: roles can't be read again".into(),
            ));
        };
        let tenant_id =
            tenant_of(&identity, &self.settings).map_err(|e| WorkflowError::SignInRequired(e.to_string()))?;
        if identity.oid != user.oid || tenant_id != user.tenant_id {
            return Err(WorkflowError::SignInRequired("the renewal's ID token names another user or tenant".into()));
        }
        let roles = map_roles(&identity, &self.settings);
        let partner = self.partner_now(user, &roles, &renewed.tokens.access_token).await?;
        let now = PartnerUser {
            name: identity.name,
            email: identity.email,
            roles,
            partner_type: partner.partner_type,
            partner_name: partner.name,
            provider_name: partner.provider,
            ..user.clone()
        };
        self.audit_role_change(user, &now).await?;
        // The partner's refreshes read with this user's sign-in when they started the last
        // one: they go on with the renewed tokens (the old refresh token may be spent).
        self.store.refresh_sign_in_renewed_by(&user.tenant_id, &user.oid, &renewed.tokens).await?;
        Ok(Some(SignInState { user: now, tokens: renewed.tokens, id_token }))
    }

    /// The partner's type and name read again from Partner Center, or the session's when
    /// Partner Center does not answer.
    async fn partner_now(&self, user: &PartnerUser, roles: &RoleSet, token: &str) -> WorkflowResult<PartnerFacts> {
        match self.partner_of(&user.tenant_id, roles, token, chrono::TimeDelta::zero()).await {
            Err(WorkflowError::Upstream(e)) => {
                tracing::warn!(error = %e, "partner type could not be read again; keeping the session's");
                Ok(PartnerFacts {
                    partner_type: user.partner_type,
                    name: user.partner_name.clone(),
                    provider: user.provider_name.clone(),
                })
            }
            read => read,
        }
    }

    /// A change of roles or partner type at a renewal goes to the audit log.
    async fn audit_role_change(&self, before: &PartnerUser, now: &PartnerUser) -> WorkflowResult<()> {
        if now.roles == before.roles && now.partner_type == before.partner_type {
            return Ok(());
        }
        let detail = format!(
            "roles: {} (were {}); partner type: {} (was {})",
            now.roles.label(),
            before.roles.label(),
            now.partner_type.label(),
            before.partner_type.label()
        );
        self.store.audit(&AuditEntry { detail: Some(detail), ..audit_of(now, "roles_renewed", "changed") }).await?;
        Ok(())
    }

    /// Where to send the browser after the portal's own session is gone, to end the
    /// session at the identity provider too; None when it offers no way to (or can't be
    /// reached: the portal's sign-out stands either way).
    pub async fn end_session_url(&self, hint: Option<&IdToken>) -> Option<String> {
        let back = format!("{}/?signed_out=1", self.settings.public_url());
        match self.oidc.end_session_url(hint, &back).await {
            Ok(url) => url,
            Err(e) => {
                tracing::warn!(error = %e, "the identity provider's sign-out address could not be read");
                None
            }
        }
    }

    /// The identity provider's origin, where the Sign out form may lead.
    pub fn identity_provider_origin(&self) -> Option<String> {
        self.oidc.issuer_origin().ok().map(|o| o.ascii_serialization())
    }

    /// Records a sign-out, and removes the user's delegated tokens kept with queued
    /// submissions: they do not outlive the sign-in they came from.
    pub async fn signed_out(&self, user: &PartnerUser) -> WorkflowResult<()> {
        self.store.audit(&audit_of(user, "sign_out", "ok")).await?;
        // First the count, then the tokens: a submission stored meanwhile is either seen
        // here or sees the count (`forget_tokens_if_signed_out`).
        self.store.partner_user_signed_out(&user.tenant_id, &user.oid).await?;
        self.forget_tokens_of(user).await
    }

    /// The partner's type and name: from settings, Partner Center, or what was read before.
    /// `max_age`: how long ago the stored type may have been read from Partner Center.
    async fn partner_of(
        &self,
        tenant_id: &str,
        roles: &RoleSet,
        token: &str,
        max_age: chrono::TimeDelta,
    ) -> WorkflowResult<PartnerFacts> {
        let stored = self.store.tenant_get(tenant_id).await?;
        let override_type = self.settings.partner_types.get(tenant_id).copied();
        if roles.is_empty() {
            // Partner Center answers nothing to a user without an agent role.
            return match stored {
                Some(t) => self.stored_partner(t, override_type).await,
                None => Ok(PartnerFacts {
                    partner_type: override_type.unwrap_or(PartnerType::IndirectReseller),
                    name: tenant_id.to_string(),
                    provider: None,
                }),
            };
        }
        if let Some(t) = &stored
            && chrono::Utc::now() - t.type_checked_at < max_age
        {
            return self.stored_partner(t.clone(), override_type).await;
        }
        match (self.look_up_partner(tenant_id, override_type, token).await, stored) {
            (Ok(read), _) => {
                self.store.tenant_upsert(tenant_id, &read.name, read.partner_type).await?;
                self.store.tenant_provider_set(tenant_id, read.provider.as_deref()).await?;
                Ok(read)
            }
            (Err(e), Some(t)) => {
                tracing::warn!(error = %e, "partner type lookup failed; using what was read before");
                self.stored_partner(t, override_type).await
            }
            (Err(e), None) => Err(WorkflowError::Upstream(e)),
        }
    }

    /// The partner as read before, with the setting's partner type when there is one.
    async fn stored_partner(
        &self,
        t: TenantRecord,
        override_type: Option<PartnerType>,
    ) -> WorkflowResult<PartnerFacts> {
        let provider = self.store.tenant_provider(&t.tenant_id).await?;
        Ok(PartnerFacts { partner_type: override_type.unwrap_or(t.partner_type), name: t.name, provider })
    }

    async fn look_up_partner(
        &self,
        tenant_id: &str,
        override_type: Option<PartnerType>,
        token: &str,
    ) -> Result<PartnerFacts, crate::partner_center::PcError> {
        let correlation = Uuid::new_v4();
        let (partner_type, providers) = match override_type {
            Some(t) => (t, Vec::new()),
            None => self.pc.partner_type(token, correlation).await?,
        };
        let name = self.pc.organization_name(token, correlation).await?.unwrap_or_else(|| tenant_id.to_string());
        // A reseller of several indirect providers is told all of their names.
        let provider = (!providers.is_empty()).then(|| providers.join(" or "));
        Ok(PartnerFacts { partner_type, name, provider })
    }
}

/// The partner organization of a signed-in user, as Partner Center describes it.
struct PartnerFacts {
    partner_type: PartnerType,
    name: String,
    /// An indirect reseller's indirect provider, by name, when Partner Center named it.
    provider: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let by_roles = Settings {
            roles_from: RolesFrom::AppRoles,
            helpdesk_agent_app_roles: vec!["HelpdeskAgent".into()],
            ..Default::default()
        };
        assert_eq!(map_roles(&identity(&[], &["HelpdeskAgent"]), &by_roles), RoleSet::new([AgentRole::Helpdesk]));
    }

    fn with_tid(tid: Option<&str>) -> Identity {
        Identity { tenant_id: tid.map(String::from), ..identity(&[], &[]) }
    }

    #[test]
    fn the_tenant_comes_from_tid_or_the_one_configured_never_a_default() {
        let guid = "c0a7050d-0000-4000-8000-000000000001";
        let other = "fab01ca7-0000-4000-8000-000000000002";
        let open = Settings::default();
        assert_eq!(tenant_of(&with_tid(Some(guid)), &open).unwrap(), guid);
        for unusable in [None, Some("default"), Some(""), Some("common")] {
            assert!(matches!(tenant_of(&with_tid(unusable), &open), Err(SignInRefusal::NoTenant(_))), "{unusable:?}");
        }
        let single = Settings { tenant_id: Some(guid.into()), ..Default::default() };
        assert_eq!(tenant_of(&with_tid(None), &single).unwrap(), guid);
        assert_eq!(tenant_of(&with_tid(Some("default")), &single).unwrap(), guid);
        assert!(matches!(tenant_of(&with_tid(Some(other)), &single), Err(SignInRefusal::OtherTenant { .. })));
    }
}
