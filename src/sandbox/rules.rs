//! What Partner Center refuses, as the sandbox reads Microsoft's public documentation
//! (each call is summarised, with its sources, in `docs/partner-center.md`).
//!
//! These lists and checks are the sandbox's own. The portal keeps lists of its own for
//! the same rules; the two are written apart on purpose, so that a slip in one of them
//! makes a test fail instead of passing unnoticed in both.

use super::seed::{self, SeedContact, TenantGroups};

/// Countries where a new customer needs an organization registration number, from
/// Microsoft's documentation: the first eleven for long, the others since 2023.
const REGISTRATION_NUMBER_COUNTRIES: [&str; 24] = [
    "AM", "AZ", "BY", "HU", "KZ", "KG", "MD", "RU", "TJ", "UZ", "UA", // the original list
    "BR", "IN", "ZA", "PL", "AE", "SA", "TR", "TH", "VN", "MM", "IQ", "SS", "VE", // since 2023
];

/// Countries where a new customer's address needs a phone number, else error 600051.
/// An assumption: no public Microsoft page lists these countries, so this list is the
/// project's guess and may be wrong in both directions.
const PHONE_COUNTRIES: [&str; 6] = ["BR", "IN", "JP", "CN", "KR", "TR"];

/// Whether a customer in `country` (two capital letters) needs a registration number.
pub(crate) fn registration_number_required(country: &str) -> bool {
    REGISTRATION_NUMBER_COUNTRIES.contains(&country)
}

/// Whether a customer in `country` (two capital letters) needs a phone number.
pub(crate) fn phone_required(country: &str) -> bool {
    PHONE_COUNTRIES.contains(&country)
}

/// The duplicate-contact rule (600061). Microsoft's page on confirming customer
/// acceptance (<https://learn.microsoft.com/partner-center/developer/confirm-customer-consent-customer-agreement>)
/// allows another agreement when the first name, last name, email address or phone
/// number changes. It says nothing about letter case, so the four values are compared
/// exactly as sent, only without surrounding spaces; a missing phone is an empty one.
pub(crate) fn same_contact(a: &SeedContact, b: &SeedContact) -> bool {
    let phone = |c: &SeedContact| c.phone.as_deref().unwrap_or("").trim().to_string();
    a.first_name.trim() == b.first_name.trim()
        && a.last_name.trim() == b.last_name.trim()
        && a.email.trim() == b.email.trim()
        && phone(a) == phone(b)
}

/// An agent role in a partner tenant. The sandbox's tokens carry roles as group ids, one
/// group per role and tenant (see `seed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AgentRole {
    Admin,
    Sales,
    Helpdesk,
    GlobalAdmin,
}

impl AgentRole {
    /// The name Entra ID would give the role in a token's `roles` claim.
    pub(crate) fn claim(self) -> &'static str {
        match self {
            AgentRole::Admin => "AdminAgent",
            AgentRole::Sales => "SalesAgent",
            AgentRole::Helpdesk => "HelpdeskAgent",
            AgentRole::GlobalAdmin => "GlobalAdmin",
        }
    }
}

fn groups_of(tenant: &str) -> Option<&'static TenantGroups> {
    match tenant {
        seed::CONTOSO_TENANT => Some(&seed::CONTOSO_GROUPS),
        seed::FABRIKAM_TENANT => Some(&seed::FABRIKAM_GROUPS),
        _ => None,
    }
}

/// The agent roles that `groups` give in the partner tenant `tenant`, in the order of the
/// groups; None when the sandbox knows no such partner.
pub(crate) fn agent_roles<S: AsRef<str>>(tenant: &str, groups: &[S]) -> Option<Vec<AgentRole>> {
    let g = groups_of(tenant)?;
    let role = |id: &str| match id {
        _ if id == g.admin => Some(AgentRole::Admin),
        _ if id == g.sales => Some(AgentRole::Sales),
        _ if id == g.helpdesk => Some(AgentRole::Helpdesk),
        _ if id == g.global_admin => Some(AgentRole::GlobalAdmin),
        _ => None,
    };
    Some(groups.iter().filter_map(|id| role(id.as_ref())).collect())
}

/// Who may attest and who may create customers: Admin agents and Sales agents; a Global
/// admin of the partner tenant counts as both. Helpdesk agents may only read.
pub(crate) fn admin_or_sales(roles: &[AgentRole]) -> bool {
    roles.iter().any(|r| matches!(r, AgentRole::Admin | AgentRole::Sales | AgentRole::GlobalAdmin))
}

/// Indirect resellers may not attest for their customers (their indirect provider does),
/// neither with the confirm call nor with the enhanced attestation.
pub(crate) fn is_indirect_reseller(tenant: &str) -> bool {
    tenant == seed::FABRIKAM_TENANT
}

/// Whether a partner may attest for its customers at all: any partner but an indirect
/// reseller, unless it is also a direct-bill partner (a tenant in `direct_bill`), which
/// then attests for its own customers as a direct-bill partner does.
pub(crate) fn may_attest_as_partner(tenant: &str, direct_bill: &[String]) -> bool {
    !is_indirect_reseller(tenant) || direct_bill.iter().any(|t| t == tenant)
}

/// Indirect providers bill indirect resellers' customers; in the seed that is Contoso.
pub(crate) fn is_indirect_provider(tenant: &str) -> bool {
    tenant == seed::CONTOSO_TENANT
}

/// Whether a partner sees a customer: its own, and, for an indirect reseller, those its
/// indirect provider holds with it as the customer's reseller.
pub(crate) fn sees_customer(tenant: &str, customer: &seed::SeedCustomer) -> bool {
    customer.tenant_id == tenant || customer.associated_partner_id.as_deref() == Some(tenant)
}

/// Whether `reseller` is one of the indirect resellers of the indirect provider
/// `provider`: only then may the provider create a customer associated with it.
pub(crate) fn resells_for(reseller: &str, provider: &str) -> bool {
    provider == seed::CONTOSO_TENANT && reseller == seed::FABRIKAM_TENANT
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(first: &str, last: &str, email: &str, phone: Option<&str>) -> SeedContact {
        SeedContact {
            first_name: first.into(),
            last_name: last.into(),
            email: email.into(),
            phone: phone.map(String::from),
        }
    }

    #[test]
    fn a_contact_is_the_same_only_when_all_four_values_are() {
        let ann = contact("Ann", "Lee", "ann@lee.example", Some("+1 425 555 0100"));
        assert!(same_contact(&ann, &ann.clone()));
        assert!(same_contact(&ann, &contact(" Ann ", "Lee ", " ann@lee.example", Some("+1 425 555 0100 "))));
        assert!(!same_contact(&ann, &contact("Anne", "Lee", "ann@lee.example", Some("+1 425 555 0100"))));
        assert!(!same_contact(&ann, &contact("Ann", "Li", "ann@lee.example", Some("+1 425 555 0100"))));
        assert!(!same_contact(&ann, &contact("Ann", "Lee", "ann@li.example", Some("+1 425 555 0100"))));
        assert!(!same_contact(&ann, &contact("Ann", "Lee", "ann@lee.example", Some("+1 425 555 0101"))));
        assert!(!same_contact(&ann, &contact("Ann", "Lee", "ann@lee.example", None)));
    }

    #[test]
    fn letter_case_counts_and_a_missing_phone_is_an_empty_one() {
        let ann = contact("Ann", "Lee", "ann@lee.example", None);
        assert!(!same_contact(&ann, &contact("Ann", "Lee", "Ann@Lee.example", None)));
        assert!(!same_contact(&ann, &contact("ann", "Lee", "ann@lee.example", None)));
        assert!(same_contact(&ann, &contact("Ann", "Lee", "ann@lee.example", Some(""))));
        assert!(same_contact(&ann, &contact("Ann", "Lee", "ann@lee.example", Some("  "))));
    }

    #[test]
    fn country_lists() {
        assert_eq!(REGISTRATION_NUMBER_COUNTRIES.len(), 24);
        for c in ["AM", "UA", "BR", "VE", "SS"] {
            assert!(registration_number_required(c), "{c}");
        }
        assert!(!registration_number_required("US"));
        assert!(!registration_number_required("br"), "codes are two capital letters");
        assert!(phone_required("JP") && phone_required("TR"));
        assert!(!phone_required("DE"));
    }

    #[test]
    fn roles_come_from_the_callers_own_tenant() {
        let c = &seed::CONTOSO_GROUPS;
        let f = &seed::FABRIKAM_GROUPS;
        let roles = agent_roles(seed::CONTOSO_TENANT, &[c.helpdesk, f.admin, c.sales]).unwrap();
        assert_eq!(roles, vec![AgentRole::Helpdesk, AgentRole::Sales]);
        assert!(agent_roles("00000000-0000-0000-0000-000000000000", &[c.admin]).is_none());
        assert!(admin_or_sales(&[AgentRole::GlobalAdmin]));
        assert!(!admin_or_sales(&[AgentRole::Helpdesk]));
        assert!(!admin_or_sales(&[]));
    }

    #[test]
    fn indirect_partners() {
        assert!(is_indirect_reseller(seed::FABRIKAM_TENANT));
        assert!(!is_indirect_reseller(seed::CONTOSO_TENANT));
        assert!(resells_for(seed::FABRIKAM_TENANT, seed::CONTOSO_TENANT));
        assert!(!resells_for(seed::CONTOSO_TENANT, seed::FABRIKAM_TENANT));
        assert!(is_indirect_provider(seed::CONTOSO_TENANT) && !is_indirect_provider(seed::FABRIKAM_TENANT));
        let mut held = seed::customers().into_iter().find(|c| c.tenant_id == seed::CONTOSO_TENANT).unwrap();
        assert!(sees_customer(seed::CONTOSO_TENANT, &held) && !sees_customer(seed::FABRIKAM_TENANT, &held));
        held.associated_partner_id = Some(seed::FABRIKAM_TENANT.into());
        assert!(sees_customer(seed::CONTOSO_TENANT, &held) && sees_customer(seed::FABRIKAM_TENANT, &held));
    }

    #[test]
    fn an_indirect_reseller_attests_only_when_also_direct_bill() {
        assert!(may_attest_as_partner(seed::CONTOSO_TENANT, &[]));
        assert!(!may_attest_as_partner(seed::FABRIKAM_TENANT, &[]));
        assert!(!may_attest_as_partner(seed::FABRIKAM_TENANT, &[seed::CONTOSO_TENANT.to_string()]));
        assert!(may_attest_as_partner(seed::FABRIKAM_TENANT, &[seed::FABRIKAM_TENANT.to_string()]));
    }
}
