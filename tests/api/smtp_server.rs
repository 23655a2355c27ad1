//! A real SMTP server on 127.0.0.1 for the sending tests: Nodemailer's `smtp-server`,
//! run with node from `tests/smtp` (`npm ci --prefix tests/smtp`), with a certificate made
//! for the test by a CA made for the test. Every message it takes arrives here decoded by
//! `mailparser`. Without node or the packages the tests skip, except in CI (`CI` set),
//! where they fail.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use mca_portal::config::{Settings, SmtpSecurity, SmtpSettings};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// A name and an address as mailparser decoded them from a header.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Named {
    pub name: String,
    pub address: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Envelope {
    pub mail_from: Option<String>,
    pub rcpt_to: Vec<String>,
}

/// One message as the server received it.
#[derive(Debug, Clone, Deserialize)]
pub struct Received {
    pub envelope: Envelope,
    /// Whether the session was encrypted (STARTTLS done, or implicit TLS).
    pub secure: bool,
    /// Who signed in with AUTH, if anyone.
    pub user: Option<String>,
    pub from: Vec<Named>,
    pub reply_to: Vec<Named>,
    pub to: Vec<Named>,
    pub subject: Option<String>,
    pub text: Option<String>,
    pub raw: String,
}

/// What the server is told to do.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    pub security: Option<SmtpSecurity>,
    /// User and password the server requires with AUTH PLAIN or LOGIN.
    pub auth: Option<(String, String)>,
    pub refuse_recipients: Vec<String>,
    pub refuse_senders: Vec<String>,
    /// The names in the server's certificate; unset: 127.0.0.1 and localhost.
    pub certificate_names: Option<Vec<String>>,
}

/// The test CA (its certificate is what the portal is told to trust) and the server's
/// certificate for `names`, issued by it.
pub struct Certificates {
    /// Holds the files; they go when this is dropped.
    _dir: tempfile::TempDir,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub fn certificates(names: Vec<String>) -> Certificates {
    let dir = tempfile::tempdir().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "mca-portal test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(names).unwrap();
    params.distinguished_name.push(DnType::CommonName, "smtp.test");
    let cert = params.signed_by(&key, &ca).unwrap();
    let paths = Certificates {
        ca: dir.path().join("ca.pem"),
        cert: dir.path().join("cert.pem"),
        key: dir.path().join("key.pem"),
        _dir: dir,
    };
    std::fs::write(&paths.ca, ca.pem()).unwrap();
    std::fs::write(&paths.cert, cert.pem()).unwrap();
    std::fs::write(&paths.key, key.serialize_pem()).unwrap();
    paths
}

/// `tests/smtp` when node and its packages are there; else why not.
fn prerequisites() -> Result<PathBuf, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp");
    if !dir.join("node_modules/smtp-server").exists() || !dir.join("node_modules/mailparser").exists() {
        return Err("tests/smtp/node_modules is missing (npm ci --prefix tests/smtp)".into());
    }
    if std::process::Command::new("node").arg("--version").output().is_err() {
        return Err("node is not installed".into());
    }
    Ok(dir)
}

/// The server's directory, or `None` (the test skips) outside CI when something is
/// missing; in CI a missing prerequisite fails the test.
pub fn smtp_prerequisites(test: &str) -> Option<PathBuf> {
    match prerequisites() {
        Ok(dir) => Some(dir),
        Err(why) if std::env::var("CI").is_ok() => panic!("the SMTP tests are required in CI: {why}"),
        Err(why) => {
            eprintln!("skipping {test}: {why}");
            None
        }
    }
}

/// A running server; killed when dropped.
pub struct SmtpServer {
    pub port: u16,
    pub certificates: Certificates,
    pub security: SmtpSecurity,
    messages: mpsc::UnboundedReceiver<Received>,
    _child: Child,
}

impl SmtpServer {
    /// Starts the server (from `smtp_prerequisites`' directory) and waits for its port.
    pub async fn start(dir: &Path, options: ServerOptions) -> SmtpServer {
        let names = options.certificate_names.clone().unwrap_or_else(|| vec!["127.0.0.1".into(), "localhost".into()]);
        let certificates = certificates(names);
        let security = options.security.unwrap_or(SmtpSecurity::Starttls);
        let (user, password) = options.auth.clone().unzip();
        let config = serde_json::json!({
            "tls": if security == SmtpSecurity::Tls { "implicit" } else { "starttls" },
            "key": certificates.key,
            "cert": certificates.cert,
            "user": user,
            "password": password,
            "refuse_recipients": options.refuse_recipients,
            "refuse_senders": options.refuse_senders,
        });
        let mut child = Command::new("node")
            .arg(dir.join("server.mjs"))
            .arg(config.to_string())
            .current_dir(dir)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start node");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the SMTP server starts in time")
            .unwrap()
            .expect("the SMTP server says where it listens");
        let port = first.strip_prefix("listening ").and_then(|p| p.parse().ok()).expect("listening PORT");
        let (sender, messages) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(json) = line.strip_prefix("message ") {
                    let _ = sender.send(serde_json::from_str(json).expect("a message as JSON"));
                }
            }
        });
        SmtpServer { port, certificates, security, messages, _child: child }
    }

    /// The settings that send through this server, trusting the test CA.
    pub fn settings(&self) -> Settings {
        Settings {
            smtp: SmtpSettings {
                smtp_host: Some("127.0.0.1".into()),
                smtp_port: Some(self.port),
                smtp_security: self.security,
                smtp_root_certificate_file: Some(self.certificates.ca.clone()),
                smtp_timeout_seconds: 20,
                ..SmtpSettings::default()
            },
            ..Settings::default()
        }
    }

    /// The next message the server received (within ten seconds).
    pub async fn received(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(10), self.messages.recv())
            .await
            .expect("a message arrives in time")
            .expect("the server is still running")
    }

    /// Whether any message arrived, after waiting a little for a late one.
    pub async fn received_nothing(&mut self) -> bool {
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.messages.try_recv().is_err()
    }
}
