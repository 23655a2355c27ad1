//! The person who accepted the MCA, and the acceptance date, parsed from what an agent
//! typed (docs/architecture.md, "Where each rule lives"). Past the parsers nothing is a
//! bare string: a `Contact` is valid by construction, and it is stored as it is.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::Attestation;
use super::rules::{self, FieldError, message_of};

/// A first or last name: 1–50 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(field: &'static str, label: &str, text: &str) -> Result<Self, FieldError> {
        rules::person_name(label, text)
            .map(|t| PersonName(t.to_string()))
            .map_err(|e| FieldError::new(field, message_of(&e)))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address (`rules::email_address`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(field: &'static str, text: &str) -> Result<Self, FieldError> {
        rules::email_address(text).map(|t| Email(t.to_string())).map_err(|e| FieldError::new(field, message_of(&e)))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number (`rules::phone_number`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    pub fn parse_optional(field: &'static str, text: &str) -> Result<Option<Self>, FieldError> {
        rules::phone_number(text)
            .map(|p| p.map(|t| Phone(t.to_string())))
            .map_err(|e| FieldError::new(field, message_of(&e)))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// Stored values are read back through the same rules: a row that no longer satisfies
// them is reported as unreadable rather than trusted.
impl TryFrom<String> for PersonName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        PersonName::parse("name", "name", &s).map_err(|e| e.message)
    }
}
impl TryFrom<String> for Email {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Email::parse("email", &s).map_err(|e| e.message)
    }
}
impl TryFrom<String> for Phone {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Phone::parse_optional("phone", &s).map_err(|e| e.message)?.ok_or_else(|| "an empty phone number".to_string())
    }
}
impl std::fmt::Display for PersonName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::fmt::Display for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl From<PersonName> for String {
    fn from(v: PersonName) -> String {
        v.0
    }
}
impl From<Email> for String {
    fn from(v: Email) -> String {
        v.0
    }
}
impl From<Phone> for String {
    fn from(v: Phone) -> String {
        v.0
    }
}

/// The person who accepted the Microsoft Customer Agreement for the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub email: Email,
    pub phone: Option<Phone>,
}

impl Contact {
    /// Parses all four fields and reports every wrong one, not just the first.
    pub fn parse(first: &str, last: &str, email: &str, phone: &str) -> Result<Contact, Vec<FieldError>> {
        let first = PersonName::parse("first_name", "first name", first);
        let last = PersonName::parse("last_name", "last name", last);
        let email = Email::parse("email", email);
        let phone = Phone::parse_optional("phone", phone);
        match (first, last, email, phone) {
            (Ok(first_name), Ok(last_name), Ok(email), Ok(phone)) => {
                Ok(Contact { first_name, last_name, email, phone })
            }
            (f, l, e, p) => Err([f.err(), l.err(), e.err(), p.err()].into_iter().flatten().collect()),
        }
    }

    fn details(&self) -> [&str; 4] {
        [
            self.first_name.as_str(),
            self.last_name.as_str(),
            self.email.as_str(),
            self.phone.as_ref().map(Phone::as_str).unwrap_or(""),
        ]
    }

    /// Whether Partner Center would refuse this contact (600061) next to an attestation
    /// it holds already: see `same_four_details`.
    pub fn repeats(&self, a: &Attestation) -> bool {
        same_four_details(self.details(), [&a.first_name, &a.last_name, &a.email, a.phone.as_deref().unwrap_or("")])
    }

    /// The same rule between two contacts (one saved and on its way, one typed now).
    pub fn same_person_as(&self, other: &Contact) -> bool {
        same_four_details(self.details(), other.details())
    }
}

/// Partner Center's 600061 rule: a second attestation is refused when its first name,
/// last name, email address and phone number are all the same as an existing one's.
/// Microsoft's documentation of the confirm call (docs/partner-center.md, "Attest (confirm)") says
/// another agreement is allowed when any of the four changes and says nothing of case, so
/// the four are compared exactly as typed, after trimming; no phone equals an empty one.
/// This is the one place of the rule in the portal.
pub fn same_four_details(a: [&str; 4], b: [&str; 4]) -> bool {
    a.iter().zip(b.iter()).all(|(x, y)| x.trim() == y.trim())
}

/// The sentence that explains the 600061 rule to the agent.
pub const DUPLICATE_CONTACT_MESSAGE: &str = "Partner Center already has an attestation with exactly this first name, last name, email address and phone number, and keeps only one per person. To record a new attestation, at least one of the four must differ: enter the person who accepted this time, with their current email address and phone number.";

/// What to do when the four details typed are those of an attestation Partner Center
/// holds: one error for each of the four fields, the explanation on the first.
pub fn same_four_details_errors() -> Vec<FieldError> {
    let also = |field: &'static str, what: &str| {
        FieldError::new(
            field,
            format!("The {what} is the same as in that attestation; change it if it is not current."),
        )
    };
    let first = format!(
        "{DUPLICATE_CONTACT_MESSAGE} If the same person accepted again and all four are still current, Partner Center can't record it a second time: the customer can accept directly in the Microsoft 365 admin center instead."
    );
    vec![
        FieldError::new("first_name", first),
        also("last_name", "last name"),
        also("email", "email address"),
        FieldError::new(
            "phone",
            "The phone number is the same as in that attestation; two empty phone numbers count as the same.",
        ),
    ]
}

/// The day the customer accepted: a calendar date, never after today in UTC (Partner
/// Center compares with UTC, so an agent east of UTC would otherwise be refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "NaiveDate", into = "NaiveDate")]
pub struct AcceptanceDate(NaiveDate);

/// The first day an acceptance date can have.
fn earliest() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid")
}

// A stored date was not after its day when it was typed, and is not after any later day.
impl TryFrom<NaiveDate> for AcceptanceDate {
    type Error = String;
    fn try_from(d: NaiveDate) -> Result<Self, String> {
        if d < earliest() { Err(format!("{d} is before 2000")) } else { Ok(AcceptanceDate(d)) }
    }
}

impl From<AcceptanceDate> for NaiveDate {
    fn from(d: AcceptanceDate) -> NaiveDate {
        d.0
    }
}

impl AcceptanceDate {
    pub const FIELD: &'static str = "date_agreed";

    pub fn parse(text: &str, today_utc: NaiveDate) -> Result<Self, FieldError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(FieldError::new(
                Self::FIELD,
                format!("Enter the agreement acceptance date as year-month-day, like {today_utc}."),
            ));
        }
        let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") else {
            return Err(FieldError::new(
                Self::FIELD,
                format!("Enter the date as year-month-day, like {today_utc}; “{t}” is not a calendar date."),
            ));
        };
        if d > today_utc {
            return Err(FieldError::new(
                Self::FIELD,
                format!(
                    "The agreement acceptance date can't be after today. Today is {today_utc} (year-month-day) in UTC, which Partner Center goes by."
                ),
            ));
        }
        if d < earliest() {
            return Err(FieldError::new(
                Self::FIELD,
                format!("{d} is before the Microsoft Customer Agreement existed; check the year."),
            ));
        }
        Ok(AcceptanceDate(d))
    }

    pub fn date(self) -> NaiveDate {
        self.0
    }

    /// As Partner Center wants it: `YYYY-MM-DDT00:00:00Z`.
    pub fn wire(self) -> String {
        format!("{}T00:00:00Z", self.0.format("%Y-%m-%d"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
    }

    #[test]
    fn today_in_utc_is_accepted_and_tomorrow_refused() {
        assert_eq!(AcceptanceDate::parse("2026-11-29", today()).unwrap().wire(), "2026-11-29T00:00:00Z");
        let e = AcceptanceDate::parse("2026-11-30", today()).unwrap_err();
        assert_eq!(e.field, "date_agreed");
        assert!(e.message.contains("Today is 2026-11-29 (year-month-day) in UTC"), "{}", e.message);
        assert!(AcceptanceDate::parse("2026-02-30", today()).unwrap_err().message.contains("not a calendar date"));
        assert!(AcceptanceDate::parse("", today()).unwrap_err().message.contains("Enter"));
        assert!(AcceptanceDate::parse("0226-01-01", today()).unwrap_err().message.contains("check the year"));
    }

    #[test]
    fn every_wrong_field_is_reported() {
        let errors = Contact::parse("", "Carr", "nope", "abc").unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.clone()).collect();
        assert_eq!(fields, ["first_name", "email", "phone"]);
    }

    #[test]
    fn a_repeated_contact_is_recognised() {
        let c = Contact::parse("Tania", "Carr", "tania@example.com", "").unwrap();
        let a = Attestation {
            first_name: "Tania".into(),
            last_name: "Carr".into(),
            email: "tania@example.com".into(),
            phone: None,
            date_agreed: today(),
            user_id: None,
            template_id: None,
        };
        assert!(c.repeats(&a));
        let other_case = Contact::parse("Tania", "Carr", "Tania@Example.com", "").unwrap();
        assert!(
            !other_case.repeats(&a),
            "compared exactly as typed: Partner Center's documentation names no case rule"
        );
        assert!(c.same_person_as(&Contact::parse(" Tania", "Carr ", "tania@example.com", " ").unwrap()));
        let with_phone = Contact::parse("Tania", "Carr", "tania@example.com", "123").unwrap();
        assert!(!with_phone.repeats(&a), "a different phone makes it a new attestation");
    }

    proptest! {
        #[test]
        fn dates_after_today_are_always_refused(days in 1i64..40_000) {
            let d = today() + chrono::Duration::days(days);
            prop_assert!(AcceptanceDate::parse(&d.to_string(), today()).is_err());
        }

        #[test]
        fn dates_up_to_today_since_2000_are_always_accepted(days in 0i64..9_000) {
            let d = today() - chrono::Duration::days(days);
            let parsed = AcceptanceDate::parse(&d.to_string(), today()).unwrap();
            prop_assert_eq!(parsed.date(), d);
        }
    }
}
