//! What can go wrong when sending, in the portal's own words. The SMTP server's text goes
//! to the log only (`mail::Mailer::send` logs it); a page shows `user_message`, which
//! says what happened and what to do, with the server's reply code when there is one.

use std::error::Error as StdError;
use std::fmt;

use lettre::transport::smtp::Error as SmtpError;

/// Why an email was not sent. Nothing in it comes from the server but the reply code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailError {
    /// The recipient is not an email address; nothing was sent.
    InvalidRecipient,
    /// The agent's own address (from the sign-in) is not one that can go in From or
    /// Reply-To; nothing was sent.
    InvalidAgentAddress,
    /// The server refused the recipient (RCPT TO).
    RecipientRefused { code: Option<u16>, temporary: bool },
    /// The server refused the sender (MAIL FROM): the configured sender, or the agent's
    /// address, is not one this account may send from.
    SenderRefused { code: Option<u16>, temporary: bool },
    /// The server did not accept the portal's user name and password (or offers no way
    /// to sign in that the portal knows).
    AuthenticationFailed { code: Option<u16>, temporary: bool },
    /// The server refused the message itself, after taking sender and recipient.
    MessageRefused { code: Option<u16>, temporary: bool },
    /// The server's certificate is not trusted (unknown issuer, wrong name, expired).
    UntrustedCertificate,
    /// No secure connection: the TLS handshake failed, or the server offers no STARTTLS.
    Tls,
    /// The server could not be reached, or dropped the connection.
    Connection,
    /// The server did not answer within `smtp_timeout_seconds`.
    Timeout,
    /// The server answered something the client could not read.
    Protocol,
}

/// The step of the conversation an error came from, which tells a refused sender from a
/// refused recipient when the reply codes are the same (both are often 550).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    Connect,
    StartTls,
    Auth,
    Sender,
    Recipient,
    Message,
}

impl MailError {
    /// The SMTP reply code the server gave, when the failure was a reply.
    pub fn code(&self) -> Option<u16> {
        match self {
            MailError::RecipientRefused { code, .. }
            | MailError::SenderRefused { code, .. }
            | MailError::AuthenticationFailed { code, .. }
            | MailError::MessageRefused { code, .. } => *code,
            _ => None,
        }
    }

    /// Whether sending the same email again, unchanged, may work: the server was
    /// unreachable, slow, or said "not now" (a 4xx reply). A wrong address or wrong
    /// settings fail again until someone changes them.
    pub fn retryable(&self) -> bool {
        match self {
            MailError::Connection | MailError::Timeout | MailError::Protocol => true,
            MailError::RecipientRefused { temporary, .. }
            | MailError::SenderRefused { temporary, .. }
            | MailError::AuthenticationFailed { temporary, .. }
            | MailError::MessageRefused { temporary, .. } => *temporary,
            MailError::InvalidRecipient
            | MailError::InvalidAgentAddress
            | MailError::UntrustedCertificate
            | MailError::Tls => false,
        }
    }

    /// The sentence for the page: what happened and what to do.
    pub fn user_message(&self) -> String {
        self.to_string()
    }

    /// Reads a failure of the SMTP client at a step of the conversation.
    pub(super) fn from_smtp(stage: Stage, error: &SmtpError) -> MailError {
        if let Some(tls) = rustls_cause(error) {
            return match tls {
                rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented => {
                    MailError::UntrustedCertificate
                }
                _ => MailError::Tls,
            };
        }
        if error.is_timeout() {
            return MailError::Timeout;
        }
        let code = error.status().map(u16::from);
        let temporary = error.is_transient();
        if code == Some(421) {
            // "Service not available, closing the channel", at any step.
            return MailError::Connection;
        }
        if !(error.is_transient() || error.is_permanent()) {
            return match stage {
                Stage::StartTls if error.is_client() => MailError::Tls,
                Stage::Auth if error.is_client() => MailError::AuthenticationFailed { code: None, temporary: false },
                _ if error.is_response() || error.is_client() => MailError::Protocol,
                _ => MailError::Connection,
            };
        }
        match stage {
            Stage::Connect => MailError::Connection,
            Stage::StartTls => MailError::Tls,
            Stage::Auth => MailError::AuthenticationFailed { code, temporary },
            Stage::Sender => MailError::SenderRefused { code, temporary },
            Stage::Recipient => MailError::RecipientRefused { code, temporary },
            Stage::Message => MailError::MessageRefused { code, temporary },
        }
    }
}

/// The TLS error under a client error, if the failure was one: the client reports
/// handshake failures as connection errors, with rustls's error inside an I/O error.
fn rustls_cause(error: &SmtpError) -> Option<&rustls::Error> {
    let mut next: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(tls) = io.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(tls);
        }
        next = e.source();
    }
    None
}

/// " (code 550)" when there is a code.
fn code_note(code: &Option<u16>) -> String {
    code.map(|c| format!(" (code {c})")).unwrap_or_default()
}

const LATER: &str = "Try again in a few minutes; if it keeps happening, tell the administrator.";
const COPY_INSTEAD: &str = "Meanwhile, copy the email into your mail client.";

impl fmt::Display for MailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailError::InvalidRecipient => {
                write!(f, "The recipient's address is not a valid email address. Check it and send again.")
            }
            MailError::InvalidAgentAddress => write!(
                f,
                "Your account's email address can't be used to send from the portal. Tell the administrator. {COPY_INSTEAD}"
            ),
            MailError::RecipientRefused { code, temporary: true } => {
                write!(f, "The mail server can't take email for this recipient just now{}. {LATER}", code_note(code))
            }
            MailError::RecipientRefused { code, temporary: false } => write!(
                f,
                "The mail server refused the recipient's address{}. Check the address and send again.",
                code_note(code)
            ),
            MailError::SenderRefused { code, temporary: true }
            | MailError::MessageRefused { code, temporary: true } => {
                write!(f, "The mail server did not take the email just now{}. {LATER}", code_note(code))
            }
            MailError::SenderRefused { code, temporary: false } => write!(
                f,
                "The mail server refused to send from this sender address{}. Tell the administrator that the portal's SMTP sender settings need a look. {COPY_INSTEAD}",
                code_note(code)
            ),
            MailError::AuthenticationFailed { code, temporary: true } => {
                write!(f, "The mail server could not check the portal's sign-in just now{}. {LATER}", code_note(code))
            }
            MailError::AuthenticationFailed { code, temporary: false } => write!(
                f,
                "The mail server did not accept the portal's sign-in{}. Tell the administrator that the SMTP user name or password is wrong. {COPY_INSTEAD}",
                code_note(code)
            ),
            MailError::MessageRefused { code, temporary: false } => write!(
                f,
                "The mail server refused the email{}. Check the text and the address and send again; if it keeps happening, tell the administrator.",
                code_note(code)
            ),
            MailError::UntrustedCertificate => write!(
                f,
                "The mail server's certificate is not trusted, so nothing was sent. Tell the administrator to check the SMTP server's name and certificate. {COPY_INSTEAD}"
            ),
            MailError::Tls => write!(
                f,
                "A secure connection to the mail server could not be set up, so nothing was sent. Tell the administrator that the SMTP security settings need a look. {COPY_INSTEAD}"
            ),
            MailError::Connection => write!(f, "The portal could not reach the mail server. {LATER}"),
            MailError::Timeout => write!(f, "The mail server did not answer in time. {LATER}"),
            MailError::Protocol => write!(f, "The mail server gave an answer the portal could not read. {LATER}"),
        }
    }
}

impl std::error::Error for MailError {}
