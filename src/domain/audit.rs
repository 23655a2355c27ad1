//! The audit log's vocabulary: every action the portal writes, with the words the audit
//! log page and its CSV show for it, in one list. A new action is added here; a unit test
//! reads the source for the actions written and fails on one that is not listed.

/// An action of the audit log: the key stored in `audit_log.action`, and its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditAction {
    pub key: &'static str,
    pub label: &'static str,
}

/// An export of the customer list as CSV.
pub const CUSTOMERS_EXPORTED: &str = "customers_exported";
/// An export of the audit log as CSV.
pub const AUDIT_EXPORTED: &str = "audit_exported";

/// Every action the portal writes, in the order the page's filter offers them.
pub const AUDIT_ACTIONS: &[AuditAction] = &[
    AuditAction { key: "sign_in", label: "Signed in" },
    AuditAction { key: "sign_out", label: "Signed out" },
    AuditAction { key: "roles_renewed", label: "Roles changed at sign-in renewal" },
    AuditAction { key: "attest_submitted", label: "Attestation saved" },
    AuditAction { key: "attest_attempt", label: "Attestation sent to Partner Center" },
    AuditAction { key: "create_customer_submitted", label: "New customer saved" },
    AuditAction { key: "create_customer_attempt", label: "New customer sent to Partner Center" },
    AuditAction { key: "send_now", label: "Send now" },
    AuditAction { key: "refresh_started", label: "Refresh list (every customer read again)" },
    AuditAction { key: "customer_refreshed", label: "Customer read again (Refresh)" },
    AuditAction { key: "invitation_created", label: "Invitation made" },
    AuditAction { key: "invitation_sent", label: "Invitation emailed" },
    AuditAction { key: "invitation_wording_saved", label: "Invitation wording saved" },
    AuditAction { key: "invitation_wording_removed", label: "Invitation wording removed" },
    AuditAction { key: "api_key_created", label: "API key created" },
    AuditAction { key: "api_key_revoked", label: "API key revoked" },
    AuditAction { key: CUSTOMERS_EXPORTED, label: "Customer list exported (CSV)" },
    AuditAction { key: AUDIT_EXPORTED, label: "Audit log exported (CSV)" },
];

/// The action with this key, when the portal writes it.
pub fn audit_action(key: &str) -> Option<AuditAction> {
    AUDIT_ACTIONS.iter().copied().find(|a| a.key == key)
}

/// The words for an action; an unknown key (from a newer portal) as it is stored.
pub fn action_label(key: &str) -> &str {
    audit_action(key).map(|a| a.label).unwrap_or(key)
}

/// The words for an entry's outcome; an unknown one as it is stored.
pub fn outcome_label(key: &str) -> &str {
    match key {
        "ok" => "Done",
        "saved" => "Saved",
        "queued" => "Queued",
        "changed" => "Changed",
        "sent" => "Sent",
        "delivered" => "Delivered",
        "failed" => "Failed",
        "retry_later" => "Will be tried again",
        "waiting_for_customer" => "Waiting for the customer",
        "needs_sign_in" => "Needs sign-in",
        "lease_lost" => "Taken over by another attempt",
        "started" => "Started",
        "already_running" => "Joined the refresh already running",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Every action the source writes: the action argument of `audit_of(…)`, an
    /// `action: "…"` field, and the arms of a `let action = match` (delivery attempts).
    fn actions_written(dir: &Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                actions_written(&path, found);
                continue;
            }
            if path.ends_with("domain/audit.rs") {
                continue; // this list and its test write no entry
            }
            let text = std::fs::read_to_string(&path).expect("source");
            let mut in_match = false;
            for line in text.lines() {
                let after = |pattern: &str| line.split_once(pattern).map(|(_, rest)| rest);
                // The second argument, when it is a literal (not `note.action`).
                let second = after("audit_of(").and_then(|rest| rest.split(',').nth(1)).map(str::trim);
                if let Some(action) = second.and_then(|arg| arg.strip_prefix('"')?.split('"').next()) {
                    found.push(action.into());
                }
                if let Some(action) = after("action: \"").and_then(|rest| rest.split('"').next()) {
                    found.push(action.into());
                }
                in_match = (in_match || line.contains("let action = match")) && !line.trim().starts_with("};");
                if in_match && line.contains("=> \"") {
                    found.push(line.split('"').nth(1).unwrap_or("").into());
                }
            }
        }
    }

    #[test]
    fn every_action_the_portal_writes_has_words() {
        let mut found = Vec::new();
        actions_written(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut found);
        found.retain(|a| !a.is_empty());
        found.sort();
        found.dedup();
        assert!(found.len() >= 12, "the scan finds the actions: {found:?}");
        for a in &found {
            assert!(audit_action(a).is_some(), "the action {a:?} is written but not in AUDIT_ACTIONS");
        }
        let mut keys: Vec<_> = AUDIT_ACTIONS.iter().map(|a| a.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), AUDIT_ACTIONS.len(), "each action once");
    }

    #[test]
    fn unknown_keys_are_shown_as_stored() {
        assert_eq!(action_label("attest_attempt"), "Attestation sent to Partner Center");
        assert_eq!(action_label("from_a_newer_portal"), "from_a_newer_portal");
        assert_eq!(outcome_label("retry_later"), "Will be tried again");
        assert_eq!(outcome_label("odd"), "odd");
    }
}
