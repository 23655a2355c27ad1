//! The Add customer form as typed, its field rules (`validator`, with the rules of
//! `domain::rules`), and the one conversion into a `NewCustomer`.

use serde::Deserialize;
use validator::Validate;

use crate::domain::new_customer::{
    AgreementChoice, CountryCode, DomainPrefix, FIELD_ORDER, NewCustomer, NewCustomerText, PartnerId, default_culture,
    optional,
};
use crate::domain::rules::field;

/// A language the agent chose, or none (empty): then it follows the country.
fn chosen_culture(text: &str) -> Result<(), validator::ValidationError> {
    if text.trim().is_empty() { Ok(()) } else { field::culture(text) }
}
use crate::domain::{Contact, FieldError};
use crate::workflows::NewCustomerDraft;

/// Everything the form carries, as typed; it travels whole through Review and back.
#[derive(Debug, Clone, Default, Deserialize, Validate)]
#[serde(default)]
pub struct NewCustomerForm {
    #[validate(custom(function = "field::company_name"))]
    pub company_name: String,
    #[validate(custom(function = "field::domain_prefix"))]
    pub domain_prefix: String,
    #[validate(custom(function = "field::first_name"))]
    pub first_name: String,
    #[validate(custom(function = "field::last_name"))]
    pub last_name: String,
    #[validate(custom(function = "field::email"))]
    pub email: String,
    #[validate(custom(function = "field::phone"))]
    pub phone: String,
    #[validate(custom(function = "field::country"))]
    pub country: String,
    #[validate(custom(function = "field::address_line1"))]
    pub address_line1: String,
    #[validate(custom(function = "field::address_line2"))]
    pub address_line2: String,
    #[validate(custom(function = "field::city"))]
    pub city: String,
    #[validate(custom(function = "field::state"))]
    pub state: String,
    #[validate(custom(function = "field::postal_code"))]
    pub postal_code: String,
    /// Empty while the agent has not chosen: the language then follows the country.
    #[validate(custom(function = "chosen_culture"))]
    pub culture: String,
    #[validate(custom(function = "field::registration_number"))]
    pub registration_number: String,
    /// One of the provider's indirect resellers, or empty: the workflow checks which.
    pub associated_partner_id: String,
    /// "attest" or "admin_center"; with the date (of "attest" only), the domain's.
    pub agreement: String,
    pub date_agreed: String,
    /// "", "typed" or "suggested": the answer to an address suggestion.
    pub address_choice: String,
    pub suggested_line1: String,
    pub suggested_line2: String,
    pub suggested_city: String,
    pub suggested_state: String,
    pub suggested_postal_code: String,
    pub idempotency_key: String,
    /// Set by the server from its settings, never posted: the enhanced attestation, where
    /// the customer accepts at a link and no acceptance date is asked for.
    #[serde(skip)]
    pub enhanced: bool,
}

impl NewCustomerForm {
    pub fn attesting(&self) -> bool {
        self.agreement == "attest"
    }

    /// The acceptance date belongs to the attest choice only: with the other one it is
    /// dropped, so that it travels no further and Review never shows it.
    pub fn drop_unused_date(&mut self) {
        if !self.attesting() {
            self.date_agreed.clear();
        }
    }

    /// Takes the portal's attestation mode. In enhanced mode a posted acceptance date is
    /// ignored: the day the customer accepts at the link is the agreement's.
    pub fn in_mode(mut self, enhanced: bool) -> Self {
        self.enhanced = enhanced;
        if enhanced {
            self.date_agreed.clear();
        }
        self
    }

    /// The customer accepts at the link of an enhanced attestation.
    pub fn accepts_at_link(&self) -> bool {
        self.enhanced && self.attesting()
    }

    /// The language: the one chosen, or the country's when none was.
    pub fn culture_or_default(&self) -> &str {
        match self.culture.trim() {
            "" => default_culture(self.country.trim()),
            chosen => chosen,
        }
    }

    /// Takes the suggested address the agent chose.
    pub fn apply_suggestion(&mut self) {
        if self.address_choice == "suggested" && !self.suggested_line1.is_empty() {
            self.address_line1 = std::mem::take(&mut self.suggested_line1);
            self.address_line2 = std::mem::take(&mut self.suggested_line2);
            self.city = std::mem::take(&mut self.suggested_city);
            self.state = std::mem::take(&mut self.suggested_state);
            self.postal_code = std::mem::take(&mut self.suggested_postal_code);
            self.address_choice = "typed".into();
        }
    }

    /// The form parsed, for the Add customer use case.
    /// In enhanced mode today's date stands in; the customer's acceptance dates the
    /// agreement (docs/partner-center.md, "Enhanced attestation").
    pub fn draft(&self) -> NewCustomerDraft {
        let parsed = if self.accepts_at_link() {
            let today = chrono::Utc::now().date_naive().to_string();
            NewCustomer::try_from(&NewCustomerForm { date_agreed: today, ..self.clone() })
        } else {
            NewCustomer::try_from(self)
        };
        NewCustomerDraft { parsed, prefix: DomainPrefix::parse(DomainPrefix::FIELD, &self.domain_prefix).ok() }
    }
}

/// The form becomes a new customer, or every mistake in it, in the order of the form.
impl TryFrom<&NewCustomerForm> for NewCustomer {
    type Error = Vec<FieldError>;

    fn try_from(f: &NewCustomerForm) -> Result<Self, Vec<FieldError>> {
        let mut errors = f.validate().err().map(|e| FieldError::from_validation(&e)).unwrap_or_default();
        let today = chrono::Utc::now().date_naive();
        let agreement = AgreementChoice::parse(&f.agreement, &f.date_agreed, today).map_err(|e| errors.extend(e)).ok();
        let reseller = optional(&f.associated_partner_id, |t| PartnerId::parse("associated_partner_id", t))
            .map_err(|e| errors.push(e))
            .ok()
            .flatten();
        if let Ok(country) = CountryCode::parse("country", &f.country) {
            let (phone, number) = (!f.phone.trim().is_empty(), !f.registration_number.trim().is_empty());
            errors.extend(NewCustomer::country_requirements(&country, phone, number));
        }
        match agreement {
            Some(agreement) if errors.is_empty() => assemble(f, agreement, reseller).map_err(|e| vec![e]),
            _ => {
                FieldError::sort_by_form(&mut errors, &FIELD_ORDER);
                Err(errors)
            }
        }
    }
}

/// The domain values of a form whose fields passed their rules.
fn assemble(
    f: &NewCustomerForm,
    agreement: AgreementChoice,
    reseller: Option<PartnerId>,
) -> Result<NewCustomer, FieldError> {
    let contact = Contact::parse(&f.first_name, &f.last_name, &f.email, &f.phone).map_err(|e| {
        e.into_iter().next().unwrap_or_else(|| FieldError::new("first_name", "Check the primary contact."))
    })?;
    let text = NewCustomerText {
        company_name: &f.company_name,
        domain_prefix: &f.domain_prefix,
        country: &f.country,
        address_line1: &f.address_line1,
        address_line2: &f.address_line2,
        city: &f.city,
        state: &f.state,
        postal_code: &f.postal_code,
        culture: f.culture_or_default(),
        registration_number: &f.registration_number,
    };
    NewCustomer::assemble(&text, contact, agreement, reseller)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> NewCustomerForm {
        NewCustomerForm {
            company_name: "Contoso Ltd".into(),
            domain_prefix: "ContosoLtd".into(),
            first_name: "Tania".into(),
            last_name: "Carr".into(),
            email: "tania@contoso.example".into(),
            country: "US".into(),
            address_line1: "1 Main St".into(),
            city: "Redmond".into(),
            state: "WA".into(),
            postal_code: "98052".into(),
            culture: "en-US".into(),
            agreement: "attest".into(),
            date_agreed: chrono::Utc::now().date_naive().to_string(),
            ..Default::default()
        }
    }

    fn fields(f: &NewCustomerForm) -> Vec<String> {
        NewCustomer::try_from(f).unwrap_err().into_iter().map(|e| e.field.to_string()).collect()
    }

    #[test]
    fn a_complete_form_parses() {
        let c = NewCustomer::try_from(&form()).unwrap();
        assert_eq!(c.domain_prefix.domain(), "contosoltd.onmicrosoft.com");
        assert_eq!(c.culture.language(), "en");
        assert!(c.attests());
        let ac = NewCustomerForm { agreement: "admin_center".into(), date_agreed: "2999-01-01".into(), ..form() };
        assert_eq!(NewCustomer::try_from(&ac).unwrap().agreement, AgreementChoice::AdminCenter);
        let unchosen = NewCustomerForm { culture: String::new(), country: "DE".into(), state: String::new(), ..form() };
        assert_eq!(NewCustomer::try_from(&unchosen).unwrap().culture.as_str(), "de-DE", "the country's language");
    }

    #[test]
    fn every_wrong_field_is_reported_in_the_order_of_the_form() {
        let bad = NewCustomerForm {
            company_name: String::new(),
            domain_prefix: "contoso-ltd".into(),
            email: "x".into(),
            country: "XX".into(),
            state: "Washington".into(),
            date_agreed: "2999-01-01".into(),
            ..form()
        };
        assert_eq!(fields(&bad), ["company_name", "domain_prefix", "email", "country", "state", "date_agreed"]);
    }

    #[test]
    fn in_enhanced_mode_a_posted_date_is_ignored_and_today_stands_in() {
        let posted = NewCustomerForm { date_agreed: "2999-01-01".into(), ..form() }.in_mode(true);
        assert!(posted.date_agreed.is_empty() && posted.accepts_at_link());
        let today = chrono::Utc::now().date_naive();
        let parsed = posted.draft().parsed.expect("no date asked for, none refused");
        assert_eq!(parsed.agreement.date().map(|d| d.date()), Some(today));
        let confirm = NewCustomerForm { date_agreed: "2999-01-01".into(), ..form() }.in_mode(false);
        assert!(confirm.draft().parsed.is_err(), "confirm mode still checks the date");
    }

    #[test]
    fn country_rules_come_with_the_other_mistakes() {
        let br = NewCustomerForm { country: "BR".into(), state: String::new(), ..form() };
        assert_eq!(fields(&br), ["phone", "registration_number"]);
        let more = NewCustomerForm { email: "bad".into(), ..br.clone() };
        assert_eq!(fields(&more), ["email", "phone", "registration_number"]);
        let wrong_phone = NewCustomerForm { phone: "call me".into(), ..br.clone() };
        assert_eq!(fields(&wrong_phone), ["phone", "registration_number"], "one message for the phone");
        let ok = NewCustomerForm {
            phone: "+55 11 5555 0100".into(),
            registration_number: "12.345.678/0001-90".into(),
            ..br
        };
        assert!(NewCustomer::try_from(&ok).is_ok());
    }
}
