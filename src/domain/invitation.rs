//! The text of invitation emails. Plain text (the agent pastes it into their own mail),
//! escaped like everything else when shown in a page.

/// Where a customer accepts the MCA directly (docs/partner-center.md, "Links sent to
/// customers").
pub const ADMIN_CENTER_AGREEMENT_LINK: &str =
    "https://admin.microsoft.com/AdminPortal/Home?ref=/BillingAccounts/agreement";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl Invitation {
    /// A `mailto:` address that opens the agent's mail program with this email.
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
}

/// Who the invitation is for and who sends it.
pub struct AdminCenterInvitation<'a> {
    pub contact_first_name: &'a str,
    pub contact_email: &'a str,
    pub company_name: &'a str,
    /// The new tenant's admin sign-in name, when the customer is new.
    pub sign_in_name: Option<&'a str>,
    pub partner_name: &'a str,
    pub agent_name: &'a str,
}

/// Asks the customer to accept the MCA in the Microsoft 365 admin center. Never carries a
/// password: the agent gives that separately.
pub fn admin_center(i: &AdminCenterInvitation<'_>) -> Invitation {
    let sign_in = match i.sign_in_name {
        Some(name) => format!(
            "2. Sign in as {name} with the temporary password we give you separately (by phone or another safe way); you will be asked to choose your own password.\n"
        ),
        None => "2. Sign in with a Global administrator account of your organization.\n".to_string(),
    };
    let body = format!(
        "Hello {first},\n\n\
         {partner} looks after Microsoft cloud services for {company}. Before {company} can buy Microsoft products through us, \
         your organization needs to accept the Microsoft Customer Agreement. It takes a few minutes:\n\n\
         1. Open {link}\n\
         {sign_in}\
         3. Read the Microsoft Customer Agreement and accept it.\n\n\
         If you have questions, reply to this email.\n\n\
         Kind regards,\n{agent}\n{partner}\n",
        first = i.contact_first_name,
        partner = i.partner_name,
        company = i.company_name,
        link = ADMIN_CENTER_AGREEMENT_LINK,
        agent = i.agent_name,
    );
    Invitation {
        to: i.contact_email.to_string(),
        subject: format!("Please accept the Microsoft Customer Agreement for {}", i.company_name),
        body,
    }
}

/// Who accepts at an enhanced attestation's link, and who sends it.
pub struct AcceptanceLinkInvitation<'a> {
    pub contact_first_name: &'a str,
    pub contact_email: &'a str,
    pub company_name: &'a str,
    pub link: &'a str,
    pub partner_name: &'a str,
    pub agent_name: &'a str,
    /// A customer just created (not one that has bought through us before).
    pub new_customer: bool,
}

/// Sends the signatory the link of an enhanced attestation; no sign-in is needed there.
pub fn acceptance_link(i: &AcceptanceLinkInvitation<'_>) -> Invitation {
    let body = format!(
        "Hello {first},\n\n\
         {partner} looks after Microsoft cloud services for {company}. {why} \
         {company} needs to accept the Microsoft Customer Agreement. You can do it in a minute, without signing in:\n\n\
         {link}\n\n\
         The link opens the agreement; read it and choose Accept. The link works for a limited time.\n\n\
         If you have questions, reply to this email.\n\n\
         Kind regards,\n{agent}\n{partner}\n",
        first = i.contact_first_name,
        partner = i.partner_name,
        company = i.company_name,
        link = i.link,
        agent = i.agent_name,
        why = if i.new_customer {
            "Before you can buy Microsoft products through us,"
        } else {
            "To keep buying Microsoft products through us,"
        },
    );
    Invitation {
        to: i.contact_email.to_string(),
        subject: format!("Please accept the Microsoft Customer Agreement for {}", i.company_name),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite(sign_in: Option<&str>) -> Invitation {
        admin_center(&AdminCenterInvitation {
            contact_first_name: "Tania",
            contact_email: "tania@contoso.example",
            company_name: "Contoso & Sons",
            sign_in_name: sign_in,
            partner_name: "Contoso Distribution",
            agent_name: "Sam Sales",
        })
    }

    #[test]
    fn carries_the_admin_center_link_and_the_sign_in_name() {
        let i = invite(Some("admin@contososons.onmicrosoft.com"));
        assert!(i.body.contains(ADMIN_CENTER_AGREEMENT_LINK));
        assert!(i.body.contains("Sign in as admin@contososons.onmicrosoft.com"));
        assert!(i.body.contains("temporary password we give you separately"));
        assert!(i.subject.contains("Contoso & Sons"));
        assert!(invite(None).body.contains("Global administrator"));
    }

    #[test]
    fn mailto_encodes_every_part() {
        let m = invite(None).mailto();
        assert!(m.starts_with("mailto:tania%40contoso.example?subject=Please%20accept"));
        assert!(m.contains("%26%20Sons"), "& is encoded");
        assert!(!m.contains('\n'));
    }
}
