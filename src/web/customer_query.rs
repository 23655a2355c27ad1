//! The view of the customer list that an address carries: search, status and acceptance
//! filters, order, page size and position (`/customers?q=…&status=…&sort=…&size=…&after=…`),
//! read into the store's `CustomerQuery`, and written back into links. Anything the
//! portal does not know is left out (a status is said to be), so a bookmark always opens.

use serde::Deserialize;

use crate::domain::EffectiveStatus;
use crate::store::{Acceptance, CustomerFilter, CustomerQuery, CustomerSort, Position, SortKey};

/// The parameters as the address (or the Refresh list form) has them.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    pub q: Option<String>,
    pub status: Option<String>,
    pub acceptance: Option<String>,
    pub sort: Option<String>,
    pub size: Option<String>,
    pub after: Option<String>,
    pub before: Option<String>,
    /// The last page (`last=1`).
    pub last: Option<String>,
}

/// A view of the list, read from the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListView {
    pub query: CustomerQuery,
    pub page_size: i64,
    pub position: Position,
    /// A status in the address that is not one of the portal's, to say it was ignored.
    pub unknown_status: Option<String>,
    /// The same for "Customer acceptance through Microsoft".
    pub unknown_acceptance: Option<String>,
}

/// The page sizes offered: the configured one (25 unless set), 50 and 100.
pub fn page_sizes(configured: u32) -> Vec<i64> {
    let mut sizes = vec![i64::from(configured), 50, 100];
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

/// The search as typed, without control characters, trimmed, at most 100 characters.
pub fn search_text(typed: Option<&str>) -> String {
    let printable: String = typed.unwrap_or("").chars().filter(|c| !c.is_control()).collect();
    printable.trim().chars().take(100).collect()
}

fn key_of(typed: Option<&str>) -> String {
    typed.unwrap_or("").trim().to_ascii_lowercase()
}

impl ListQuery {
    /// The view the address asks for; `configured` is the default page size.
    pub fn view(&self, configured: u32) -> ListView {
        let status_key = key_of(self.status.as_deref());
        let status = EffectiveStatus::parse(&status_key);
        let sort = CustomerSort::parse(&key_of(self.sort.as_deref())).unwrap_or_default();
        let size = self.size.as_deref().and_then(|s| s.trim().parse::<i64>().ok());
        let page_size =
            size.filter(|s| page_sizes(configured).contains(s)).unwrap_or_else(|| i64::from(configured.max(1)));
        let key = |text: &Option<String>| text.as_deref().and_then(|t| SortKey::parse(sort, t));
        let position = match (key(&self.after), key(&self.before)) {
            (Some(k), _) => Position::After(k),
            (None, Some(k)) => Position::Before(k),
            (None, None) if self.last.as_deref() == Some("1") => Position::Last,
            (None, None) => Position::First,
        };
        let acceptance_key = key_of(self.acceptance.as_deref());
        let acceptance = Acceptance::parse(&acceptance_key);
        let filter = CustomerFilter { search: search_text(self.q.as_deref()), status, acceptance };
        ListView {
            query: CustomerQuery { filter, sort },
            page_size,
            position,
            unknown_status: (!status_key.is_empty() && status.is_none())
                .then(|| self.status.clone().unwrap_or_default()),
            unknown_acceptance: (!acceptance_key.is_empty() && acceptance.is_none())
                .then(|| self.acceptance.clone().unwrap_or_default()),
        }
    }
}

type Pairs = url::form_urlencoded::Serializer<'static, String>;

impl ListView {
    /// The search, filters and order of this view as address parameters.
    fn view_pairs(&self) -> Pairs {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        let filter = &self.query.filter;
        if !filter.search.is_empty() {
            s.append_pair("q", &filter.search);
        }
        if let Some(st) = filter.status {
            s.append_pair("status", st.key());
        }
        if let Some(a) = filter.acceptance {
            s.append_pair("acceptance", a.key());
        }
        if self.query.sort != CustomerSort::default() {
            s.append_pair("sort", self.query.sort.key());
        }
        s
    }

    /// The address of this view at `position` (the configured page size is left out).
    pub fn href(&self, position: &Position, configured: u32) -> String {
        let mut s = self.view_pairs();
        if self.page_size != i64::from(configured) {
            s.append_pair("size", &self.page_size.to_string());
        }
        match position {
            Position::First => {}
            Position::After(k) => {
                s.append_pair("after", &k.to_param());
            }
            Position::Before(k) => {
                s.append_pair("before", &k.to_param());
            }
            Position::Last => {
                s.append_pair("last", "1");
            }
        }
        with_query("/customers", s.finish())
    }

    /// The address of this view's CSV export: every customer of the view, in its order.
    pub fn export_href(&self) -> String {
        with_query("/customers/export.csv", self.view_pairs().finish())
    }
}

fn with_query(path: &str, qs: String) -> String {
    if qs.is_empty() { path.into() } else { format!("{path}?{qs}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> ListQuery {
        let qs = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        actix_web::web::Query::<ListQuery>::from_query(&qs).unwrap().into_inner()
    }

    #[test]
    fn the_page_sizes_are_the_configured_one_fifty_and_a_hundred() {
        assert_eq!(page_sizes(25), [25, 50, 100]);
        assert_eq!(page_sizes(50), [50, 100]);
        assert_eq!(page_sizes(10), [10, 50, 100]);
    }

    #[test]
    fn a_view_goes_to_its_address_and_back() {
        let id = "c0570000-5eed-4000-8000-000000000001";
        let after = format!("attested|A & B | C|{id}");
        let view = query(&[
            ("q", " Con "),
            ("status", "Attested"),
            ("acceptance", "not_provided"),
            ("sort", "status"),
            ("size", "50"),
            ("after", &after),
        ])
        .view(25);
        assert_eq!(view.query.filter.search, "Con");
        assert_eq!(view.query.filter.status, Some(EffectiveStatus::Attested));
        assert_eq!(view.query.filter.acceptance, Some(Acceptance::NotProvided));
        assert_eq!(view.query.sort, CustomerSort::Status);
        assert_eq!(view.page_size, 50);
        assert!(matches!(&view.position, Position::After(k) if k.to_param() == after));
        let href = view.href(&view.position, 25);
        let again = actix_web::web::Query::<ListQuery>::from_query(href.strip_prefix("/customers?").unwrap()).unwrap();
        assert_eq!(again.view(25), view);
        let export = view.export_href();
        let qs = export.strip_prefix("/customers/export.csv?").unwrap();
        assert!(!qs.contains("after=") && !qs.contains("size="), "the whole view, not a page: {export}");
        let exported = actix_web::web::Query::<ListQuery>::from_query(qs).unwrap().view(25);
        assert_eq!(exported.query, view.query);
    }

    #[test]
    fn what_the_portal_does_not_know_is_left_out() {
        let view = query(&[("status", "bogus"), ("sort", "x"), ("size", "7"), ("after", "nonsense")]).view(25);
        assert_eq!(view.unknown_status.as_deref(), Some("bogus"));
        let view = query(&[("acceptance", "maybe")]).view(25);
        assert_eq!((view.query.filter.acceptance, view.unknown_acceptance.as_deref()), (None, Some("maybe")));
        assert_eq!(query(&[("acceptance", "")]).view(25).unknown_acceptance, None, "an empty choice is All");
        assert_eq!(view.query, CustomerQuery::default());
        assert_eq!((view.page_size, &view.position), (25, &Position::First));
        assert_eq!(view.href(&Position::First, 25), "/customers");
    }
}
