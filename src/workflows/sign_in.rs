//! Sign-in and sign-out: the OpenID Connect exchange, the agent roles from the ID token,
//! the partner's type and name, and the audit of both.

use uuid::Uuid;

use super::{WorkflowError, WorkflowResult, Workflows, audit_of};
use crate::config::{RolesFrom, Settings};
use crate::domain::{AgentRole, PartnerType, PartnerUser, RoleSet, UserTokens};
use crate::identity::{Identity, PendingSignIn};
use crate::store::AuditEntry;

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

impl Workflows {
    /// Where to send the browser to sign in, and what to keep to finish.
    pub async fn start_sign_in(&self, return_to: String) -> WorkflowResult<(String, PendingSignIn)> {
        Ok(self.oidc.start(return_to).await?)
    }

    /// Exchanges the code (verifying the ID token) and makes the signed-in user: roles,
    /// partner tenant, partner type and name. Recorded in the audit log.
    #[tracing::instrument(skip_all, err(level = "warn"))]
    pub async fn finish_sign_in(
        &self,
        pending: &PendingSignIn,
        code: String,
    ) -> WorkflowResult<(PartnerUser, UserTokens)> {
        let (identity, tokens) = self.oidc.finish(pending, code).await?;
        let roles = map_roles(&identity, &self.settings);
        let tenant_id = identity
            .tenant_id
            .clone()
            .or_else(|| self.settings.tenant_id.clone())
            .unwrap_or_else(|| "default".to_string());
        let (partner_type, partner_name) = self.partner_of(&tenant_id, &roles, &tokens.access_token).await?;
        let user = PartnerUser {
            oid: identity.oid,
            name: identity.name,
            email: identity.email,
            tenant_id,
            roles,
            partner_type,
            partner_name,
            signed_in_at: chrono::Utc::now().timestamp(),
        };
        self.store.partner_user_seen(&user.tenant_id, &user.oid, &user.name, &user.email).await?;
        let entry =
            AuditEntry { detail: Some(format!("roles: {}", user.roles.label())), ..audit_of(&user, "sign_in", "ok") };
        self.store.audit(&entry).await?;
        Ok((user, tokens))
    }

    /// Records a sign-out, and removes the user's delegated tokens kept with queued
    /// submissions: they do not outlive the sign-in they came from.
    pub async fn signed_out(&self, user: &PartnerUser) -> WorkflowResult<()> {
        self.store.audit(&audit_of(user, "sign_out", "ok")).await?;
        self.forget_tokens_of(user).await
    }

    /// The partner's type and name: from settings, Partner Center, or what was read before.
    async fn partner_of(&self, tenant_id: &str, roles: &RoleSet, token: &str) -> WorkflowResult<(PartnerType, String)> {
        let stored = self.store.tenant_get(tenant_id).await?;
        let override_type = self.settings.partner_types.get(tenant_id).copied();
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
        match (self.look_up_partner(tenant_id, override_type, token).await, stored) {
            (Ok((pt, name)), _) => {
                self.store.tenant_upsert(tenant_id, &name, pt).await?;
                Ok((pt, name))
            }
            (Err(e), Some(t)) => {
                tracing::warn!(error = %e, "partner type lookup failed; using what was read before");
                Ok((override_type.unwrap_or(t.partner_type), t.name))
            }
            (Err(e), None) => Err(WorkflowError::Upstream(e)),
        }
    }

    async fn look_up_partner(
        &self,
        tenant_id: &str,
        override_type: Option<PartnerType>,
        token: &str,
    ) -> Result<(PartnerType, String), crate::partner_center::PcError> {
        let correlation = Uuid::new_v4();
        let pt = match override_type {
            Some(t) => t,
            None => self.pc.partner_type(token, correlation).await?,
        };
        let name = self.pc.organization_name(token, correlation).await?.unwrap_or_else(|| tenant_id.to_string());
        Ok((pt, name))
    }
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
        let by_roles = Settings { roles_from: RolesFrom::AppRoles, ..Default::default() };
        assert_eq!(map_roles(&identity(&[], &["HelpdeskAgent"]), &by_roles), RoleSet::new([AgentRole::Helpdesk]));
    }
}
