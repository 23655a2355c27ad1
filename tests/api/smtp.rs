//! Sending email (`mail::Mailer`) against a real SMTP server on loopback: the message
//! arrives intact over STARTTLS and over TLS, From and Reply-To as configured, AUTH works,
//! and each failure (refused recipient or sender, wrong password, untrusted certificate,
//! closed port, silent server) gives its own `MailError`, in the portal's words. Also the
//! SMTP settings as the portal reads them from its file and environment.

use mca_portal::config::{SmtpSecurity, SmtpSettings};
use mca_portal::mail::{MailError, Mailer, OutgoingEmail};
use secrecy::SecretString;

use crate::helpers::portal_command;
use crate::smtp_server::{Named, ServerOptions, SmtpServer, smtp_prerequisites};

const BODY: &str = "Dear Marta Łęcka,\n\n\
Please accept the Microsoft Customer Agreement for Łódź Logistyka Sp. z o.o. here:\n\
https://admin.microsoft.com/AdminPortal/Home?ref=/BillingAccounts/agreement&a-long-parameter=0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\n\
\n\
  Indented line, and two spaces at the end  \n\
.\n\
. a line that starts with a dot\n\
From here on, nothing special.\n\
\n\
Kind regards,\n\
Zoë Ångström";

fn invitation() -> OutgoingEmail {
    OutgoingEmail {
        to: "marta@lodz.example".into(),
        subject: "Zoë Ångström invites Łódź Logistyka to accept the Microsoft Customer Agreement".into(),
        body: BODY.into(),
        agent_name: "Zoë Ångström".into(),
        agent_email: "zoe@contoso.example".into(),
    }
}

fn named(name: &str, address: &str) -> Named {
    Named { name: name.into(), address: address.into() }
}

fn mailer(settings: &mca_portal::config::Settings) -> Mailer {
    Mailer::from_settings(settings).unwrap().expect("SMTP is configured")
}

/// The body as mailparser decodes it: the same text, its last line break aside.
fn assert_body_intact(text: Option<&str>) {
    let text = text.expect("a text part");
    assert_eq!(text.trim_end_matches('\n'), BODY, "the body arrives as sent");
}

#[tokio::test]
async fn over_starttls_the_server_receives_the_email_intact_from_the_agent() {
    let Some(dir) = smtp_prerequisites("the SMTP STARTTLS test") else { return };
    let mut server = SmtpServer::start(&dir, ServerOptions::default()).await;
    mailer(&server.settings()).send(&invitation()).await.expect("sent");
    let got = server.received().await;
    assert!(got.secure, "STARTTLS before the message");
    assert_eq!(got.envelope.mail_from.as_deref(), Some("zoe@contoso.example"));
    assert_eq!(got.envelope.rcpt_to, ["marta@lodz.example"]);
    assert_eq!(got.from, [named("Zoë Ångström", "zoe@contoso.example")]);
    assert!(got.reply_to.is_empty(), "no Reply-To when the agent sends: {:?}", got.reply_to);
    assert_eq!(got.to, [named("", "marta@lodz.example")]);
    assert_eq!(got.subject.as_deref(), Some(invitation().subject.as_str()));
    assert_body_intact(got.text.as_deref());
    let head = got.raw.split("\r\n\r\n").next().unwrap();
    assert!(head.is_ascii(), "headers are encoded: {head}");
    assert!(head.contains("charset=utf-8"), "{head}");
}

#[tokio::test]
async fn over_tls_with_auth_the_email_is_from_the_sender_with_the_agent_as_reply_to() {
    let Some(dir) = smtp_prerequisites("the SMTP TLS test") else { return };
    let auth = Some(("portal@contoso.example".to_string(), "pässword with spaces".to_string()));
    let mut server =
        SmtpServer::start(&dir, ServerOptions { security: Some(SmtpSecurity::Tls), auth, ..Default::default() }).await;
    let mut settings = server.settings();
    settings.smtp.smtp_username = Some("portal@contoso.example".into());
    settings.smtp.smtp_password = Some(SecretString::from("pässword with spaces".to_string()));
    settings.smtp.smtp_sender = Some("Contoso MCA desk <mca@contoso.example>".into());
    let m = mailer(&settings);
    assert!(!format!("{m:?}").contains("pässword"), "the password is not in Debug: {m:?}");
    m.send(&invitation()).await.expect("sent");
    let got = server.received().await;
    assert!(got.secure);
    assert_eq!(got.user.as_deref(), Some("portal@contoso.example"), "signed in with AUTH");
    assert_eq!(got.envelope.mail_from.as_deref(), Some("mca@contoso.example"));
    assert_eq!(got.envelope.rcpt_to, ["marta@lodz.example"]);
    assert_eq!(got.from, [named("Contoso MCA desk", "mca@contoso.example")]);
    assert_eq!(got.reply_to, [named("Zoë Ångström", "zoe@contoso.example")]);
    assert_eq!(got.subject.as_deref(), Some(invitation().subject.as_str()));
    assert_body_intact(got.text.as_deref());
}

#[tokio::test]
async fn a_sender_without_a_name_shows_the_agents_name() {
    let Some(dir) = smtp_prerequisites("the SMTP sender test") else { return };
    let mut server = SmtpServer::start(&dir, ServerOptions::default()).await;
    let mut settings = server.settings();
    settings.smtp.smtp_sender = Some("mca@contoso.example".into());
    let to = OutgoingEmail { to: "Marta Łęcka <marta@lodz.example>".into(), ..invitation() };
    mailer(&settings).send(&to).await.expect("sent");
    let got = server.received().await;
    assert_eq!(got.from, [named("Zoë Ångström", "mca@contoso.example")]);
    assert_eq!(got.reply_to, [named("Zoë Ångström", "zoe@contoso.example")]);
    assert_eq!(got.to, [named("Marta Łęcka", "marta@lodz.example")]);
}

/// What a page shows: the portal's sentence, maybe the code, never the server's text.
fn assert_portal_words(e: &MailError, says: &str) {
    let shown = e.user_message();
    assert!(shown.contains(says), "{says:?} in {shown:?}");
    assert!(!shown.contains("server text"), "the server's own text is not shown: {shown}");
}

#[tokio::test]
async fn a_refused_recipient_or_sender_is_named_with_its_code() {
    let Some(dir) = smtp_prerequisites("the SMTP refusal test") else { return };
    let options = ServerOptions {
        refuse_recipients: vec!["nobody@lodz.example".into()],
        refuse_senders: vec!["blocked@contoso.example".into()],
        ..Default::default()
    };
    let mut server = SmtpServer::start(&dir, options).await;
    let m = mailer(&server.settings());
    let e = m.send(&OutgoingEmail { to: "nobody@lodz.example".into(), ..invitation() }).await.unwrap_err();
    assert_eq!(e, MailError::RecipientRefused { code: Some(550), temporary: false });
    assert!(!e.retryable());
    assert_portal_words(&e, "refused the recipient's address (code 550). Check the address");
    let e = m.send(&OutgoingEmail { agent_email: "blocked@contoso.example".into(), ..invitation() }).await.unwrap_err();
    assert_eq!(e, MailError::SenderRefused { code: Some(550), temporary: false });
    assert!(!e.retryable());
    assert_portal_words(&e, "Tell the administrator that the portal's SMTP sender settings");
    assert!(server.received_nothing().await);
    m.send(&invitation()).await.expect("the same mailer sends to a good address");
    assert_eq!(server.received().await.envelope.rcpt_to, ["marta@lodz.example"]);
}

#[tokio::test]
async fn a_wrong_password_is_an_authentication_failure() {
    let Some(dir) = smtp_prerequisites("the SMTP AUTH test") else { return };
    let auth = Some(("portal".to_string(), "right".to_string()));
    let mut server = SmtpServer::start(&dir, ServerOptions { auth, ..Default::default() }).await;
    let mut settings = server.settings();
    settings.smtp.smtp_username = Some("portal".into());
    settings.smtp.smtp_password = Some(SecretString::from("wrong".to_string()));
    let e = mailer(&settings).send(&invitation()).await.unwrap_err();
    assert_eq!(e, MailError::AuthenticationFailed { code: Some(535), temporary: false });
    assert!(!e.retryable());
    assert_portal_words(&e, "user name or password is wrong");
    // Without credentials the server refuses the sender: it wants a sign-in first.
    let e = mailer(&server.settings()).send(&invitation()).await.unwrap_err();
    assert!(matches!(e, MailError::SenderRefused { code: Some(530), .. }), "{e:?}");
    assert!(server.received_nothing().await);
}

#[tokio::test]
async fn a_certificate_the_portal_does_not_trust_stops_the_send() {
    let Some(dir) = smtp_prerequisites("the SMTP certificate test") else { return };
    for security in [SmtpSecurity::Starttls, SmtpSecurity::Tls] {
        let mut server =
            SmtpServer::start(&dir, ServerOptions { security: Some(security), ..Default::default() }).await;
        let mut settings = server.settings();
        settings.smtp.smtp_root_certificate_file = None;
        let e = mailer(&settings).send(&invitation()).await.unwrap_err();
        assert_eq!(e, MailError::UntrustedCertificate, "{security:?}");
        assert!(!e.retryable());
        assert_portal_words(&e, "certificate is not trusted");
        assert!(server.received_nothing().await);
        // Issued by the trusted CA, but for another name than the host the portal dials.
        let other_name = Some(vec!["mail.contoso.example".to_string()]);
        let options = ServerOptions { security: Some(security), certificate_names: other_name, ..Default::default() };
        let mut server = SmtpServer::start(&dir, options).await;
        let e = mailer(&server.settings()).send(&invitation()).await.unwrap_err();
        assert_eq!(e, MailError::UntrustedCertificate, "{security:?}: a certificate for another name");
        assert!(server.received_nothing().await);
    }
}

#[tokio::test]
async fn a_closed_port_or_a_silent_server_can_be_tried_again() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = listener.local_addr().unwrap().port();
    drop(listener);
    let settings = |port: u16, timeout: u64| mca_portal::config::Settings {
        smtp: SmtpSettings {
            smtp_host: Some("127.0.0.1".into()),
            smtp_port: Some(port),
            smtp_timeout_seconds: timeout,
            ..SmtpSettings::default()
        },
        ..Default::default()
    };
    let e = mailer(&settings(closed, 5)).send(&invitation()).await.unwrap_err();
    assert_eq!(e, MailError::Connection);
    assert!(e.retryable());
    assert_portal_words(&e, "could not reach the mail server");
    // Takes the connection and never greets.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let (socket, _) = silent.accept().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
        drop(socket);
    });
    let started = std::time::Instant::now();
    let e = mailer(&settings(port, 1)).send(&invitation()).await.unwrap_err();
    assert_eq!(e, MailError::Timeout);
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "within smtp_timeout_seconds");
    assert!(e.retryable());
    assert_portal_words(&e, "did not answer in time");
    held.abort();
}

#[tokio::test]
async fn a_bad_address_is_refused_before_connecting() {
    // Port 9 on loopback: nothing is contacted, the address is checked first.
    let settings = mca_portal::config::Settings {
        smtp: SmtpSettings { smtp_host: Some("127.0.0.1".into()), smtp_port: Some(9), ..SmtpSettings::default() },
        ..Default::default()
    };
    let m = mailer(&settings);
    let e = m.send(&OutgoingEmail { to: "marta at lodz".into(), ..invitation() }).await.unwrap_err();
    assert_eq!(e, MailError::InvalidRecipient);
    assert_portal_words(&e, "not a valid email address");
    let e = m.send(&OutgoingEmail { agent_email: "zoe".into(), ..invitation() }).await.unwrap_err();
    assert_eq!(e, MailError::InvalidAgentAddress);
}

#[tokio::test]
async fn no_smtp_host_means_no_mailer() {
    assert!(Mailer::from_settings(&mca_portal::config::Settings::default()).unwrap().is_none());
    let settings = mca_portal::config::Settings {
        smtp: SmtpSettings {
            smtp_host: Some("smtp.example.com".into()),
            smtp_security: SmtpSecurity::Tls,
            ..SmtpSettings::default()
        },
        ..Default::default()
    };
    let m = mailer(&settings);
    assert_eq!(m.description(), "SMTP smtp.example.com:465 (TLS), from the agent's own address");
    let bad_root = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad_root.path(), "not a certificate").unwrap();
    let mut settings = settings;
    settings.smtp.smtp_root_certificate_file = Some(bad_root.path().to_path_buf());
    let e = Mailer::from_settings(&settings).unwrap_err().to_string();
    assert!(e.contains("smtp_root_certificate_file"), "{e}");
}

/// `mca-portal migrate` in `dir` with these variables: it reads and checks the settings.
async fn migrate(dir: &std::path::Path, env: &[(&str, &str)]) -> (bool, String) {
    let mut command = portal_command(dir);
    command.arg("migrate").stderr(std::process::Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().await.unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[tokio::test]
async fn smtp_settings_come_from_the_file_and_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mca-portal.toml"),
        "smtp_host = \"smtp.example.com\"\nsmtp_security = \"tls\"\nsmtp_username = \"portal\"\nsmtp_sendr = \"typo\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("smtp-password"), "12345\n").unwrap();
    let (ok, text) = migrate(dir.path(), &[]).await;
    assert!(!ok, "a user name without a password is refused");
    assert!(text.contains("smtp_username is set without smtp_password"), "{text}");
    let password_file = dir.path().join("smtp-password");
    let password_file = password_file.to_str().unwrap();
    let (ok, text) = migrate(dir.path(), &[("MCA_SMTP_PASSWORD_FILE", password_file)]).await;
    assert!(ok, "{text}");
    assert!(text.contains("unknown setting \"smtp_sendr\""), "{text}");
    assert!(!text.contains("unknown setting \"smtp_host\""), "{text}");
    assert!(!text.contains("12345"), "{text}");
    // A password of digits from the environment is still a password.
    let (ok, text) = migrate(dir.path(), &[("MCA_SMTP_PASSWORD", "12345"), ("MCA_SMTP_PORT", "2465")]).await;
    assert!(ok, "{text}");
    let (ok, text) = migrate(dir.path(), &[("MCA_SMTP_PASSWORD", "x"), ("MCA_SMTP_SECURITY", "none")]).await;
    assert!(!ok && text.contains("SMTP_SECURITY") && text.contains("`starttls` or `tls`"), "{text}");
    let (ok, text) = migrate(dir.path(), &[("MCA_SMTP_PASSWORD", "x"), ("MCA_SMTP_SENDER", "not an address")]).await;
    assert!(!ok && text.contains("smtp_sender must be an email address"), "{text}");
}
