//! The enhanced attestation (API-only since January 5, 2026): create an attestation with
//! an App-only token, the customer accepts at a link, then the agreement is created with
//! the attestation id. Every wire detail marked UNCONFIRMED in docs/partner-center.md is
//! here and only here, so that correcting one is one edit.

use chrono::{DateTime, NaiveDate, Utc};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::models::parse_date_agreed;
use super::{Answer, Call, PartnerCenter, PcError, agreement_body, enc};
use crate::domain::{Attestation, Contact};

/// UNCONFIRMED: the link expiry; a third-party broker exposes 5 to 10080 minutes.
const LINK_EXPIRY_MINUTES: u32 = 10080;

/// What the customer's signatory and company are, for step 1.
pub struct EnhancedRequest<'a> {
    /// ISO 3166-1 alpha-2.
    pub country: &'a str,
    pub language: &'a str,
    pub company_name: &'a str,
    pub signatory: &'a Contact,
    /// The customer the attestation is for (UNCONFIRMED whether it is sent).
    pub customer_id: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnhancedAttestation {
    pub id: String,
    pub link: String,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnhancedStatus {
    Pending,
    Accepted { date: NaiveDate },
    Expired,
}

/// UNCONFIRMED response shape of step 1.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreatedWire {
    #[serde(alias = "attestationId")]
    id: String,
    #[serde(alias = "acceptanceLink", alias = "link", alias = "url")]
    acceptance_url: String,
    #[serde(default)]
    expires_at: Option<String>,
}

/// UNCONFIRMED: that a status call exists, and its shape.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusWire {
    status: String,
    #[serde(default)]
    accepted_at: Option<String>,
}

impl PartnerCenter {
    /// Step 1, with the application's own (App-only) token.
    #[tracing::instrument(skip_all, fields(%request_id, %correlation_id), err(level = "warn"))]
    pub async fn create_enhanced_attestation(
        &self,
        app_token: &str,
        r: &EnhancedRequest<'_>,
        request_id: Uuid,
        correlation_id: Uuid,
    ) -> Result<EnhancedAttestation, PcError> {
        let mut body = json!({
            "country": r.country,
            "language": r.language,
            "companyName": r.company_name,
            "signatoryFirstName": r.signatory.first_name.as_str(),
            "signatoryLastName": r.signatory.last_name.as_str(),
            "signatoryEmail": r.signatory.email.as_str(),
            "customerId": r.customer_id,
            "linkExpiryInMinutes": LINK_EXPIRY_MINUTES,
        });
        if let Some(p) = &r.signatory.phone {
            body["signatoryPhoneNumber"] = json!(p.as_str());
        }
        let call = Call {
            method: Method::POST,
            body: Some(&body),
            request_id: Some(request_id),
            keep_request_id: true,
            ..Call::get("/v1/attestations/enhanced", "enhanced attestation")
        };
        let w: CreatedWire = self.call(app_token, call, correlation_id).await?.body;
        Ok(EnhancedAttestation {
            id: w.id,
            link: self.upstream_link("enhanced attestation", &w.acceptance_url)?,
            expires_at: w
                .expires_at
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc)),
        })
    }

    /// Whether the customer has accepted at the link.
    #[tracing::instrument(skip_all, fields(%attestation_id, %correlation_id), err(level = "warn"))]
    pub async fn enhanced_attestation_status(
        &self,
        app_token: &str,
        attestation_id: &str,
        correlation_id: Uuid,
    ) -> Result<EnhancedStatus, PcError> {
        let path = format!("/v1/attestations/enhanced/{}", enc(attestation_id));
        let w: StatusWire =
            self.call(app_token, Call::get(&path, "enhanced attestation status"), correlation_id).await?.body;
        Ok(match w.status.to_ascii_lowercase().as_str() {
            "accepted" | "completed" => EnhancedStatus::Accepted {
                date: w.accepted_at.as_deref().and_then(parse_date_agreed).unwrap_or_else(|| Utc::now().date_naive()),
            },
            "expired" => EnhancedStatus::Expired,
            _ => EnhancedStatus::Pending,
        })
    }

    /// Step 3: the agreement from the accepted attestation, with the user's token.
    /// UNCONFIRMED: that the id goes in the body as `attestationId`.
    #[tracing::instrument(skip_all, fields(%customer_id, %attestation_id, %request_id, %correlation_id), err(level = "warn"))]
    #[allow(clippy::too_many_arguments)]
    pub async fn agreement_from_attestation(
        &self,
        token: &str,
        customer_id: &str,
        attestation_id: &str,
        contact: &Contact,
        accepted: NaiveDate,
        template_id: &str,
        request_id: Uuid,
        correlation_id: Uuid,
    ) -> Result<Answer<Attestation>, PcError> {
        let mut body = agreement_body(contact, template_id, &format!("{accepted}T00:00:00Z"));
        body["attestationId"] = json!(attestation_id);
        self.post_agreement(token, customer_id, &body, "agreement from attestation", request_id, correlation_id).await
    }
}
