//! Partner Center errors, typed, keeping the service's code. Two faces: `user_message`
//! for the page (says what to do next) and `Display` for the log (the whole cause).

use uuid::Uuid;

#[derive(Debug, Clone, thiserror::Error)]
pub enum PcError {
    /// Partner Center answered with an error body.
    #[error(
        "Partner Center answered {status} code {code:?} ({error_name:?}): {message} [request {request_id}, correlation {correlation_id}]"
    )]
    Api {
        status: u16,
        code: Option<String>,
        message: String,
        error_name: Option<String>,
        request_id: Uuid,
        correlation_id: Uuid,
    },
    /// 401: the token was refused (expired, revoked or for another audience).
    #[error("Partner Center refused the token (401) [request {request_id}]")]
    Unauthorized { request_id: Uuid, correlation_id: Uuid },
    /// Still throttled (429) after the retries allowed.
    #[error("Partner Center kept throttling (429) after {attempts} attempts; last Retry-After {retry_after:?} s")]
    Throttled { attempts: u32, retry_after: Option<u64>, request_id: Uuid, correlation_id: Uuid },
    /// 5xx or timeouts after the retries allowed.
    #[error("Partner Center was unavailable after {attempts} attempts: {last}")]
    Unavailable { attempts: u32, last: String, request_id: Uuid, correlation_id: Uuid },
    /// Not an answer at all (connection refused, TLS, bad URL).
    #[error("Partner Center could not be reached: {0}")]
    Transport(String),
    /// An answer the client could not read.
    #[error("Partner Center's answer to {what} could not be read: {detail}")]
    Decode { what: &'static str, detail: String },
}

impl PcError {
    /// Partner Center's own error code, when it sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            PcError::Api { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    pub fn request_id(&self) -> Option<Uuid> {
        match self {
            PcError::Api { request_id, .. }
            | PcError::Unauthorized { request_id, .. }
            | PcError::Throttled { request_id, .. }
            | PcError::Unavailable { request_id, .. } => Some(*request_id),
            _ => None,
        }
    }

    pub fn correlation_id(&self) -> Option<Uuid> {
        match self {
            PcError::Api { correlation_id, .. }
            | PcError::Unauthorized { correlation_id, .. }
            | PcError::Throttled { correlation_id, .. }
            | PcError::Unavailable { correlation_id, .. } => Some(*correlation_id),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, PcError::Api { status: 404, .. })
    }

    /// What the agent reads: what happened and what to do next, in the portal's words,
    /// with Partner Center's code when it sent one. Never Partner Center's own text, nor
    /// a token or a trace: those go to the log (`Display`).
    pub fn user_message(&self) -> String {
        match self {
            PcError::Api { status: 404, .. } => {
                "Partner Center does not know this item (any more). Refresh the customer list.".to_string()
            }
            PcError::Api { status, code, .. } => api_sentence(*status, code.as_deref()),
            PcError::Unauthorized { .. } => "Your Partner Center sign-in has expired. Sign in again.".to_string(),
            PcError::Throttled { retry_after, .. } => format!(
                "Partner Center is limiting how many requests your organization may send. Try again in {}.",
                match retry_after {
                    Some(s) if *s >= 120 => format!("{} minutes", s.div_ceil(60)),
                    Some(s) if *s >= 60 => "a minute or two".to_string(),
                    Some(s) => format!("{s} seconds"),
                    None => "a minute".to_string(),
                }
            ),
            PcError::Unavailable { .. } | PcError::Transport(_) => {
                "Partner Center is not answering right now. Nothing was changed; try again in a few minutes.".to_string()
            }
            PcError::Decode { .. } => {
                "Partner Center sent an answer the portal could not read. Try again; if it keeps happening, tell your administrator the request id below.".to_string()
            }
        }
    }
}

/// Partner Center's error codes the portal knows, each with what the agent is told
/// (docs/partner-center.md, "Error bodies").
const KNOWN_CODES: [(&str, &str); 5] = [
    (
        "600061",
        "Partner Center already has an attestation with exactly this contact (first name, last name, email and phone). Nothing new was recorded; to attest again, change one of the four details.",
    ),
    (
        "600002",
        "Partner Center refused the request as it was sent. Check the details, in particular that the agreement acceptance date is not later than today in UTC, and send it again.",
    ),
    (
        "600051",
        "Partner Center requires a phone number for customers in this country. Add the primary contact's phone number and send it again.",
    ),
    (
        "600006",
        "Partner Center says this is not allowed for your account or your partner organization. Ask an Admin agent of your partner organization to check your role.",
    ),
    (
        "13605",
        "Partner Center refused because the customer has no Microsoft Customer Agreement on record. Attest the customer's acceptance first.",
    ),
];

/// The agent's sentence for a refusal with this HTTP status and code, and the code itself.
fn api_sentence(status: u16, code: Option<&str>) -> String {
    let known = code.and_then(|c| KNOWN_CODES.iter().find(|(k, _)| *k == c)).map(|(_, sentence)| *sentence);
    let sentence = match (known, status) {
        (Some(sentence), _) => sentence,
        (None, 403) => {
            "Partner Center refused this for your account. Ask an Admin agent of your partner organization to check your role."
        }
        (None, _) => {
            "Partner Center refused this request. Nothing was changed. Check what you sent and try again; if it keeps happening, give your administrator the code and the request id."
        }
    };
    match code {
        Some(c) => format!("{sentence} (Partner Center code {c}.)"),
        None => format!("{sentence} (HTTP status {status}.)"),
    }
}

/// A code as Partner Center sends it is a number or a short name; anything else in its
/// place is not shown.
pub fn plausible_code(code: &str) -> bool {
    (1..=40).contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: Option<&str>, message: &str) -> PcError {
        PcError::Api {
            status,
            code: code.map(String::from),
            message: message.into(),
            error_name: None,
            request_id: Uuid::nil(),
            correlation_id: Uuid::nil(),
        }
    }

    #[test]
    fn the_agent_reads_the_code_and_the_portals_sentence_never_partner_centers_text() {
        for (status, code) in
            [(400, Some("600061")), (400, Some("999999")), (403, Some("600006")), (403, None), (400, None)]
        {
            let shown = api(status, code, "<b>upstream-marker</b>").user_message();
            assert!(!shown.contains("upstream-marker"), "{shown}");
            match code {
                Some(c) => assert!(shown.contains(&format!("code {c}")), "{shown}"),
                None => assert!(shown.contains(&status.to_string()), "{shown}"),
            }
        }
        assert!(api(400, Some("600051"), "x").user_message().contains("phone number"));
        assert!(plausible_code("600061") && plausible_code("InvalidCountry"));
        assert!(!plausible_code("<script>") && !plausible_code("") && !plausible_code(&"1".repeat(41)));
    }
}
