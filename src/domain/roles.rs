//! Partner Center agent roles, partner types and what they allow.

use serde::{Deserialize, Serialize};

/// The Partner Center roles the portal knows. A Global admin of the partner tenant is
/// mapped to `Admin` before it gets here (a Global admin counts as Admin agent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AgentRole {
    Admin,
    Sales,
    Helpdesk,
}

impl AgentRole {
    pub fn label(self) -> &'static str {
        match self {
            AgentRole::Admin => "Admin agent",
            AgentRole::Sales => "Sales agent",
            AgentRole::Helpdesk => "Helpdesk agent",
        }
    }
}

/// The roles one signed-in user holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleSet(Vec<AgentRole>);

impl RoleSet {
    pub fn new(roles: impl IntoIterator<Item = AgentRole>) -> Self {
        let mut v: Vec<AgentRole> = roles.into_iter().collect();
        v.sort();
        v.dedup();
        RoleSet(v)
    }
    pub fn contains(&self, role: AgentRole) -> bool {
        self.0.contains(&role)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The most capable role, for display ("Sales agent").
    pub fn primary(&self) -> Option<AgentRole> {
        self.0.first().copied()
    }
    pub fn label(&self) -> String {
        match self.primary() {
            Some(r) => r.label().to_string(),
            None => "No agent role".to_string(),
        }
    }
}

/// What kind of partner a tenant is, as Partner Center's relationships call says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartnerType {
    DirectBill,
    IndirectProvider,
    IndirectReseller,
}

impl PartnerType {
    pub fn as_str(self) -> &'static str {
        match self {
            PartnerType::DirectBill => "direct_bill",
            PartnerType::IndirectProvider => "indirect_provider",
            PartnerType::IndirectReseller => "indirect_reseller",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "direct_bill" => Some(PartnerType::DirectBill),
            "indirect_provider" => Some(PartnerType::IndirectProvider),
            "indirect_reseller" => Some(PartnerType::IndirectReseller),
            _ => None,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            PartnerType::DirectBill => "Direct-bill partner",
            PartnerType::IndirectProvider => "Indirect provider",
            PartnerType::IndirectReseller => "Indirect reseller",
        }
    }
}

/// The sentence for every refused attestation by an indirect reseller whose indirect
/// provider is not known by name.
pub const INDIRECT_RESELLER_REFUSAL: &str = "Indirect resellers can't attest on behalf of their customers. Work with your indirect provider to complete attestation.";

/// The sentence for every refused attestation by an indirect reseller, naming its
/// indirect provider as Partner Center's relationships named it.
pub fn indirect_reseller_refusal(provider: Option<&str>) -> String {
    match provider.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => format!(
            "Indirect resellers can't attest on behalf of their customers. Work with {p}, your indirect provider, to complete attestation."
        ),
        None => INDIRECT_RESELLER_REFUSAL.to_string(),
    }
}

/// Why someone may not attest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttestRefusal {
    /// Neither an Admin agent nor a Sales agent.
    NotAdminOrSales,
    /// An Admin or Sales agent of an indirect reseller.
    IndirectReseller,
}

impl AttestRefusal {
    /// What to tell the user; `provider`: the indirect provider of an indirect reseller.
    pub fn message(self, provider: Option<&str>) -> String {
        match self {
            AttestRefusal::NotAdminOrSales => {
                "Only Admin agents and Sales agents can do this. Ask an Admin agent of your organization if you need it."
                    .into()
            }
            AttestRefusal::IndirectReseller => indirect_reseller_refusal(provider),
        }
    }
}

/// The attester rule, the one place of it in the portal: Admin agents and Sales agents
/// (a Global admin counts as Admin agent) of a partner that is not an indirect reseller.
pub fn may_attest(roles: &RoleSet, partner_type: PartnerType) -> Result<(), AttestRefusal> {
    if !(roles.contains(AgentRole::Admin) || roles.contains(AgentRole::Sales)) {
        return Err(AttestRefusal::NotAdminOrSales);
    }
    if partner_type == PartnerType::IndirectReseller {
        return Err(AttestRefusal::IndirectReseller);
    }
    Ok(())
}

/// What a user may do, computed once from roles and partner type. Templates receive
/// this, never role names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Permissions {
    pub can_read_customers: bool,
    pub can_attest: bool,
    pub can_admin: bool,
    /// Admin and Sales agents write invitation emails, also those of an indirect reseller
    /// (which can't attest, but can ask its customers to accept directly).
    pub can_invite: bool,
}

impl Permissions {
    pub fn of(roles: &RoleSet, partner_type: PartnerType) -> Self {
        Permissions {
            can_read_customers: !roles.is_empty(),
            can_attest: may_attest(roles, partner_type).is_ok(),
            can_admin: roles.contains(AgentRole::Admin),
            can_invite: roles.contains(AgentRole::Admin) || roles.contains(AgentRole::Sales),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sales_and_admin_of_attesting_partners_may_attest() {
        let cases = [
            (vec![AgentRole::Sales], PartnerType::IndirectProvider, true),
            (vec![AgentRole::Admin], PartnerType::DirectBill, true),
            (vec![AgentRole::Helpdesk], PartnerType::DirectBill, false),
            (vec![], PartnerType::DirectBill, false),
            (vec![AgentRole::Admin], PartnerType::IndirectReseller, false),
            (vec![AgentRole::Sales], PartnerType::IndirectReseller, false),
        ];
        for (roles, pt, expected) in cases {
            let p = Permissions::of(&RoleSet::new(roles.clone()), pt);
            assert_eq!(p.can_attest, expected, "{roles:?} {pt:?}");
        }
    }

    #[test]
    fn the_refusal_says_why() {
        let reseller = may_attest(&RoleSet::new([AgentRole::Admin]), PartnerType::IndirectReseller);
        assert_eq!(reseller, Err(AttestRefusal::IndirectReseller));
        assert_eq!(reseller.unwrap_err().message(None), INDIRECT_RESELLER_REFUSAL);
        assert_eq!(
            reseller.unwrap_err().message(Some("Contoso Distribution")),
            "Indirect resellers can't attest on behalf of their customers. Work with Contoso Distribution, your indirect provider, to complete attestation."
        );
        let helpdesk = may_attest(&RoleSet::new([AgentRole::Helpdesk]), PartnerType::IndirectReseller);
        assert_eq!(helpdesk, Err(AttestRefusal::NotAdminOrSales), "the role is checked first");
    }

    #[test]
    fn helpdesk_reads_but_does_not_administer() {
        let p = Permissions::of(&RoleSet::new([AgentRole::Helpdesk]), PartnerType::IndirectProvider);
        assert!(p.can_read_customers);
        assert!(!p.can_admin);
        let none = Permissions::of(&RoleSet::default(), PartnerType::IndirectProvider);
        assert!(!none.can_read_customers);
    }

    #[test]
    fn primary_role_is_the_most_capable() {
        let r = RoleSet::new([AgentRole::Helpdesk, AgentRole::Admin, AgentRole::Helpdesk]);
        assert_eq!(r.primary(), Some(AgentRole::Admin));
        assert_eq!(r.label(), "Admin agent");
        assert_eq!(RoleSet::default().label(), "No agent role");
    }

    #[test]
    fn partner_type_round_trips() {
        for pt in [PartnerType::DirectBill, PartnerType::IndirectProvider, PartnerType::IndirectReseller] {
            assert_eq!(PartnerType::parse(pt.as_str()), Some(pt));
        }
        assert_eq!(PartnerType::parse("reseller"), None);
    }
}
