//! The wire format of Partner Center, as docs/partner-center.md records it, and its
//! conversion to domain types. The sandbox has its own, separate, JSON writers so that a
//! mistake here cannot hide behind the same mistake there.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Deserialize;

use crate::domain::customer::BillingDetails;
use crate::domain::{Attestation, Customer};

pub const MCA_AGREEMENT_TYPE: &str = "MicrosoftCustomerAgreement";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Collection<T> {
    #[serde(default)]
    pub total_count: Option<i64>,
    #[serde(default = "Vec::new")]
    pub items: Vec<T>,
    #[serde(default)]
    pub continuation_token: Option<String>,
    #[serde(default)]
    pub links: Option<Links>,
}

#[derive(Debug, Deserialize)]
pub struct Links {
    #[serde(default)]
    pub next: Option<Link>,
}

#[derive(Debug, Deserialize)]
pub struct Link {
    pub uri: String,
    #[serde(default)]
    pub headers: Vec<KeyValue>,
}

#[derive(Debug, Deserialize)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerWire {
    pub id: String,
    #[serde(default)]
    pub commerce_id: Option<String>,
    #[serde(default)]
    pub company_profile: Option<CompanyProfileWire>,
    #[serde(default)]
    pub billing_profile: Option<BillingProfileWire>,
    #[serde(default)]
    pub relationship_to_partner: Option<String>,
    /// The indirect reseller of an indirect provider's customer.
    #[serde(default)]
    pub associated_partner_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompanyProfileWire {
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub company_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingProfileWire {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub culture: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub company_name: Option<String>,
    #[serde(default)]
    pub default_address: Option<AddressWire>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressWire {
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub address_line1: Option<String>,
    #[serde(default)]
    pub address_line2: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub phone_number: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactWire {
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone_number: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgreementWire {
    #[serde(default)]
    pub primary_contact: Option<ContactWire>,
    #[serde(default)]
    pub template_id: Option<String>,
    #[serde(default)]
    pub date_agreed: Option<String>,
    #[serde(rename = "type", default)]
    pub agreement_type: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectSignedWire {
    pub is_signed: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateWire {
    pub template_id: String,
    #[serde(default)]
    pub agreement_type: Option<String>,
    #[serde(default)]
    pub agreement_link: Option<String>,
    #[serde(default)]
    pub version_rank: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentWire {
    pub display_uri: String,
    #[serde(default)]
    pub download_uri: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
}

/// A `PartnerRelationship` (docs/partner-center.md, "Partner relationships and partner
/// type"): `id`, `name`, `relationshipType` and `mpnId`; the collection around it is
/// assumed to be `{totalCount, items}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelationshipWire {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub relationship_type: Option<String>,
    #[serde(default)]
    pub mpn_id: Option<String>,
}

/// `GET /v1/profiles/organization`; only the name is used.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationProfileWire {
    #[serde(default)]
    pub company_name: Option<String>,
}

/// Both error shapes of docs/partner-center.md. `code` arrives as a number or a string.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorWire {
    #[serde(default)]
    pub code: Option<serde_json::Value>,
    #[serde(default)]
    pub status_code: Option<serde_json::Value>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub error_name: Option<String>,
}

impl ErrorWire {
    pub fn code_text(&self) -> Option<String> {
        match self.code.as_ref()? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
    pub fn text(&self) -> String {
        self.description.clone().or_else(|| self.message.clone()).unwrap_or_default()
    }
}

/// `dateAgreed` arrives as `2026-11-20T00:00:00Z`; older records show other precisions.
pub fn parse_date_agreed(s: &str) -> Option<NaiveDate> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc).date_naive());
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(t.date());
    }
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

impl CustomerWire {
    pub fn into_domain(self) -> Customer {
        let company =
            self.company_profile.unwrap_or(CompanyProfileWire { tenant_id: None, domain: None, company_name: None });
        let billing_name = self.billing_profile.as_ref().and_then(|b| b.company_name.clone());
        let billing = self.billing_profile.map(|b| {
            let a = b.default_address;
            BillingDetails {
                email: b.email,
                language: b.language,
                culture: b.culture,
                first_name: a.as_ref().and_then(|a| a.first_name.clone()),
                last_name: a.as_ref().and_then(|a| a.last_name.clone()),
                phone: a.as_ref().and_then(|a| a.phone_number.clone()),
                address_line1: a.as_ref().and_then(|a| a.address_line1.clone()),
                address_line2: a.as_ref().and_then(|a| a.address_line2.clone()),
                city: a.as_ref().and_then(|a| a.city.clone()),
                state: a.as_ref().and_then(|a| a.state.clone()),
                postal_code: a.as_ref().and_then(|a| a.postal_code.clone()),
                country: a.as_ref().and_then(|a| a.country.clone()),
            }
        });
        Customer {
            company_name: company.company_name.or(billing_name).unwrap_or_else(|| "(no company name)".to_string()),
            domain: company.domain.unwrap_or_default(),
            id: self.id,
            relationship: self.relationship_to_partner,
            commerce_id: self.commerce_id,
            billing,
            associated_partner_id: self.associated_partner_id.filter(|p| !p.trim().is_empty()),
        }
    }
}

impl AgreementWire {
    /// Only MCA records with a readable date become attestations.
    pub fn into_domain(self) -> Option<Attestation> {
        if self.agreement_type.as_deref().is_some_and(|t| t != MCA_AGREEMENT_TYPE) {
            return None;
        }
        let date_agreed = parse_date_agreed(self.date_agreed.as_deref()?)?;
        let c = self.primary_contact.unwrap_or(ContactWire {
            first_name: None,
            last_name: None,
            email: None,
            phone_number: None,
        });
        Some(Attestation {
            first_name: c.first_name.unwrap_or_default(),
            last_name: c.last_name.unwrap_or_default(),
            email: c.email.unwrap_or_default(),
            phone: c.phone_number.filter(|p| !p.trim().is_empty()),
            date_agreed,
            user_id: self.user_id.filter(|u| !u.is_empty()),
            template_id: self.template_id,
        })
    }
}

#[cfg(test)]
mod tests {
    //! The literal JSON examples of docs/partner-center.md, parsed by the client's models.
    use super::*;

    #[test]
    fn template_metadata_example() {
        let text = r#"{"totalCount": 1, "items": [{"templateId": "117a77b0-9360-443b-8795-c6dedc750cf9",
  "agreementType": "MicrosoftCustomerAgreement", "agreementLink": "https://aka.ms/customeragreement",
  "versionRank": 0}], "attributes": {"objectType": "Collection"}}"#;
        let c: Collection<TemplateWire> = serde_json::from_str(text).unwrap();
        assert_eq!(c.total_count, Some(1));
        assert_eq!(c.items[0].template_id, "117a77b0-9360-443b-8795-c6dedc750cf9");
        assert_eq!(c.items[0].agreement_type.as_deref(), Some(MCA_AGREEMENT_TYPE));
        assert_eq!(c.items[0].version_rank, Some(0));
    }

    #[test]
    fn attestation_example_with_user_id() {
        let text = r#"{"primaryContact": {"firstName": "Tania", "lastName": "Carr", "email": "tania@example.com", "phoneNumber": "1234567890"},
 "templateId": "117a77b0-9360-443b-8795-c6dedc750cf9", "dateAgreed": "2026-11-20T00:00:00Z",
 "type": "MicrosoftCustomerAgreement", "userId": "0b3c5d7e-0000-4000-8000-000000000000"}"#;
        let a = serde_json::from_str::<AgreementWire>(text).unwrap().into_domain().unwrap();
        assert_eq!(a.first_name, "Tania");
        assert_eq!(a.last_name, "Carr");
        assert_eq!(a.email, "tania@example.com");
        assert_eq!(a.phone.as_deref(), Some("1234567890"));
        assert_eq!(a.date_agreed, NaiveDate::from_ymd_opt(2026, 11, 20).unwrap());
        assert!(a.user_id.is_some());
    }

    #[test]
    fn attestation_list_with_null_user_id_and_no_phone() {
        let text = r#"{"totalCount": 2, "items": [
          {"primaryContact": {"firstName": "A", "lastName": "B", "email": "a@b.example"}, "templateId": "t", "dateAgreed": "2022-01-05T00:00:00", "type": "MicrosoftCustomerAgreement", "userId": null},
          {"primaryContact": {"firstName": "C", "lastName": "D", "email": "c@d.example"}, "templateId": "998b88de", "dateAgreed": "2019-01-05T00:00:00Z", "type": "MicrosoftCloudAgreement"}]}"#;
        let c: Collection<AgreementWire> = serde_json::from_str(text).unwrap();
        let list: Vec<Attestation> = c.items.into_iter().filter_map(AgreementWire::into_domain).collect();
        assert_eq!(list.len(), 1, "a Cloud Agreement record is not an MCA attestation");
        assert_eq!(list[0].user_id, None);
        assert_eq!(list[0].phone, None);
        assert_eq!(list[0].date_agreed, NaiveDate::from_ymd_opt(2022, 1, 5).unwrap());
    }

    #[test]
    fn direct_acceptance_example() {
        let d: DirectSignedWire = serde_json::from_str(r#"{"isSigned": true}"#).unwrap();
        assert!(d.is_signed);
    }

    #[test]
    fn document_example() {
        let d: DocumentWire = serde_json::from_str(
            r#"{"displayUri": "https://docs.example/mca.pdf", "downloadUri": "https://docs.example/mca.pdf?dl=1", "language": "en-US", "country": "US"}"#,
        )
        .unwrap();
        assert_eq!(d.display_uri, "https://docs.example/mca.pdf");
        assert_eq!(d.country.as_deref(), Some("US"));
    }

    #[test]
    fn create_customer_answer_profiles() {
        let text = r#"{"id": "c1", "commerceId": "x", "companyProfile": {"tenantId": "c1", "domain": "contoso-demo.onmicrosoft.com", "companyName": "Contoso Ltd"},
          "billingProfile": {"email": "ap@contoso.example", "culture": "en-US", "language": "en", "companyName": "Contoso Ltd",
          "defaultAddress": {"firstName": "Tania", "lastName": "Carr", "addressLine1": "1 Main St", "city": "Redmond", "state": "WA", "postalCode": "98052", "country": "US", "phoneNumber": "4255550100"}},
          "relationshipToPartner": "reseller", "userCredentials": {"userName": "admin", "password": "never-kept"}}"#;
        let c = serde_json::from_str::<CustomerWire>(text).unwrap().into_domain();
        assert_eq!(c.company_name, "Contoso Ltd");
        assert_eq!(c.domain, "contoso-demo.onmicrosoft.com");
        let b = c.billing.unwrap();
        assert_eq!(b.city.as_deref(), Some("Redmond"));
        assert_eq!(b.phone.as_deref(), Some("4255550100"));
        assert!(!format!("{b:?}").contains("never-kept"));
    }

    #[test]
    fn the_indirect_reseller_of_a_customer() {
        let with = r#"{"id": "c1", "companyProfile": {"companyName": "Contoso Ltd"}, "associatedPartnerId": "fab01ca7-0000-4000-8000-000000000002"}"#;
        let c = serde_json::from_str::<CustomerWire>(with).unwrap().into_domain();
        assert_eq!(c.associated_partner_id.as_deref(), Some("fab01ca7-0000-4000-8000-000000000002"));
        for without in [r#"{"id": "c1"}"#, r#"{"id": "c1", "associatedPartnerId": " "}"#] {
            let c = serde_json::from_str::<CustomerWire>(without).unwrap().into_domain();
            assert_eq!(c.associated_partner_id, None, "{without}");
        }
    }

    #[test]
    fn both_error_shapes() {
        let newer: ErrorWire = serde_json::from_str(r#"{"code": 600061, "message": "m", "description": "d", "errorName": "PartnerConfirmedAgreementAlreadyExists", "isRetryable": false, "parameters": {}, "errorMessageExtended": "InternalErrorCode=600061"}"#).unwrap();
        assert_eq!(newer.code_text().as_deref(), Some("600061"));
        assert_eq!(newer.error_name.as_deref(), Some("PartnerConfirmedAgreementAlreadyExists"));
        assert_eq!(newer.text(), "d");
        let older: ErrorWire = serde_json::from_str(r#"{"code": "600002", "description": "Date of agreement cannot be greater than the current date", "data": [], "source": "PartnerFD"}"#).unwrap();
        assert_eq!(older.code_text().as_deref(), Some("600002"));
        let throttled: ErrorWire = serde_json::from_str(
            r#"{"statusCode": 429, "message": "Rate limit is exceeded. Try again in 57 seconds."}"#,
        )
        .unwrap();
        assert_eq!(throttled.code_text(), None);
        assert!(throttled.text().contains("57 seconds"));
    }

    #[test]
    fn date_agreed_precisions() {
        let d = NaiveDate::from_ymd_opt(2023, 4, 1).unwrap();
        for s in ["2023-04-01T00:00:00Z", "2023-04-01T00:00:00.000Z", "2023-04-01T00:00:00", "2023-04-01"] {
            assert_eq!(parse_date_agreed(s), Some(d), "{s}");
        }
        assert_eq!(parse_date_agreed("soon"), None);
    }
}
