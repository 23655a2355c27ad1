//! The partner's own invitation wording: one per tenant, kind and language, replaced on save,
//! listed per tenant, removed.

use mca_portal::domain::invitation::{InvitationKind, Wording};
use mca_portal::store::Store;

on_both_databases!(
    a_saved_wording_is_read_back_and_a_second_save_replaces_it,
    wordings_are_listed_per_tenant_by_kind_and_language,
    removing_takes_one_wording_and_says_whether_there_was_one,
);

fn wording(subject: &str) -> Wording {
    Wording { subject: subject.into(), body: "Grüße, {partner_name}:\n{link}\n".into() }
}

async fn a_saved_wording_is_read_back_and_a_second_save_replaces_it(s: &Store) {
    let kind = InvitationKind::AdminCenter;
    assert!(s.invitation_template("t1", kind, "de").await.unwrap().is_none());
    s.invitation_template_save("t1", kind, "de", &wording("Erste"), "Alex Admin").await.unwrap();
    let first = s.invitation_template("t1", kind, "de").await.unwrap().expect("kept");
    assert_eq!(first.wording, wording("Erste"));
    assert_eq!((first.kind, first.language.as_str(), first.updated_by_name.as_str()), (kind, "de", "Alex Admin"));
    s.invitation_template_save("t1", kind, "de", &wording("Zweite"), "Gloria Global").await.unwrap();
    let second = s.invitation_template("t1", kind, "de").await.unwrap().expect("kept");
    assert_eq!(second.wording.subject, "Zweite");
    assert_eq!(second.updated_by_name, "Gloria Global");
    assert!(second.updated_at >= first.updated_at);
    assert!(s.invitation_template("t1", kind, "en").await.unwrap().is_none(), "another language is apart");
    assert!(s.invitation_template("t2", kind, "de").await.unwrap().is_none(), "another tenant sees nothing");
    assert_eq!(s.invitation_templates("t1").await.unwrap().len(), 1, "replaced, not added");
}

async fn wordings_are_listed_per_tenant_by_kind_and_language(s: &Store) {
    for (kind, language) in [
        (InvitationKind::Relationship, "nl"),
        (InvitationKind::AdminCenter, "en"),
        (InvitationKind::Relationship, "de"),
    ] {
        s.invitation_template_save("t1", kind, language, &wording(language), "Alex Admin").await.unwrap();
    }
    s.invitation_template_save("t2", InvitationKind::AcceptanceLink, "en", &wording("x"), "Fiona").await.unwrap();
    let listed: Vec<(String, String)> = s
        .invitation_templates("t1")
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.kind.as_str().to_string(), r.language))
        .collect();
    let expected = [("admin_center", "en"), ("relationship", "de"), ("relationship", "nl")];
    assert_eq!(listed, expected.map(|(k, l)| (k.to_string(), l.to_string())));
    assert_eq!(s.invitation_templates("t2").await.unwrap().len(), 1);
}

async fn removing_takes_one_wording_and_says_whether_there_was_one(s: &Store) {
    let kind = InvitationKind::AcceptanceLink;
    s.invitation_template_save("t1", kind, "de", &wording("a"), "Alex Admin").await.unwrap();
    s.invitation_template_save("t1", kind, "en", &wording("b"), "Alex Admin").await.unwrap();
    s.invitation_template_save("t2", kind, "de", &wording("c"), "Fiona").await.unwrap();
    assert!(s.invitation_template_remove("t1", kind, "de").await.unwrap());
    assert!(!s.invitation_template_remove("t1", kind, "de").await.unwrap(), "nothing left to remove");
    assert!(s.invitation_template("t1", kind, "en").await.unwrap().is_some(), "English stays");
    assert!(s.invitation_template("t2", kind, "de").await.unwrap().is_some(), "the other tenant's stays");
}
