//! The customer list: filters, sort orders and keyset paging. A page is read from the
//! index of its order (docs/architecture.md, "Customer list"): a position in the list is
//! the last row's sort values and customer id, never an offset, so page 2,000 reads as
//! few rows as the first.

use chrono::NaiveDate;

use super::customer_counts::{SEARCH_COUNTED, StatusCounts};
use super::customers::{search_form, summary_of};
use super::rows::{Param, RowRef};
use super::{Backend, Store, StoreResult};
use crate::domain::{CustomerSummary, EffectiveStatus, is_customer_id};

/// The orders of the list; each ends with the customer id, so that no two rows tie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CustomerSort {
    /// Company name A to Z (the default).
    #[default]
    Name,
    /// MCA status A to Z by its label, then company name.
    Status,
    /// Latest attestation, newest first; customers never attested last.
    AttestedNewest,
    /// Latest attestation, oldest first; customers never attested first.
    AttestedOldest,
}

impl CustomerSort {
    pub const ALL: [CustomerSort; 4] =
        [CustomerSort::Name, CustomerSort::Status, CustomerSort::AttestedNewest, CustomerSort::AttestedOldest];

    /// The key in the address (`?sort=status`).
    pub fn key(self) -> &'static str {
        match self {
            CustomerSort::Name => "name",
            CustomerSort::Status => "status",
            CustomerSort::AttestedNewest => "attested_newest",
            CustomerSort::AttestedOldest => "attested_oldest",
        }
    }

    pub fn parse(key: &str) -> Option<CustomerSort> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }

    pub fn label(self) -> &'static str {
        match self {
            CustomerSort::Name => "Company name (A to Z)",
            CustomerSort::Status => "MCA status (A to Z), then company name",
            CustomerSort::AttestedNewest => "Latest attestation, newest first",
            CustomerSort::AttestedOldest => "Latest attestation, oldest first",
        }
    }

    /// The columns of the order, the customer id last.
    fn columns(self) -> &'static [&'static str] {
        match self {
            CustomerSort::Name => &["c.company_name", "c.customer_id"],
            CustomerSort::Status => &["c.status", "c.company_name", "c.customer_id"],
            CustomerSort::AttestedNewest | CustomerSort::AttestedOldest => {
                &["c.latest_attestation_on", "c.customer_id"]
            }
        }
    }

    fn descending(self) -> bool {
        self == CustomerSort::AttestedNewest
    }
}

/// Partner Center's "Customer acceptance through Microsoft", as a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    Provided,
    NotProvided,
    /// Partner Center has not been asked, or did not answer.
    NotRead,
}

impl Acceptance {
    pub const ALL: [Acceptance; 3] = [Acceptance::Provided, Acceptance::NotProvided, Acceptance::NotRead];

    /// The key in the address (`?acceptance=provided`).
    pub fn key(self) -> &'static str {
        match self {
            Acceptance::Provided => "provided",
            Acceptance::NotProvided => "not_provided",
            Acceptance::NotRead => "not_read",
        }
    }

    pub fn parse(key: &str) -> Option<Acceptance> {
        Self::ALL.into_iter().find(|a| a.key() == key)
    }

    pub fn label(self) -> &'static str {
        match self {
            Acceptance::Provided => "Provided",
            Acceptance::NotProvided => "Not provided",
            Acceptance::NotRead => "Not read yet",
        }
    }

    /// The value of `customers.accepted_directly`: 1, 0, or NULL when not read.
    fn stored(self) -> Option<i64> {
        match self {
            Acceptance::Provided => Some(1),
            Acceptance::NotProvided => Some(0),
            Acceptance::NotRead => None,
        }
    }
}

/// Which customers a list (or an export) shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerFilter {
    /// Part of the company name or domain, any case; of one or two characters, the
    /// beginning of the company name.
    pub search: String,
    pub status: Option<EffectiveStatus>,
    pub acceptance: Option<Acceptance>,
}

/// A view of the list: its filter and its order. The address of the Customers page
/// carries it (`web::customer_query`), and so can an export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerQuery {
    pub filter: CustomerFilter,
    pub sort: CustomerSort,
}

/// Searches shorter than this find company names that begin with them; longer ones find
/// any part of the name or domain through the trigram index.
pub const SEARCH_ANYWHERE_FROM: usize = 3;

/// What a search looks for, in the form `search_text` holds.
pub(super) enum Search {
    None,
    /// The company name begins with it.
    Prefix(String),
    /// Any part of the company name or domain.
    Anywhere(String),
}

impl Search {
    pub(super) fn of(typed: &str) -> Search {
        let text = search_form(typed.trim());
        match text.chars().count() {
            0 => Search::None,
            n if n < SEARCH_ANYWHERE_FROM => Search::Prefix(text),
            _ => Search::Anywhere(text),
        }
    }
}

/// A search's matches, counted: how many in each status (by its key) and, on SQLite,
/// their search keys as a JSON array.
pub(super) struct SearchCounts {
    pub(super) by_status: Vec<(String, i64)>,
    pub(super) found: Option<String>,
}

/// A position in one order of the list: a row's sort values, its customer id last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    values: Vec<String>,
}

impl SortKey {
    /// The position of a listed customer in `sort`.
    pub fn of(sort: CustomerSort, c: &CustomerSummary) -> SortKey {
        let attested = c.latest_attestation.as_ref().map(|a| a.date_agreed.to_string()).unwrap_or_default();
        let values = match sort {
            CustomerSort::Name => vec![c.company_name.clone(), c.id.clone()],
            CustomerSort::Status => vec![c.status.key().to_string(), c.company_name.clone(), c.id.clone()],
            CustomerSort::AttestedNewest | CustomerSort::AttestedOldest => vec![attested, c.id.clone()],
        };
        SortKey { values }
    }

    /// As the address carries it: the values joined by `|` (a company name may hold `|`
    /// itself: the customer id after the last one, the status before the first).
    pub fn to_param(&self) -> String {
        self.values.join("|")
    }

    /// A position from the address, when it is one of `sort`.
    pub fn parse(sort: CustomerSort, text: &str) -> Option<SortKey> {
        let (rest, id) = text.rsplit_once('|')?;
        if !is_customer_id(id) {
            return None;
        }
        let mut values = match sort {
            CustomerSort::Name => vec![rest.to_string()],
            CustomerSort::Status => {
                let (status, name) = rest.split_once('|')?;
                EffectiveStatus::parse(status)?;
                vec![status.to_string(), name.to_string()]
            }
            CustomerSort::AttestedNewest | CustomerSort::AttestedOldest => {
                if !rest.is_empty() {
                    NaiveDate::parse_from_str(rest, "%Y-%m-%d").ok()?;
                }
                vec![rest.to_string()]
            }
        };
        values.push(id.to_string());
        Some(SortKey { values })
    }
}

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Position {
    #[default]
    First,
    /// The rows after this one (Next).
    After(SortKey),
    /// The rows before this one (Previous).
    Before(SortKey),
    /// The last rows of the list.
    Last,
}

/// One page of the list.
#[derive(Debug, Clone)]
pub struct CustomerPage {
    pub items: Vec<CustomerSummary>,
    /// Rows come before the first of the page.
    pub has_previous: bool,
    /// Rows come after the last of the page.
    pub has_next: bool,
}

impl CustomerPage {
    /// Where the next page starts (after the last row), when there is one.
    pub fn next(&self, sort: CustomerSort) -> Option<Position> {
        self.items.last().filter(|_| self.has_next).map(|c| Position::After(SortKey::of(sort, c)))
    }

    /// Where the previous page ends (before the first row), when there is one.
    pub fn previous(&self, sort: CustomerSort) -> Option<Position> {
        self.items.first().filter(|_| self.has_previous).map(|c| Position::Before(SortKey::of(sort, c)))
    }
}

/// A statement put together from the filter, order and position, with its values.
struct Statement {
    sql: String,
    binds: Vec<Param>,
}

impl Statement {
    fn param(&mut self, b: Param) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }

    async fn read<T>(self, store: &Store, decode: impl FnMut(RowRef<'_>) -> StoreResult<T>) -> StoreResult<Vec<T>> {
        store.read_rows(&self.sql, &self.binds, decode).await
    }
}

/// The columns a list row reads (`customers c` joined to `partner_users u`).
pub(super) const SUMMARY_COLUMNS: &str = "c.customer_id, c.company_name, c.domain, c.status, c.status_reason, c.added_here_at, \
     c.accepted_directly, c.latest_attestation_on, c.latest_attestation_by, u.name AS attested_by_name, c.associated_partner_id";

/// The attester's name, by the primary key of `partner_users`, for the rows read only.
pub(super) const SUMMARY_JOIN: &str =
    "LEFT JOIN partner_users u ON u.tenant_id = c.tenant_id AND u.oid = c.latest_attestation_by";

/// `LIKE` pattern matching `text` anywhere, with `%`, `_` and `\` taken literally.
pub(super) fn contains_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// The trigrams of a search's text (three characters from each position on), as the
/// search index's tokenizer cuts them, as a JSON array.
fn trigrams_json(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let trigrams: Vec<String> = chars.windows(3).map(|w| w.iter().collect()).collect();
    serde_json::Value::from(trigrams).to_string()
}

/// The search index query of the two rarest of `trigrams` (the marker of a JSON array of
/// them), by the counts kept in `customers_search_terms`: a trigram not counted there is
/// taken as rare. A row holding both is a candidate the search text checks
/// (docs/architecture.md, "Search").
fn rarest_trigrams(trigrams: &str) -> String {
    format!(
        "(SELECT group_concat('\"' || replace(r.value, '\"', '\"\"') || '\"', ' AND ') FROM \
         (SELECT t.value FROM json_each({trigrams}) t LEFT JOIN customers_search_terms n ON n.term = t.value \
         ORDER BY COALESCE(n.docs, 0), t.key LIMIT 2) r)"
    )
}

/// A search is common when its rarest trigram is in at least one in this many of the
/// partner's customers: the search index would then give more candidates than reading
/// the partner's rows costs (docs/architecture.md, "Search").
const COMMON_ONE_IN: i64 = 5;

/// How a search's matches are found on SQLite, by how common its trigrams are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Breadth {
    /// A trigram of the search is in few customers (or not counted yet): the search
    /// index finds the candidates.
    Rare,
    /// Every trigram is common: the partner's rows are checked with `LIKE` instead;
    /// `matches` of them match, counted up to the cap and one more.
    Common { matches: i64 },
}

/// Whether the search `text` is common among the tenant's customers (`common`, 1 or 0:
/// by the counts of its rarest trigram), and only when it is, how many customers match
/// `filter` (`n`, up to `cap` + 1): the count reads the index of `search_text` alone.
fn breadth_statement(tenant_id: &str, filter: &CustomerFilter, text: &str, cap: i64) -> Statement {
    let filter = CustomerFilter { status: None, ..filter.clone() };
    let mut st = matching(Backend::Sqlite, tenant_id, &filter, Reach::Many, ("1 AS one", ""));
    let limit = st.param(Param::Int(cap + 1));
    let (trigrams, tenant) = (st.param(Param::Text(trigrams_json(text))), st.param(Param::Text(tenant_id.into())));
    st.sql = format!(
        "WITH b AS (SELECT (SELECT MIN(COALESCE(n.docs, 0)) FROM json_each({trigrams}) t \
         LEFT JOIN customers_search_terms n ON n.term = t.value) * {COMMON_ONE_IN} >= \
         (SELECT COALESCE(SUM(k.n), 0) FROM customer_counts k WHERE k.tenant_id = {tenant}) AS common) \
         SELECT b.common AS common, CASE WHEN b.common THEN (SELECT COUNT(*) FROM ({} LIMIT {limit}) m) END AS n FROM b",
        st.sql
    );
    st
}

/// The first text after every text that begins with `prefix`, in code point order
/// (which is the byte order of UTF-8, SQLite's and the "C" collation's order).
fn after_prefix(prefix: &str) -> String {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (last as u32 + 1..=char::MAX as u32).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return chars.into_iter().collect();
        }
    }
    char::MAX.to_string().repeat(4)
}

/// How a search finds its rows on SQLite: through the search index when it matches few
/// customers (they are then sorted), or as a check on the rows of the order's index
/// when it matches many (the page fills after a few rows, where sorting them all would
/// read the portfolio). PostgreSQL's planner makes that choice from its statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reach<'a> {
    Few,
    Many,
    /// The search keys of every match are known (a JSON array, from counting them:
    /// `StatusCounts`): the page reads those rows, not the search index again.
    Found(&'a str),
}

/// Where a statement reads the rows of a search from: the search index or the known
/// matches drive on SQLite when the search finds few (only the matching rows are read,
/// then sorted); otherwise the order's index of `customers`.
fn rows_from(st: &mut Statement, search: &Search, backend: Backend, reach: Reach<'_>) -> String {
    match (search, backend, reach) {
        (Search::None, ..) => "FROM customers c".to_string(),
        (_, Backend::Sqlite, Reach::Found(keys)) => {
            let keys = st.param(Param::Text(keys.to_string()));
            format!("FROM json_each({keys}) found CROSS JOIN customers c ON c.search_key = found.value")
        }
        (Search::Anywhere(_), Backend::Sqlite, Reach::Few) => {
            "FROM customers_search CROSS JOIN customers c ON c.search_key = customers_search.rowid".to_string()
        }
        _ => "FROM customers c".to_string(),
    }
}

/// `FROM` and `WHERE` for the tenant's customers that match `filter`.
fn matching(
    backend: Backend,
    tenant_id: &str,
    filter: &CustomerFilter,
    reach: Reach<'_>,
    (columns, join): (&str, &str),
) -> Statement {
    let mut st = Statement { sql: String::new(), binds: Vec::new() };
    let search = Search::of(&filter.search);
    let from = rows_from(&mut st, &search, backend, reach);
    let tenant = st.param(Param::Text(tenant_id.to_string()));
    st.sql = format!("SELECT {columns} {from} {join} WHERE c.tenant_id = {tenant}");
    match (search, backend) {
        (Search::None, _) => {}
        (_, Backend::Sqlite) if matches!(reach, Reach::Found(_)) => {}
        (Search::Anywhere(text), Backend::Sqlite) if reach == Reach::Few => {
            let trigrams = st.param(Param::Text(trigrams_json(&text)));
            let pattern = st.param(Param::Text(contains_pattern(&text)));
            st.sql += &format!(
                " AND customers_search MATCH {} AND c.search_text LIKE {pattern} ESCAPE '\\'",
                rarest_trigrams(&trigrams)
            );
        }
        (Search::Anywhere(text), Backend::Sqlite) => {
            let pattern = st.param(Param::Text(contains_pattern(&text)));
            st.sql += &format!(" AND c.search_text LIKE {pattern} ESCAPE '\\'");
        }
        (Search::Anywhere(text), Backend::Postgres) => {
            let pattern = st.param(Param::Text(contains_pattern(&text)));
            st.sql += &format!(" AND c.search_text LIKE {pattern}");
        }
        (Search::Prefix(text), _) => {
            // `+` keeps SQLite from reading the prefix's range when the order's index
            // should drive.
            let column = match (backend, reach) {
                (Backend::Postgres, _) => "c.search_text COLLATE \"C\"",
                (Backend::Sqlite, Reach::Few | Reach::Found(_)) => "c.search_text",
                (Backend::Sqlite, Reach::Many) => "+c.search_text",
            };
            let high = after_prefix(&text);
            let (low, high) = (st.param(Param::Text(text)), st.param(Param::Text(high)));
            st.sql += &format!(" AND {column} >= {low} AND {column} < {high}");
        }
    }
    if let Some(status) = filter.status {
        let p = st.param(Param::Text(status.key().to_string()));
        st.sql += &format!(" AND c.status = {p}");
    }
    match filter.acceptance.map(Acceptance::stored) {
        None => {}
        Some(None) => st.sql += " AND c.accepted_directly IS NULL",
        Some(Some(stored)) => {
            let p = st.param(Param::Int(stored));
            st.sql += &format!(" AND c.accepted_directly = {p}");
        }
    }
    st
}

/// The statement of one page: `limit` rows from `position` on, in the list's order, or
/// backwards from it (`backwards`: the rows come in reverse order).
fn page_statement(
    (backend, reach): (Backend, Reach<'_>),
    tenant_id: &str,
    query: &CustomerQuery,
    position: &Position,
    limit: i64,
) -> Statement {
    let mut st = matching(backend, tenant_id, &query.filter, reach, (SUMMARY_COLUMNS, SUMMARY_JOIN));
    let backwards = matches!(position, Position::Before(_) | Position::Last);
    let descending = query.sort.descending() != backwards;
    // Within one status, the status order is the name order: the range of the index
    // then starts at the name, after the status it is equal to.
    let one_status = query.sort == CustomerSort::Status && query.filter.status.is_some();
    let columns = if one_status { CustomerSort::Name.columns() } else { query.sort.columns() };
    if let Position::After(key) | Position::Before(key) = position {
        let skip = usize::from(one_status);
        let values: Vec<String> = key.values.iter().skip(skip).map(|v| st.param(Param::Text(v.clone()))).collect();
        let op = if descending { "<" } else { ">" };
        st.sql += &format!(" AND ({}) {op} ({})", columns.join(", "), values.join(", "));
    }
    let direction = if descending { "DESC" } else { "ASC" };
    let order: Vec<String> = columns.iter().map(|c| format!("{c} {direction}")).collect();
    let limit = st.param(Param::Int(limit));
    st.sql += &format!(" ORDER BY {} LIMIT {limit}", order.join(", "));
    st
}

impl Store {
    /// One page of a tenant's customers: those `query` filters, in its order, from
    /// `position`. A position past either end (a bookmark of rows since gone) gives
    /// the first or the last page rather than nothing.
    ///
    /// An export reads every row of a view the same way, a page of (say) 1,000 at a
    /// time: `Position::First`, then `page.next(sort)` until it is `None`.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, sort = query.sort.key()), err)]
    pub async fn customer_list(
        &self,
        tenant_id: &str,
        query: &CustomerQuery,
        position: &Position,
        page_size: i64,
    ) -> StoreResult<CustomerPage> {
        let reach = self.search_reach(tenant_id, &query.filter.search).await?;
        self.customer_list_reaching((tenant_id, reach), query, position, page_size).await
    }

    /// `customer_list` for a view whose status counts were read (the Customers page shows
    /// both). The counts of a search found its matches: the page reads those rows when
    /// they are known (SQLite); otherwise, without an acceptance filter, the counts tell
    /// the search's reach without a statement of its own.
    pub async fn customer_list_counted(
        &self,
        tenant_id: &str,
        query: &CustomerQuery,
        position: &Position,
        page_size: i64,
        counts: &StatusCounts,
    ) -> StoreResult<CustomerPage> {
        let reach = match (counts.found.as_deref(), query.filter.acceptance, counts.complete) {
            (Some(keys), ..) => Reach::Found(keys),
            (None, Some(_), _) => self.search_reach(tenant_id, &query.filter.search).await?,
            (None, None, true) => Reach::Few,
            (None, None, false) => Reach::Many,
        };
        self.customer_list_reaching((tenant_id, reach), query, position, page_size).await
    }

    async fn customer_list_reaching(
        &self,
        (tenant_id, reach): (&str, Reach<'_>),
        query: &CustomerQuery,
        position: &Position,
        page_size: i64,
    ) -> StoreResult<CustomerPage> {
        let page_size = page_size.max(1);
        let page = self.customer_page((tenant_id, reach), query, position, page_size).await?;
        Ok(match position {
            Position::Before(_) if page.items.is_empty() => {
                self.customer_page((tenant_id, reach), query, &Position::First, page_size).await?
            }
            Position::After(_) if page.items.is_empty() => {
                self.customer_page((tenant_id, reach), query, &Position::Last, page_size).await?
            }
            _ => page,
        })
    }

    /// Up to `limit` customers of a view after `after` (from its start when `None`), in
    /// its order, read as a page of the list is: for an export, which reads every row of
    /// the view a chunk at a time. Past the end it gives nothing (no last page instead).
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, sort = query.sort.key()), err)]
    pub async fn customer_list_chunk(
        &self,
        tenant_id: &str,
        query: &CustomerQuery,
        after: Option<&SortKey>,
        limit: i64,
    ) -> StoreResult<Vec<CustomerSummary>> {
        let reach = self.search_reach(tenant_id, &query.filter.search).await?;
        let position = after.map(|k| Position::After(k.clone())).unwrap_or_default();
        Ok(self.customer_page((tenant_id, reach), query, &position, limit.max(1)).await?.items)
    }

    /// Whether a search matches few customers or many (more than `SEARCH_COUNTED`),
    /// read through the search index, on SQLite; see `Reach`. A common search reads
    /// the rows of the order's index, which never costs more than the search index would.
    async fn search_reach(&self, tenant_id: &str, search: &str) -> StoreResult<Reach<'static>> {
        if self.backend() == Backend::Postgres || matches!(Search::of(search), Search::None) {
            return Ok(Reach::Few);
        }
        let filter = CustomerFilter { search: search.to_string(), ..Default::default() };
        if let Breadth::Common { .. } = self.search_breadth(tenant_id, &filter, SEARCH_COUNTED).await? {
            return Ok(Reach::Many);
        }
        let mut st = matching(self.backend(), tenant_id, &filter, Reach::Few, ("1 AS one", ""));
        let limit = st.param(Param::Int(SEARCH_COUNTED + 1));
        st.sql = format!("SELECT COUNT(*) AS n FROM ({} LIMIT {limit}) m", st.sql);
        let found: i64 = st.read(self, |r| r.try_get("n")).await?.first().copied().unwrap_or(0);
        Ok(if found > SEARCH_COUNTED { Reach::Many } else { Reach::Few })
    }

    async fn customer_page(
        &self,
        (tenant_id, reach): (&str, Reach<'_>),
        query: &CustomerQuery,
        position: &Position,
        page_size: i64,
    ) -> StoreResult<CustomerPage> {
        let st = page_statement((self.backend(), reach), tenant_id, query, position, page_size + 1);
        let mut items = st.read(self, summary_of).await?;
        let more = items.len() as i64 > page_size;
        items.truncate(page_size as usize);
        Ok(match position {
            Position::First => CustomerPage { items, has_previous: false, has_next: more },
            Position::After(_) => CustomerPage { items, has_previous: true, has_next: more },
            Position::Before(_) | Position::Last => {
                items.reverse();
                CustomerPage { items, has_previous: more, has_next: matches!(position, Position::Before(_)) }
            }
        })
    }

    /// Whether a search (of three characters or more, on SQLite) is common, and then how
    /// many of the partner's customers match `filter`, counted up to `cap` + 1 on the
    /// index of `search_text` alone. One statement: the count is read only when common.
    async fn search_breadth(&self, tenant_id: &str, filter: &CustomerFilter, cap: i64) -> StoreResult<Breadth> {
        let Search::Anywhere(text) = Search::of(&filter.search) else { return Ok(Breadth::Rare) };
        if self.backend() != Backend::Sqlite {
            return Ok(Breadth::Rare);
        }
        let st = breadth_statement(tenant_id, filter, &text, cap);
        let read = st.read(self, |r| Ok((r.try_get::<Option<i64>, _>("common")?, r.try_get::<Option<i64>, _>("n")?)));
        Ok(match read.await?.first() {
            Some((Some(1), Some(matches))) => Breadth::Common { matches: *matches },
            _ => Breadth::Rare,
        })
    }

    /// How many customers match a search, in each status, counting at most `cap`
    /// matches (read through the search index, or for a common search on SQLite through
    /// the index of `search_text`: `Breadth`); `None` past the cap. On SQLite, the
    /// matches' search keys come too (`Reach::Found`).
    pub(super) async fn customer_search_counts(
        &self,
        tenant_id: &str,
        filter: &CustomerFilter,
        cap: i64,
    ) -> StoreResult<Option<SearchCounts>> {
        let filter = CustomerFilter { status: None, ..filter.clone() };
        let reach = match self.search_breadth(tenant_id, &filter, cap).await? {
            Breadth::Common { matches } if matches > cap => return Ok(None),
            Breadth::Common { .. } => Reach::Many,
            Breadth::Rare => Reach::Few,
        };
        let sqlite = self.backend() == Backend::Sqlite;
        let (columns, keys) =
            if sqlite { ("c.status, c.search_key", "group_concat(m.search_key)") } else { ("c.status", "''") };
        let mut st = matching(self.backend(), tenant_id, &filter, reach, (columns, ""));
        let limit = st.param(Param::Int(cap + 1));
        st.sql = format!(
            "SELECT m.status, COUNT(*) AS n, {keys} AS found FROM ({} LIMIT {limit}) m GROUP BY m.status",
            st.sql
        );
        let rows: Vec<(String, i64, String)> =
            st.read(self, |r| Ok((r.try_get("status")?, r.try_get("n")?, r.try_get("found")?))).await?;
        if rows.iter().map(|(_, n, _)| n).sum::<i64>() > cap {
            return Ok(None);
        }
        let found =
            sqlite.then(|| format!("[{}]", rows.iter().map(|(.., k)| k.as_str()).collect::<Vec<_>>().join(",")));
        Ok(Some(SearchCounts { by_status: rows.into_iter().map(|(status, n, _)| (status, n)).collect(), found }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_take_wildcards_literally() {
        assert_eq!(contains_pattern("con"), "%con%");
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }

    #[test]
    fn short_searches_look_at_the_beginning_and_others_anywhere() {
        assert!(matches!(Search::of("  "), Search::None));
        assert!(matches!(Search::of(" A "), Search::Prefix(t) if t == "a"));
        assert!(matches!(Search::of("Liberty\u{2019}s"), Search::Anywhere(t) if t == "liberty's"));
    }

    #[test]
    fn the_range_after_a_prefix_holds_exactly_the_texts_that_begin_with_it() {
        assert_eq!(after_prefix("ab"), "ac");
        assert_eq!(after_prefix("a\u{D7FF}"), "a\u{E000}");
        assert_eq!(after_prefix("a\u{10FFFF}"), "b");
        let high = after_prefix("o'");
        for inside in ["o'brien", "o'", "o'\u{10FFFF}"] {
            assert!(inside >= "o'" && inside < high.as_str(), "{inside}");
        }
        for outside in ["o", "o(", "oa", "p"] {
            assert!(!(outside >= "o'" && outside < high.as_str()), "{outside}");
        }
    }

    #[test]
    fn a_position_reads_back_from_the_address_in_its_own_order_only() {
        let id = "c0570000-5eed-4000-8000-000000000001";
        let name = SortKey::parse(CustomerSort::Name, &format!("A | B|{id}")).unwrap();
        assert_eq!(name.values, ["A | B", id]);
        assert_eq!(SortKey::parse(CustomerSort::Name, &name.to_param()), Some(name));
        let status = SortKey::parse(CustomerSort::Status, &format!("attested|A|B|{id}")).unwrap();
        assert_eq!(status.values, ["attested", "A|B", id]);
        assert!(SortKey::parse(CustomerSort::Status, &format!("bogus|A|{id}")).is_none());
        assert!(SortKey::parse(CustomerSort::AttestedNewest, &format!("2024-05-06|{id}")).is_some());
        assert!(SortKey::parse(CustomerSort::AttestedNewest, &format!("|{id}")).is_some(), "never attested");
        assert!(SortKey::parse(CustomerSort::AttestedOldest, &format!("Contoso|{id}")).is_none());
        assert!(SortKey::parse(CustomerSort::Name, "Contoso|../x").is_none());
        assert!(SortKey::parse(CustomerSort::Name, "no id").is_none());
    }
}

/// SQLite's query plans: every order, filter and search reads an index range, never the
/// whole table (`SCAN c` would), and the orders without a search need no sort.
#[cfg(test)]
mod plans {
    use super::*;
    use crate::domain::EffectiveStatus::Attested;
    use crate::store::SEARCH_COUNTED;

    async fn store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("plan.db").display())).await.expect("store");
        (store, dir)
    }

    async fn plan_of(store: &Store, reach: Reach<'_>, query: &CustomerQuery, position: &Position) -> String {
        let mut st = page_statement((Backend::Sqlite, reach), "t1", query, position, 26);
        st.sql = format!("EXPLAIN QUERY PLAN {}", st.sql);
        st.read(store, |r| r.try_get::<String, _>("detail")).await.expect("explain").join("\n")
    }

    async fn plan(store: &Store, query: &CustomerQuery, position: &Position) -> String {
        plan_of(store, Reach::Few, query, position).await
    }

    fn key(sort: CustomerSort) -> SortKey {
        let id = "c0570000-5eed-4000-8000-000000000001";
        let text = match sort {
            CustomerSort::Name => format!("Contoso|{id}"),
            CustomerSort::Status => format!("attested|Contoso|{id}"),
            _ => format!("2024-05-06|{id}"),
        };
        SortKey::parse(sort, &text).expect("a key")
    }

    const PROVIDED: Option<Acceptance> = Some(Acceptance::Provided);

    /// Each order with a status filter or not and an acceptance filter or not, and the
    /// index range SQLite reads for the page after a position.
    const ORDERS: [(CustomerSort, Option<EffectiveStatus>, Option<Acceptance>, &str); 12] = [
        (CustomerSort::Name, None, None, "customers_by_name (tenant_id=? AND (company_name,customer_id)>(?,?))"),
        (
            CustomerSort::Name,
            Some(Attested),
            None,
            "customers_by_status_and_name (tenant_id=? AND status=? AND (company_name,customer_id)>(?,?))",
        ),
        (
            CustomerSort::Status,
            None,
            None,
            "customers_by_status_and_name (tenant_id=? AND (status,company_name,customer_id)>(?,?,?))",
        ),
        (
            CustomerSort::Status,
            Some(Attested),
            None,
            "customers_by_status_and_name (tenant_id=? AND status=? AND (company_name,customer_id)>(?,?))",
        ),
        (
            CustomerSort::AttestedNewest,
            None,
            None,
            "customers_by_attestation (tenant_id=? AND (latest_attestation_on,customer_id)<(?,?))",
        ),
        (
            CustomerSort::AttestedOldest,
            Some(Attested),
            None,
            "customers_by_status_and_attestation (tenant_id=? AND status=? AND (latest_attestation_on,customer_id)>(?,?))",
        ),
        (
            CustomerSort::Name,
            None,
            PROVIDED,
            "customers_by_acceptance_and_name (tenant_id=? AND accepted_directly=? AND (company_name,customer_id)>(?,?))",
        ),
        (
            CustomerSort::Name,
            None,
            Some(Acceptance::NotRead),
            "customers_by_acceptance_and_name (tenant_id=? AND accepted_directly=? AND (company_name,customer_id)>(?,?))",
        ),
        (
            CustomerSort::Status,
            None,
            PROVIDED,
            "customers_by_acceptance_status_and_name (tenant_id=? AND accepted_directly=? AND (status,company_name,customer_id)>(?,?,?))",
        ),
        (
            CustomerSort::Status,
            Some(Attested),
            PROVIDED,
            "customers_by_acceptance_status_and_name (tenant_id=? AND accepted_directly=? AND status=? AND (company_name,customer_id)>(?,?))",
        ),
        (
            CustomerSort::AttestedNewest,
            None,
            PROVIDED,
            "customers_by_acceptance_and_attestation (tenant_id=? AND accepted_directly=? AND (latest_attestation_on,customer_id)<(?,?))",
        ),
        (
            CustomerSort::AttestedOldest,
            Some(Attested),
            PROVIDED,
            "customers_by_acceptance_status_and_attestation (tenant_id=? AND accepted_directly=? AND status=? AND (latest_attestation_on,customer_id)>(?,?))",
        ),
    ];

    #[tokio::test]
    async fn every_order_reads_its_index_from_the_position_on_without_sorting() {
        let (store, _dir) = store().await;
        for (sort, status, acceptance, index) in ORDERS {
            let filter = CustomerFilter { status, acceptance, ..Default::default() };
            let query = CustomerQuery { filter, sort };
            let plan = plan(&store, &query, &Position::After(key(sort))).await;
            assert!(plan.contains(&format!("SEARCH c USING INDEX {index}")), "{query:?}: {plan}");
            assert!(!plan.contains("TEMP B-TREE") && !plan.contains("SCAN"), "{query:?}: {plan}");
            let last = self::plan(&store, &query, &Position::Last).await;
            assert!(!last.contains("TEMP B-TREE") && !last.contains("SCAN"), "{query:?}: {last}");
        }
    }

    #[tokio::test]
    async fn a_search_that_matches_many_checks_the_rows_of_the_order_instead() {
        let (store, _dir) = store().await;
        for search in ["wind", "w"] {
            for sort in CustomerSort::ALL {
                let filter = CustomerFilter { search: search.into(), ..Default::default() };
                let query = CustomerQuery { filter, sort };
                let plan = plan_of(&store, Reach::Many, &query, &Position::After(key(sort))).await;
                assert!(!plan.contains("TEMP B-TREE") && !plan.contains("SCAN"), "{query:?}: {plan}");
                assert!(!plan.contains("customers_search") && !plan.contains("search_prefix"), "{query:?}: {plan}");
            }
        }
    }

    #[tokio::test]
    async fn a_search_finds_the_same_rows_either_way() {
        let (store, _dir) = store().await;
        let mut tx = store.begin_write().await.expect("begin");
        for i in 0..1_005 {
            let name = format!("Customer {:04}", (i * 7919) % 1_005);
            sqlx::query(
                "INSERT INTO customers (tenant_id, customer_id, company_name, domain, search_text, status, status_reason, read_at) \
                 VALUES ('t1', $1, $2, 'd.example', lower($2), 'attested', '', 'x')",
            )
            .bind(format!("c{i:04}"))
            .bind(name)
            .execute(&mut *tx)
            .await
            .expect("insert");
        }
        tx.commit().await.expect("commit");
        // Before the trigrams are counted every search is rare; after, "customer" and
        // "er 0" are common (in 1,005 and 1,000 of the 1,005 customers): their matches
        // are counted on the rows, "er 0"'s all 1,000 of them.
        let uncounted = [("customer", Reach::Many, false), ("er 0", Reach::Few, true), ("c", Reach::Many, false)];
        let counted = [("customer", Reach::Many, false), ("er 0", Reach::Many, true), ("c", Reach::Many, false)];
        for (searches, counted_terms) in [(uncounted, false), (counted, true)] {
            if counted_terms {
                store.compact_search_index().await.expect("compact");
            }
            for (search, reach, all_counted) in searches {
                let filter = CustomerFilter { search: search.into(), ..Default::default() };
                let common =
                    matches!(store.search_breadth("t1", &filter, 1000).await.expect("breadth"), Breadth::Common { .. });
                assert_eq!(common, counted_terms && search != "c", "{search}, counted: {counted_terms}");
                assert_eq!(store.search_reach("t1", search).await.expect("reach"), reach, "{search}");
                the_same_rows_every_way(&store, search, all_counted).await;
            }
        }
    }

    /// The first two pages of a search in two orders, read through the search index, on
    /// the order's index and, when counted, from the matches' keys: the same rows.
    async fn the_same_rows_every_way(store: &Store, search: &str, all_counted: bool) {
        for sort in [CustomerSort::Name, CustomerSort::AttestedNewest] {
            let query = CustomerQuery { filter: CustomerFilter { search: search.into(), ..Default::default() }, sort };
            let counted = store.customer_search_counts("t1", &query.filter, SEARCH_COUNTED).await.expect("count");
            assert_eq!(counted.is_some(), all_counted, "{search}");
            if let Some(c) = &counted {
                assert_eq!(c.by_status, vec![("attested".to_string(), 1000)], "{search}");
            }
            let found = counted.and_then(|c| c.found);
            let mut pages = Vec::new();
            for reach in [Reach::Few, Reach::Many].into_iter().chain(found.as_deref().map(Reach::Found)) {
                let first = store.customer_page(("t1", reach), &query, &Position::First, 30).await.expect("page");
                let next = first.next(sort).expect("a next page");
                let second = store.customer_page(("t1", reach), &query, &next, 30).await.expect("page");
                let ids: Vec<_> = first.items.iter().chain(&second.items).map(|c| c.id.clone()).collect();
                pages.push(ids);
            }
            assert!(pages.iter().all(|p| *p == pages[0]), "{search} {sort:?}");
            assert_eq!(pages[0].len(), 60);
            assert_eq!(pages.len(), if all_counted { 3 } else { 2 }, "{search}: found when counted");
        }
    }

    #[tokio::test]
    async fn a_common_search_is_counted_on_the_index_of_the_search_text_alone() {
        let (store, _dir) = store().await;
        let filter = CustomerFilter { search: "portfolio".into(), ..Default::default() };
        let mut st = breadth_statement("t1", &filter, "portfolio", SEARCH_COUNTED);
        st.sql = format!("EXPLAIN QUERY PLAN {}", st.sql);
        let plan = st.read(&store, |r| r.try_get::<String, _>("detail")).await.expect("explain").join("\n");
        assert!(plan.contains("SEARCH c USING COVERING INDEX customers_by_search_prefix (tenant_id=?)"), "{plan}");
        assert!(plan.contains("SEARCH n USING PRIMARY KEY (term=?)"), "trigram counts by key: {plan}");
        assert!(plan.contains("SEARCH k USING"), "the kept counts of the tenant: {plan}");
        assert!(!plan.contains("customers_search "), "not the search index: {plan}");
    }

    async fn save_named(store: &Store, names: &[String]) {
        let verdict = crate::domain::StatusInputs::default().verdict(&Default::default());
        for (i, name) in names.iter().enumerate() {
            let c = crate::domain::Customer {
                id: format!("c{i:04}"),
                company_name: name.clone(),
                domain: format!("d{i}.example"),
                relationship: None,
                commerce_id: None,
                billing: None,
                associated_partner_id: None,
            };
            store.customer_save("t1", &c, None, &[], &verdict, chrono::Utc::now()).await.expect("save");
        }
    }

    #[tokio::test]
    async fn a_search_asks_the_index_for_its_two_rarest_trigrams_and_checks_the_whole_text() {
        let (store, _dir) = store().await;
        let mut names: Vec<String> = (0..60).map(|i| format!("Northwind {i:02}")).collect();
        names.push("Wind \"Quoted\" 7".into());
        names.push("Wind 7 North".into());
        save_named(&store, &names).await;
        store.compact_search_index().await.expect("compact");
        let sql = format!("SELECT {} AS q", rarest_trigrams("$1"));
        let store = &store;
        let chosen = |text: &str| {
            let st = Statement { sql: sql.clone(), binds: vec![Param::Text(trigrams_json(text))] };
            async move {
                let query = st.read(store, |r| r.try_get::<String, _>("q")).await.expect("rarest").remove(0);
                let mut terms: Vec<String> = query.split(" AND ").map(str::to_string).collect();
                terms.sort();
                terms
            }
        };
        assert_eq!(chosen("northwind 07").await, ["\" 07\"", "\"d 0\""], "the two counted least often");
        assert_eq!(chosen("zzz wind").await, ["\"zz \"", "\"zzz\""], "uncounted trigrams first");
        let searches =
            [("northwind 07", 1), ("wind 7", 1), ("\"quoted\"", 1), ("d 7 n", 1), ("north 07", 0), ("wind", 62)];
        for (search, found) in searches {
            let filter = CustomerFilter { search: search.into(), ..Default::default() };
            let counted = store.customer_search_counts("t1", &filter, 100).await.expect("count").expect("counted");
            assert_eq!(counted.by_status.iter().map(|(_, n)| n).sum::<i64>(), found, "{search}");
        }
    }

    #[tokio::test]
    async fn the_matches_of_a_search_are_counted_up_to_the_cap() {
        let (store, _dir) = store().await;
        let verdict = crate::domain::StatusInputs::default().verdict(&Default::default());
        save_named(&store, &(0..3).map(|i| format!("Northwind {i}")).collect::<Vec<_>>()).await;
        let filter = CustomerFilter { search: "wind".into(), ..Default::default() };
        let counted = store.customer_search_counts("t1", &filter, 3).await.expect("count");
        let counted = counted.expect("under the cap");
        assert_eq!(counted.by_status, vec![(verdict.status.key().to_string(), 3)]);
        let found: Vec<i64> = serde_json::from_str(&counted.found.expect("keys on SQLite")).expect("a JSON array");
        assert_eq!(found.len(), 3);
        assert!(store.customer_search_counts("t1", &filter, 2).await.expect("count").is_none(), "past the cap");
    }

    #[tokio::test]
    async fn a_search_reads_only_what_the_search_index_finds() {
        let (store, _dir) = store().await;
        for sort in CustomerSort::ALL {
            let filter = CustomerFilter { search: "wind".into(), status: Some(Attested), acceptance: None };
            let plan = plan(&store, &CustomerQuery { filter, sort }, &Position::After(key(sort))).await;
            assert!(plan.contains("SCAN customers_search VIRTUAL TABLE INDEX 0:M"), "{plan}");
            assert!(plan.contains("SEARCH n USING PRIMARY KEY (term=?)"), "trigram counts by key: {plan}");
            assert!(plan.contains("SEARCH c USING INDEX customers_by_search_key (search_key=?)"), "{plan}");
            assert!(!plan.lines().any(|l| l == "SCAN c" || l.starts_with("SCAN c ")), "{plan}");
            let query = CustomerQuery { filter: CustomerFilter { search: "wind".into(), ..Default::default() }, sort };
            let found = plan_of(&store, Reach::Found("[1,2]"), &query, &Position::After(key(sort))).await;
            assert!(found.contains("SCAN found VIRTUAL TABLE"), "{found}");
            assert!(found.contains("SEARCH c USING INDEX customers_by_search_key (search_key=?)"), "{found}");
            assert!(!found.contains("customers_search"), "{found}");
            let filter = CustomerFilter { search: "w".into(), ..Default::default() };
            let prefix = self::plan(&store, &CustomerQuery { filter, sort }, &Position::First).await;
            assert!(
                prefix.contains(
                    "SEARCH c USING INDEX customers_by_search_prefix (tenant_id=? AND search_text>? AND search_text<?)"
                ),
                "{prefix}"
            );
            assert!(!prefix.contains("SCAN"), "{prefix}");
        }
    }
}
