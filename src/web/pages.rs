//! Page structs: one per screen, each with the shared `Layout`. Autoescaping stays on.

use askama::Template;

use super::session::SignedInUser;
use crate::domain::{EffectiveStatus, Permissions};
use crate::store::{CustomerRecord, StatusCounts};

#[derive(Debug, Clone)]
pub struct LayoutUser {
    pub name: String,
    pub role_label: String,
    pub partner_name: String,
    pub partner_type_label: String,
}

/// What every page's frame needs. `Debug` does not show the CSRF token.
#[derive(Clone)]
pub struct Layout {
    pub title: String,
    pub user: Option<LayoutUser>,
    pub csrf: String,
    pub flash: Option<String>,
    pub permissions: Permissions,
}

impl std::fmt::Debug for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layout")
            .field("title", &self.title)
            .field("user", &self.user)
            .field("csrf", &"[redacted]")
            .field("flash", &self.flash)
            .field("permissions", &self.permissions)
            .finish()
    }
}

impl Layout {
    pub fn anonymous(title: &str) -> Layout {
        Layout {
            title: title.to_string(),
            user: None,
            csrf: String::new(),
            flash: None,
            permissions: Permissions::default(),
        }
    }

    pub fn signed(title: &str, user: &SignedInUser, csrf: String, flash: Option<String>) -> Layout {
        Layout {
            title: title.to_string(),
            user: Some(LayoutUser {
                name: user.name.clone(),
                role_label: user.roles.label(),
                partner_name: user.partner_name.clone(),
                partner_type_label: user.partner_type.label().to_string(),
            }),
            csrf,
            flash,
            permissions: user.permissions(),
        }
    }
}

#[derive(Template)]
#[template(path = "landing.html")]
pub struct LandingPage {
    pub layout: Layout,
    pub signed_out: bool,
    pub sandbox: bool,
}

#[derive(Template)]
#[template(path = "no_access.html")]
pub struct NoAccessPage {
    pub layout: Layout,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub status: u16,
    pub message: String,
    pub request_id: String,
    pub upstream_code: Option<String>,
    pub upstream_request_id: Option<String>,
    /// Text of the identity provider, quoted after the portal's own sentence.
    pub quoted_detail: Option<String>,
    pub action: Option<(&'static str, String)>,
}

/// One option of the status filter.
pub struct StatusOption {
    pub key: &'static str,
    pub label: &'static str,
    /// None when a search matched more customers than are counted.
    pub count: Option<i64>,
    pub selected: bool,
}

/// An option of a select that has no count: acceptance, order, page size.
pub struct Choice {
    pub key: String,
    pub label: String,
    pub selected: bool,
}

/// A field of the list's view, for the forms that must come back to it.
pub struct HiddenField {
    pub name: &'static str,
    pub value: String,
}

#[derive(Template)]
#[template(path = "customers.html")]
pub struct CustomersPage {
    pub layout: Layout,
    /// The page of the list, as the table shows it.
    pub rows: Vec<CustomerRow>,
    /// The CSV export of this view (its search, filters and order).
    pub export_href: String,
    /// The re-attestation cutoff, for the legend of the statuses.
    pub cutoff: String,
    pub search: String,
    /// A search short enough to look only at the beginning of company names.
    pub search_is_prefix: bool,
    pub status_options: Vec<StatusOption>,
    pub status_filter: Option<EffectiveStatus>,
    pub acceptance_options: Vec<Choice>,
    /// The acceptance filter's words ("Not read yet"), when the list is filtered by it.
    pub acceptance_filter: Option<&'static str>,
    pub sort_options: Vec<Choice>,
    pub size_options: Vec<Choice>,
    /// The column the list is sorted by ("name", "status", "attested") and its
    /// direction for `aria-sort`.
    pub sorted_by: (&'static str, &'static str),
    /// Something filters the list (search, status or acceptance).
    pub filtered: bool,
    /// A status in the address that is not one of ours, to say it was ignored.
    pub unknown_status: Option<String>,
    pub unknown_acceptance: Option<String>,
    /// How many customers Partner Center listed but did not let us read.
    pub not_read: i64,
    /// A refresh of all customers under way, or the reason the last one stopped.
    pub progress: Option<crate::workflows::RefreshProgress>,
    /// "All statuses (36)", "All statuses (2 matching)", "All statuses".
    pub all_statuses_label: String,
    /// "Showing 25 of 36 customers."
    pub showing: String,
    pub synced_at: Option<String>,
    pub first: Option<String>,
    pub previous: Option<String>,
    pub next: Option<String>,
    pub last: Option<String>,
    /// The view, for Refresh list to come back to.
    pub view_fields: Vec<HiddenField>,
    /// The indirect reseller column (indirect providers only).
    pub show_reseller: bool,
    /// The newest new customers not created yet (none: the section is not shown).
    pub new_customers: Vec<NewCustomerRow>,
    /// How many more there are than those shown.
    pub new_customers_more: i64,
}

/// A row of the customer list.
pub struct CustomerRow {
    pub id: String,
    pub company_name: String,
    pub domain: String,
    pub status: EffectiveStatus,
    /// Partner Center's "Customer acceptance through Microsoft": "Provided", "Not
    /// provided" or "Not read yet".
    pub acceptance: &'static str,
    /// When it was added with Add customer, for one added after the last complete read.
    pub added_here: Option<String>,
    /// The latest attestation's date (year-month-day); `None` when never attested.
    pub attested_on: Option<String>,
    /// The partner user who made it, by name when that user has signed in here.
    pub attested_by: Option<String>,
    /// What is said when there is no name: no attestation, no user recorded, or a user
    /// who has not signed in here (then with `attested_by_id`).
    pub attested_by_note: &'static str,
    pub attested_by_id: Option<String>,
    /// The indirect reseller: its name where the portal knows it, else its id; None
    /// when Partner Center did not name one.
    pub reseller: Option<String>,
    /// Whether Microsoft lets the customer transact today: "Can transact" or "Blocked".
    pub readiness: &'static str,
}

/// A new customer not created yet, as the Customers page lists it.
pub struct NewCustomerRow {
    /// "Pending", "Needs sign-in" or "Failed".
    pub state: &'static str,
    pub company_name: String,
    pub domain: String,
    pub by: String,
    pub saved: String,
    /// Where it stands, in a sentence: the portal's reason for a failed one.
    pub detail: Option<String>,
    /// The address of Send now, for one that waits for a sign-in (attesters only).
    pub send_now_href: Option<String>,
}

impl CustomersPage {
    /// A refresh of all customers is under way.
    pub fn reading(&self) -> bool {
        self.progress.as_ref().is_some_and(|p| p.running)
    }

    /// `aria-sort` of a column header: "ascending", "descending" or "none".
    pub fn aria_sort(&self, column: &str) -> &'static str {
        if self.sorted_by.0 == column { self.sorted_by.1 } else { "none" }
    }

    pub fn counts(counts: &StatusCounts, selected: Option<EffectiveStatus>) -> Vec<StatusOption> {
        counts
            .by_status
            .iter()
            .map(|c| StatusOption {
                key: c.status.key(),
                label: c.status.label(),
                count: counts.complete.then_some(c.count),
                selected: Some(c.status) == selected,
            })
            .collect()
    }
}

/// One of the portal's own submissions for a customer, as the account page lists it.
pub struct SubmissionView {
    pub state: &'static str,
    /// "New customer" or "Attestation".
    pub what: &'static str,
    pub saved: String,
    pub contact: String,
    pub date_agreed: String,
    /// An enhanced attestation: the customer's acceptance at the link dates the agreement.
    pub at_link: bool,
    pub by: String,
    pub detail: Option<String>,
    /// The address to correct and send again, for a failed one.
    pub correct_href: Option<String>,
    /// The address of Send now, for one that waits for a sign-in (attesters only).
    pub send_now_href: Option<String>,
    /// Enhanced attestation waiting for the customer (attesters only): its link.
    pub acceptance_link: String,
    pub key: String,
}

#[derive(Template)]
#[template(path = "customer.html")]
pub struct CustomerAccountPage {
    pub layout: Layout,
    pub submissions: Vec<SubmissionView>,
    pub reseller_note: Option<String>,
    pub record: CustomerRecord,
    /// Can transact or Blocked today, with the reasons and the blocked actions.
    pub readiness: crate::domain::ReadinessVerdict,
    /// The sentence before the blocked actions.
    pub blocked_lead: Option<&'static str>,
    pub relationship: Option<String>,
    pub read_at: String,
    pub today_utc: String,
    /// Edit makes an enhanced attestation: the customer accepts at a link.
    pub enhanced: bool,
    pub latest_invitation: Option<LatestInvitation>,
    /// Invite to accept the MCA: an inviter, for a customer who has not accepted directly.
    pub can_invite_to_accept: bool,
}

/// The customer's newest invitation, on its page.
pub struct LatestInvitation {
    pub id: String,
    pub state_key: &'static str,
    pub state: String,
}

impl LatestInvitation {
    pub fn of(r: &crate::store::InvitationRecord) -> Self {
        let (state_key, state) = super::invitations::pages::state_of(r);
        LatestInvitation { id: r.invitation.id.clone(), state_key, state }
    }
}

/// 100036 as "100,036".
pub fn thousands(n: impl std::borrow::Borrow<i64>) -> String {
    // Borrow: templates hold a count by value or by reference, as askama gives it.
    let n = *n.borrow();
    let digits = n.unsigned_abs().to_string();
    let mut out = String::from(if n < 0 { "-" } else { "" });
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "1 customer", "100,036 customers".
pub fn customers_count(n: i64) -> String {
    if n == 1 { "1 customer".into() } else { format!("{} customers", thousands(n)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_written_with_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(100_036), "100,036");
        assert_eq!(thousands(-1200), "-1,200");
        assert_eq!(customers_count(1), "1 customer");
        assert_eq!(customers_count(20_011), "20,011 customers");
    }
}
