//! The signed-in partner user, and the proof that they may attest.

use serde::{Deserialize, Serialize};

use super::roles::{AttestRefusal, PartnerType, Permissions, RoleSet, may_attest};

/// The signed-in person, as proven by the ID token and Partner Center.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerUser {
    /// The user's object id in the partner's tenant.
    pub oid: String,
    pub name: String,
    pub email: String,
    /// The partner tenant: every row the user causes or reads carries it.
    pub tenant_id: String,
    pub roles: RoleSet,
    pub partner_type: PartnerType,
    pub partner_name: String,
    /// An indirect reseller's indirect provider, by name, when Partner Center named it.
    #[serde(default)]
    pub provider_name: Option<String>,
    /// Unix seconds; the absolute session lifetime counts from here.
    pub signed_in_at: i64,
    /// How many times the user had signed out of the portal when this sign-in began: a
    /// larger count later means this sign-in's requests outlived a sign-out.
    #[serde(default)]
    pub sign_outs_before: i64,
}

impl PartnerUser {
    pub fn permissions(&self) -> Permissions {
        Permissions::of(&self.roles, self.partner_type)
    }

    /// The proof that this user may attest, or why not.
    pub fn attester(&self) -> Result<Attester, AttestRefusal> {
        may_attest(&self.roles, self.partner_type).map(|()| Attester { user: self.clone() })
    }
}

/// Proof that a user may attest: only `PartnerUser::attester` makes one, so a use case
/// that takes an `Attester` cannot be reached by anyone the attester rule refuses.
#[derive(Debug, Clone)]
pub struct Attester {
    user: PartnerUser,
}

impl Attester {
    pub fn user(&self) -> &PartnerUser {
        &self.user
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AgentRole;

    fn user(roles: &[AgentRole], partner_type: PartnerType) -> PartnerUser {
        PartnerUser {
            oid: "o".into(),
            name: "Sam".into(),
            email: "sam@example.com".into(),
            tenant_id: "t".into(),
            roles: RoleSet::new(roles.iter().copied()),
            partner_type,
            partner_name: "Contoso".into(),
            provider_name: None,
            signed_in_at: 0,
            sign_outs_before: 0,
        }
    }

    #[test]
    fn only_the_attester_rule_makes_an_attester() {
        assert!(user(&[AgentRole::Sales], PartnerType::IndirectProvider).attester().is_ok());
        assert!(user(&[AgentRole::Helpdesk], PartnerType::DirectBill).attester().is_err());
        assert!(user(&[AgentRole::Admin], PartnerType::IndirectReseller).attester().is_err());
    }
}
