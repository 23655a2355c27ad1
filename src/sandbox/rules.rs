//! What Partner Center refuses, as the sandbox reads Microsoft's public documentation
//! (each call is summarised, with its sources, in `docs/partner-center.md`).
//!
//! These lists and checks are the sandbox's own. The portal keeps lists of its own for
//! the same rules; the two are written apart on purpose, so that a slip in one of them
//! makes a test fail instead of passing unnoticed in both.

use super::seed::SeedContact;

/// Countries where a new customer needs an organization registration number, from
/// Microsoft's documentation: the first eleven for long, the others since 2023.
const REGISTRATION_NUMBER_COUNTRIES: [&str; 24] = [
    "AM", "AZ", "BY", "HU", "KZ", "KG", "MD", "RU", "TJ", "UZ", "UA", // the original list
    "BR", "IN", "ZA", "PL", "AE", "SA", "TR", "TH", "VN", "MM", "IQ", "SS", "VE", // since 2023
];

/// Countries where a new customer's address needs a phone number, else error 600051.
/// An assumption: no public Microsoft page lists these countries, so this list is the
/// project's guess and may be wrong in both directions.
const PHONE_COUNTRIES: [&str; 6] = ["BR", "IN", "JP", "CN", "KR", "TR"];

/// Whether a customer in `country` (two capital letters) needs a registration number.
pub(crate) fn registration_number_required(country: &str) -> bool {
    REGISTRATION_NUMBER_COUNTRIES.contains(&country)
}

/// Whether a customer in `country` (two capital letters) needs a phone number.
pub(crate) fn phone_required(country: &str) -> bool {
    PHONE_COUNTRIES.contains(&country)
}

/// The duplicate-contact rule (600061). Microsoft's page on confirming customer
/// acceptance (https://learn.microsoft.com/partner-center/developer/confirm-customer-consent-customer-agreement)
/// allows another agreement when the first name, last name, email address or phone
/// number changes. It says nothing about letter case, so the four values are compared
/// exactly as sent, only without surrounding spaces; a missing phone is an empty one.
pub(crate) fn same_contact(a: &SeedContact, b: &SeedContact) -> bool {
    let phone = |c: &SeedContact| c.phone.as_deref().unwrap_or("").trim().to_string();
    a.first_name.trim() == b.first_name.trim()
        && a.last_name.trim() == b.last_name.trim()
        && a.email.trim() == b.email.trim()
        && phone(a) == phone(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(first: &str, last: &str, email: &str, phone: Option<&str>) -> SeedContact {
        SeedContact {
            first_name: first.into(),
            last_name: last.into(),
            email: email.into(),
            phone: phone.map(String::from),
        }
    }

    #[test]
    fn a_contact_is_the_same_only_when_all_four_values_are() {
        let ann = contact("Ann", "Lee", "ann@lee.example", Some("+1 425 555 0100"));
        assert!(same_contact(&ann, &ann.clone()));
        assert!(same_contact(&ann, &contact(" Ann ", "Lee ", " ann@lee.example", Some("+1 425 555 0100 "))));
        assert!(!same_contact(&ann, &contact("Anne", "Lee", "ann@lee.example", Some("+1 425 555 0100"))));
        assert!(!same_contact(&ann, &contact("Ann", "Li", "ann@lee.example", Some("+1 425 555 0100"))));
        assert!(!same_contact(&ann, &contact("Ann", "Lee", "ann@li.example", Some("+1 425 555 0100"))));
        assert!(!same_contact(&ann, &contact("Ann", "Lee", "ann@lee.example", Some("+1 425 555 0101"))));
        assert!(!same_contact(&ann, &contact("Ann", "Lee", "ann@lee.example", None)));
    }

    #[test]
    fn letter_case_counts_and_a_missing_phone_is_an_empty_one() {
        let ann = contact("Ann", "Lee", "ann@lee.example", None);
        assert!(!same_contact(&ann, &contact("Ann", "Lee", "Ann@Lee.example", None)));
        assert!(!same_contact(&ann, &contact("ann", "Lee", "ann@lee.example", None)));
        assert!(same_contact(&ann, &contact("Ann", "Lee", "ann@lee.example", Some(""))));
        assert!(same_contact(&ann, &contact("Ann", "Lee", "ann@lee.example", Some("  "))));
    }

    #[test]
    fn country_lists() {
        assert_eq!(REGISTRATION_NUMBER_COUNTRIES.len(), 24);
        for c in ["AM", "UA", "BR", "VE", "SS"] {
            assert!(registration_number_required(c), "{c}");
        }
        assert!(!registration_number_required("US"));
        assert!(!registration_number_required("br"), "codes are two capital letters");
        assert!(phone_required("JP") && phone_required("TR"));
        assert!(!phone_required("DE"));
    }
}
