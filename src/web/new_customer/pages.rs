//! The pages of Add customer: the form, Review, and the confirmation.

use askama::Template;

use super::form::NewCustomerForm;
use crate::domain::new_customer::{
    COUNTRIES, CULTURES, country_name, default_culture, needs_registration_number, registration_number_country_names,
};
use crate::domain::{CustomerSummary, FieldError};
use crate::web::invitations::InvitationEditor;
use crate::web::pages::Layout;
use crate::workflows::{RelatedPartner, SuggestedAddress};

#[derive(Template)]
#[template(path = "new_customer.html")]
pub struct NewCustomerPage {
    pub layout: Layout,
    pub form: NewCustomerForm,
    pub errors: Vec<FieldError>,
    pub resellers: Vec<RelatedPartner>,
    pub suggestion: Option<SuggestedAddress>,
    pub address_message: Option<String>,
    pub refused: Option<String>,
    pub today_utc: String,
    pub countries: Vec<CountryOption>,
    pub cultures: &'static [(&'static str, &'static str, &'static str)],
}

/// A country of the form, with what choosing it changes: the language the customer gets
/// unless the agent chooses one, and whether a registration number is required.
pub struct CountryOption {
    pub code: &'static str,
    pub name: &'static str,
    pub language: &'static str,
    pub registration: bool,
}

/// The countries offered, each with what choosing it changes.
pub fn country_options() -> Vec<CountryOption> {
    COUNTRIES
        .iter()
        .map(|(code, name)| CountryOption {
            code,
            name,
            language: culture_name(default_culture(code)),
            registration: needs_registration_number(code),
        })
        .collect()
}

fn culture_name(culture: &str) -> &'static str {
    CULTURES.iter().find(|c| c.0 == culture).map(|c| c.2).unwrap_or("")
}

impl NewCustomerPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
    pub fn has_error(&self, field: &str) -> bool {
        self.error_for(field).is_some()
    }

    /// Says whether the number is required for the country chosen (static/app.js says it
    /// again when the country changes).
    pub fn registration_label(&self) -> String {
        let country = country_name(&self.form.country).unwrap_or("this country");
        let when = if needs_registration_number(&self.form.country) { "required" } else { "optional" };
        format!("Organization registration number ({when} in {country})")
    }

    pub fn registration_hint(&self) -> String {
        format!("Required for customers in {}.", registration_number_country_names().join(", "))
    }

    /// The first language choice: none chosen, so the country's.
    pub fn default_language_option(&self) -> String {
        format!("As the country/region: {}", culture_name(default_culture(&self.form.country)))
    }
}

#[derive(Template)]
#[template(path = "new_customer_review.html")]
pub struct ReviewPage {
    pub layout: Layout,
    pub form: NewCustomerForm,
    pub domain: String,
    pub country_name: String,
    pub culture_name: String,
    /// The indirect reseller picked, if any.
    pub reseller: Option<String>,
    pub address_note: Option<String>,
    /// The partner's customers that already have this company name.
    pub same_name: Vec<CustomerSummary>,
}

/// The confirmation. Holds the temporary password for one render; no Debug, no storage.
#[derive(Template)]
#[template(path = "new_customer_done.html")]
pub struct DonePage {
    pub layout: Layout,
    pub company_name: String,
    pub customer_id: Option<String>,
    pub sign_in_name: Option<String>,
    pub password: Option<String>,
    pub attested: bool,
    /// The customer accepts at the link of an enhanced attestation.
    pub at_link: bool,
    /// That link, when Partner Center made it within the wait.
    pub acceptance_link: Option<String>,
    pub contact_email: String,
    /// What became of the attestation, when it did not simply succeed.
    pub attestation_note: Option<String>,
    /// The invitation email, made and kept as the customer was created.
    pub invitation: Option<InvitationEditor>,
    pub saved_only: bool,
    pub already: Option<String>,
}

impl DonePage {
    pub fn sign_in_parts(&self) -> Vec<&str> {
        breakable_parts(self.sign_in_name.as_deref().unwrap_or(""))
    }
}

/// A sign-in name in the pieces a line may break between: before the `@` and each dot,
/// never inside a word (a phone shows `admin@…` and the rest of the domain on new lines).
fn breakable_parts(name: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, c) in name.char_indices() {
        if (c == '@' || c == '.') && i > start {
            parts.push(&name[start..i]);
            start = i;
        }
    }
    parts.push(&name[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_in_name_breaks_only_before_its_at_and_dots() {
        assert_eq!(breakable_parts("admin@contoso.onmicrosoft.com"), ["admin", "@contoso", ".onmicrosoft", ".com"]);
        assert_eq!(breakable_parts("a.b@x.com"), ["a", ".b", "@x", ".com"]);
        assert_eq!(breakable_parts("plain"), ["plain"]);
    }
}
