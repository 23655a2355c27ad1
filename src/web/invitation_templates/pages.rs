//! What the invitation wording settings show: the languages and kinds with who changed
//! each, the edit form with the placeholders and a preview, and the confirmation before a
//! wording is removed.

use askama::Template;

use crate::domain::FieldError;
use crate::domain::invitation::{Invitation, InvitationKind};
use crate::web::pages::Layout;
use crate::workflows::invitation_templates::{LanguageWordings, WordingDraft, WordingLanguage};

/// One kind in one language on the overview.
pub struct KindRow {
    pub kind: &'static str,
    pub title: &'static str,
    /// "Your own wording", "Built-in wording", "Your English wording".
    pub state: &'static str,
    /// "Alex Admin, 2026-01-07 10:30 UTC" for the partner's own.
    pub changed: Option<String>,
}

/// A language on the overview, with its three kinds.
pub struct LanguageRow {
    pub code: &'static str,
    pub name: &'static str,
    pub english: bool,
    pub kinds: Vec<KindRow>,
}

impl LanguageRow {
    pub fn of(l: &LanguageWordings, english_own: &[InvitationKind]) -> LanguageRow {
        let english = l.language.code == crate::domain::invitation::DEFAULT_LANGUAGE;
        let kinds = l
            .kinds
            .iter()
            .map(|k| KindRow {
                kind: k.kind.as_str(),
                title: k.kind.title(),
                state: match (&k.own, english || !english_own.contains(&k.kind)) {
                    (Some(_), _) => "Your own wording",
                    (None, true) => "Built-in wording",
                    (None, false) => "Your English wording (none of its own yet)",
                },
                changed: k
                    .own
                    .as_ref()
                    .map(|o| format!("{}, {}", o.updated_by_name, o.updated_at.format("%Y-%m-%d %H:%M UTC"))),
            })
            .collect();
        LanguageRow { code: l.language.code, name: l.language.name, english, kinds }
    }
}

#[derive(Template)]
#[template(path = "invitation_templates.html")]
pub struct OverviewPage {
    pub layout: Layout,
    pub languages: Vec<LanguageRow>,
    /// The languages Add a language offers: those not in the list yet.
    pub offered: Vec<WordingLanguage>,
    /// What was chosen in Add a language, kept when it is refused.
    pub chosen: String,
    pub errors: Vec<FieldError>,
    pub refused: Option<String>,
}

/// A placeholder beside the form: `{link}` and what it stands for.
pub struct PlaceholderRow {
    pub name: String,
    pub meaning: &'static str,
}

#[derive(Template)]
#[template(path = "invitation_templates_edit.html")]
pub struct EditPage {
    pub layout: Layout,
    pub kind: &'static str,
    pub kind_title: &'static str,
    pub code: &'static str,
    pub language_name: &'static str,
    pub english: bool,
    /// Who changed the partner's own wording, and when; None when it has none.
    pub changed: Option<String>,
    /// What customers of this language get without the partner's own wording.
    pub fallback: &'static str,
    pub subject: String,
    pub body: String,
    pub rows: usize,
    pub placeholders: Vec<PlaceholderRow>,
    pub errors: Vec<FieldError>,
    pub refused: Option<String>,
    /// The filled-in email for the sample customer, after Preview.
    pub preview: Option<Invitation>,
}

impl EditPage {
    pub fn of(layout: Layout, draft: &WordingDraft, subject: String, body: String) -> EditPage {
        EditPage {
            layout,
            kind: draft.kind.as_str(),
            kind_title: draft.kind.title(),
            code: draft.language.code,
            language_name: draft.language.name,
            english: draft.language.code == crate::domain::invitation::DEFAULT_LANGUAGE,
            changed: draft
                .own
                .as_ref()
                .map(|o| format!("{}, {}", o.updated_by_name, o.updated_at.format("%Y-%m-%d %H:%M UTC"))),
            fallback: draft.fallback.label(),
            rows: body.lines().map(|l| 1 + l.chars().count() / 80).sum::<usize>().clamp(10, 40),
            subject,
            body,
            placeholders: draft
                .kind
                .placeholders()
                .into_iter()
                .map(|p| PlaceholderRow { name: format!("{{{}}}", p.name()), meaning: p.meaning() })
                .collect(),
            errors: Vec::new(),
            refused: None,
            preview: None,
        }
    }

    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }

    pub fn has_error(&self, field: &str) -> bool {
        self.error_for(field).is_some()
    }
}

impl OverviewPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }

    pub fn has_error(&self, field: &str) -> bool {
        self.error_for(field).is_some()
    }
}

#[derive(Template)]
#[template(path = "invitation_templates_remove.html")]
pub struct RemovePage {
    pub layout: Layout,
    /// Where the confirmation posts, and where Cancel goes back to.
    pub action: String,
    pub back: String,
    /// "Reset to the built-in wording", "Remove this language"…
    pub heading: String,
    /// What goes, and what customers get afterwards.
    pub consequence: String,
    pub button: String,
}
