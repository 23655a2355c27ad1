//! A new customer as the Add customer form gives it (partner-center-api.md, "Create
//! customer"): company, domain prefix, billing address, primary contact, language, and
//! the Customer agreement choice.

use super::contact::{AcceptanceDate, Contact, FieldError};

/// Countries that require an organization registration number (partner-center-api.md).
pub const REGISTRATION_NUMBER_COUNTRIES: [&str; 23] = [
    "AM", "AZ", "BY", "HU", "KZ", "KG", "MD", "RU", "TJ", "UZ", "UA", "BR", "IN", "ZA", "PL", "AE", "SA", "TR", "TH",
    "VN", "MM", "IQ", "SS",
];
/// …and Venezuela, listed separately only to keep the array above readable.
pub const REGISTRATION_NUMBER_COUNTRIES_MORE: [&str; 1] = ["VE"];

/// Countries where Partner Center asks for a phone number (600051). UNCONFIRMED: no
/// source lists them; the sandbox enforces the same list, so change both together.
pub const PHONE_REQUIRED_COUNTRIES: [&str; 6] = ["BR", "IN", "JP", "CN", "KR", "TR"];

pub fn needs_registration_number(country: &str) -> bool {
    REGISTRATION_NUMBER_COUNTRIES.contains(&country) || REGISTRATION_NUMBER_COUNTRIES_MORE.contains(&country)
}

pub fn needs_phone(country: &str) -> bool {
    PHONE_REQUIRED_COUNTRIES.contains(&country)
}

/// The countries offered, sorted by name (ISO 3166-1 alpha-2 codes).
pub const COUNTRIES: [(&str, &str); 44] = [
    ("AR", "Argentina"),
    ("AU", "Australia"),
    ("AT", "Austria"),
    ("BE", "Belgium"),
    ("BR", "Brazil"),
    ("CA", "Canada"),
    ("CL", "Chile"),
    ("CN", "China"),
    ("CZ", "Czechia"),
    ("DK", "Denmark"),
    ("FI", "Finland"),
    ("FR", "France"),
    ("DE", "Germany"),
    ("GR", "Greece"),
    ("HU", "Hungary"),
    ("IN", "India"),
    ("IQ", "Iraq"),
    ("IE", "Ireland"),
    ("IL", "Israel"),
    ("IT", "Italy"),
    ("JP", "Japan"),
    ("KZ", "Kazakhstan"),
    ("KR", "Korea"),
    ("MX", "Mexico"),
    ("NL", "Netherlands"),
    ("NZ", "New Zealand"),
    ("NO", "Norway"),
    ("PL", "Poland"),
    ("PT", "Portugal"),
    ("RO", "Romania"),
    ("SA", "Saudi Arabia"),
    ("SG", "Singapore"),
    ("ZA", "South Africa"),
    ("ES", "Spain"),
    ("SE", "Sweden"),
    ("CH", "Switzerland"),
    ("TH", "Thailand"),
    ("TR", "Türkiye"),
    ("UA", "Ukraine"),
    ("AE", "United Arab Emirates"),
    ("GB", "United Kingdom"),
    ("US", "United States"),
    ("VE", "Venezuela"),
    ("VN", "Vietnam"),
];

/// Language and culture choices: (culture, language, name).
pub const CULTURES: [(&str, &str, &str); 14] = [
    ("en-US", "en", "English (United States)"),
    ("en-GB", "en", "English (United Kingdom)"),
    ("de-DE", "de", "German (Germany)"),
    ("fr-FR", "fr", "French (France)"),
    ("es-ES", "es", "Spanish (Spain)"),
    ("it-IT", "it", "Italian (Italy)"),
    ("nl-NL", "nl", "Dutch (Netherlands)"),
    ("pt-BR", "pt", "Portuguese (Brazil)"),
    ("pl-PL", "pl", "Polish (Poland)"),
    ("sv-SE", "sv", "Swedish (Sweden)"),
    ("ja-JP", "ja", "Japanese (Japan)"),
    ("tr-TR", "tr", "Turkish (Türkiye)"),
    ("hu-HU", "hu", "Hungarian (Hungary)"),
    ("uk-UA", "uk", "Ukrainian (Ukraine)"),
];

pub fn country_name(code: &str) -> Option<&'static str> {
    COUNTRIES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// The fields in the order the form shows them.
const FIELD_ORDER: [&str; 18] = [
    "company_name",
    "domain_prefix",
    "first_name",
    "last_name",
    "email",
    "phone",
    "country",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "registration_number",
    "culture",
    "associated_partner_id",
    "agreement",
    "accepted",
    "date_agreed",
];

/// The part before `.onmicrosoft.com`: letters and digits, 1–27 of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainPrefix(String);

impl DomainPrefix {
    pub const FIELD: &'static str = "domain_prefix";

    pub fn parse(text: &str) -> Result<Self, FieldError> {
        let t = text.trim().trim_end_matches(".onmicrosoft.com").to_ascii_lowercase();
        if t.is_empty() {
            return Err(FieldError::new(
                Self::FIELD,
                "Enter a domain prefix: the customer's name at .onmicrosoft.com, like contosoltd.",
            ));
        }
        if !t.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
            return Err(FieldError::new(
                Self::FIELD,
                "The domain prefix can contain only letters a–z and digits, no spaces, dots or hyphens.",
            ));
        }
        if t.len() > 27 {
            return Err(FieldError::new(
                Self::FIELD,
                format!("The domain prefix can be at most 27 characters; this one has {}.", t.len()),
            ));
        }
        Ok(DomainPrefix(t))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> String {
        format!("{}.onmicrosoft.com", self.0)
    }
}

/// The billing address; limits from partner-center-api.md.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub state: Option<String>,
    pub postal_code: String,
    pub country: String,
}

/// What the agent chose in the Customer agreement section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgreementChoice {
    /// "The customer has accepted the Microsoft Customer Agreement", on this date.
    Attest(AcceptanceDate),
    /// "Customer will be asked to accept the Microsoft Customer Agreement in Microsoft 365
    /// Admin Center".
    AdminCenter,
}

/// A valid new customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCustomer {
    pub company_name: String,
    pub domain_prefix: DomainPrefix,
    pub contact: Contact,
    pub address: Address,
    pub culture: String,
    pub language: String,
    pub registration_number: Option<String>,
    /// The indirect reseller this customer is created for, if any.
    pub associated_partner_id: Option<String>,
    pub agreement: AgreementChoice,
}

/// The form as typed, every field a string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewCustomerInput<'a> {
    pub company_name: &'a str,
    pub domain_prefix: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
    pub phone: &'a str,
    pub country: &'a str,
    pub address_line1: &'a str,
    pub address_line2: &'a str,
    pub city: &'a str,
    pub state: &'a str,
    pub postal_code: &'a str,
    pub culture: &'a str,
    pub registration_number: &'a str,
    pub associated_partner_id: &'a str,
    /// "attest" or "admin_center".
    pub agreement: &'a str,
    pub accepted: bool,
    pub date_agreed: &'a str,
}

fn bounded(field: &'static str, label: &str, text: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let t = text.trim();
    let n = t.chars().count();
    if n < min {
        return Err(FieldError::new(field, format!("Enter the {label}.")));
    }
    if n > max {
        return Err(FieldError::new(field, format!("The {label} can be at most {max} characters; this one has {n}.")));
    }
    if t.chars().any(char::is_control) {
        return Err(FieldError::new(field, format!("The {label} has an invisible control character; type it again.")));
    }
    Ok(t.to_string())
}

impl NewCustomer {
    /// Parses every field and reports every wrong one.
    pub fn parse(
        i: &NewCustomerInput<'_>,
        today_utc: chrono::NaiveDate,
        resellers: &[String],
    ) -> Result<NewCustomer, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut ok = |r: Result<String, FieldError>| r.map_err(|e| errors.push(e)).ok();
        let company_name = ok(bounded("company_name", "company name", i.company_name, 1, 255));
        let line1 = ok(bounded("address_line1", "address line 1", i.address_line1, 1, 200));
        let line2 = ok(bounded("address_line2", "address line 2", i.address_line2, 0, 200));
        let city = ok(bounded("city", "city", i.city, 1, 100));
        let postal_code = ok(bounded("postal_code", "postal code", i.postal_code, 1, 20));
        let country = i.country.trim().to_ascii_uppercase();
        let state = i.state.trim().to_ascii_uppercase();
        if country_name(&country).is_none() {
            errors.push(FieldError::new("country", "Choose the country or region of the customer's address."));
        }
        if state.chars().count() > 2 || !state.chars().all(|c| c.is_ascii_alphabetic()) {
            errors.push(FieldError::new(
                "state",
                "Enter the state or region as its code of at most two letters, like WA, or leave it empty.",
            ));
        }
        let domain_prefix = DomainPrefix::parse(i.domain_prefix).map_err(|e| errors.push(e)).ok();
        let contact = Contact::parse(i.first_name, i.last_name, i.email, i.phone).map_err(|e| errors.extend(e)).ok();
        if i.phone.trim().is_empty() && needs_phone(&country) {
            errors.push(FieldError::new(
                "phone",
                format!("A phone number is required for customers in {}.", country_name(&country).unwrap_or(&country)),
            ));
        }
        let registration = i.registration_number.trim();
        if needs_registration_number(&country) && registration.is_empty() {
            errors.push(FieldError::new(
                "registration_number",
                format!(
                    "An organization registration number is required for customers in {}.",
                    country_name(&country).unwrap_or(&country)
                ),
            ));
        }
        if registration.chars().count() > 50 {
            errors.push(FieldError::new(
                "registration_number",
                "The organization registration number can be at most 50 characters.",
            ));
        }
        let culture = CULTURES.iter().find(|(c, _, _)| *c == i.culture.trim());
        if culture.is_none() {
            errors.push(FieldError::new("culture", "Choose the customer's language."));
        }
        let associated = i.associated_partner_id.trim();
        if !associated.is_empty() && !resellers.iter().any(|r| r == associated) {
            errors.push(FieldError::new("associated_partner_id", "Choose one of your indirect resellers, or none."));
        }
        let agreement = match i.agreement {
            "attest" => {
                if !i.accepted {
                    errors.push(FieldError::new(
                        "accepted",
                        "Confirm that the customer has accepted the Microsoft Customer Agreement, or choose that the customer will be asked to accept it in the Microsoft 365 admin center.",
                    ));
                }
                AcceptanceDate::parse(i.date_agreed, today_utc)
                    .map(AgreementChoice::Attest)
                    .map_err(|e| errors.push(e))
                    .ok()
            }
            "admin_center" => Some(AgreementChoice::AdminCenter),
            _ => {
                errors.push(FieldError::new(
                    "agreement",
                    "Choose how the customer accepts the Microsoft Customer Agreement.",
                ));
                None
            }
        };
        if !errors.is_empty() {
            // In the order of the form, so that the summary reads top to bottom.
            errors.sort_by_key(|e| FIELD_ORDER.iter().position(|f| *f == e.field).unwrap_or(FIELD_ORDER.len()));
            return Err(errors);
        }
        let (
            Some(company_name),
            Some(line1),
            Some(line2),
            Some(city),
            Some(postal_code),
            Some(domain_prefix),
            Some(contact),
            Some(agreement),
            Some(culture),
        ) = (company_name, line1, line2, city, postal_code, domain_prefix, contact, agreement, culture)
        else {
            return Err(vec![FieldError::new("company_name", "The form could not be read; check every field.")]);
        };
        Ok(NewCustomer {
            company_name,
            domain_prefix,
            contact,
            address: Address {
                line1,
                line2: Some(line2).filter(|l| !l.is_empty()),
                city,
                state: Some(state).filter(|s| !s.is_empty()),
                postal_code,
                country,
            },
            culture: culture.0.to_string(),
            language: culture.1.to_string(),
            registration_number: Some(registration.to_string()).filter(|r| !r.is_empty()),
            associated_partner_id: Some(associated.to_string()).filter(|a| !a.is_empty()),
            agreement,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
    }

    fn input() -> NewCustomerInput<'static> {
        NewCustomerInput {
            company_name: "Contoso Ltd",
            domain_prefix: "ContosoLtd",
            first_name: "Tania",
            last_name: "Carr",
            email: "tania@contoso.example",
            phone: "",
            country: "US",
            address_line1: "1 Main St",
            address_line2: "",
            city: "Redmond",
            state: "WA",
            postal_code: "98052",
            culture: "en-US",
            registration_number: "",
            associated_partner_id: "",
            agreement: "attest",
            accepted: true,
            date_agreed: "2026-11-29",
        }
    }

    #[test]
    fn a_complete_form_parses() {
        let c = NewCustomer::parse(&input(), today(), &[]).unwrap();
        assert_eq!(c.domain_prefix.domain(), "contosoltd.onmicrosoft.com");
        assert_eq!(c.language, "en");
        assert!(matches!(c.agreement, AgreementChoice::Attest(_)));
        let ac = NewCustomer::parse(
            &NewCustomerInput { agreement: "admin_center", accepted: false, date_agreed: "", ..input() },
            today(),
            &[],
        )
        .unwrap();
        assert_eq!(ac.agreement, AgreementChoice::AdminCenter);
    }

    #[test]
    fn every_wrong_field_is_reported() {
        let bad = NewCustomerInput {
            company_name: "",
            domain_prefix: "contoso-ltd",
            email: "x",
            country: "XX",
            state: "Washington",
            accepted: false,
            date_agreed: "2026-11-30",
            ..input()
        };
        let fields: Vec<_> = NewCustomer::parse(&bad, today(), &[]).unwrap_err().into_iter().map(|e| e.field).collect();
        for f in ["company_name", "domain_prefix", "email", "country", "state", "accepted", "date_agreed"] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
    }

    #[test]
    fn country_rules_for_phone_and_registration_number() {
        let br = NewCustomerInput { country: "BR", state: "", ..input() };
        let fields: Vec<_> = NewCustomer::parse(&br, today(), &[]).unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["phone", "registration_number"]);
        // Reported with the other mistakes, not after they are fixed.
        let more = NewCustomerInput { email: "bad", ..br };
        let fields: Vec<_> =
            NewCustomer::parse(&more, today(), &[]).unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["email", "phone", "registration_number"], "in the order of the form");
        let ok = NewCustomerInput {
            country: "BR",
            state: "",
            phone: "+55 11 5555 0100",
            registration_number: "12.345.678/0001-90",
            ..input()
        };
        assert!(NewCustomer::parse(&ok, today(), &[]).is_ok());
    }

    #[test]
    fn resellers_must_be_known() {
        let i = NewCustomerInput { associated_partner_id: "r1", ..input() };
        assert!(NewCustomer::parse(&i, today(), &["r2".into()]).is_err());
        assert_eq!(
            NewCustomer::parse(&i, today(), &["r1".into()]).unwrap().associated_partner_id.as_deref(),
            Some("r1")
        );
    }

    #[test]
    fn domain_prefixes() {
        assert_eq!(DomainPrefix::parse(" Fabrikam2 ").unwrap().as_str(), "fabrikam2");
        assert_eq!(DomainPrefix::parse("fabrikam.onmicrosoft.com").unwrap().as_str(), "fabrikam");
        assert!(DomainPrefix::parse("fab rikam").is_err());
        assert!(DomainPrefix::parse(&"a".repeat(28)).is_err());
    }
}
