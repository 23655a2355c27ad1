//! The customer list as CSV (Admin agents), with the list's search and status filter,
//! streamed from the database (docs/audit-and-export.md).

use actix_web::{HttpResponse, get, web};
use chrono::Utc;
use futures_util::StreamExt;
use serde::Deserialize;

use super::AppState;
use super::csv::{Columns, download};
use super::errors::AppError;
use super::extractors::Admin;
use crate::domain::{EffectiveStatus, Readiness, ReadinessInputs, ReattestationPolicy};
use crate::store::{CustomerExportRow, CustomerFilter};
use crate::workflows::export::Chunks;

/// The list's filters as they are in its address.
#[derive(Deserialize, Default)]
struct ExportQuery {
    q: Option<String>,
    status: Option<String>,
}

impl ExportQuery {
    /// The list's filter: the search as the list reads it (no control characters, trimmed,
    /// at most 100 characters) and a status it knows; an unknown status is refused rather
    /// than exporting every customer.
    fn filter(&self) -> Result<CustomerFilter, AppError> {
        let printable: String = self.q.as_deref().unwrap_or("").chars().filter(|c| !c.is_control()).collect();
        let search = printable.trim().chars().take(100).collect();
        let status = match self.status.as_deref().map(|s| s.trim().to_ascii_lowercase()).filter(|s| !s.is_empty()) {
            None => None,
            Some(key) => Some(EffectiveStatus::parse(&key).ok_or_else(|| {
                AppError::BadRequest(
                    "The status in the address is not one the portal knows. Choose the status on the Customers page and export from there."
                        .into(),
                )
            })?),
        };
        Ok(CustomerFilter { search, status, acceptance: None })
    }
}

/// A row of the customers CSV: the customer as read, with its readiness judged by the
/// settings' re-attestation rule on the day of the export (which a column alone can't reach).
pub struct CustomerExportLine {
    pub row: CustomerExportRow,
    pub readiness: Readiness,
}

impl CustomerExportLine {
    fn of(row: CustomerExportRow, policy: &ReattestationPolicy, today: chrono::NaiveDate) -> Self {
        let inputs = ReadinessInputs {
            status: row.status,
            accepted_directly: row.accepted_directly,
            latest_attestation: row.latest_attestation,
        };
        let readiness = inputs.readiness(policy, today).readiness;
        CustomerExportLine { row, readiness }
    }
}

/// The columns of the customers CSV, in order: the one place a column is added.
pub const CUSTOMER_COLUMNS: Columns<CustomerExportLine> = &[
    ("Customer ID", |l| l.row.id.clone()),
    ("Company name", |l| l.row.company_name.clone()),
    ("Domain", |l| l.row.domain.clone()),
    ("MCA status", |l| l.row.status.label().to_string()),
    ("Customer acceptance through Microsoft", |l| {
        match l.row.accepted_directly {
            Some(true) => "Provided",
            Some(false) => "Not provided",
            None => "Not read yet",
        }
        .to_string()
    }),
    ("Latest attestation date", |l| l.row.latest_attestation.map(|d| d.to_string()).unwrap_or_default()),
    ("Attested by", |l| l.row.attested_by.clone().unwrap_or_default()),
    ("Readiness", |l| l.readiness.label().to_string()),
    ("Status reason", |l| l.row.status_reason.clone()),
];

/// The chunks read from the store, each row with its readiness today (UTC).
fn with_readiness(chunks: Chunks<CustomerExportRow>, policy: ReattestationPolicy) -> Chunks<CustomerExportLine> {
    let today = Utc::now().date_naive();
    Box::pin(chunks.map(move |chunk| {
        chunk.map(|rows| rows.into_iter().map(|r| CustomerExportLine::of(r, &policy, today)).collect())
    }))
}

#[get("/customers/export.csv")]
async fn export(
    state: web::Data<AppState>,
    Admin(signed): Admin,
    q: web::Query<ExportQuery>,
) -> Result<HttpResponse, AppError> {
    let chunks = state.workflows.export_customers(&signed.user, q.filter()?).await?;
    let chunks = chunks.map_err(|refused| AppError::Forbidden(refused.message().into()))?;
    Ok(download("customers", CUSTOMER_COLUMNS, with_readiness(chunks, state.settings.policy())))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(export);
}
