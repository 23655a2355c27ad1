//! The customer list as CSV (Admin agents), with the list's search and status filter,
//! streamed from the database (docs/audit-and-export.md).

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;

use super::AppState;
use super::csv::{Columns, download};
use super::errors::AppError;
use super::extractors::Admin;
use crate::domain::EffectiveStatus;
use crate::store::{CustomerExportRow, CustomerFilter};

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

/// The columns of the customers CSV, in order: the one place a column is added.
pub const CUSTOMER_COLUMNS: Columns<CustomerExportRow> = &[
    ("Customer ID", |r| r.id.clone()),
    ("Company name", |r| r.company_name.clone()),
    ("Domain", |r| r.domain.clone()),
    ("MCA status", |r| r.status.label().to_string()),
    ("Customer acceptance through Microsoft", |r| {
        match r.accepted_directly {
            Some(true) => "Provided",
            Some(false) => "Not provided",
            None => "Not read yet",
        }
        .to_string()
    }),
    ("Latest attestation date", |r| r.latest_attestation.map(|d| d.to_string()).unwrap_or_default()),
    ("Attested by", |r| r.attested_by.clone().unwrap_or_default()),
    ("Status reason", |r| r.status_reason.clone()),
];

#[get("/customers/export.csv")]
async fn export(
    state: web::Data<AppState>,
    Admin(signed): Admin,
    q: web::Query<ExportQuery>,
) -> Result<HttpResponse, AppError> {
    let chunks = state.workflows.export_customers(&signed.user, q.filter()?).await?;
    let chunks = chunks.map_err(|refused| AppError::Forbidden(refused.message().into()))?;
    Ok(download("customers", CUSTOMER_COLUMNS, chunks))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(export);
}
