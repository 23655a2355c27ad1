//! The person who accepted the MCA, and the acceptance date, parsed from what an agent
//! typed (DESIGN.md, "The rules the portal enforces"). Past the parsers nothing is a
//! bare string: a `Contact` is valid by construction.

use chrono::NaiveDate;

use super::Attestation;

/// Why a field was refused, in words for the agent, next to the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        FieldError { field, message: message.into() }
    }
}

/// A first or last name: 1–50 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(field: &'static str, label: &str, text: &str) -> Result<Self, FieldError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(FieldError::new(field, format!("Enter the {label}.")));
        }
        if t.chars().count() > 50 {
            return Err(FieldError::new(
                field,
                format!("The {label} can be at most 50 characters; this one has {}.", t.chars().count()),
            ));
        }
        if t.chars().any(char::is_control) {
            return Err(FieldError::new(
                field,
                format!("The {label} has an invisible control character; type it again."),
            ));
        }
        Ok(PersonName(t.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address: one `@`, a local part of at most 64 characters, a domain with a dot
/// and no spaces; at most 254 characters in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &'static str, text: &str) -> Result<Self, FieldError> {
        let t = text.trim();
        let bad = |m: &str| Err(FieldError::new(field, m.to_string()));
        if t.is_empty() {
            return bad("Enter the email address, like name@example.com.");
        }
        if t.len() > 254 {
            return bad("The email address can be at most 254 characters.");
        }
        if t.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad("The email address can't contain spaces.");
        }
        let Some((local, domain)) = t.rsplit_once('@') else {
            return bad("The email address needs an @, like name@example.com.");
        };
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return bad("The part before the @ is missing or too long; enter an address like name@example.com.");
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels.iter().any(|l| l.is_empty() || l.len() > 63 || l.starts_with('-') || l.ends_with('-'))
            || !domain.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '.')
        {
            return bad("The part after the @ is not a domain; enter an address like name@example.com.");
        }
        Ok(Email(t.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An optional phone number: digits, spaces and `+ - ( ) .`, at most 30 characters,
/// with at least one digit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse_optional(field: &'static str, text: &str) -> Result<Option<Self>, FieldError> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(None);
        }
        if t.chars().count() > 30 {
            return Err(FieldError::new(field, "The phone number can be at most 30 characters."));
        }
        if !t.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c)) {
            return Err(FieldError::new(field, "The phone number can contain only digits, spaces and + - ( ) ."));
        }
        if !t.chars().any(|c| c.is_ascii_digit()) {
            return Err(FieldError::new(field, "The phone number needs digits."));
        }
        Ok(Some(Phone(t.to_string())))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The person who accepted the Microsoft Customer Agreement for the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
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

    /// Partner Center refuses (600061) a second attestation whose first name, last name,
    /// email and phone are all the same as an existing one's. Names and phone compare
    /// as typed (trimmed); email without regard to case.
    pub fn repeats(&self, a: &Attestation) -> bool {
        self.first_name.as_str() == a.first_name.trim()
            && self.last_name.as_str() == a.last_name.trim()
            && self.email.as_str().eq_ignore_ascii_case(a.email.trim())
            && self.phone.as_ref().map(Phone::as_str).unwrap_or("") == a.phone.as_deref().unwrap_or("").trim()
    }
}

/// The sentence that explains the 600061 rule to the agent.
pub const DUPLICATE_CONTACT_MESSAGE: &str = "Partner Center already has an attestation with exactly this first name, last name, email address and phone number, and keeps only one per person. To record a new attestation, at least one of the four must differ: enter the person who accepted this time, with their current email address and phone number.";

/// The day the customer accepted: a calendar date, never after today in UTC (Partner
/// Center compares with UTC, so an agent east of UTC would otherwise be refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AcceptanceDate(NaiveDate);

impl AcceptanceDate {
    pub const FIELD: &'static str = "date_agreed";

    pub fn parse(text: &str, today_utc: NaiveDate) -> Result<Self, FieldError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(FieldError::new(
                Self::FIELD,
                format!("Enter the agreement acceptance date, like {today_utc}."),
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
                    "The agreement acceptance date can't be after today. Today is {today_utc} in UTC, which Partner Center goes by."
                ),
            ));
        }
        if d < NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid") {
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
        assert!(e.message.contains("Today is 2026-11-29 in UTC"), "{}", e.message);
        assert!(AcceptanceDate::parse("2026-02-30", today()).unwrap_err().message.contains("not a calendar date"));
        assert!(AcceptanceDate::parse("", today()).unwrap_err().message.contains("Enter"));
        assert!(AcceptanceDate::parse("0226-01-01", today()).unwrap_err().message.contains("check the year"));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(PersonName::parse("first_name", "first name", "  Tania ").unwrap().as_str(), "Tania");
        assert!(PersonName::parse("first_name", "first name", "   ").is_err());
        assert!(PersonName::parse("first_name", "first name", &"x".repeat(50)).is_ok());
        assert!(PersonName::parse("first_name", "first name", &"x".repeat(51)).unwrap_err().message.contains("51"));
        assert!(PersonName::parse("last_name", "last name", "Zoë Ångström-Ñúñez").is_ok(), "letters of every language");
    }

    #[test]
    fn emails() {
        for ok in ["tania@example.com", "a.b+c@sub.example.co.uk", "x@xn--bcher-kva.example"] {
            assert!(Email::parse("email", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "tania",
            "tania@",
            "@example.com",
            "tania@example",
            "ta nia@example.com",
            "tania@exa_mple.com",
            "tania@.example.com",
            "a@b@example.com",
        ] {
            assert!(Email::parse("email", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones() {
        assert_eq!(Phone::parse_optional("phone", "").unwrap(), None);
        assert!(Phone::parse_optional("phone", "+1 (425) 555-0100").unwrap().is_some());
        assert!(Phone::parse_optional("phone", "425.555.0100").unwrap().is_some());
        assert!(Phone::parse_optional("phone", "call me").is_err());
        assert!(Phone::parse_optional("phone", "+-()").is_err());
        assert!(Phone::parse_optional("phone", &"1".repeat(31)).is_err());
    }

    #[test]
    fn every_wrong_field_is_reported() {
        let errors = Contact::parse("", "Carr", "nope", "abc").unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["first_name", "email", "phone"]);
    }

    #[test]
    fn a_repeated_contact_is_recognised() {
        let c = Contact::parse("Tania", "Carr", "Tania@Example.com", "").unwrap();
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

        #[test]
        fn names_never_panic_and_keep_their_trimmed_text(s in "\\PC{0,80}") {
            if let Ok(n) = PersonName::parse("first_name", "first name", &s) {
                prop_assert_eq!(n.as_str(), s.trim());
                prop_assert!(n.as_str().chars().count() <= 50);
            }
        }

        #[test]
        fn valid_phones_contain_only_allowed_characters(s in "[0-9 +().-]{0,40}") {
            if let Ok(Some(p)) = Phone::parse_optional("phone", &s) {
                prop_assert!(p.as_str().len() <= 30);
                prop_assert!(p.as_str().chars().any(|c| c.is_ascii_digit()));
            }
        }
    }
}
