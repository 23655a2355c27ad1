//! How many customers a partner has in each status and each "Customer acceptance through
//! Microsoft", as kept in `customer_counts` by the triggers on `customers` (migration
//! 0012): every insert, change of status or acceptance, and removal of a customer moves
//! the counts in the same transaction, so no page counts the portfolio.

use super::customer_list::{Acceptance, CustomerFilter, Search};
use super::rows::RowRef;
use super::{Store, StoreError, StoreResult};
use crate::domain::EffectiveStatus;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCount {
    pub status: EffectiveStatus,
    pub count: i64,
}

/// Customers by "Customer acceptance through Microsoft".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AcceptanceCounts {
    pub provided: i64,
    pub not_provided: i64,
    /// Not read from Partner Center yet.
    pub not_read: i64,
}

/// A partner's kept counts: customers per status and acceptance together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerCounts {
    /// (status, accepted directly when read, how many).
    cells: Vec<(EffectiveStatus, Option<bool>, i64)>,
}

impl CustomerCounts {
    fn sum(&self, keep: impl Fn(EffectiveStatus, Option<bool>) -> bool) -> i64 {
        self.cells.iter().filter(|(s, a, _)| keep(*s, *a)).map(|(_, _, n)| n).sum()
    }

    /// Every customer of the partner.
    pub fn total(&self) -> i64 {
        self.sum(|_, _| true)
    }

    /// The customers a filter without a search shows.
    pub fn matching(&self, status: Option<EffectiveStatus>, acceptance: Option<Acceptance>) -> i64 {
        self.sum(|s, a| status.is_none_or(|want| want == s) && accepted_as(acceptance, a))
    }

    /// Customers in each status (every status, in the order of `EffectiveStatus::ALL`),
    /// of one acceptance or all.
    pub fn by_status(&self, acceptance: Option<Acceptance>) -> Vec<StatusCount> {
        EffectiveStatus::ALL
            .into_iter()
            .map(|status| StatusCount { status, count: self.sum(|s, a| s == status && accepted_as(acceptance, a)) })
            .collect()
    }

    /// Customers by acceptance, over every status.
    pub fn by_acceptance(&self) -> AcceptanceCounts {
        AcceptanceCounts {
            provided: self.sum(|_, a| a == Some(true)),
            not_provided: self.sum(|_, a| a == Some(false)),
            not_read: self.sum(|_, a| a.is_none()),
        }
    }
}

fn accepted_as(filter: Option<Acceptance>, accepted: Option<bool>) -> bool {
    match filter {
        None => true,
        Some(Acceptance::Provided) => accepted == Some(true),
        Some(Acceptance::NotProvided) => accepted == Some(false),
        Some(Acceptance::NotRead) => accepted.is_none(),
    }
}

/// The status options of a filtered list: exact counts, or none past the search cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCounts {
    /// Every status, in the order of `EffectiveStatus::ALL`.
    pub by_status: Vec<StatusCount>,
    /// False when a search matched more customers than are counted
    /// (`SEARCH_COUNTED`): the counts are then left out (all zero).
    pub complete: bool,
    /// The search keys of a search's matches when they were all counted, on SQLite (a
    /// JSON array): the page reads those rows (`Store::customer_list_counted`).
    pub(super) found: Option<String>,
}

impl StatusCounts {
    pub fn total(&self) -> i64 {
        self.by_status.iter().map(|c| c.count).sum()
    }

    pub fn of(&self, status: EffectiveStatus) -> i64 {
        self.by_status.iter().find(|c| c.status == status).map(|c| c.count).unwrap_or(0)
    }
}

/// One kept count: its status, its acceptance (`None` not read) and how many.
fn cell_of(r: RowRef<'_>) -> StoreResult<(EffectiveStatus, Option<bool>, i64)> {
    let key: String = r.try_get("status")?;
    let status = EffectiveStatus::parse(&key).ok_or_else(|| StoreError::Corrupt(format!("status {key:?}")))?;
    let accepted = match r.try_get::<String, _>("acceptance")?.as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    Ok((status, accepted, r.try_get("n")?))
}

/// A search's matches are counted up to this many (through the search index, or the
/// index of `search_text` for a common search); past it the list says "more than".
pub const SEARCH_COUNTED: i64 = 1000;

impl Store {
    /// The partner's kept counts per status and acceptance (for the list's filter and a
    /// dashboard); reads at most 21 rows, whatever the number of customers.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn customer_counts(&self, tenant_id: &str) -> StoreResult<CustomerCounts> {
        const SQL: &str = "SELECT status, acceptance, n FROM customer_counts WHERE tenant_id = $1 AND n <> 0";
        let cells = self.read_rows(SQL, &[tenant_id.into()], cell_of).await?;
        Ok(CustomerCounts { cells })
    }

    /// How many customers match `filter` but its status, in each status: from the kept
    /// counts, or for a search from its matches (at most `SEARCH_COUNTED` are counted).
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn customer_status_counts(&self, tenant_id: &str, filter: &CustomerFilter) -> StoreResult<StatusCounts> {
        if matches!(Search::of(&filter.search), Search::None) {
            let by_status = self.customer_counts(tenant_id).await?.by_status(filter.acceptance);
            return Ok(StatusCounts { by_status, complete: true, found: None });
        }
        let counted = self.customer_search_counts(tenant_id, filter, SEARCH_COUNTED).await?;
        let count_of = |status: EffectiveStatus| {
            counted.iter().flat_map(|c| &c.by_status).find(|(key, _)| key == status.key()).map(|(_, n)| *n).unwrap_or(0)
        };
        let by_status =
            EffectiveStatus::ALL.into_iter().map(|status| StatusCount { status, count: count_of(status) }).collect();
        let complete = counted.is_some();
        Ok(StatusCounts { by_status, complete, found: counted.and_then(|c| c.found) })
    }
}
