//! What the invitation pages show: the editor (subject and body to change, copy, open in
//! the mail program or send), the list, and one invitation's state in words.

use askama::Template;
use chrono::{DateTime, Utc};

use crate::domain::invitation::{Invitation, InvitationKind};
use crate::store::InvitationRecord;
use crate::web::pages::Layout;

/// The editable email of one invitation.
pub struct InvitationEditor {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub body: String,
    /// The link the body must keep.
    pub link: String,
    /// The `mailto:` address, when short enough for mail programs.
    pub mailto: Option<String>,
    pub link_missing: bool,
    /// Only on Add customer's confirmation: kept out of what is stored.
    pub password: Option<String>,
    /// Admin and Sales agents change and use it; others read it.
    pub can_edit: bool,
    /// SMTP is configured.
    pub can_send: bool,
    /// Why the last try to send did not work, or a form error.
    pub problem: Option<String>,
    /// What was just done, when the page is shown again rather than redirected to.
    pub notice: Option<String>,
    /// Why the recipient was refused, shown by the To field.
    pub to_error: Option<String>,
    pub rows: usize,
}

impl InvitationEditor {
    pub fn of(id: &str, link: &str, email: &Invitation, can_edit: bool, can_send: bool) -> Self {
        InvitationEditor {
            id: id.to_string(),
            to: email.to.clone(),
            subject: email.subject.clone(),
            body: email.body.clone(),
            link: link.to_string(),
            mailto: email.mailto_if_it_fits(),
            link_missing: email.lacks_link(link),
            password: None,
            can_edit,
            can_send,
            problem: None,
            notice: None,
            to_error: None,
            rows: email.body.lines().map(|l| 1 + l.chars().count() / 80).sum::<usize>().clamp(8, 40),
        }
    }
}

/// An invitation's state in words, and the key the list filters and tests read.
pub fn state_of(r: &InvitationRecord) -> (&'static str, String) {
    let day = |t: &DateTime<Utc>| t.format("%Y-%m-%d").to_string();
    let waiting = match r.invitation.kind {
        InvitationKind::Relationship => "waiting for the customer to accept the relationship",
        _ => "waiting for the customer",
    };
    let used = match (r.sent_at, r.opened_at, r.copied_at) {
        (Some(t), _, _) => format!("sent on {}", day(&t)),
        (None, Some(t), _) => format!("opened in email on {}", day(&t)),
        (None, None, Some(t)) => format!("copied on {}", day(&t)),
        (None, None, None) => "not copied, opened or sent yet".to_string(),
    };
    match r.accepted_at {
        Some(t) => ("accepted", format!("Accepted on {}", day(&t))),
        None => (
            "waiting",
            format!("Invited on {} by {}, {waiting}; {used}", day(&r.created_at), r.invitation.created_by_name),
        ),
    }
}

#[derive(Template)]
#[template(path = "invitation.html")]
pub struct InvitationPage {
    pub layout: Layout,
    pub record: InvitationRecord,
    pub kind_title: &'static str,
    pub state_key: &'static str,
    pub state: String,
    pub ed: InvitationEditor,
    pub created: String,
    /// The reference note as typed (kept when refused) and why it was refused.
    pub note_text: String,
    pub note_error: Option<String>,
}

/// A row of the invitations list.
pub struct InvitationRow {
    pub id: String,
    pub created: String,
    pub kind: &'static str,
    pub company_name: String,
    pub customer_id: Option<String>,
    pub recipient: String,
    pub by: String,
    pub state_key: &'static str,
    pub state: String,
    pub note: String,
}

impl InvitationRow {
    pub fn of(r: &InvitationRecord) -> Self {
        let (state_key, state) = state_of(r);
        let i = &r.invitation;
        InvitationRow {
            id: i.id.clone(),
            created: r.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            kind: match i.kind {
                InvitationKind::AdminCenter => "Accept the MCA (admin center)",
                InvitationKind::Relationship => "New relationship",
                InvitationKind::AcceptanceLink => "Accept the MCA (acceptance link)",
            },
            company_name: i.company_name.clone(),
            customer_id: i.customer_id.clone(),
            recipient: i.recipient.clone(),
            by: i.created_by_name.clone(),
            state_key,
            state,
            note: r.reference_note.clone(),
        }
    }
}

/// A choice of a filter's select.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "invitations.html")]
pub struct InvitationsPage {
    pub layout: Layout,
    pub rows: Vec<InvitationRow>,
    pub kinds: Vec<Choice>,
    pub states: Vec<Choice>,
    pub creators: Vec<Choice>,
    pub customer: String,
    pub filtered: bool,
    pub first_page_href: Option<String>,
    pub next_href: Option<String>,
}
