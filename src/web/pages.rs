//! Page structs: one per screen, each with the shared `Layout`. Autoescaping stays on.

use askama::Template;

use super::session::SignedInUser;
use crate::domain::{EffectiveStatus, Permissions};
use crate::store::{CustomerPage, CustomerRecord, StatusCount};

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
    pub count: i64,
    pub selected: bool,
}

pub struct PagerLink {
    pub label: String,
    pub href: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "customers.html")]
pub struct CustomersPage {
    pub layout: Layout,
    pub list: CustomerPage,
    /// The rows of `list`, as the table shows them.
    pub rows: Vec<CustomerRow>,
    /// The re-attestation cutoff, for the legend of the statuses.
    pub cutoff: String,
    pub search: String,
    pub status_options: Vec<StatusOption>,
    pub status_filter: Option<EffectiveStatus>,
    /// A status in the address that is not one of ours, to say it was ignored.
    pub unknown_status: Option<String>,
    /// How many customers Partner Center listed but did not let us read.
    pub not_read: i64,
    /// A refresh of all customers under way, or the reason the last one stopped.
    pub progress: Option<crate::workflows::RefreshProgress>,
    pub total_customers: i64,
    pub total_label: String,
    pub current_page: i64,
    pub synced_at: Option<String>,
    pub previous: Option<String>,
    pub next: Option<String>,
    pub pages: Vec<PagerLink>,
    pub first_shown: i64,
    pub last_shown: i64,
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

    pub fn counts(counts: &[StatusCount], selected: Option<EffectiveStatus>) -> Vec<StatusOption> {
        counts
            .iter()
            .map(|c| StatusOption {
                key: c.status.key(),
                label: c.status.label(),
                count: c.count,
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
