//! What an agent asks the portal to send to Partner Center. A submission stores this value
//! whole (serialised), so that the worker sends exactly what the form was parsed into,
//! and the idempotency key that makes a double click one submission.

use serde::{Deserialize, Serialize};

use super::contact::{AcceptanceDate, Contact};
use super::new_customer::NewCustomer;

/// An attestation for an existing customer (Edit agreement).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationRequest {
    pub contact: Contact,
    pub date: AcceptanceDate,
}

/// One of the things the portal sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Request {
    Attest(AttestationRequest),
    /// A new customer, then (when the agent attested) its attestation.
    CreateCustomer(Box<NewCustomer>),
}

impl Request {
    /// The person who accepted (or, for the admin-center choice, the primary contact).
    pub fn contact(&self) -> &Contact {
        match self {
            Request::Attest(a) => &a.contact,
            Request::CreateCustomer(c) => &c.contact,
        }
    }

    /// The acceptance date, when there is an attestation to send.
    pub fn date(&self) -> Option<AcceptanceDate> {
        match self {
            Request::Attest(a) => Some(a.date),
            Request::CreateCustomer(c) => c.agreement.date(),
        }
    }

    pub fn new_customer(&self) -> Option<&NewCustomer> {
        match self {
            Request::CreateCustomer(c) => Some(c),
            Request::Attest(_) => None,
        }
    }

    /// "attestation", or the new customer and how it accepts, for the audit log.
    pub fn describe(&self) -> String {
        match self {
            Request::Attest(_) => "attestation".into(),
            Request::CreateCustomer(c) if c.attests() => {
                format!("new customer {} ({}) with attestation", c.company_name.as_str(), c.domain_prefix.domain())
            }
            Request::CreateCustomer(c) => format!(
                "new customer {} ({}), to accept in the Microsoft 365 admin center",
                c.company_name.as_str(),
                c.domain_prefix.domain()
            ),
        }
    }
}

/// The key a form carries so that sending it twice makes one submission: the random
/// token the form was given, 1–100 printable characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        let ok = !t.is_empty() && t.len() <= 100 && t.chars().all(|c| c.is_ascii_graphic());
        ok.then(|| IdempotencyKey(t.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_round_trips_through_its_stored_form() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        let r = Request::Attest(AttestationRequest {
            contact: Contact::parse("Tania", "Carr", "tania@example.com", "+1 425").unwrap(),
            date: AcceptanceDate::parse("2026-11-01", today).unwrap(),
        });
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.contains("\"kind\":\"attest\""), "{text}");
        assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), r);
        assert_eq!(r.date().map(|d| d.date().to_string()).as_deref(), Some("2026-11-01"));
    }

    #[test]
    fn stored_values_are_read_through_their_rules() {
        let bad = r#"{"kind":"attest","contact":{"first_name":"","last_name":"C","email":"c@example.com","phone":null},"date":"2026-11-01"}"#;
        assert!(serde_json::from_str::<Request>(bad).is_err());
    }

    #[test]
    fn keys() {
        assert!(IdempotencyKey::parse("abc-123_X").is_some());
        assert!(IdempotencyKey::parse("").is_none());
        assert!(IdempotencyKey::parse(&"k".repeat(101)).is_none());
        assert!(IdempotencyKey::parse("a b").is_none());
    }
}
