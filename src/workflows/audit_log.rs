//! The audit log page (Admin agents): the filters as typed turned into the store's, one
//! page of entries, and the people to filter by (docs/audit-and-export.md).

use chrono::NaiveDate;

use super::{WorkflowResult, Workflows};
use crate::domain::{PartnerUser, is_customer_id};
use crate::store::{AuditCursor, AuditFilter, AuditRecord};

/// The audit log's filters as the admin gave them; `None` is any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditSearch {
    /// The object id of the partner user who acted.
    pub actor_oid: Option<String>,
    /// A customer id, or words of the company name or domain.
    pub customer: Option<String>,
    pub action: Option<String>,
    /// UTC days, both included.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// Refused: the audit log and the exports are for Admin agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminOnly;

impl AdminOnly {
    pub fn message(self) -> &'static str {
        "Only Admin agents can see the audit log and export lists. Ask an Admin agent of your organization if you need it."
    }
}

/// One page of the audit log and what its filters offer.
#[derive(Debug, Clone)]
pub struct AuditLogPage {
    /// Newest first; one more than asked for when there are older ones.
    pub entries: Vec<AuditRecord>,
    /// The partner's users who signed in here, by name: (object id, name).
    pub people: Vec<(String, String)>,
    /// When the customer filter was words: how many customers they matched (at most
    /// [`CUSTOMERS_PER_SEARCH`]).
    pub customers_matched: Option<usize>,
}

/// The most customers that words in the customer filter stand for; more words narrow it.
pub const CUSTOMERS_PER_SEARCH: i64 = 200;

pub(super) fn admin(user: &PartnerUser) -> Result<(), AdminOnly> {
    if user.permissions().can_admin { Ok(()) } else { Err(AdminOnly) }
}

/// A customer id as Partner Center writes them (a GUID), not a word that happens to be
/// made of the same characters.
fn looks_like_id(text: &str) -> bool {
    is_customer_id(text) && text.len() >= 32 && text.contains('-')
}

impl Workflows {
    /// The store's filter for `search`, and how many customers words in the customer
    /// filter matched: they become the ids of those customers (an id is taken as it is).
    pub(super) async fn audit_filter(
        &self,
        tenant_id: &str,
        search: &AuditSearch,
    ) -> WorkflowResult<(AuditFilter, Option<usize>)> {
        let mut matched = None;
        let customer_ids = match search.customer.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            // A GUID, as Partner Center writes it (lower case) whatever the case typed.
            Some(text) if looks_like_id(text) => Some(vec![text.to_ascii_lowercase()]),
            Some(text) => {
                let ids = self.store.customer_ids_matching(tenant_id, text, CUSTOMERS_PER_SEARCH).await?;
                matched = Some(ids.len());
                Some(ids)
            }
        };
        let filter = AuditFilter {
            actor_oid: search.actor_oid.clone(),
            customer_ids,
            action: search.action.clone(),
            from: search.from,
            to: search.to,
        };
        Ok((filter, matched))
    }

    /// Up to `limit` entries matching `search` after the cursor, newest first, with one
    /// more when there are older ones.
    #[tracing::instrument(skip_all, fields(tenant_id = %user.tenant_id), err(level = "warn"))]
    pub async fn audit_log_page(
        &self,
        user: &PartnerUser,
        search: &AuditSearch,
        after: Option<&AuditCursor>,
        limit: i64,
    ) -> WorkflowResult<Result<AuditLogPage, AdminOnly>> {
        if let Err(refused) = admin(user) {
            return Ok(Err(refused));
        }
        let (filter, customers_matched) = self.audit_filter(&user.tenant_id, search).await?;
        let entries = self.store.audit_page(&user.tenant_id, &filter, after, limit + 1).await?;
        let people = self.store.audit_people(&user.tenant_id).await?;
        Ok(Ok(AuditLogPage { entries, people, customers_matched }))
    }
}
