//! Deterministic demo data: an indirect provider (Contoso Distribution) with users of
//! every role and customers in every MCA status, and one of its indirect resellers
//! (Fabrikam IT) as a second partner tenant. The same every time, so tests and demos
//! can name customers.

use chrono::NaiveDate;

/// The Microsoft Customer Agreement template the sandbox offers and records
/// attestations under.
pub const MCA_TEMPLATE_ID: &str = "117a77b0-9360-443b-8795-c6dedc750cf9";
pub const CONTOSO_TENANT: &str = "c0a7050d-0000-4000-8000-000000000001";
pub const FABRIKAM_TENANT: &str = "fab01ca7-0000-4000-8000-000000000002";

/// Group object ids in each partner tenant (they differ per tenant, as in Entra ID).
pub struct TenantGroups {
    pub admin: &'static str,
    pub sales: &'static str,
    pub helpdesk: &'static str,
    pub global_admin: &'static str,
}

pub const CONTOSO_GROUPS: TenantGroups = TenantGroups {
    admin: "a0000000-0000-4000-8000-00000000c0a1",
    sales: "a0000000-0000-4000-8000-00000000c0a2",
    helpdesk: "a0000000-0000-4000-8000-00000000c0a3",
    global_admin: "a0000000-0000-4000-8000-00000000c0a4",
};
pub const FABRIKAM_GROUPS: TenantGroups = TenantGroups {
    admin: "a0000000-0000-4000-8000-00000000fab1",
    sales: "a0000000-0000-4000-8000-00000000fab2",
    helpdesk: "a0000000-0000-4000-8000-00000000fab3",
    global_admin: "a0000000-0000-4000-8000-00000000fab4",
};

/// The group ids (or app-role values) of each role in the sandbox, which the portal maps
/// to the agent roles when it runs on the sandbox and nothing else is configured.
pub struct RoleGroups {
    pub admin: Vec<String>,
    pub sales: Vec<String>,
    pub helpdesk: Vec<String>,
    pub global_admin: Vec<String>,
}

pub fn role_groups() -> RoleGroups {
    let both =
        |f: fn(&TenantGroups) -> &'static str| vec![f(&CONTOSO_GROUPS).to_string(), f(&FABRIKAM_GROUPS).to_string()];
    RoleGroups {
        admin: both(|g| g.admin),
        sales: both(|g| g.sales),
        helpdesk: both(|g| g.helpdesk),
        global_admin: both(|g| g.global_admin),
    }
}

/// The app-role values the sandbox's ID tokens carry for each role (the `roles` claim),
/// for a portal that reads roles from app roles.
pub fn role_app_roles() -> RoleGroups {
    use super::rules::AgentRole;
    let value = |r: AgentRole| vec![r.claim().to_string()];
    RoleGroups {
        admin: value(AgentRole::Admin),
        sales: value(AgentRole::Sales),
        helpdesk: value(AgentRole::Helpdesk),
        global_admin: value(AgentRole::GlobalAdmin),
    }
}

#[derive(Debug, Clone)]
pub struct SeedTenant {
    pub id: &'static str,
    pub name: &'static str,
    pub mpn_id: &'static str,
    pub domain: &'static str,
}

pub const TENANTS: [SeedTenant; 2] = [
    SeedTenant {
        id: CONTOSO_TENANT,
        name: "Contoso Distribution",
        mpn_id: "4100001",
        domain: "contosodistribution.onmicrosoft.com",
    },
    SeedTenant { id: FABRIKAM_TENANT, name: "Fabrikam IT", mpn_id: "4200002", domain: "fabrikamit.onmicrosoft.com" },
];

#[derive(Debug, Clone)]
pub struct SeedUser {
    pub oid: &'static str,
    pub tenant_id: &'static str,
    pub name: &'static str,
    pub username: &'static str,
    /// What the sign-in page says, e.g. "Sales agent".
    pub role_label: &'static str,
    pub groups: Vec<&'static str>,
}

pub fn users() -> Vec<SeedUser> {
    vec![
        SeedUser {
            oid: "0e000000-0000-4000-8000-00000000c001",
            tenant_id: CONTOSO_TENANT,
            name: "Sam Sales",
            username: "sam.sales@contosodistribution.onmicrosoft.com",
            role_label: "Sales agent",
            groups: vec![CONTOSO_GROUPS.sales],
        },
        SeedUser {
            oid: "0e000000-0000-4000-8000-00000000c002",
            tenant_id: CONTOSO_TENANT,
            name: "Alex Admin",
            username: "alex.admin@contosodistribution.onmicrosoft.com",
            role_label: "Admin agent",
            groups: vec![CONTOSO_GROUPS.admin],
        },
        SeedUser {
            oid: "0e000000-0000-4000-8000-00000000c003",
            tenant_id: CONTOSO_TENANT,
            name: "Hana Helpdesk",
            username: "hana.helpdesk@contosodistribution.onmicrosoft.com",
            role_label: "Helpdesk agent",
            groups: vec![CONTOSO_GROUPS.helpdesk],
        },
        SeedUser {
            oid: "0e000000-0000-4000-8000-00000000c004",
            tenant_id: CONTOSO_TENANT,
            name: "Nico Noagent",
            username: "nico.noagent@contosodistribution.onmicrosoft.com",
            role_label: "no agent role",
            groups: vec![],
        },
        SeedUser {
            oid: "0e000000-0000-4000-8000-00000000c005",
            tenant_id: CONTOSO_TENANT,
            name: "Gloria Global",
            username: "gloria.global@contosodistribution.onmicrosoft.com",
            role_label: "Global admin",
            groups: vec![CONTOSO_GROUPS.global_admin],
        },
        SeedUser {
            oid: "0e000000-0000-4000-8000-00000000f001",
            tenant_id: FABRIKAM_TENANT,
            name: "Fiona Fabrikam",
            username: "fiona@fabrikamit.onmicrosoft.com",
            role_label: "Admin agent (Fabrikam IT, indirect reseller)",
            groups: vec![FABRIKAM_GROUPS.admin],
        },
        SeedUser {
            oid: "0e000000-0000-4000-8000-00000000f002",
            tenant_id: FABRIKAM_TENANT,
            name: "Felix Fabrikam",
            username: "felix@fabrikamit.onmicrosoft.com",
            role_label: "Sales agent (Fabrikam IT, indirect reseller)",
            groups: vec![FABRIKAM_GROUPS.sales],
        },
    ]
}

/// An agreement's primary contact. It has no `==` on purpose: whether two contacts count
/// as the same person for Partner Center is `rules::same_contact`.
#[derive(Debug, Clone)]
pub struct SeedContact {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SeedAgreement {
    pub contact: SeedContact,
    pub date_agreed: NaiveDate,
    /// The partner user who attested, or None where Partner Center has no record of it.
    pub user_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SeedCustomer {
    pub id: String,
    pub tenant_id: &'static str,
    pub company_name: String,
    pub domain: String,
    pub country: &'static str,
    pub culture: &'static str,
    pub city: &'static str,
    pub accepted_directly: bool,
    pub agreements: Vec<SeedAgreement>,
    /// The billing profile as sent, for customers created in the sandbox.
    pub billing: Option<serde_json::Value>,
    /// The indirect reseller a customer was created for.
    pub associated_partner_id: Option<String>,
}

/// What the seed sets up for one customer; the effective status follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedKind {
    AcceptedDirectly,
    AcceptedDirectlyAfterOldAttestation,
    AttestedRecently,
    AttestedOnCutoffDay,
    AttestedOnlyBeforeCutoff,
    SeveralContactsLatestRecent,
    SeveralContactsAllOld,
    NeverConfirmed,
}

const CONTOSO_CUSTOMERS: [(&str, &str, SeedKind); 36] = [
    ("Adatum Corporation", "adatum", SeedKind::AttestedRecently),
    ("Alpine Ski House", "alpineskihouse", SeedKind::AcceptedDirectly),
    ("A. Datum Labs", "adatumlabs", SeedKind::AttestedOnlyBeforeCutoff),
    ("Bellows College", "bellowscollege", SeedKind::NeverConfirmed),
    ("Best For You Organics", "bestforyou", SeedKind::SeveralContactsLatestRecent),
    ("Blue Yonder Airlines", "blueyonder", SeedKind::AttestedOnCutoffDay),
    ("City Power & Light", "citypower", SeedKind::AttestedOnlyBeforeCutoff),
    ("Coho Winery", "cohowinery", SeedKind::AcceptedDirectlyAfterOldAttestation),
    ("Consolidated Messenger", "consolidatedmsg", SeedKind::NeverConfirmed),
    ("Contoso Pharmaceuticals", "contosopharma", SeedKind::AttestedRecently),
    ("Datum Diagnostics", "datumdiag", SeedKind::SeveralContactsAllOld),
    ("Fourth Coffee", "fourthcoffee", SeedKind::AttestedRecently),
    ("Graphic Design Institute", "graphicdesign", SeedKind::AttestedOnlyBeforeCutoff),
    ("Humongous Insurance", "humongousins", SeedKind::AcceptedDirectly),
    ("Liberty's Delightful Sinful Bakery & Cafe", "libertysbakery", SeedKind::NeverConfirmed),
    ("Litware, Inc.", "litware", SeedKind::AttestedRecently),
    ("Lucerne Publishing", "lucernepub", SeedKind::SeveralContactsLatestRecent),
    ("Margie's Travel", "margiestravel", SeedKind::AttestedOnlyBeforeCutoff),
    ("Munson's Pickles and Preserves Farm", "munsonspickles", SeedKind::NeverConfirmed),
    ("Nod Publishers", "nodpublishers", SeedKind::AcceptedDirectly),
    ("Northwind Traders", "northwindtraders", SeedKind::AttestedRecently),
    ("Proseware, Inc.", "proseware", SeedKind::SeveralContactsAllOld),
    ("Relecloud", "relecloud", SeedKind::AttestedRecently),
    ("School of Fine Art", "fineartschool", SeedKind::AttestedOnlyBeforeCutoff),
    ("Southridge Video", "southridgevideo", SeedKind::NeverConfirmed),
    ("Tailspin Toys", "tailspintoys", SeedKind::AcceptedDirectly),
    ("Trey Research", "treyresearch", SeedKind::SeveralContactsLatestRecent),
    ("The Phone Company", "thephoneco", SeedKind::AttestedRecently),
    ("VanArsdel, Ltd.", "vanarsdel", SeedKind::AttestedOnlyBeforeCutoff),
    ("Wide World Importers", "wideworldimporters", SeedKind::AcceptedDirectlyAfterOldAttestation),
    ("Wingtip Toys", "wingtiptoys", SeedKind::NeverConfirmed),
    ("Woodgrove Bank", "woodgrovebank", SeedKind::AttestedRecently),
    ("World Wide Importers <Test & Co>", "wwimporterstest", SeedKind::AttestedOnlyBeforeCutoff),
    ("Fabrikam Residences", "fabrikamres", SeedKind::SeveralContactsAllOld),
    ("First Up Consultants", "firstupconsult", SeedKind::AttestedRecently),
    ("Northwind Health", "northwindhealth", SeedKind::NeverConfirmed),
];

const FABRIKAM_CUSTOMERS: [(&str, &str, SeedKind); 5] = [
    ("Boulder Creek Dental", "bouldercreekdental", SeedKind::AttestedRecently),
    ("Cascade Bicycles", "cascadebikes", SeedKind::NeverConfirmed),
    ("Greenfield Library Trust", "greenfieldlib", SeedKind::AttestedOnlyBeforeCutoff),
    ("Harbor View Clinic", "harborviewclinic", SeedKind::AcceptedDirectly),
    ("Maple Street Studio", "maplestreetstudio", SeedKind::SeveralContactsLatestRecent),
];

const FIRST: [&str; 8] = ["Tania", "Jordan", "Priya", "Mateo", "Aiko", "Lars", "Zanele", "Omar"];
const LAST: [&str; 8] = ["Carr", "Okafor", "Nguyen", "Rossi", "Tanaka", "Berg", "Dlamini", "Haddad"];
const PLACES: [(&str, &str, &str); 4] =
    [("US", "en-US", "Redmond"), ("GB", "en-GB", "Reading"), ("DE", "de-DE", "Munich"), ("NL", "nl-NL", "Utrecht")];

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("seed dates are valid")
}

fn contact(n: usize, domain: &str) -> SeedContact {
    let first = FIRST[n % FIRST.len()];
    let last = LAST[(n / FIRST.len() + n) % LAST.len()];
    SeedContact {
        first_name: first.to_string(),
        last_name: last.to_string(),
        email: format!("{}.{}@{domain}", first.to_lowercase(), last.to_lowercase()),
        phone: if n.is_multiple_of(3) { None } else { Some(format!("+1 425 555 {:04}", 100 + n)) },
    }
}

fn customer_id(tenant_index: usize, n: usize) -> String {
    format!("{:08x}-5eed-4000-8000-{:012x}", 0xc0570000u32 + tenant_index as u32, n + 1)
}

fn build(
    tenant_index: usize,
    tenant_id: &'static str,
    list: &[(&str, &str, SeedKind)],
    sales_oid: &str,
) -> Vec<SeedCustomer> {
    list.iter()
        .enumerate()
        .map(|(n, (name, prefix, kind))| {
            let domain = format!("{prefix}.onmicrosoft.com");
            let mail = format!("{prefix}.example");
            let recent = date(2024, 1 + (n as u32 % 12), 1 + (n as u32 % 27));
            let old = date(2021, 1 + (n as u32 % 12), 1 + (n as u32 % 27));
            let a = |c: usize, d: NaiveDate, by: bool| SeedAgreement {
                contact: contact(n * 3 + c, &mail),
                date_agreed: d,
                user_id: by.then(|| sales_oid.to_string()),
            };
            let (accepted_directly, agreements) = match kind {
                SeedKind::AcceptedDirectly => (true, vec![]),
                SeedKind::AcceptedDirectlyAfterOldAttestation => (true, vec![a(0, old, false)]),
                SeedKind::AttestedRecently => (false, vec![a(0, recent, n % 2 == 0)]),
                SeedKind::AttestedOnCutoffDay => (false, vec![a(0, date(2023, 4, 1), true)]),
                SeedKind::AttestedOnlyBeforeCutoff => (false, vec![a(0, old, false)]),
                SeedKind::SeveralContactsLatestRecent => {
                    (false, vec![a(0, old, false), a(1, date(2022, 6, 30), false), a(2, recent, true)])
                }
                SeedKind::SeveralContactsAllOld => (false, vec![a(0, old, false), a(1, date(2023, 3, 31), true)]),
                SeedKind::NeverConfirmed => (false, vec![]),
            };
            let (country, culture, city) = PLACES[n % PLACES.len()];
            SeedCustomer {
                id: customer_id(tenant_index, n),
                tenant_id,
                company_name: name.to_string(),
                domain,
                country,
                culture,
                city,
                accepted_directly,
                agreements,
                billing: None,
                associated_partner_id: None,
            }
        })
        .collect()
}

pub fn customers() -> Vec<SeedCustomer> {
    let users = users();
    let sales = |t: &str| {
        users.iter().find(|u| u.tenant_id == t && u.role_label.starts_with("Sales")).map(|u| u.oid).unwrap_or_default()
    };
    let mut all = build(0, CONTOSO_TENANT, &CONTOSO_CUSTOMERS, sales(CONTOSO_TENANT));
    all.extend(build(1, FABRIKAM_TENANT, &FABRIKAM_CUSTOMERS, sales(FABRIKAM_TENANT)));
    all
}

/// `n` more Contoso customers, for trying the portal (and measuring it) with a large
/// portfolio; the same every time, in every status.
pub fn extra_customers(n: usize) -> Vec<SeedCustomer> {
    const KINDS: [SeedKind; 5] = [
        SeedKind::AttestedRecently,
        SeedKind::AttestedOnlyBeforeCutoff,
        SeedKind::NeverConfirmed,
        SeedKind::AcceptedDirectly,
        SeedKind::SeveralContactsLatestRecent,
    ];
    let names: Vec<(String, String, SeedKind)> = (0..n)
        .map(|i| (format!("Portfolio Customer {:05}", i + 1), format!("portfolio{:05}", i + 1), KINDS[i % KINDS.len()]))
        .collect();
    let list: Vec<(&str, &str, SeedKind)> = names.iter().map(|(a, b, k)| (a.as_str(), b.as_str(), *k)).collect();
    let sales = users()
        .into_iter()
        .find(|u| u.tenant_id == CONTOSO_TENANT && u.role_label.starts_with("Sales"))
        .map(|u| u.oid)
        .unwrap_or_default();
    build(2, CONTOSO_TENANT, &list, sales)
}

/// The seed kind of a customer, for tests that want "a customer that must re-attest".
pub fn kind_of(company_name: &str) -> Option<SeedKind> {
    CONTOSO_CUSTOMERS.iter().chain(FABRIKAM_CUSTOMERS.iter()).find(|(n, _, _)| *n == company_name).map(|(_, _, k)| *k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_is_deterministic_and_covers_every_kind() {
        let a = customers();
        let b = customers();
        assert_eq!(a.len(), b.len());
        assert!(a.iter().zip(&b).all(|(x, y)| x.id == y.id && x.agreements.len() == y.agreements.len()));
        assert!(a.iter().filter(|c| c.tenant_id == CONTOSO_TENANT).count() >= 30);
        let ids: std::collections::HashSet<_> = a.iter().map(|c| &c.id).collect();
        assert_eq!(ids.len(), a.len(), "customer ids are unique");
        for kind in [
            SeedKind::AcceptedDirectly,
            SeedKind::AcceptedDirectlyAfterOldAttestation,
            SeedKind::AttestedRecently,
            SeedKind::AttestedOnCutoffDay,
            SeedKind::AttestedOnlyBeforeCutoff,
            SeedKind::SeveralContactsLatestRecent,
            SeedKind::SeveralContactsAllOld,
            SeedKind::NeverConfirmed,
        ] {
            assert!(CONTOSO_CUSTOMERS.iter().any(|(_, _, k)| *k == kind), "{kind:?}");
        }
    }

    #[test]
    fn extra_customers_are_distinct_and_deterministic() {
        let a = extra_customers(250);
        assert_eq!(a.len(), 250);
        assert_eq!(a[7].id, extra_customers(250)[7].id);
        let mut ids: std::collections::HashSet<_> = customers().into_iter().map(|c| c.id).collect();
        for c in &a {
            assert!(ids.insert(c.id.clone()), "{} is unique", c.id);
            assert_eq!(c.tenant_id, CONTOSO_TENANT);
        }
    }

    #[test]
    fn several_contacts_differ() {
        for c in customers().iter().filter(|c| c.agreements.len() > 1) {
            let mut contacts: Vec<_> = c.agreements.iter().map(|a| a.contact.email.clone()).collect();
            contacts.dedup();
            assert_eq!(contacts.len(), c.agreements.len(), "{}", c.company_name);
        }
    }
}
