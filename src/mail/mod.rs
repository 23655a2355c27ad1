//! The SMTP client: sends one plain-text email over STARTTLS or TLS with lettre
//! (rustls, ring). A client layer like `partner_center`: it takes plain values and imports
//! only `config`. `docs/email.md` describes sending, the settings and the errors.
//!
//! The conversation is driven step by step (connect, STARTTLS, AUTH, MAIL FROM, RCPT TO,
//! DATA) rather than through lettre's transport, so that a refusal says which step it
//! was: a refused sender and a refused recipient usually carry the same code.

mod error;
mod message;

use std::fmt;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use secrecy::ExposeSecret;

pub use error::MailError;
use error::Stage;

use crate::config::{ConfigError, Settings, SmtpSecurity};

/// One email as the agent leaves it: the recipient, the subject and the plain-text body
/// (line breaks kept), and who sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// An address (`name@example.com`) or a name with one (`Name <name@example.com>`).
    pub to: String,
    pub subject: String,
    pub body: String,
    /// The signed-in agent: From when no sender is configured, else Reply-To.
    pub agent_name: String,
    pub agent_email: String,
}

/// Sends email through the configured SMTP server. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    host: String,
    port: u16,
    security: SmtpSecurity,
    tls: TlsParameters,
    credentials: Option<Credentials>,
    username: Option<String>,
    sender: Option<Mailbox>,
    timeout: Duration,
    hello: ClientId,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.credentials.as_ref().map(|_| "[redacted]"))
            .field("sender", &self.sender.as_ref().map(|s| s.to_string()))
            .field("timeout", &self.timeout)
            .finish()
    }
}

fn invalid(message: String) -> ConfigError {
    ConfigError::Invalid(message)
}

/// TLS towards `host`: the public roots, plus the configured extra root certificate.
fn tls_parameters(host: &str, root_certificate: Option<&std::path::Path>) -> Result<TlsParameters, ConfigError> {
    let mut builder = TlsParameters::builder(host.to_string());
    if let Some(path) = root_certificate {
        let pem = std::fs::read(path).map_err(|source| ConfigError::SecretFile {
            key: "smtp_root_certificate_file",
            path: path.to_path_buf(),
            source,
        })?;
        let certificate = Certificate::from_pem(&pem)
            .ok()
            .filter(|_| String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----"))
            .ok_or_else(|| {
                invalid(format!("smtp_root_certificate_file {} holds no PEM certificate", path.display()))
            })?;
        builder = builder.add_root_certificate(certificate);
    }
    builder.build_rustls().map_err(|e| invalid(format!("smtp_root_certificate_file can't be used: {e}")))
}

impl Mailer {
    /// The mailer of these settings, or `None` when `smtp_host` is unset (sending off).
    /// Checks the SMTP settings and reads `smtp_root_certificate_file`; call it at start,
    /// so that a wrong setting stops the portal rather than the first send.
    pub fn from_settings(settings: &Settings) -> Result<Option<Mailer>, ConfigError> {
        let smtp = &settings.smtp;
        smtp.check()?;
        let Some(host) = smtp.smtp_host.as_deref().map(str::trim) else {
            return Ok(None);
        };
        // `check` has refused a sender that does not parse.
        let sender = smtp.smtp_sender.as_deref().and_then(|s| s.trim().parse::<Mailbox>().ok());
        let credentials = match (&smtp.smtp_username, &smtp.smtp_password) {
            (Some(user), Some(password)) => Some(Credentials::new(user.clone(), password.expose_secret().to_string())),
            _ => None,
        };
        Ok(Some(Mailer {
            host: host.to_string(),
            port: smtp.port(),
            security: smtp.smtp_security,
            tls: tls_parameters(host, smtp.smtp_root_certificate_file.as_deref())?,
            credentials,
            username: smtp.smtp_username.clone(),
            sender,
            timeout: Duration::from_secs(smtp.smtp_timeout_seconds),
            hello: ClientId::default(),
        }))
    }

    /// One line for the start banner, without secrets.
    pub fn description(&self) -> String {
        let security = match self.security {
            SmtpSecurity::Starttls => "STARTTLS",
            SmtpSecurity::Tls => "TLS",
        };
        let from = match &self.sender {
            Some(sender) => format!("from {} with the agent as Reply-To", sender.email),
            None => "from the agent's own address".to_string(),
        };
        format!("SMTP {}:{} ({security}), {from}", self.host, self.port)
    }

    /// Sends the email. Within `smtp_timeout_seconds`, or `MailError::Timeout`. The
    /// server's own text is logged, never returned.
    #[tracing::instrument(skip_all, fields(host = %self.host, port = self.port), err(Display))]
    pub async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let (envelope, raw) = message::build(email, self.sender.as_ref())?;
        match tokio::time::timeout(self.timeout, self.deliver(&envelope, &raw)).await {
            Ok(result) => result,
            Err(_) => Err(MailError::Timeout),
        }
    }

    async fn deliver(&self, envelope: &Envelope, raw: &[u8]) -> Result<(), MailError> {
        let implicit_tls = (self.security == SmtpSecurity::Tls).then(|| self.tls.clone());
        let server = (self.host.as_str(), self.port);
        let mut connection =
            AsyncSmtpConnection::connect_tokio1(server, Some(self.timeout), &self.hello, implicit_tls, None)
                .await
                .map_err(|e| failed(Stage::Connect, &e))?;
        if self.security == SmtpSecurity::Starttls {
            // After a failed upgrade the connection can't even say QUIT: it is dropped.
            connection.starttls(self.tls.clone(), &self.hello).await.map_err(|e| failed(Stage::StartTls, &e))?;
        }
        let result = self.converse(&mut connection, envelope, raw).await;
        match result {
            Ok(()) => {
                let _ = connection.quit().await;
            }
            Err(_) => connection.abort().await,
        }
        result
    }

    /// AUTH when configured, then the one transaction.
    async fn converse(
        &self,
        connection: &mut AsyncSmtpConnection,
        envelope: &Envelope,
        raw: &[u8],
    ) -> Result<(), MailError> {
        if let Some(credentials) = &self.credentials {
            connection
                .auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
                .map_err(|e| failed(Stage::Auth, &e))?;
        }
        let mut options = Vec::new();
        let non_ascii = envelope.from().into_iter().chain(envelope.to()).any(|a| !a.to_string().is_ascii());
        if non_ascii && connection.server_info().supports_feature(Extension::SmtpUtfEight) {
            options.push(MailParameter::SmtpUtfEight);
        }
        if !raw.is_ascii() && connection.server_info().supports_feature(Extension::EightBitMime) {
            options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let from = envelope.from().cloned();
        connection.command(Mail::new(from, options)).await.map_err(|e| failed(Stage::Sender, &e))?;
        for to in envelope.to() {
            connection.command(Rcpt::new(to.clone(), Vec::new())).await.map_err(|e| failed(Stage::Recipient, &e))?;
        }
        connection.command(Data).await.map_err(|e| failed(Stage::Message, &e))?;
        connection.message(raw).await.map_err(|e| failed(Stage::Message, &e))?;
        Ok(())
    }
}

/// The portal's error for a client failure at a step; the server's text goes to the log.
fn failed(stage: Stage, error: &lettre::transport::smtp::Error) -> MailError {
    let mail_error = MailError::from_smtp(stage, error);
    tracing::warn!(?stage, error = %error, code = ?mail_error.code(), "the SMTP server did not take the email");
    mail_error
}
