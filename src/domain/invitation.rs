//! Invitation emails: their kinds, their wording with placeholders, and the text an agent
//! copies, opens in the mail program or sends. Plain text, escaped like everything else
//! when shown in a page. The built-in wording of each kind is an askama template in
//! `templates/email/` (its first line is the subject, the rest after a blank line is the
//! body); a partner's own wording replaces it per kind and language
//! (docs/invitations.md).

use askama::Template;

/// Where a customer accepts the MCA directly (docs/partner-center.md, "Links sent to
/// customers").
pub const ADMIN_CENTER_AGREEMENT_LINK: &str =
    "https://admin.microsoft.com/AdminPortal/Home?ref=/BillingAccounts/agreement";

/// What is kept in place of a new customer's temporary password: the password is shown
/// once, in the text on screen, and never stored.
pub const PASSWORD_PLACEHOLDER: &str = "[the temporary password we give you separately]";

/// Longest `mailto:` address offered: mail programs and browsers cut longer ones.
pub const MAILTO_LIMIT: usize = 2000;

/// The language of the built-in wording, and of a customer whose language is unknown.
pub const DEFAULT_LANGUAGE: &str = "en";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InvitationKind {
    /// Accept the MCA in the Microsoft 365 admin center.
    AdminCenter,
    /// A reseller relationship together with the MCA, at Partner Center's link.
    Relationship,
    /// Accept the MCA at an enhanced attestation's acceptance link.
    AcceptanceLink,
}

impl InvitationKind {
    pub const ALL: [InvitationKind; 3] =
        [InvitationKind::AdminCenter, InvitationKind::Relationship, InvitationKind::AcceptanceLink];

    /// How the kind is stored and named in addresses.
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationKind::AdminCenter => "admin_center",
            InvitationKind::Relationship => "relationship",
            InvitationKind::AcceptanceLink => "acceptance_link",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The kind as agents read it.
    pub fn title(self) -> &'static str {
        match self {
            InvitationKind::AdminCenter => "Accept the MCA in the Microsoft 365 admin center",
            InvitationKind::Relationship => "New relationship (reseller relationship and MCA)",
            InvitationKind::AcceptanceLink => "Accept the MCA at the acceptance link (enhanced attestation)",
        }
    }

    /// The placeholders its wording may use.
    pub fn placeholders(self) -> Vec<Placeholder> {
        use Placeholder::*;
        let mut all = vec![PartnerName, AgentName, CompanyName, ContactFirstName, ContactName, Link];
        match self {
            InvitationKind::AdminCenter => all.push(SignIn),
            InvitationKind::Relationship => all.push(WithPartner),
            InvitationKind::AcceptanceLink => {}
        }
        all
    }
}

/// A name in braces in a wording, such as `{link}`, replaced by its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    PartnerName,
    AgentName,
    CompanyName,
    ContactFirstName,
    ContactName,
    Link,
    SignIn,
    WithPartner,
}

impl Placeholder {
    const ALL: [Placeholder; 8] = [
        Placeholder::PartnerName,
        Placeholder::AgentName,
        Placeholder::CompanyName,
        Placeholder::ContactFirstName,
        Placeholder::ContactName,
        Placeholder::Link,
        Placeholder::SignIn,
        Placeholder::WithPartner,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Placeholder::PartnerName => "partner_name",
            Placeholder::AgentName => "agent_name",
            Placeholder::CompanyName => "company_name",
            Placeholder::ContactFirstName => "contact_first_name",
            Placeholder::ContactName => "contact_name",
            Placeholder::Link => "link",
            Placeholder::SignIn => "sign_in",
            Placeholder::WithPartner => "with_partner",
        }
    }

    /// What it stands for, for the template settings.
    pub fn meaning(self) -> &'static str {
        match self {
            Placeholder::PartnerName => "your organization's name",
            Placeholder::AgentName => "the name of the agent who creates the invitation",
            Placeholder::CompanyName => "the customer's company name",
            Placeholder::ContactFirstName => "the first name of the person the email is for",
            Placeholder::ContactName => "the full name of the person the email is for",
            Placeholder::Link => "the link where the customer accepts (required)",
            Placeholder::SignIn => {
                "how to sign in: the new admin's sign-in name, or \"Sign in with a Global administrator account\""
            }
            Placeholder::WithPartner => {
                "the reseller or provider the relationship is together with, when one was picked"
            }
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    fn value(self, v: &Values) -> &str {
        match self {
            Placeholder::PartnerName => &v.partner_name,
            Placeholder::AgentName => &v.agent_name,
            Placeholder::CompanyName => &v.company_name,
            Placeholder::ContactFirstName => &v.contact_first_name,
            Placeholder::ContactName => &v.contact_name,
            Placeholder::Link => &v.link,
            Placeholder::SignIn => &v.sign_in,
            Placeholder::WithPartner => &v.with_partner,
        }
    }
}

/// What fills the placeholders of one invitation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    pub partner_name: String,
    pub agent_name: String,
    pub company_name: String,
    pub contact_first_name: String,
    pub contact_name: String,
    pub link: String,
    pub sign_in: String,
    pub with_partner: String,
}

impl Values {
    /// Every placeholder as itself, `{name}`: rendering the built-in template with these
    /// gives its wording.
    fn placeholders() -> Values {
        let p = |p: Placeholder| format!("{{{}}}", p.name());
        Values {
            partner_name: p(Placeholder::PartnerName),
            agent_name: p(Placeholder::AgentName),
            company_name: p(Placeholder::CompanyName),
            contact_first_name: p(Placeholder::ContactFirstName),
            contact_name: p(Placeholder::ContactName),
            link: p(Placeholder::Link),
            sign_in: p(Placeholder::SignIn),
            with_partner: p(Placeholder::WithPartner),
        }
    }
}

/// The `{sign_in}` line of an admin-center invitation: a new customer's admin sign-in
/// name (and, only in the text on screen, the temporary password), or a Global
/// administrator of a customer who has one already.
pub fn sign_in_line(sign_in_name: Option<&str>, password: Option<&str>) -> String {
    match sign_in_name {
        Some(name) => format!(
            "Sign in as {name} with the temporary password {}; you will be asked to choose your own password.",
            password.unwrap_or(PASSWORD_PLACEHOLDER)
        ),
        None => "Sign in with a Global administrator account of your organization.".to_string(),
    }
}

/// The `{with_partner}` words of a relationship invitation made together with another
/// partner: the indirect reseller picked by a provider, or the provider picked by a reseller.
pub fn with_partner(reseller: Option<&str>, provider: Option<&str>) -> String {
    match (reseller, provider) {
        (Some(r), _) => format!(", together with {r}, your reseller"),
        (None, Some(p)) => format!(", together with {p}, our indirect provider"),
        (None, None) => String::new(),
    }
}

/// A subject and a body with placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wording {
    pub subject: String,
    pub body: String,
}

#[derive(Template)]
#[template(path = "email/admin_center.txt")]
struct AdminCenterText<'a> {
    v: &'a Values,
}

#[derive(Template)]
#[template(path = "email/relationship.txt")]
struct RelationshipText<'a> {
    v: &'a Values,
}

#[derive(Template)]
#[template(path = "email/acceptance_link.txt")]
struct AcceptanceLinkText<'a> {
    v: &'a Values,
}

/// The built-in template of a kind, filled with `values`.
fn built_in(kind: InvitationKind, values: &Values) -> Wording {
    let text = match kind {
        InvitationKind::AdminCenter => AdminCenterText { v: values }.render(),
        InvitationKind::Relationship => RelationshipText { v: values }.render(),
        InvitationKind::AcceptanceLink => AcceptanceLinkText { v: values }.render(),
    }
    .expect("the email templates render plain text and cannot fail");
    let (subject, body) = text.split_once("\n\n").unwrap_or((text.as_str(), ""));
    let mut body = body.to_string();
    if !body.ends_with('\n') {
        body.push('\n');
    }
    Wording { subject: subject.trim().to_string(), body }
}

/// The built-in wording of a kind, with its placeholders.
pub fn default_wording(kind: InvitationKind) -> Wording {
    built_in(kind, &Values::placeholders())
}

/// The braces around a placeholder's name.
const OPEN: char = 0x7b as char;
const CLOSE: char = 0x7d as char;

/// Replaces each `{name}` of a known placeholder by its value, in one pass: a value that
/// itself holds braces is never read again. Anything else in braces stays as typed.
pub fn fill(text: &str, values: &Values) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while let Some(open) = rest.find(OPEN) {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let name = after.find(CLOSE).map(|close| &after[..close]);
        match name.and_then(Placeholder::parse) {
            Some(p) => {
                out.push_str(p.value(values));
                rest = &after[p.name().len() + 1..];
            }
            None => {
                out.push(OPEN);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The email a wording gives for these values, to `to`.
pub fn compose(wording: &Wording, values: &Values, to: &str) -> Invitation {
    Invitation {
        to: to.to_string(),
        subject: fill(&wording.subject, values).replace(['\r', '\n'], " "),
        body: fill(&wording.body, values),
    }
}

/// Why a partner's wording can't be kept, one sentence each.
pub fn check_wording(kind: InvitationKind, wording: &Wording) -> Vec<WordingProblem> {
    let mut problems = Vec::new();
    if wording.subject.trim().is_empty() {
        problems.push(WordingProblem::Subject("Enter a subject.".into()));
    } else if wording.subject.chars().count() > 200 {
        problems.push(WordingProblem::Subject("Keep the subject to 200 characters or fewer.".into()));
    }
    if !wording.body.contains("{link}") {
        problems.push(WordingProblem::Body(
            "The body must contain {link}: it is where the customer's link goes, and the customer can't accept without it."
                .into(),
        ));
    } else if wording.body.chars().count() > 8000 {
        problems.push(WordingProblem::Body("Keep the body to 8,000 characters or fewer.".into()));
    }
    for (field, text) in [("subject", &wording.subject), ("body", &wording.body)] {
        for name in unknown_placeholders(kind, text) {
            let known: Vec<String> = kind.placeholders().iter().map(|p| format!("{{{}}}", p.name())).collect();
            let sentence = format!(
                "{{{name}}} in the {field} is not a placeholder of this kind of invitation. Use one of {}, or remove the braces.",
                known.join(", ")
            );
            problems.push(if field == "subject" {
                WordingProblem::Subject(sentence)
            } else {
                WordingProblem::Body(sentence)
            });
        }
    }
    problems
}

/// A wording problem and the field it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WordingProblem {
    Subject(String),
    Body(String),
}

/// Names in braces that look like placeholders but are not ones this kind offers.
fn unknown_placeholders(kind: InvitationKind, text: &str) -> Vec<String> {
    let allowed = kind.placeholders();
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find(OPEN) {
        rest = &rest[open + 1..];
        let Some(close) = rest.find(CLOSE) else { break };
        let name = &rest[..close];
        let looks_like =
            !name.is_empty() && name.len() <= 40 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if looks_like && !Placeholder::parse(name).is_some_and(|p| allowed.contains(&p)) {
            found.push(name.to_string());
        }
    }
    found.dedup();
    found
}

/// The language whose wording a customer gets: the primary subtag of its language or
/// culture (`de` of `de-DE`), English when unknown.
pub fn language_of(language_or_culture: Option<&str>) -> String {
    language_or_culture
        .map(|l| l.split(['-', '_']).next().unwrap_or("").trim().to_ascii_lowercase())
        .filter(|l| (2..=3).contains(&l.len()) && l.chars().all(|c| c.is_ascii_lowercase()))
        .unwrap_or_else(|| DEFAULT_LANGUAGE.to_string())
}

/// The built-in wording filled in: what an invitation says when the partner has no
/// wording of its own.
pub fn built_in_email(kind: InvitationKind, values: &Values, to: &str) -> Invitation {
    let w = built_in(kind, values);
    Invitation { to: to.to_string(), subject: w.subject.replace(['\r', '\n'], " "), body: w.body }
}

/// One email: recipient, subject and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl Invitation {
    /// A `mailto:` address that opens the agent's mail program with this email: every
    /// byte outside the unreserved set percent-encoded (RFC 6068), line breaks as `%0A`.
    pub fn mailto(&self) -> String {
        let enc = |s: &str| -> String {
            s.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect()
        };
        format!("mailto:{}?subject={}&body={}", enc(&self.to), enc(&self.subject), enc(&self.body))
    }

    /// The `mailto:` address, when it is short enough for mail programs to take whole.
    pub fn mailto_if_it_fits(&self) -> Option<String> {
        Some(self.mailto()).filter(|m| m.len() <= MAILTO_LIMIT)
    }

    /// True when the body no longer holds the link the customer needs (removed or changed).
    pub fn lacks_link(&self, link: &str) -> bool {
        !link.is_empty() && !self.body.contains(link)
    }

    /// The email as it may be kept: a temporary password typed or generated into it is
    /// replaced by the placeholder.
    pub fn without_password(&self, password: Option<&str>) -> Invitation {
        let hide = |s: &str| match password.filter(|p| !p.is_empty()) {
            Some(p) => s.replace(p, PASSWORD_PLACEHOLDER),
            None => s.to_string(),
        };
        Invitation { to: self.to.clone(), subject: hide(&self.subject), body: hide(&self.body) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Values {
        Values {
            partner_name: "Contoso Distribution".into(),
            agent_name: "Sam Sales".into(),
            company_name: "Zoë & Sons".into(),
            contact_first_name: "Tania".into(),
            contact_name: "Tania Łódź".into(),
            link: ADMIN_CENTER_AGREEMENT_LINK.into(),
            sign_in: sign_in_line(Some("admin@zoesons.onmicrosoft.com"), Some("Xy7!secret")),
            with_partner: String::new(),
        }
    }

    #[test]
    fn the_built_in_wording_filled_in_is_the_template_filled_in() {
        for kind in InvitationKind::ALL {
            let mut v = values();
            v.with_partner = with_partner(Some("Fabrikam IT"), None);
            let direct = built_in_email(kind, &v, "t@z.example");
            let through_placeholders = compose(&default_wording(kind), &v, "t@z.example");
            assert_eq!(direct, through_placeholders, "{kind:?}");
            assert!(direct.body.contains(ADMIN_CENTER_AGREEMENT_LINK), "{kind:?} carries the link");
            assert!(direct.subject.contains("Zoë & Sons") || direct.subject.contains("Contoso Distribution"));
            assert!(check_wording(kind, &default_wording(kind)).is_empty(), "{kind:?} default is valid");
        }
    }

    #[test]
    fn admin_center_carries_the_sign_in_name_and_on_screen_the_password() {
        let i = built_in_email(InvitationKind::AdminCenter, &values(), "t@z.example");
        assert!(i.body.contains("Sign in as admin@zoesons.onmicrosoft.com with the temporary password Xy7!secret"));
        let kept = i.without_password(Some("Xy7!secret"));
        assert!(!kept.body.contains("Xy7!secret"));
        assert!(kept.body.contains(PASSWORD_PLACEHOLDER));
        let mut existing = values();
        existing.sign_in = sign_in_line(None, None);
        let i = built_in_email(InvitationKind::AdminCenter, &existing, "t@z.example");
        assert!(i.body.contains("Global administrator"));
    }

    #[test]
    fn the_relationship_names_the_partner_it_is_with_and_says_delegated_admin_is_separate() {
        let mut v = values();
        v.with_partner = with_partner(None, Some("Contoso Distribution"));
        let i = built_in_email(InvitationKind::Relationship, &v, "t@z.example");
        assert!(i.body.contains("together with Contoso Distribution, our indirect provider"));
        assert!(i.body.contains("does not give us administrative access"));
    }

    #[test]
    fn fill_replaces_known_names_once_and_keeps_other_braces() {
        let mut v = values();
        v.company_name = "{link} Ltd".into();
        assert_eq!(
            fill("{company_name} at {link} {unknown} {", &v),
            format!("{{link}} Ltd at {ADMIN_CENTER_AGREEMENT_LINK} {{unknown}} {{")
        );
    }

    #[test]
    fn a_wording_needs_the_link_and_known_placeholders() {
        let w = Wording { subject: "Hi {company}".into(), body: "No link here {agent_name}".into() };
        let problems = check_wording(InvitationKind::AcceptanceLink, &w);
        assert!(problems.iter().any(|p| matches!(p, WordingProblem::Body(s) if s.contains("{link}"))));
        assert!(problems.iter().any(|p| matches!(p, WordingProblem::Subject(s) if s.contains("{company}"))));
        let sign_in_elsewhere = Wording { subject: "x".into(), body: "{link} {sign_in}".into() };
        assert_eq!(check_wording(InvitationKind::Relationship, &sign_in_elsewhere).len(), 1);
        assert!(check_wording(InvitationKind::AdminCenter, &sign_in_elsewhere).is_empty());
    }

    #[test]
    fn mailto_encodes_every_part_and_says_when_it_is_too_long() {
        let i = built_in_email(InvitationKind::AdminCenter, &values(), "tania@z.example");
        let m = i.mailto();
        assert!(m.starts_with("mailto:tania%40z.example?subject=Please%20accept"));
        assert!(m.contains("Zo%C3%AB%20%26%20Sons"), "non-ASCII and & are encoded");
        assert!(!m.contains('\n'));
        let long = Invitation { body: "x".repeat(MAILTO_LIMIT), ..i };
        assert!(long.mailto_if_it_fits().is_none());
    }

    #[test]
    fn the_language_is_the_primary_subtag() {
        assert_eq!(language_of(Some("de-DE")), "de");
        assert_eq!(language_of(Some("FR")), "fr");
        assert_eq!(language_of(None), "en");
        assert_eq!(language_of(Some("??")), "en");
    }

    #[test]
    fn a_link_removed_or_changed_is_noticed() {
        let i = built_in_email(InvitationKind::AdminCenter, &values(), "t@z.example");
        assert!(!i.lacks_link(ADMIN_CENTER_AGREEMENT_LINK));
        let changed = Invitation { body: i.body.replace("BillingAccounts", "Billing"), ..i };
        assert!(changed.lacks_link(ADMIN_CENTER_AGREEMENT_LINK));
    }
}
