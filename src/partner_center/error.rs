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

    /// What the agent reads: what happened and what to do next, never a token or a trace.
    pub fn user_message(&self) -> String {
        match self {
            PcError::Api { status: 403, code, message, .. } => format!(
                "Partner Center refused this for your account{}: {message} Ask an Admin agent of your partner organization to check your role.",
                code.as_deref().map(|c| format!(" (code {c})")).unwrap_or_default()
            ),
            PcError::Api { status: 404, .. } => {
                "Partner Center does not know this item (any more). Refresh the customer list.".to_string()
            }
            PcError::Api { code, message, .. } => format!(
                "Partner Center answered with an error{}: {message}",
                code.as_deref().map(|c| format!(" (code {c})")).unwrap_or_default()
            ),
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
