//! The partner's own wording of each kind of invitation, per language (Admin agents only):
//! listed, saved when it passes the domain's checks, removed (a language's wording, or a
//! reset of English to the built-in one) and previewed against a sample customer. Every
//! save and removal is written to the audit log, saying what changed
//! (docs/invitations.md, "Wording per language").

use super::{WorkflowResult, Workflows, audit_of};
use crate::domain::PartnerUser;
use crate::domain::invitation::{self, Invitation, InvitationKind, Values, Wording, WordingProblem};
use crate::domain::new_customer::CULTURES;
use crate::store::TemplateRecord;

/// A language the partner may write wording in: its code (`de`) and its name (`German`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WordingLanguage {
    pub code: &'static str,
    pub name: &'static str,
}

/// The languages offered for wording: those of the cultures a customer can have, English
/// first, each once.
pub fn wording_languages() -> Vec<WordingLanguage> {
    let mut out: Vec<WordingLanguage> = Vec::new();
    for (_, code, culture_name) in CULTURES {
        if out.iter().all(|l| l.code != code) {
            let name = culture_name.split(" (").next().unwrap_or(culture_name);
            out.push(WordingLanguage { code, name });
        }
    }
    out
}

/// The offered language with this code.
pub fn wording_language(code: &str) -> Option<WordingLanguage> {
    wording_languages().into_iter().find(|l| l.code == code)
}

/// Why a wording settings request can't be carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WordingRefusal {
    NotAllowed,
    UnknownLanguage,
    /// Add a language: the partner has it already.
    AlreadyThere(&'static str),
    /// Save: the wording breaks these rules; nothing was kept.
    Problems(Vec<WordingProblem>),
    /// Remove: there was nothing of the partner's own to remove.
    NothingToRemove,
}

impl WordingRefusal {
    pub fn message(&self) -> String {
        match self {
            WordingRefusal::NotAllowed => "Only Admin agents can change the wording of invitations.".into(),
            WordingRefusal::UnknownLanguage => "Choose one of the languages in the list.".into(),
            WordingRefusal::AlreadyThere(name) => {
                format!("{name} is already in the list: choose Edit beside one of its kinds to change its wording.")
            }
            WordingRefusal::Problems(p) => format!("The wording has {} problem(s); it was not saved.", p.len()),
            WordingRefusal::NothingToRemove => "There is no wording of your own to remove here.".into(),
        }
    }
}

/// One kind in one language: the partner's own wording when it has one.
#[derive(Debug, Clone)]
pub struct KindWording {
    pub kind: InvitationKind,
    pub own: Option<TemplateRecord>,
}

/// A language the partner has (English always), with each kind.
#[derive(Debug, Clone)]
pub struct LanguageWordings {
    pub language: WordingLanguage,
    pub kinds: Vec<KindWording>,
}

/// The wording of one kind in one language as the edit form starts: the partner's own,
/// else what customers of that language get today.
#[derive(Debug, Clone)]
pub struct WordingDraft {
    pub language: WordingLanguage,
    pub kind: InvitationKind,
    pub own: Option<TemplateRecord>,
    pub wording: Wording,
    /// What customers of this language get while the partner has no wording of its own.
    pub fallback: Fallback,
}

/// The wording a language falls back to while the partner has none of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// The partner's own English wording.
    PartnersEnglish,
    /// The portal's built-in (English) wording.
    BuiltIn,
}

impl Fallback {
    pub fn label(self) -> &'static str {
        match self {
            Fallback::PartnersEnglish => "your English wording",
            Fallback::BuiltIn => "the built-in wording",
        }
    }
}

/// What a save did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Saved {
    /// Kept; the sentence the audit log has.
    Changed(String),
    /// The partner's wording was already exactly this: nothing was written.
    Unchanged,
}

/// What a removal takes away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// One kind in one language; for English, a reset to the built-in wording.
    Wording(InvitationKind),
    /// Every kind of a language other than English.
    Language,
}

/// The fixed customer a preview is written for.
pub const SAMPLE_COMPANY: &str = "Northwind Traders";
pub const SAMPLE_CONTACT_FIRST: &str = "Avery";
pub const SAMPLE_CONTACT_LAST: &str = "Example";
pub const SAMPLE_RECIPIENT: &str = "avery.example@northwindtraders.example";
const SAMPLE_SIGN_IN_NAME: &str = "admin@northwindtraders.onmicrosoft.com";
const SAMPLE_WITH_PARTNER: &str = "Wide World Importers";
const SAMPLE_ACCEPTANCE_LINK: &str = "https://example.com/sample-acceptance-link";

/// The placeholders' values of the preview: the sample customer, the signed-in partner and
/// agent, and a sample link of the kind.
fn sample_values(user: &PartnerUser, kind: InvitationKind) -> Values {
    let link = match kind {
        InvitationKind::AdminCenter => invitation::ADMIN_CENTER_AGREEMENT_LINK.to_string(),
        // Partner Center's format of a reseller relationship invitation (docs/partner-center.md).
        InvitationKind::Relationship => format!(
            "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship&partnerId={}&msppId=0&DAP=false#/BillingAccounts/partner-invitation",
            user.tenant_id
        ),
        InvitationKind::AcceptanceLink => SAMPLE_ACCEPTANCE_LINK.to_string(),
    };
    let mut v = super::invitations::values_for(user, SAMPLE_COMPANY, SAMPLE_CONTACT_FIRST, SAMPLE_CONTACT_LAST, &link);
    v.sign_in = invitation::sign_in_line(Some(SAMPLE_SIGN_IN_NAME), None);
    v.with_partner = invitation::with_partner(Some(SAMPLE_WITH_PARTNER), None);
    v
}

/// The wording as typed, with line breaks as `\n` and the subject on one line.
pub fn typed_wording(subject: &str, body: &str) -> Wording {
    Wording { subject: subject.replace(['\r', '\n'], " ").trim().to_string(), body: body.replace("\r\n", "\n") }
}

/// How a text changed, for the audit log: "subject changed (52 → 48 characters)".
fn change_of(field: &str, before: &str, after: &str) -> String {
    let (b, a) = (before.chars().count(), after.chars().count());
    if before == after {
        format!("{field} unchanged ({a} characters)")
    } else {
        format!("{field} changed ({b} → {a} characters)")
    }
}

/// "Accept the MCA in the Microsoft 365 admin center, German (de)".
fn what(kind: InvitationKind, language: WordingLanguage) -> String {
    format!("{}, {} ({})", kind.title(), language.name, language.code)
}

impl Workflows {
    fn admin_and_language(user: &PartnerUser, code: &str) -> Result<WordingLanguage, WordingRefusal> {
        if !user.permissions().can_admin {
            return Err(WordingRefusal::NotAllowed);
        }
        wording_language(code).ok_or(WordingRefusal::UnknownLanguage)
    }

    /// Each language the partner has wording in (English always first), with every kind.
    #[tracing::instrument(skip_all, fields(tenant_id = %user.tenant_id), err(level = "warn"))]
    pub async fn invitation_wordings(
        &self,
        user: &PartnerUser,
    ) -> WorkflowResult<Result<Vec<LanguageWordings>, WordingRefusal>> {
        if !user.permissions().can_admin {
            return Ok(Err(WordingRefusal::NotAllowed));
        }
        let records = self.store.invitation_templates(&user.tenant_id).await?;
        let mut languages: Vec<WordingLanguage> = wording_languages()
            .into_iter()
            .filter(|l| l.code == invitation::DEFAULT_LANGUAGE || records.iter().any(|r| r.language == l.code))
            .collect();
        languages[1..].sort_by_key(|l| l.name);
        let out = languages
            .into_iter()
            .map(|language| LanguageWordings {
                language,
                kinds: InvitationKind::ALL
                    .into_iter()
                    .map(|kind| KindWording {
                        kind,
                        own: records.iter().find(|r| r.kind == kind && r.language == language.code).cloned(),
                    })
                    .collect(),
            })
            .collect();
        Ok(Ok(out))
    }

    /// Add a language: a language the partner has no wording in yet. Nothing is kept until
    /// the first wording of the language is saved.
    pub async fn new_wording_language(
        &self,
        user: &PartnerUser,
        code: &str,
    ) -> WorkflowResult<Result<WordingLanguage, WordingRefusal>> {
        let language = match Self::admin_and_language(user, code) {
            Ok(l) => l,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let records = self.store.invitation_templates(&user.tenant_id).await?;
        if language.code == invitation::DEFAULT_LANGUAGE || records.iter().any(|r| r.language == language.code) {
            return Ok(Err(WordingRefusal::AlreadyThere(language.name)));
        }
        Ok(Ok(language))
    }

    /// The wording of a kind in a language as its edit form starts.
    #[tracing::instrument(skip_all, fields(tenant_id = %user.tenant_id, kind = kind.as_str(), %code), err(level = "warn"))]
    pub async fn invitation_wording(
        &self,
        user: &PartnerUser,
        kind: InvitationKind,
        code: &str,
    ) -> WorkflowResult<Result<WordingDraft, WordingRefusal>> {
        let language = match Self::admin_and_language(user, code) {
            Ok(l) => l,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let own = self.store.invitation_template(&user.tenant_id, kind, language.code).await?;
        let english = if language.code == invitation::DEFAULT_LANGUAGE {
            None
        } else {
            self.store.invitation_template(&user.tenant_id, kind, invitation::DEFAULT_LANGUAGE).await?
        };
        let fallback = if english.is_some() { Fallback::PartnersEnglish } else { Fallback::BuiltIn };
        let wording = match (&own, english) {
            (Some(o), _) => o.wording.clone(),
            (None, Some(e)) => e.wording,
            (None, None) => invitation::default_wording(kind),
        };
        Ok(Ok(WordingDraft { language, kind, own, wording, fallback }))
    }

    /// The email a wording gives for the sample customer, and the wording's problems (a
    /// preview is shown whatever they are, so that the partner sees what is wrong).
    pub fn preview_invitation_wording(
        &self,
        user: &PartnerUser,
        kind: InvitationKind,
        wording: &Wording,
    ) -> Result<(Invitation, Vec<WordingProblem>), WordingRefusal> {
        if !user.permissions().can_admin {
            return Err(WordingRefusal::NotAllowed);
        }
        let email = invitation::compose(wording, &sample_values(user, kind), SAMPLE_RECIPIENT);
        Ok((email, invitation::check_wording(kind, wording)))
    }

    /// Keeps the partner's wording of a kind in a language when it passes the checks, and
    /// writes to the audit log what changed against what customers got before.
    #[tracing::instrument(skip_all, fields(tenant_id = %user.tenant_id, kind = kind.as_str(), %code), err(level = "warn"))]
    pub async fn save_invitation_wording(
        &self,
        user: &PartnerUser,
        kind: InvitationKind,
        code: &str,
        wording: &Wording,
    ) -> WorkflowResult<Result<Saved, WordingRefusal>> {
        let draft = match self.invitation_wording(user, kind, code).await? {
            Ok(d) => d,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let problems = invitation::check_wording(kind, wording);
        if !problems.is_empty() {
            return Ok(Err(WordingRefusal::Problems(problems)));
        }
        if draft.own.as_ref().is_some_and(|o| o.wording == *wording) {
            return Ok(Ok(Saved::Unchanged));
        }
        let before = &draft.wording;
        let replacing = match &draft.own {
            Some(_) => "own wording changed".to_string(),
            None => format!("own wording saved in place of {}", draft.fallback.label()),
        };
        let detail = format!(
            "{}: {replacing}; {}; {}",
            what(kind, draft.language),
            change_of("subject", &before.subject, &wording.subject),
            change_of("body", &before.body, &wording.body)
        );
        self.store.invitation_template_save(&user.tenant_id, kind, draft.language.code, wording, &user.name).await?;
        let entry = crate::store::AuditEntry {
            detail: Some(detail.clone()),
            ..audit_of(user, "invitation_wording_saved", "ok")
        };
        self.store.audit(&entry).await?;
        Ok(Ok(Saved::Changed(detail)))
    }

    /// Removes the partner's wording of one kind in a language (for English: back to the
    /// built-in wording), or of every kind of a language; one audit entry per wording
    /// removed. Returns how many were removed.
    #[tracing::instrument(skip_all, fields(tenant_id = %user.tenant_id, %code), err(level = "warn"))]
    pub async fn remove_invitation_wording(
        &self,
        user: &PartnerUser,
        removal: Removal,
        code: &str,
    ) -> WorkflowResult<Result<usize, WordingRefusal>> {
        let language = match Self::admin_and_language(user, code) {
            Ok(l) => l,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let english = language.code == invitation::DEFAULT_LANGUAGE;
        let kinds = match removal {
            Removal::Wording(kind) => vec![kind],
            Removal::Language if english => return Ok(Err(WordingRefusal::UnknownLanguage)),
            Removal::Language => InvitationKind::ALL.to_vec(),
        };
        let mut removed = 0;
        for kind in kinds {
            let Some(old) = self.store.invitation_template(&user.tenant_id, kind, language.code).await? else {
                continue;
            };
            self.store.invitation_template_remove(&user.tenant_id, kind, language.code).await?;
            let now = if english {
                "customers now get the built-in wording"
            } else {
                "customers now get the English wording"
            };
            let detail = format!(
                "{}: own wording removed (subject {} characters, body {} characters); {now}",
                what(kind, language),
                old.wording.subject.chars().count(),
                old.wording.body.chars().count()
            );
            let entry =
                crate::store::AuditEntry { detail: Some(detail), ..audit_of(user, "invitation_wording_removed", "ok") };
            self.store.audit(&entry).await?;
            removed += 1;
        }
        Ok(if removed == 0 { Err(WordingRefusal::NothingToRemove) } else { Ok(removed) })
    }
}
