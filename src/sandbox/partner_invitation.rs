//! The sandbox's stand-in for the Microsoft 365 admin center page where a customer's
//! Global admin accepts a reseller relationship, so that an invitation can be followed to
//! its end on one machine. The sandbox has no customer tenants, so accepting makes a new
//! customer of the inviting partner: for an indirect reseller's invitation, a customer of
//! the indirect provider with the reseller as its reseller (as create customer with
//! `associatedPartnerId` does). It is not accepted directly and has no attestation.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::api_write::domain_is_taken;
use super::idp::html;
use super::relationship_requests::{ADMIN_CENTER, FRAGMENT, Invitation, parse_link};
use super::seed::SeedCustomer;
use super::state::SandboxState;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin-center/partner-invitation", web::get().to(page))
        .route("/admin-center/partner-invitation", web::post().to(accept));
}

#[derive(Deserialize, Default)]
struct InvitationForm {
    #[serde(default)]
    link: String,
    #[serde(default)]
    company: String,
    #[serde(default)]
    domain_prefix: String,
    #[serde(default)]
    admin_email: String,
}

struct Field {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    kind: &'static str,
    autocomplete: &'static str,
    value: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "sandbox/partner_invitation.html")]
struct FormPage {
    fields: Vec<Field>,
    errors: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "sandbox/partner_invited.html")]
struct DonePage<'a> {
    company: &'a str,
    partner: &'a str,
    provider: Option<&'a str>,
    customer_id: &'a str,
    domain: &'a str,
    admin_email: &'a str,
}

/// The form, every value as typed, each field with its error if it has one.
fn form_page(status: StatusCode, form: InvitationForm, errors: Vec<(&'static str, String)>) -> HttpResponse {
    let error_of = |name: &str| errors.iter().find(|(n, _)| *n == name).map(|(_, e)| e.clone());
    let field = |name, label, hint, kind, autocomplete, value| Field {
        name,
        label,
        hint,
        kind,
        autocomplete,
        value,
        error: error_of(name),
    };
    let fields = vec![
        field("link", "Invitation link", "The whole link from the partner's email.", "url", "off", form.link),
        field("company", "Company name", "Your organization's name.", "text", "organization", form.company),
        field(
            "domain_prefix",
            "Domain prefix",
            "1 to 27 letters and digits; the new tenant becomes <prefix>.onmicrosoft.com.",
            "text",
            "off",
            form.domain_prefix,
        ),
        field(
            "admin_email",
            "Global admin's email address",
            "The Global admin of your organization who accepts.",
            "email",
            "email",
            form.admin_email,
        ),
    ];
    html(status, FormPage { fields, errors }.render().unwrap_or_default(), None)
}

/// The form, with the link filled in when the address carries a link's own parameters
/// (the link's admin-center address replaced by this page's).
async fn page(req: HttpRequest) -> HttpResponse {
    let query = req.query_string();
    let link = if url::form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k == "invType") {
        format!("{ADMIN_CENTER}?{query}#{FRAGMENT}")
    } else {
        String::new()
    };
    form_page(StatusCode::OK, InvitationForm { link, ..Default::default() }, Vec::new())
}

async fn accept(state: web::Data<SandboxState>, form: web::Form<InvitationForm>) -> HttpResponse {
    let form = form.into_inner();
    let checked = (
        parse_link(&form.link, &state.base_url),
        company_name(&form.company),
        new_domain(&state, &form.domain_prefix),
        admin_email(&form.admin_email),
    );
    let (Ok(inv), Ok(company), Ok(domain), Ok(email)) = &checked else {
        let errors = [
            ("link", checked.0.err()),
            ("company", checked.1.err()),
            ("domain_prefix", checked.2.err()),
            ("admin_email", checked.3.err()),
        ];
        let errors = errors.into_iter().filter_map(|(n, e)| e.map(|e| (n, e))).collect();
        return form_page(StatusCode::UNPROCESSABLE_ENTITY, form, errors);
    };
    let customer_id = state.add_invited_customer(*inv, company, domain);
    let done = DonePage {
        company,
        partner: inv.partner.name,
        provider: inv.provider.map(|p| p.name),
        customer_id: &customer_id,
        domain,
        admin_email: email,
    };
    html(StatusCode::OK, done.render().unwrap_or_default(), None)
}

fn company_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    match name.chars().count() {
        0 => Err("Enter your company's name.".into()),
        1..=100 => Ok(name.to_string()),
        _ => Err("The company name can have at most 100 characters.".into()),
    }
}

/// `<prefix>.onmicrosoft.com`, the prefix 1–27 letters and digits, not taken yet.
fn new_domain(state: &SandboxState, raw: &str) -> Result<String, String> {
    let prefix = raw.trim().to_ascii_lowercase();
    if prefix.is_empty() {
        return Err("Enter a domain prefix.".into());
    }
    if prefix.len() > 27 || !prefix.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        return Err("The domain prefix can have 1 to 27 letters and digits, nothing else.".into());
    }
    let domain = format!("{prefix}.onmicrosoft.com");
    if domain_is_taken(state, &domain) {
        return Err(format!("{domain} is taken. Choose another prefix."));
    }
    Ok(domain)
}

fn admin_email(raw: &str) -> Result<String, String> {
    let email = raw.trim();
    let well_formed = email.split_once('@').is_some_and(|(local, host)| {
        !local.is_empty() && host.contains('.') && !host.contains('@') && !email.contains(char::is_whitespace)
    });
    if email.is_empty() {
        Err("Enter the Global admin's email address.".into())
    } else if well_formed && email.len() <= 254 {
        Ok(email.to_string())
    } else {
        Err("Enter an email address like name@example.com.".into())
    }
}

impl SandboxState {
    /// Accepts a relationship invitation as a customer's Global admin would on the
    /// acceptance page, for a new customer with this name and domain prefix. Returns the
    /// new customer's id, or what is wrong with the link, the name or the prefix.
    pub fn accept_relationship(&self, link: &str, company: &str, domain_prefix: &str) -> Result<String, String> {
        let inv = parse_link(link, &self.base_url)?;
        let company = company_name(company)?;
        let domain = new_domain(self, domain_prefix)?;
        Ok(self.add_invited_customer(inv, &company, &domain))
    }

    /// The new customer: the billing partner's (the indirect provider of an indirect
    /// reseller's invitation), with the reseller as its reseller where there is one.
    fn add_invited_customer(&self, inv: Invitation, company: &str, domain: &str) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let billed_by = inv.provider.unwrap_or(inv.partner);
        self.data().customers.push(SeedCustomer {
            id: id.clone(),
            tenant_id: billed_by.id,
            company_name: company.to_string(),
            domain: domain.to_string(),
            country: "US",
            culture: "en-US",
            city: "Redmond",
            accepted_directly: false,
            agreements: Vec::new(),
            billing: None,
            associated_partner_id: inv.provider.map(|_| inv.partner.id.to_string()),
        });
        id
    }
}
