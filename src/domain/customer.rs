//! A customer of the partner and the MCA facts Partner Center holds about it.

use chrono::NaiveDate;

pub use super::status::StatusInputs;

/// A customer as Partner Center describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub id: String,
    pub company_name: String,
    pub domain: String,
    pub relationship: Option<String>,
    pub commerce_id: Option<String>,
    pub billing: Option<BillingDetails>,
    /// The indirect reseller the customer is associated with (`associatedPartnerId`), for
    /// an indirect provider's customer, when Partner Center names it.
    pub associated_partner_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BillingDetails {
    pub email: Option<String>,
    pub language: Option<String>,
    pub culture: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

/// One partner attestation of the MCA, as Partner Center lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attestation {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub date_agreed: NaiveDate,
    /// The partner user who attested; Partner Center may leave it out on reads.
    pub user_id: Option<String>,
    pub template_id: Option<String>,
}

/// A customer row of the list screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerSummary {
    pub id: String,
    pub company_name: String,
    pub domain: String,
    pub status: super::EffectiveStatus,
    /// Why the customer has that status, in the portal's words (the export's column).
    pub status_reason: String,
    /// Partner Center's "Customer acceptance through Microsoft": `None` when not read.
    pub accepted_directly: Option<bool>,
    /// When the customer was created with the portal's Add customer.
    pub added_here_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The latest partner attestation: its date and the partner user who made it.
    pub latest_attestation: Option<LatestAttestation>,
    /// The indirect reseller the customer is associated with, when known.
    pub associated_partner_id: Option<String>,
}

/// A customer's latest partner attestation, as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestAttestation {
    pub date_agreed: NaiveDate,
    /// The partner user's object id; Partner Center may leave it out.
    pub user_id: Option<String>,
    /// The partner user's name, where that user has signed in here.
    pub user_name: Option<String>,
}

impl Attestation {
    /// The latest of a customer's attestations as the account page orders them: the
    /// newest date, and of several on that date the first in the list.
    pub fn latest(attestations: &[Attestation]) -> Option<&Attestation> {
        attestations.iter().rev().max_by_key(|a| a.date_agreed)
    }
}

/// Customer ids are GUIDs: anything else cannot be a customer of this portal (and is
/// refused before it reaches a query or an upstream path).
pub fn is_customer_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

impl Customer {
    /// Language and country for the agreement document link, with Partner Center's
    /// defaults (`en-US`, `US`).
    pub fn document_locale(&self) -> (String, String) {
        let billing = self.billing.as_ref();
        let language = billing
            .and_then(|b| b.culture.clone())
            .filter(|c| c.len() == 5 && c.as_bytes()[2] == b'-')
            .unwrap_or_else(|| "en-US".to_string());
        let country = billing
            .and_then(|b| b.country.clone())
            .filter(|c| c.len() == 2)
            .map(|c| c.to_ascii_uppercase())
            .unwrap_or_else(|| "US".to_string());
        (language, country)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_attestation_is_the_newest_and_of_one_day_the_first_listed() {
        let at = |first: &str, day: u32| Attestation {
            first_name: first.into(),
            last_name: "Carr".into(),
            email: "x@example.com".into(),
            phone: None,
            date_agreed: NaiveDate::from_ymd_opt(2024, 5, day).unwrap(),
            user_id: None,
            template_id: None,
        };
        assert_eq!(Attestation::latest(&[]), None);
        let list = [at("Ann", 1), at("Bob", 6), at("Cy", 6), at("Di", 2)];
        assert_eq!(Attestation::latest(&list).map(|a| a.first_name.as_str()), Some("Bob"));
    }

    #[test]
    fn customer_ids_are_guid_like() {
        assert!(is_customer_id("c0570000-5eed-4000-8000-000000000001"));
        assert!(!is_customer_id("../etc"));
        assert!(!is_customer_id(""));
    }

    #[test]
    fn document_locale_defaults_and_uses_billing_profile() {
        let mut c = Customer {
            id: "1".into(),
            company_name: "A".into(),
            domain: "a.onmicrosoft.com".into(),
            relationship: None,
            commerce_id: None,
            billing: None,
            associated_partner_id: None,
        };
        assert_eq!(c.document_locale(), ("en-US".into(), "US".into()));
        c.billing =
            Some(BillingDetails { culture: Some("de-DE".into()), country: Some("de".into()), ..Default::default() });
        assert_eq!(c.document_locale(), ("de-DE".into(), "DE".into()));
    }
}
