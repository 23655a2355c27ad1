//! Creating a customer: domain availability, address validation and the create call.

use reqwest::Method;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::models::CustomerWire;
use super::{Answer, Call, PartnerCenter, PcError, enc};
use crate::domain::Customer;
use crate::domain::new_customer::{Address, NewCustomer};

/// An address Partner Center suggests, as it gives it: shown to the agent, who may take
/// it into the form (where it is checked like anything typed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuggestedAddress {
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub state: Option<String>,
    pub postal_code: String,
    pub country: String,
}

/// What address validation said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressCheck {
    /// VerifiedShippable, Verified, InteractionRequired, StreetPartial, PremisesPartial,
    /// Multiple, None, NotValidated (docs/partner-center.md, "Address validation": the
    /// spellings other than VerifiedShippable and StreetPartial are inferred).
    pub status: String,
    pub message: Option<String>,
    pub suggestions: Vec<SuggestedAddress>,
}

impl AddressCheck {
    pub fn verified(&self) -> bool {
        matches!(self.status.as_str(), "VerifiedShippable" | "Verified")
    }
}

/// A customer Partner Center has just created, with the admin's sign-in details. The
/// password is shown once and never stored; `Debug` does not show it.
pub struct CreatedCustomer {
    pub customer: Customer,
    pub user_name: String,
    pub password: SecretString,
}

impl std::fmt::Debug for CreatedCustomer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedCustomer")
            .field("customer", &self.customer.id)
            .field("user_name", &self.user_name)
            .field("password", &"[redacted]")
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddressWire {
    #[serde(default)]
    address_line1: Option<String>,
    #[serde(default)]
    address_line2: Option<String>,
    #[serde(default)]
    city: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    postal_code: Option<String>,
    #[serde(default)]
    country: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddressValidationWire {
    #[serde(default)]
    suggested_addresses: Vec<AddressWire>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    validation_message: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CredentialsWire {
    #[serde(default)]
    user_name: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreatedWire {
    #[serde(flatten)]
    customer: CustomerWire,
    #[serde(default)]
    user_credentials: Option<CredentialsWire>,
}

fn address_json(a: &Address) -> Value {
    let mut v = json!({
        "addressLine1": a.line1.as_str(),
        "city": a.city.as_str(),
        "postalCode": a.postal_code.as_str(),
        "country": a.country.as_str(),
    });
    if let Some(l2) = &a.line2 {
        v["addressLine2"] = json!(l2.as_str());
    }
    if let Some(s) = &a.state {
        v["state"] = json!(s.as_str());
    }
    v
}

fn suggestion_of(s: AddressWire, typed: &Address) -> Option<SuggestedAddress> {
    Some(SuggestedAddress {
        line1: s.address_line1?,
        line2: s.address_line2.filter(|l| !l.is_empty()),
        city: s.city?,
        state: s.state.filter(|l| !l.is_empty()),
        postal_code: s.postal_code.unwrap_or_default(),
        country: s.country.unwrap_or_else(|| typed.country.as_str().to_string()),
    })
}

/// The create-customer body (docs/partner-center.md, "Create customer").
fn create_body(c: &NewCustomer) -> Value {
    let mut address = address_json(&c.address);
    address["firstName"] = json!(c.contact.first_name.as_str());
    address["lastName"] = json!(c.contact.last_name.as_str());
    if let Some(p) = &c.contact.phone {
        address["phoneNumber"] = json!(p.as_str());
    }
    let mut company = json!({"domain": c.domain_prefix.domain()});
    if let Some(r) = &c.registration_number {
        // Where the number goes is UNCONFIRMED (docs/partner-center.md lists the rule only).
        company["organizationRegistrationNumber"] = json!(r.as_str());
    }
    let mut body = json!({
        "companyProfile": company,
        "billingProfile": {
            "email": c.contact.email.as_str(),
            "culture": c.culture.as_str(),
            "language": c.culture.language(),
            "companyName": c.company_name.as_str(),
            "defaultAddress": address,
        },
    });
    if let Some(p) = &c.associated_partner_id {
        body["associatedPartnerId"] = json!(p.as_str());
    }
    body
}

impl PartnerCenter {
    /// Whether `<prefix>.onmicrosoft.com` is free: `HEAD /v1/domains/{domain}` answers 200
    /// when it is taken and 404 when it is free.
    #[tracing::instrument(skip_all, fields(%domain, %correlation_id), err(level = "warn"))]
    pub async fn domain_available(&self, token: &str, domain: &str, correlation_id: Uuid) -> Result<bool, PcError> {
        let path = format!("/v1/domains/{}", enc(domain));
        let call = Call { method: Method::HEAD, no_body: true, ..Call::get(&path, "domain availability") };
        match self.call::<Value>(token, call, correlation_id).await {
            Ok(_) => Ok(false),
            Err(e) if e.is_not_found() => Ok(true),
            Err(e) => Err(e),
        }
    }

    #[tracing::instrument(skip_all, fields(%correlation_id), err(level = "warn"))]
    pub async fn validate_address(
        &self,
        token: &str,
        address: &Address,
        correlation_id: Uuid,
    ) -> Result<AddressCheck, PcError> {
        let body = address_json(address);
        let call = Call {
            method: Method::POST,
            body: Some(&body),
            ..Call::get("/v1/validations/address", "address validation")
        };
        let w: AddressValidationWire = self.call(token, call, correlation_id).await?.body;
        Ok(AddressCheck {
            status: w.status.unwrap_or_else(|| "NotValidated".into()),
            message: w.validation_message.filter(|m| !m.trim().is_empty()),
            suggestions: w.suggested_addresses.into_iter().filter_map(|s| suggestion_of(s, address)).collect(),
        })
    }

    /// Creates the customer's tenant. One `MS-RequestId` for every retry, so that a
    /// timeout never creates two tenants.
    #[tracing::instrument(skip_all, fields(%request_id, %correlation_id), err(level = "warn"))]
    pub async fn create_customer(
        &self,
        token: &str,
        c: &NewCustomer,
        request_id: Uuid,
        correlation_id: Uuid,
    ) -> Result<Answer<CreatedCustomer>, PcError> {
        let body = create_body(c);
        let call = Call {
            method: Method::POST,
            body: Some(&body),
            request_id: Some(request_id),
            keep_request_id: true,
            ..Call::get("/v1/customers", "create customer")
        };
        let a: Answer<CreatedWire> = self.call(token, call, correlation_id).await?;
        let creds = a.body.user_credentials.unwrap_or(CredentialsWire { user_name: None, password: None });
        let customer = a.body.customer.into_domain();
        // That the sign-in name is admin@{domain} is UNCONFIRMED: the answer gives "admin".
        let user_name = match creds.user_name {
            Some(u) if u.contains('@') => u,
            Some(u) => format!("{u}@{}", customer.domain),
            None => format!("admin@{}", customer.domain),
        };
        Ok(Answer {
            body: CreatedCustomer {
                customer,
                user_name,
                password: SecretString::from(creds.password.unwrap_or_default()),
            },
            request_id: a.request_id,
            correlation_id: a.correlation_id,
        })
    }
}
