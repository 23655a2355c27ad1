//! The rules of single fields, each written once. The forms run them through the
//! `validator` crate (`#[validate(custom(function = ...))]`, one function per field below)
//! and the domain constructors call the same functions, so a form and the value it becomes
//! can never disagree. Rules that need the clock or several fields (the acceptance date,
//! the countries that need a phone, the same contact twice) live with their types.

use std::borrow::Cow;

use validator::{ValidateEmail, ValidationError, ValidationErrors};

/// Why a field was refused, in words for the agent, next to the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: Cow<'static, str>,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        FieldError { field: Cow::Borrowed(field), message: message.into() }
    }

    /// One message per field that `validator` refused.
    pub fn from_validation(errors: &ValidationErrors) -> Vec<FieldError> {
        errors
            .field_errors()
            .into_iter()
            .filter_map(|(field, list)| {
                let message = list.first()?.message.as_deref()?.to_string();
                Some(FieldError { field, message })
            })
            .collect()
    }

    /// Sorts errors in the order the form shows its fields, so a summary reads top to
    /// bottom; fields the order does not name go last.
    pub fn sort_by_form(errors: &mut [FieldError], order: &[&str]) {
        errors.sort_by_key(|e| order.iter().position(|f| *f == e.field).unwrap_or(order.len()));
    }
}

/// The rule's refusal, with the sentence shown beside the field.
fn refused(code: &'static str, message: String) -> ValidationError {
    ValidationError::new(code).with_message(Cow::Owned(message))
}

/// The message of a refusal (every refusal made here has one).
pub fn message_of(e: &ValidationError) -> String {
    e.message.as_deref().unwrap_or("This value is not valid.").to_string()
}

/// Text of `min` to `max` characters after trimming, without control characters.
pub fn bounded<'a>(label: &str, text: &'a str, min: usize, max: usize) -> Result<&'a str, ValidationError> {
    let t = text.trim();
    let n = t.chars().count();
    if n < min {
        return Err(refused("required", format!("Enter the {label}.")));
    }
    if n > max {
        return Err(refused("length", format!("The {label} can be at most {max} characters; this one has {n}.")));
    }
    if t.chars().any(char::is_control) {
        return Err(refused("control", format!("The {label} has an invisible control character; type it again.")));
    }
    Ok(t)
}

/// A first or last name: 1–50 characters after trimming.
pub fn person_name<'a>(label: &str, text: &'a str) -> Result<&'a str, ValidationError> {
    bounded(label, text, 1, 50)
}

/// An email address as `validator` checks it (the HTML form rule), at most 254
/// characters, with a dot in its domain; each failure says what to type instead.
pub fn email_address(text: &str) -> Result<&str, ValidationError> {
    let t = text.trim();
    let bad = |m: &str| Err(refused("email", m.to_string()));
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
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) || !t.validate_email() {
        return bad("The part after the @ is not a domain; enter an address like name@example.com.");
    }
    Ok(t)
}

/// An optional phone number: digits, spaces and `+ - ( ) .`, at most 30 characters, with
/// at least one digit. Empty is no phone.
pub fn phone_number(text: &str) -> Result<Option<&str>, ValidationError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if t.chars().count() > 30 {
        return Err(refused("length", "The phone number can be at most 30 characters.".into()));
    }
    if !t.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c)) {
        return Err(refused("pattern", "The phone number can contain only digits, spaces and + - ( ) .".into()));
    }
    if !t.chars().any(|c| c.is_ascii_digit()) {
        return Err(refused("pattern", "The phone number needs digits.".into()));
    }
    Ok(Some(t))
}

/// The part before `.onmicrosoft.com`: letters a–z and digits, 1–27 of them (typed in
/// any case, with or without the suffix).
pub fn domain_prefix(text: &str) -> Result<String, ValidationError> {
    let t = text.trim().trim_end_matches(".onmicrosoft.com").to_ascii_lowercase();
    if t.is_empty() {
        return Err(refused(
            "required",
            "Enter a domain prefix: the customer's name at .onmicrosoft.com, like contosoltd.".into(),
        ));
    }
    if !t.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        return Err(refused(
            "pattern",
            "The domain prefix can contain only letters a–z and digits, no spaces, dots or hyphens.".into(),
        ));
    }
    if t.len() > 27 {
        return Err(refused(
            "length",
            format!("The domain prefix can be at most 27 characters; this one has {}.", t.len()),
        ));
    }
    Ok(t)
}

/// A state or region code of at most two letters, or nothing; in capitals.
pub fn state_code(text: &str) -> Result<Option<String>, ValidationError> {
    let s = text.trim().to_ascii_uppercase();
    if s.chars().count() > 2 || !s.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(refused(
            "pattern",
            "Enter the state or region as its code of at most two letters, like WA, or leave it empty.".into(),
        ));
    }
    Ok(Some(s).filter(|s| !s.is_empty()))
}

/// An organization registration number: at most 50 characters, or nothing.
pub fn registration_number(text: &str) -> Result<Option<&str>, ValidationError> {
    let t = text.trim();
    if t.chars().count() > 50 {
        return Err(refused("length", "The organization registration number can be at most 50 characters.".into()));
    }
    if t.chars().any(char::is_control) {
        return Err(refused(
            "control",
            "The organization registration number has an invisible control character; type it again.".into(),
        ));
    }
    Ok(Some(t).filter(|t| !t.is_empty()))
}

/// One value of a fixed list (a country code, a culture), as the list spells it.
pub fn one_of<'l>(
    text: &str,
    list: impl IntoIterator<Item = &'l str>,
    message: &str,
) -> Result<&'l str, ValidationError> {
    let t = text.trim();
    list.into_iter().find(|v| v.eq_ignore_ascii_case(t)).ok_or_else(|| refused("choice", message.to_string()))
}

/// The rules of each form field, in the shape `validator` calls them.
pub mod field {
    use validator::ValidationError;

    use super::super::new_customer::{COUNTRIES, CULTURES};

    type Checked = Result<(), ValidationError>;

    pub fn first_name(t: &str) -> Checked {
        super::person_name("first name", t).map(drop)
    }
    pub fn last_name(t: &str) -> Checked {
        super::person_name("last name", t).map(drop)
    }
    pub fn email(t: &str) -> Checked {
        super::email_address(t).map(drop)
    }
    pub fn phone(t: &str) -> Checked {
        super::phone_number(t).map(drop)
    }
    pub fn company_name(t: &str) -> Checked {
        super::bounded("company name", t, 1, 255).map(drop)
    }
    pub fn domain_prefix(t: &str) -> Checked {
        super::domain_prefix(t).map(drop)
    }
    pub fn address_line1(t: &str) -> Checked {
        super::bounded("address line 1", t, 1, 200).map(drop)
    }
    pub fn address_line2(t: &str) -> Checked {
        super::bounded("address line 2", t, 0, 200).map(drop)
    }
    pub fn city(t: &str) -> Checked {
        super::bounded("city", t, 1, 100).map(drop)
    }
    pub fn postal_code(t: &str) -> Checked {
        super::bounded("postal code", t, 1, 20).map(drop)
    }
    pub fn state(t: &str) -> Checked {
        super::state_code(t).map(drop)
    }
    pub fn registration_number(t: &str) -> Checked {
        super::registration_number(t).map(drop)
    }
    pub fn country(t: &str) -> Checked {
        let codes = COUNTRIES.iter().map(|(c, _)| *c);
        super::one_of(t, codes, "Choose the country or region of the customer's address.").map(drop)
    }
    pub fn culture(t: &str) -> Checked {
        super::one_of(t, CULTURES.iter().map(|c| c.0), "Choose the customer's language.").map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(person_name("first name", "  Tania ").unwrap(), "Tania");
        assert_eq!(message_of(&person_name("first name", "   ").unwrap_err()), "Enter the first name.");
        assert!(person_name("first name", &"x".repeat(50)).is_ok());
        assert!(message_of(&person_name("first name", &"x".repeat(51)).unwrap_err()).contains("51"));
        assert!(person_name("last name", "Zoë Ångström-Ñúñez").is_ok(), "letters of every language");
    }

    #[test]
    fn emails() {
        for ok in ["tania@example.com", "a.b+c@sub.example.co.uk", "x@xn--bcher-kva.example"] {
            assert!(email_address(ok).is_ok(), "{ok}");
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
            "tania@example..com",
        ] {
            assert!(email_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones() {
        assert_eq!(phone_number("").unwrap(), None);
        assert!(phone_number("+1 (425) 555-0100").unwrap().is_some());
        assert!(phone_number("425.555.0100").unwrap().is_some());
        assert!(phone_number("call me").is_err());
        assert!(phone_number("+-()").is_err());
        assert!(phone_number(&"1".repeat(31)).is_err());
    }

    #[test]
    fn domain_prefixes() {
        assert_eq!(domain_prefix(" Fabrikam2 ").unwrap(), "fabrikam2");
        assert_eq!(domain_prefix("fabrikam.onmicrosoft.com").unwrap(), "fabrikam");
        assert!(domain_prefix("fab rikam").is_err());
        assert!(domain_prefix(&"a".repeat(28)).is_err());
    }

    #[test]
    fn form_field_rules_carry_the_same_messages() {
        let e = field::email("nope").unwrap_err();
        assert_eq!(message_of(&e), message_of(&email_address("nope").unwrap_err()));
        assert!(field::country("de").is_ok());
        assert!(field::country("XX").is_err());
        assert!(field::state("Washington").is_err());
        assert!(field::culture("en-US").is_ok());
    }

    proptest::proptest! {
        #[test]
        fn names_never_panic_and_keep_their_trimmed_text(s in "\\PC{0,80}") {
            if let Ok(n) = person_name("first name", &s) {
                proptest::prop_assert_eq!(n, s.trim());
                proptest::prop_assert!(n.chars().count() <= 50);
            }
        }

        #[test]
        fn valid_phones_contain_only_allowed_characters(s in "[0-9 +().-]{0,40}") {
            if let Ok(Some(p)) = phone_number(&s) {
                proptest::prop_assert!(p.len() <= 30);
                proptest::prop_assert!(p.chars().any(|c| c.is_ascii_digit()));
            }
        }
    }
}
