//! Exports (Admin agents): the customer list and the audit log, each with its page's
//! filters, read from the database in chunks by keyset as the answer is sent, so that
//! 100,000 rows need no more memory than one chunk. Every export is audited before its
//! first row is read (docs/audit-and-export.md).

use std::future::Future;
use std::pin::Pin;

use futures_util::Stream;

use super::audit_log::{AdminOnly, AuditSearch, admin};
use super::{WorkflowResult, Workflows, audit_of};
use crate::domain::audit::{AUDIT_EXPORTED, CUSTOMERS_EXPORTED, action_label};
use crate::domain::{CustomerSummary, PartnerUser};
use crate::store::{AuditCursor, AuditEntry, AuditRecord, CustomerQuery, CustomerSort, SortKey, StoreResult};

/// Rows read by one statement of an export.
pub const EXPORT_CHUNK: i64 = 1000;

/// The rows of an export, a chunk at a time, in order.
pub type Chunks<T> = Pin<Box<dyn Stream<Item = StoreResult<Vec<T>>> + Send>>;

/// Reads chunk after chunk with `fetch`, each after the cursor of the last row of the one
/// before, until a chunk is shorter than `size`.
fn in_chunks<T, C, F, Fut>(size: i64, fetch: F, cursor_of: impl Fn(&T) -> C + Send + Sync + 'static) -> Chunks<T>
where
    T: Send + 'static,
    C: Send + 'static,
    F: Fn(Option<C>) -> Fut + Send + 'static,
    Fut: Future<Output = StoreResult<Vec<T>>> + Send + 'static,
{
    let cursor_of = std::sync::Arc::new(cursor_of);
    Box::pin(futures_util::stream::try_unfold(Some(None), move |next: Option<Option<C>>| {
        let chunk = next.map(&fetch);
        let cursor_of = cursor_of.clone();
        async move {
            let Some(chunk) = chunk else { return Ok(None) };
            let rows = chunk.await?;
            if rows.is_empty() {
                return Ok(None);
            }
            let then = (rows.len() as i64 >= size).then(|| rows.last().map(|r| cursor_of(r)));
            Ok(Some((rows, then)))
        }
    }))
}

/// The customer list's view in words, for the audit entry of its export.
fn customer_view_in_words(q: &CustomerQuery) -> String {
    let f = &q.filter;
    let mut parts = Vec::new();
    if !f.search.trim().is_empty() {
        parts.push(format!("search \u{201c}{}\u{201d}", f.search.trim()));
    }
    if let Some(s) = f.status {
        parts.push(format!("MCA status {}", s.label()));
    }
    if let Some(a) = f.acceptance {
        parts.push(format!("customer acceptance through Microsoft {}", a.label()));
    }
    let which = if parts.is_empty() { "every customer".into() } else { format!("customers with {}", parts.join(", ")) };
    if q.sort == CustomerSort::default() { which } else { format!("{which}, by {}", q.sort.label()) }
}

impl Workflows {
    /// Every customer of a view of the list (its filters, in its order, from its start),
    /// read as the list reads its pages, a chunk at a time; audited first.
    #[tracing::instrument(skip_all, fields(tenant_id = %user.tenant_id), err(level = "warn"))]
    pub async fn export_customers(
        &self,
        user: &PartnerUser,
        query: CustomerQuery,
    ) -> WorkflowResult<Result<Chunks<CustomerSummary>, AdminOnly>> {
        if let Err(refused) = admin(user) {
            return Ok(Err(refused));
        }
        let detail = format!("CSV of {}", customer_view_in_words(&query));
        self.store.audit(&AuditEntry { detail: Some(detail), ..audit_of(user, CUSTOMERS_EXPORTED, "ok") }).await?;
        let (store, tenant, sort) = (self.store.clone(), user.tenant_id.clone(), query.sort);
        let fetch = move |after: Option<SortKey>| {
            let (store, tenant, query) = (store.clone(), tenant.clone(), query.clone());
            async move { store.customer_list_chunk(&tenant, &query, after.as_ref(), EXPORT_CHUNK).await }
        };
        Ok(Ok(in_chunks(EXPORT_CHUNK, fetch, move |c: &CustomerSummary| SortKey::of(sort, c))))
    }

    /// The audit log's entries matching `search`, newest first, a chunk at a time;
    /// audited first (so the export lists itself when its filters match it).
    #[tracing::instrument(skip_all, fields(tenant_id = %user.tenant_id), err(level = "warn"))]
    pub async fn export_audit_log(
        &self,
        user: &PartnerUser,
        search: &AuditSearch,
    ) -> WorkflowResult<Result<Chunks<AuditRecord>, AdminOnly>> {
        if let Err(refused) = admin(user) {
            return Ok(Err(refused));
        }
        let detail = format!("CSV of {}", self.audit_search_in_words(&user.tenant_id, search).await?);
        self.store.audit(&AuditEntry { detail: Some(detail), ..audit_of(user, AUDIT_EXPORTED, "ok") }).await?;
        let (filter, _) = self.audit_filter(&user.tenant_id, search).await?;
        let (store, tenant) = (self.store.clone(), user.tenant_id.clone());
        let fetch = move |after: Option<AuditCursor>| {
            let (store, tenant, filter) = (store.clone(), tenant.clone(), filter.clone());
            async move { store.audit_page(&tenant, &filter, after.as_ref(), EXPORT_CHUNK).await }
        };
        Ok(Ok(in_chunks(EXPORT_CHUNK, fetch, AuditCursor::after)))
    }

    /// The audit log's filters in words, for the audit entry of its export.
    async fn audit_search_in_words(&self, tenant_id: &str, s: &AuditSearch) -> WorkflowResult<String> {
        let mut parts = Vec::new();
        if let Some(oid) = &s.actor_oid {
            let name = self.store.partner_user_name(tenant_id, oid).await?;
            parts.push(format!("user {}", name.unwrap_or_else(|| oid.clone())));
        }
        if let Some(c) = s.customer.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            parts.push(format!("customer \u{201c}{c}\u{201d}"));
        }
        if let Some(a) = &s.action {
            parts.push(format!("action {}", action_label(a)));
        }
        match (s.from, s.to) {
            (Some(f), Some(t)) => parts.push(format!("days {f} to {t} (UTC)")),
            (Some(f), None) => parts.push(format!("days from {f} (UTC)")),
            (None, Some(t)) => parts.push(format!("days up to {t} (UTC)")),
            (None, None) => {}
        }
        Ok(if parts.is_empty() {
            "the whole audit log".into()
        } else {
            format!("audit entries with {}", parts.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::EffectiveStatus;
    use crate::store::{Acceptance, CustomerFilter};
    use futures_util::TryStreamExt;

    #[tokio::test]
    async fn chunks_follow_the_cursor_until_a_short_one() {
        // Rows 0..7 in chunks of 3: after 2, after 5, then a short chunk ends it.
        let fetch = |after: Option<i64>| async move {
            let start = after.map(|a| a + 1).unwrap_or(0);
            Ok((start..(start + 3).min(7)).collect::<Vec<i64>>())
        };
        let chunks: Vec<Vec<i64>> = in_chunks(3, fetch, |r: &i64| *r).try_collect().await.unwrap();
        assert_eq!(chunks, [vec![0, 1, 2], vec![3, 4, 5], vec![6]]);
        let exact = |after: Option<i64>| async move { Ok(if after.is_none() { vec![0, 1, 2] } else { vec![] }) };
        let chunks: Vec<Vec<i64>> = in_chunks(3, exact, |r: &i64| *r).try_collect().await.unwrap();
        assert_eq!(chunks, [vec![0, 1, 2]], "an empty chunk after a full one ends it too");
    }

    #[test]
    fn views_are_described_in_words() {
        assert_eq!(customer_view_in_words(&CustomerQuery::default()), "every customer");
        let filter = CustomerFilter {
            search: " con ".into(),
            status: Some(EffectiveStatus::Attested),
            acceptance: Some(Acceptance::NotProvided),
        };
        let q = CustomerQuery { filter, sort: CustomerSort::AttestedNewest };
        assert_eq!(
            customer_view_in_words(&q),
            "customers with search \u{201c}con\u{201d}, MCA status Attested, customer acceptance through Microsoft Not provided, by Latest attestation, newest first"
        );
    }
}
