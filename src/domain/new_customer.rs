//! A new customer as the Add customer form gives it (docs/partner-center.md, "Create
//! customer"): company, domain prefix, billing address, primary contact, language, and
//! the Customer agreement choice. Every part is a validated type; the whole is stored
//! with its submission as it is and sent from there.

use serde::{Deserialize, Serialize};
use validator::ValidationError;

use super::contact::{AcceptanceDate, Contact};
use super::rules::{self, FieldError, message_of};

/// Countries that require an organization registration number (docs/partner-center.md).
pub const REGISTRATION_NUMBER_COUNTRIES: [&str; 24] = [
    "AM", "AZ", "BY", "HU", "KZ", "KG", "MD", "RU", "TJ", "UZ", "UA", "BR", "IN", "ZA", "PL", "AE", "SA", "TR", "TH",
    "VN", "MM", "IQ", "SS", "VE",
];

/// Countries where Partner Center asks for a phone number (600051). UNCONFIRMED: no
/// source lists them; the sandbox keeps its own copy of this guess.
pub const PHONE_REQUIRED_COUNTRIES: [&str; 6] = ["BR", "IN", "JP", "CN", "KR", "TR"];

pub fn needs_registration_number(country: &str) -> bool {
    REGISTRATION_NUMBER_COUNTRIES.contains(&country)
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

/// Countries whose language is offered under another country's culture.
const LANGUAGE_OF_COUNTRY: [(&str, &str); 17] = [
    ("AT", "de-DE"),
    ("CH", "de-DE"),
    ("BE", "nl-NL"),
    ("AR", "es-ES"),
    ("CL", "es-ES"),
    ("MX", "es-ES"),
    ("VE", "es-ES"),
    ("PT", "pt-BR"),
    ("IE", "en-GB"),
    ("AU", "en-GB"),
    ("NZ", "en-GB"),
    ("IN", "en-GB"),
    ("SG", "en-GB"),
    ("ZA", "en-GB"),
    ("IL", "en-US"),
    ("CA", "en-US"),
    ("KZ", "en-US"),
];

/// The language a customer in `country` gets when the agent does not choose one: the
/// country's own culture where one is offered, else the nearest offered, else English.
pub fn default_culture(country: &str) -> &'static str {
    let own = CULTURES.iter().find(|c| c.0.rsplit('-').next() == Some(country)).map(|c| c.0);
    let near = || LANGUAGE_OF_COUNTRY.iter().find(|(c, _)| *c == country).map(|(_, culture)| *culture);
    own.or_else(near).unwrap_or("en-US")
}

/// The offered countries that need an organization registration number, by name.
pub fn registration_number_country_names() -> Vec<&'static str> {
    COUNTRIES.iter().filter(|(code, _)| needs_registration_number(code)).map(|(_, name)| *name).collect()
}

/// The fields of Add customer in the order the form shows them.
pub const FIELD_ORDER: [&str; 17] = [
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
    "date_agreed",
];

/// A text value that is valid by construction: `parse` runs its rule (`domain::rules`),
/// and a stored value is read back through the same rule.
macro_rules! checked_text {
    ($(#[$doc:meta])* $name:ident, $rule:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses the text of the form field `field`.
            pub fn parse(field: &'static str, text: &str) -> Result<Self, FieldError> {
                let rule: fn(&str) -> Result<String, ValidationError> = $rule;
                rule(text).map($name).map_err(|e| FieldError::new(field, message_of(&e)))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::parse(stringify!($name), &s).map_err(|e| e.message)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// A value that must be there: an empty optional value is refused.
fn present(v: Option<impl Into<String>>, what: &str) -> Result<String, ValidationError> {
    v.map(Into::into).ok_or_else(|| ValidationError::new("required").with_message(format!("Enter the {what}.").into()))
}

checked_text!(
    /// The customer's company name: 1–255 characters.
    CompanyName,
    |t| rules::bounded("company name", t, 1, 255).map(String::from)
);
checked_text!(
    /// The part before `.onmicrosoft.com`: letters and digits, 1–27 of them.
    DomainPrefix,
    rules::domain_prefix
);
checked_text!(
    /// A line of the street address: 1–200 characters.
    AddressLine,
    |t| rules::bounded("address line", t, 1, 200).map(String::from)
);
checked_text!(
    /// 1–100 characters.
    City,
    |t| rules::bounded("city", t, 1, 100).map(String::from)
);
checked_text!(
    /// 1–20 characters.
    PostalCode,
    |t| rules::bounded("postal code", t, 1, 20).map(String::from)
);
checked_text!(
    /// A state or region code of one or two letters, in capitals.
    StateCode,
    |t| present(rules::state_code(t)?, "state or region")
);
checked_text!(
    /// An ISO 3166-1 alpha-2 code of a country the form offers.
    CountryCode,
    |t| rules::one_of(t, COUNTRIES.iter().map(|c| c.0), "Choose the country or region of the customer's address.")
        .map(String::from)
);
checked_text!(
    /// A culture the form offers, like `en-US`; its language is `language()`.
    Culture,
    |t| rules::one_of(t, CULTURES.iter().map(|c| c.0), "Choose the customer's language.").map(String::from)
);
checked_text!(
    /// An organization registration number: 1–50 characters.
    RegistrationNumber,
    |t| present(rules::registration_number(t)?, "organization registration number")
);
checked_text!(
    /// A partner's tenant id, as Partner Center lists it.
    PartnerId,
    |t| {
        let t = t.trim();
        let ok = !t.is_empty() && t.len() <= 64 && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        ok.then(|| t.to_string()).ok_or_else(|| {
            ValidationError::new("choice").with_message("Choose one of your indirect resellers, or none.".into())
        })
    }
);

impl DomainPrefix {
    pub const FIELD: &'static str = "domain_prefix";

    pub fn domain(&self) -> String {
        format!("{}.onmicrosoft.com", self.0)
    }
}

impl CountryCode {
    pub fn name(&self) -> &'static str {
        country_name(&self.0).unwrap_or("")
    }
}

impl Culture {
    /// The two-letter language of the culture (`en` for `en-US`).
    pub fn language(&self) -> &'static str {
        CULTURES.iter().find(|c| c.0 == self.0).map(|c| c.1).unwrap_or("en")
    }
    pub fn name(&self) -> &'static str {
        CULTURES.iter().find(|c| c.0 == self.0).map(|c| c.2).unwrap_or("")
    }
}

/// The billing address; limits from docs/partner-center.md.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub line1: AddressLine,
    pub line2: Option<AddressLine>,
    pub city: City,
    pub state: Option<StateCode>,
    pub postal_code: PostalCode,
    pub country: CountryCode,
}

/// What the agent chose in the Customer agreement section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgreementChoice {
    /// "The customer has accepted the Microsoft Customer Agreement", on this date.
    Attest(AcceptanceDate),
    /// "Customer will be asked to accept the Microsoft Customer Agreement in Microsoft 365
    /// Admin Center".
    AdminCenter,
}

impl AgreementChoice {
    /// The choice as the form gives it: `attest` (the customer has accepted, on a date
    /// not after today in UTC) or `admin_center`. The date belongs to the first choice
    /// only: with the second it is ignored, whatever was sent.
    pub fn parse(choice: &str, date: &str, today_utc: chrono::NaiveDate) -> Result<Self, Vec<FieldError>> {
        match choice {
            "attest" => AcceptanceDate::parse(date, today_utc).map(AgreementChoice::Attest).map_err(|e| vec![e]),
            "admin_center" => Ok(AgreementChoice::AdminCenter),
            _ => Err(vec![FieldError::new(
                "agreement",
                "Choose how the customer accepts the Microsoft Customer Agreement.",
            )]),
        }
    }

    /// The acceptance date, when the agent attests.
    pub fn date(&self) -> Option<AcceptanceDate> {
        match self {
            AgreementChoice::Attest(d) => Some(*d),
            AgreementChoice::AdminCenter => None,
        }
    }
}

/// A valid new customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCustomer {
    pub company_name: CompanyName,
    pub domain_prefix: DomainPrefix,
    pub contact: Contact,
    pub address: Address,
    pub culture: Culture,
    pub registration_number: Option<RegistrationNumber>,
    /// The indirect reseller this customer is created for, if any.
    pub associated_partner_id: Option<PartnerId>,
    pub agreement: AgreementChoice,
}

/// The parts of a new customer that are typed as text, before they are parsed.
pub struct NewCustomerText<'a> {
    pub company_name: &'a str,
    pub domain_prefix: &'a str,
    pub country: &'a str,
    pub address_line1: &'a str,
    pub address_line2: &'a str,
    pub city: &'a str,
    pub state: &'a str,
    pub postal_code: &'a str,
    pub culture: &'a str,
    pub registration_number: &'a str,
}

/// An optional part: empty text is none, anything else must pass its rule.
pub fn optional<T>(text: &str, parse: impl FnOnce(&str) -> Result<T, FieldError>) -> Result<Option<T>, FieldError> {
    if text.trim().is_empty() { Ok(None) } else { parse(text).map(Some) }
}

impl NewCustomer {
    /// The new customer from its typed parts (each through its rule; the first mistake
    /// is returned: callers report every mistake of a form before they get here).
    pub fn assemble(
        t: &NewCustomerText<'_>,
        contact: Contact,
        agreement: AgreementChoice,
        reseller: Option<PartnerId>,
    ) -> Result<NewCustomer, FieldError> {
        Ok(NewCustomer {
            company_name: CompanyName::parse("company_name", t.company_name)?,
            domain_prefix: DomainPrefix::parse(DomainPrefix::FIELD, t.domain_prefix)?,
            contact,
            address: Address {
                line1: AddressLine::parse("address_line1", t.address_line1)?,
                line2: optional(t.address_line2, |x| AddressLine::parse("address_line2", x))?,
                city: City::parse("city", t.city)?,
                state: optional(t.state, |x| StateCode::parse("state", x))?,
                postal_code: PostalCode::parse("postal_code", t.postal_code)?,
                country: CountryCode::parse("country", t.country)?,
            },
            culture: Culture::parse("culture", t.culture)?,
            registration_number: optional(t.registration_number, |x| {
                RegistrationNumber::parse("registration_number", x)
            })?,
            associated_partner_id: reseller,
            agreement,
        })
    }

    /// The rules across fields: the countries that need a phone number or an
    /// organization registration number.
    pub fn country_requirements(country: &CountryCode, has_phone: bool, has_registration: bool) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !has_phone && needs_phone(country.as_str()) {
            errors.push(FieldError::new(
                "phone",
                format!("A phone number is required for customers in {}.", country.name()),
            ));
        }
        if !has_registration && needs_registration_number(country.as_str()) {
            errors.push(FieldError::new(
                "registration_number",
                format!("An organization registration number is required for customers in {}.", country.name()),
            ));
        }
        errors
    }

    /// Whether the agent attests now (rather than the customer accepting in the admin center).
    pub fn attests(&self) -> bool {
        matches!(self.agreement, AgreementChoice::Attest(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
    }

    #[test]
    fn the_agreement_choice_takes_a_date_only_when_attesting() {
        assert!(matches!(AgreementChoice::parse("attest", "2026-11-29", today()), Ok(AgreementChoice::Attest(_))));
        assert_eq!(AgreementChoice::parse("admin_center", "", today()), Ok(AgreementChoice::AdminCenter));
        assert_eq!(
            AgreementChoice::parse("admin_center", "2999-01-01", today()),
            Ok(AgreementChoice::AdminCenter),
            "a date sent with the other choice is ignored"
        );
        let fields: Vec<_> =
            AgreementChoice::parse("attest", "2026-11-30", today()).unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["date_agreed"]);
        assert_eq!(AgreementChoice::parse("", "", today()).unwrap_err()[0].field, "agreement");
    }

    #[test]
    fn the_language_follows_the_country() {
        assert_eq!(default_culture("BR"), "pt-BR");
        assert_eq!(default_culture("AT"), "de-DE");
        assert_eq!(default_culture("MX"), "es-ES");
        assert_eq!(default_culture("IE"), "en-GB");
        assert_eq!(default_culture("KR"), "en-US");
        assert!(CULTURES.iter().any(|c| c.0 == default_culture("CH")));
    }

    #[test]
    fn country_rules_for_phone_and_registration_number() {
        let br = CountryCode::parse("country", "br").unwrap();
        let fields: Vec<_> =
            NewCustomer::country_requirements(&br, false, false).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["phone", "registration_number"]);
        assert!(NewCustomer::country_requirements(&br, true, true).is_empty());
        let us = CountryCode::parse("country", "US").unwrap();
        assert!(NewCustomer::country_requirements(&us, false, false).is_empty());
    }

    #[test]
    fn checked_values_refuse_what_their_rule_refuses() {
        assert_eq!(DomainPrefix::parse("domain_prefix", " Fabrikam2 ").unwrap().domain(), "fabrikam2.onmicrosoft.com");
        assert_eq!(DomainPrefix::parse("domain_prefix", "fab rikam").unwrap_err().field, "domain_prefix");
        assert!(StateCode::parse("state", "").is_err(), "an empty state is no state (None)");
        assert_eq!(StateCode::parse("state", "wa").unwrap().as_str(), "WA");
        assert_eq!(Culture::parse("culture", "de-DE").unwrap().language(), "de");
        assert!(CountryCode::parse("country", "XX").is_err());
        assert!(serde_json::from_str::<CompanyName>("\"\"").is_err(), "a stored value goes through its rule");
    }

    #[test]
    fn a_new_customer_round_trips_through_its_stored_form() {
        let c = NewCustomer {
            company_name: CompanyName::parse("company_name", "Contoso & Sons").unwrap(),
            domain_prefix: DomainPrefix::parse("domain_prefix", "contososons").unwrap(),
            contact: Contact::parse("Tania", "Carr", "tania@contoso.example", "").unwrap(),
            address: Address {
                line1: AddressLine::parse("address_line1", "1 Main St").unwrap(),
                line2: None,
                city: City::parse("city", "Redmond").unwrap(),
                state: Some(StateCode::parse("state", "WA").unwrap()),
                postal_code: PostalCode::parse("postal_code", "98052").unwrap(),
                country: CountryCode::parse("country", "US").unwrap(),
            },
            culture: Culture::parse("culture", "en-US").unwrap(),
            registration_number: None,
            associated_partner_id: None,
            agreement: AgreementChoice::Attest(AcceptanceDate::parse("2026-11-29", today()).unwrap()),
        };
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<NewCustomer>(&text).unwrap(), c);
    }
}
