//! The agreement-records listing (`GET /v1/partners/customeragreementrecords`): every
//! customer's latest MCA attestation in pages, so that a refresh of the whole portfolio
//! needs a call per page instead of two per customer. docs/partner-center.md, "Agreement
//! records", says what is documented and what is assumed.

use chrono::{DateTime, NaiveDate};
use serde::{Deserialize, Deserializer};
use uuid::Uuid;

use super::{Call, PartnerCenter, PcError, enc};
use crate::domain::Attestation;

/// What the listing says of one customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementRecord {
    pub customer_id: String,
    /// The latest attestation (its contact and date), when the record carries both.
    pub latest: Option<Attestation>,
    /// `partnerAttestationCompleted`.
    pub attested: bool,
}

/// One page of the listing, and the token of the next one (None on the last page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementRecordsPage {
    pub records: Vec<AgreementRecord>,
    pub continuation_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageWire {
    #[serde(default)]
    customer_agreement_records: Vec<RecordWire>,
    #[serde(default)]
    continuation_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordWire {
    customer_tenant_id: String,
    #[serde(default)]
    last_agreement_primary_contact: Option<ContactWire>,
    #[serde(default, deserialize_with = "epoch")]
    last_agreement_date_epoch: Option<NaiveDate>,
    #[serde(default)]
    partner_attestation_completed: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContactWire {
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone_number: Option<String>,
}

/// Below this an epoch is in seconds, at or above it in milliseconds: 10^11 seconds is
/// the year 5138, 10^11 milliseconds March 1973. Microsoft's bulk tool takes both.
const MILLISECONDS_FROM: i64 = 100_000_000_000;

/// The UTC date of an epoch in seconds or in milliseconds.
pub fn date_of_epoch(epoch: i64) -> Option<NaiveDate> {
    let seconds = if epoch.abs() >= MILLISECONDS_FROM { epoch.div_euclid(1000) } else { epoch };
    DateTime::from_timestamp(seconds, 0).map(|t| t.date_naive())
}

/// `lastAgreementDateEpoch` as a number (whole or not) or as a numeric string; null or
/// anything unreadable as no date.
fn epoch<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    let n = match v {
        Some(serde_json::Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok().map(|f| f as i64),
        _ => None,
    };
    Ok(n.and_then(date_of_epoch))
}

impl RecordWire {
    fn into_domain(self) -> AgreementRecord {
        let text = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let latest = match (self.last_agreement_primary_contact, self.last_agreement_date_epoch) {
            (Some(c), Some(date)) => Some(Attestation {
                first_name: text(c.first_name).unwrap_or_default(),
                last_name: text(c.last_name).unwrap_or_default(),
                email: text(c.email).unwrap_or_default(),
                phone: text(c.phone_number),
                date_agreed: date,
                user_id: None,
                template_id: None,
            }),
            _ => None,
        };
        AgreementRecord { customer_id: self.customer_tenant_id, latest, attested: self.partner_attestation_completed }
    }
}

/// A page of the listing as the service sends it.
pub fn parse_page(bytes: &[u8]) -> Result<AgreementRecordsPage, PcError> {
    let w: PageWire = serde_json::from_slice(bytes)
        .map_err(|e| PcError::Decode { what: "agreement records", detail: e.to_string() })?;
    Ok(page_of(w))
}

fn page_of(w: PageWire) -> AgreementRecordsPage {
    AgreementRecordsPage {
        records: w.customer_agreement_records.into_iter().map(RecordWire::into_domain).collect(),
        continuation_token: w.continuation_token.filter(|t| !t.trim().is_empty()),
    }
}

impl PartnerCenter {
    /// One page of the agreement-records listing (the first when `continuation` is None).
    /// None when Partner Center does not offer the listing (404): read customer by
    /// customer instead.
    #[tracing::instrument(skip_all, fields(%correlation_id), err(level = "warn"))]
    pub async fn agreement_records_page(
        &self,
        token: &str,
        continuation: Option<&str>,
        correlation_id: Uuid,
    ) -> Result<Option<AgreementRecordsPage>, PcError> {
        let path = match continuation {
            Some(t) => format!("/v1/partners/customeragreementrecords?continuation_token={}", enc(t)),
            None => "/v1/partners/customeragreementrecords".to_string(),
        };
        match self.call::<PageWire>(token, Call::get(&path, "agreement records"), correlation_id).await {
            Ok(answer) => Ok(Some(page_of(answer.body))),
            Err(e) if e.is_not_found() && continuation.is_none() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn epochs_in_seconds_and_in_milliseconds_give_the_same_day() {
        assert_eq!(date_of_epoch(1_717_200_000), Some(day(2024, 6, 1)));
        assert_eq!(date_of_epoch(1_717_200_000_000), Some(day(2024, 6, 1)));
        assert_eq!(date_of_epoch(1_717_286_399_999), Some(day(2024, 6, 1)), "the last millisecond of the day");
        assert_eq!(date_of_epoch(0), Some(day(1970, 1, 1)));
    }

    #[test]
    fn a_page_as_the_bulk_tool_reads_it() {
        let body = br#"{
          "customerAgreementRecords": [
            {"customerTenantId": "c1", "lastAgreementPrimaryContact": {"firstName": "Tania", "lastName": "Carr",
              "email": "tania@contoso.example", "phoneNumber": ""}, "lastAgreementDateEpoch": 1680307200,
              "partnerAttestationCompleted": true},
            {"customerTenantId": "c2", "lastAgreementPrimaryContact": {"firstName": "Omar", "lastName": "Haddad",
              "email": "omar@fabrikam.example", "phoneNumber": "+1 425 555 0101"}, "lastAgreementDateEpoch": 1680307200000.0,
              "partnerAttestationCompleted": true, "somethingNew": 1},
            {"customerTenantId": "c3", "lastAgreementPrimaryContact": null, "lastAgreementDateEpoch": null,
              "partnerAttestationCompleted": false},
            {"customerTenantId": "c4", "lastAgreementDateEpoch": "1680307200"}
          ],
          "continuationToken": "next-one"
        }"#;
        let page = parse_page(body).unwrap();
        assert_eq!(page.continuation_token.as_deref(), Some("next-one"));
        let [a, b, c, d] = page.records.as_slice() else { panic!("four records") };
        let latest = a.latest.as_ref().unwrap();
        assert_eq!(
            (latest.first_name.as_str(), latest.date_agreed, latest.phone.as_deref()),
            ("Tania", day(2023, 4, 1), None)
        );
        assert!(a.attested);
        assert_eq!(b.latest.as_ref().unwrap().date_agreed, day(2023, 4, 1), "milliseconds, as a float");
        assert_eq!(b.latest.as_ref().unwrap().phone.as_deref(), Some("+1 425 555 0101"));
        assert_eq!((c.latest.is_none(), c.attested), (true, false));
        assert_eq!(
            (d.customer_id.as_str(), d.latest.is_none(), d.attested),
            ("c4", true, false),
            "no contact, no attestation"
        );
    }

    #[test]
    fn the_last_page_has_no_token_or_an_empty_one() {
        let page = parse_page(br#"{"customerAgreementRecords": [], "continuationToken": ""}"#).unwrap();
        assert_eq!(page.continuation_token, None);
        assert_eq!(parse_page(br#"{}"#).unwrap().records.len(), 0);
    }
}
