//! Invitations: kept without change, listed newest first page after page with every row
//! once (ties in time included), filtered by kind, creator, customer and state; marked
//! accepted by a direct acceptance, a completed acceptance link or a new customer of the
//! same company name, and only those.

use chrono::{Duration, Utc};
use mca_portal::domain::invitation::InvitationKind;
use mca_portal::store::{InvitationAction, InvitationFilter, InvitationStateFilter, NewInvitation, Store};

use super::{customer, save};

on_both_databases!(
    pages_follow_each_other_with_every_invitation_once,
    filters_narrow_the_list,
    acceptances_mark_only_their_own_invitations,
);

const TENANT: &str = "tenant-a";

fn invitation(n: usize, kind: InvitationKind, customer_id: Option<&str>, company: &str, by: &str) -> NewInvitation {
    NewInvitation {
        id: format!("inv-{n:03}"),
        tenant_id: TENANT.into(),
        kind,
        customer_id: customer_id.map(String::from),
        company_name: company.into(),
        recipient: "zoe@example.com".into(),
        link: "https://admin.microsoft.com/x".into(),
        subject: "Subject".into(),
        body: "Body with https://admin.microsoft.com/x".into(),
        language: "en".into(),
        submission_id: None,
        with_partner_id: None,
        with_partner_name: None,
        reseller_id: None,
        created_by_oid: by.into(),
        created_by_name: format!("Agent {by}"),
    }
}

async fn pages_follow_each_other_with_every_invitation_once(s: &Store) {
    let t0 = Utc::now();
    for n in 0..7 {
        // Three share one time: the id orders them.
        let at = if n < 3 { t0 } else { t0 + Duration::seconds(n as i64) };
        s.invitation_insert(&invitation(n, InvitationKind::AdminCenter, Some("c1"), "Contoso", "o1"), at)
            .await
            .unwrap();
    }
    let other =
        NewInvitation { tenant_id: "tenant-b".into(), ..invitation(99, InvitationKind::AdminCenter, None, "X", "o1") };
    s.invitation_insert(&other, t0).await.unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = s.invitations_page(TENANT, &InvitationFilter::default(), after.clone(), 3).await.unwrap();
        if page.is_empty() {
            break;
        }
        let last = page.last().unwrap();
        after = Some((last.created_at, last.invitation.id.clone()));
        seen.extend(page.into_iter().map(|r| r.invitation.id));
    }
    let expected: Vec<String> = [6, 5, 4, 3, 2, 1, 0].iter().map(|n| format!("inv-{n:03}")).collect();
    assert_eq!(seen, expected, "newest first, ties by id, each once, no other tenant's");
    let kept = s.invitation_get(TENANT, "inv-004").await.unwrap().unwrap();
    assert_eq!(kept.invitation.body, "Body with https://admin.microsoft.com/x");
    assert!(s.invitation_get("tenant-b", "inv-004").await.unwrap().is_none(), "another tenant reads nothing");
}

async fn filters_narrow_the_list(s: &Store) {
    let t0 = Utc::now();
    s.invitation_insert(&invitation(1, InvitationKind::AdminCenter, Some("c1"), "Zoë 100% Trading", "o1"), t0)
        .await
        .unwrap();
    s.invitation_insert(&invitation(2, InvitationKind::Relationship, None, "Prospect_Co", "o2"), t0).await.unwrap();
    s.invitation_insert(&invitation(3, InvitationKind::AcceptanceLink, Some("c3"), "Third", "o1"), t0).await.unwrap();
    s.invitation_mark(TENANT, "inv-003", InvitationAction::Sent, t0).await.unwrap();
    let ids = |f: InvitationFilter| async move {
        let page = s.invitations_page(TENANT, &f, None, 50).await.unwrap();
        let mut ids: Vec<String> = page.into_iter().map(|r| r.invitation.id).collect();
        ids.sort();
        ids
    };
    assert_eq!(
        ids(InvitationFilter { kind: Some(InvitationKind::Relationship), ..Default::default() }).await,
        ["inv-002"]
    );
    assert_eq!(
        ids(InvitationFilter { creator_oid: Some("o1".into()), ..Default::default() }).await,
        ["inv-001", "inv-003"]
    );
    assert_eq!(ids(InvitationFilter { customer: Some("c3".into()), ..Default::default() }).await, ["inv-003"]);
    assert_eq!(ids(InvitationFilter { customer: Some("ZOË 100%".into()), ..Default::default() }).await, ["inv-001"]);
    assert_eq!(
        ids(InvitationFilter { customer: Some("%".into()), ..Default::default() }).await,
        ["inv-001"],
        "% is a character"
    );
    assert_eq!(ids(InvitationFilter { customer: Some("t_c".into()), ..Default::default() }).await, ["inv-002"]);
    let wildcard = InvitationFilter { customer: Some("p_ospect".into()), ..Default::default() };
    assert_eq!(ids(wildcard).await, Vec::<String>::new(), "_ is a character, not any character");
    let sent = InvitationFilter { state: Some(InvitationStateFilter::Sent), ..Default::default() };
    assert_eq!(ids(sent).await, ["inv-003"]);
    let unused = InvitationFilter { state: Some(InvitationStateFilter::NotUsed), ..Default::default() };
    assert_eq!(ids(unused).await, ["inv-001", "inv-002"]);
    assert!(s.invitation_note_set(TENANT, "inv-002", "Order 4711").await.unwrap());
    assert!(!s.invitation_note_set("tenant-b", "inv-002", "x").await.unwrap(), "not another tenant's");
    assert_eq!(s.invitation_get(TENANT, "inv-002").await.unwrap().unwrap().reference_note, "Order 4711");
}

async fn acceptances_mark_only_their_own_invitations(s: &Store) {
    let t0 = Utc::now();
    s.invitation_insert(&invitation(1, InvitationKind::AdminCenter, Some("c1"), "One", "o1"), t0).await.unwrap();
    s.invitation_insert(&invitation(2, InvitationKind::AdminCenter, Some("c2"), "Two", "o1"), t0).await.unwrap();
    let linked = NewInvitation {
        submission_id: Some("sub-9".into()),
        ..invitation(3, InvitationKind::AcceptanceLink, Some("c2"), "Two", "o1")
    };
    s.invitation_insert(&linked, t0).await.unwrap();
    s.invitation_insert(&invitation(4, InvitationKind::Relationship, None, "Zephyr Kite Works", "o1"), t0)
        .await
        .unwrap();
    s.invitation_insert(&invitation(5, InvitationKind::Relationship, None, "Nobody Yet", "o1"), t0).await.unwrap();
    let accepted =
        |id: &'static str| async move { s.invitation_get(TENANT, id).await.unwrap().unwrap().accepted_at.is_some() };
    // A read that finds no direct acceptance marks nothing.
    s.invitations_note_mca_acceptance(TENANT, "c1", false, t0).await.unwrap();
    assert!(!accepted("inv-001").await);
    assert_eq!(s.invitations_note_mca_acceptance(TENANT, "c1", true, t0).await.unwrap(), 1);
    assert!(accepted("inv-001").await && !accepted("inv-002").await);
    assert_eq!(s.invitations_note_link_accepted(TENANT, "sub-9", t0).await.unwrap(), 1);
    assert!(accepted("inv-003").await && !accepted("inv-002").await, "only the link's own invitation");
    save(s, TENANT, &customer("new-1", "zephyr KITE works", "zephyr.onmicrosoft.com"), false, &[]).await;
    assert_eq!(s.invitations_match_relationships(TENANT, t0).await.unwrap(), 1);
    let matched = s.invitation_get(TENANT, "inv-004").await.unwrap().unwrap();
    assert_eq!(matched.accepted_customer_id.as_deref(), Some("new-1"));
    assert_eq!(matched.invitation.customer_id.as_deref(), Some("new-1"));
    assert!(!accepted("inv-005").await);
    assert_eq!(s.invitations_match_relationships(TENANT, t0).await.unwrap(), 0, "once");
}
