//! Settings in layers: built-in defaults (which run the built-in sandbox), then an
//! optional `mca-portal.toml`, then `MCA_`-prefixed environment variables. Secrets are
//! `secrecy` values, may come from `…_file` / `MCA_…_FILE`, and are never printed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

use crate::domain::{PartnerType, ReattestationPolicy, parse_tenant_id};

/// The file read when present in the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "mca-portal.toml";
/// Where the data key is kept when no key is configured.
pub const DATA_KEY_FILE: &str = "mca-portal.key";

/// Where agent roles are read from in the ID token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolesFrom {
    /// The `groups` claim, matched against group object ids.
    Groups,
    /// The `roles` claim (app roles), matched against role values.
    AppRoles,
}

/// How the portal attests (both documented in docs/partner-center.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttestationMode {
    /// `POST /v1/customers/{id}/agreements` with contact, date and template.
    Confirm,
    /// Create an enhanced attestation (App-only), the customer accepts at a link, then the
    /// agreement is created with the attestation id.
    Enhanced,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Address the portal listens on.
    pub bind: String,
    /// Address people open; derived from `bind` when unset. `https://` turns on Secure
    /// cookies with the `__Host-` prefix and HSTS.
    pub public_url: Option<String>,
    /// `sqlite://file.db` (created when missing) or `postgres://…`.
    pub database_url: String,

    /// OpenID Connect issuer. Unset: the built-in sandbox identity provider.
    pub oidc_issuer: Option<String>,
    pub oidc_client_id: String,
    #[serde(serialize_with = "redacted")]
    pub oidc_client_secret: Option<SecretString>,
    pub oidc_client_secret_file: Option<PathBuf>,
    /// Scopes asked for at sign-in; the Partner Center one gives the delegated token.
    pub oidc_scopes: Vec<String>,
    /// The one partner tenant this deployment serves, when it serves only one: sign-ins
    /// from other tenants are refused, and it stands in for a missing `tid` claim.
    /// Unset: each sign-in's own `tid` (which must then be a tenant id).
    pub tenant_id: Option<String>,
    /// Partner Center API base. Unset: the built-in sandbox.
    pub partner_center_url: Option<String>,
    /// Scope for the application's own (App-only) token.
    pub partner_center_app_scope: String,
    /// Token endpoint of each partner tenant, for the application's own token, with
    /// `{tenant}` where the tenant id goes. Unset: Entra ID's
    /// (`https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`), or the built-in
    /// sandbox's.
    pub app_token_endpoint: Option<String>,

    /// Which groups (object ids) or app roles give each agent role. Empty by default:
    /// with the built-in sandbox, startup fills in the sandbox's groups and app roles; a
    /// real identity provider's must be named in the settings.
    pub roles_from: RolesFrom,
    pub admin_agent_groups: Vec<String>,
    pub sales_agent_groups: Vec<String>,
    pub helpdesk_agent_groups: Vec<String>,
    pub global_admin_groups: Vec<String>,
    pub admin_agent_app_roles: Vec<String>,
    pub sales_agent_app_roles: Vec<String>,
    pub helpdesk_agent_app_roles: Vec<String>,
    pub global_admin_app_roles: Vec<String>,
    /// Partner type per tenant id, overriding what the relationships call says.
    pub partner_types: BTreeMap<String, PartnerType>,

    /// Key for signing and encrypting the session cookie (at least 64 bytes). Unset: a
    /// new random key at every start, which signs everyone out on restart.
    #[serde(serialize_with = "redacted")]
    pub session_key: Option<SecretString>,
    pub session_key_file: Option<PathBuf>,
    /// Key for sealing what the portal keeps (session state, queued submissions' tokens),
    /// at least 32 characters. Unset: a key kept in `mca-portal.key` in the working
    /// directory (created on first start). Never the session key (docs/sealed-data.md).
    #[serde(serialize_with = "redacted")]
    pub data_key: Option<SecretString>,
    pub data_key_file: Option<PathBuf>,
    /// The data key before a rotation: read, never written with; `mca-portal rotate-key`
    /// re-seals everything with `data_key`, after which this can go.
    #[serde(serialize_with = "redacted")]
    pub data_key_previous: Option<SecretString>,
    pub data_key_previous_file: Option<PathBuf>,
    pub session_idle_minutes: u64,
    pub session_absolute_hours: u64,

    /// Rate limits (docs/rate-limits.md); keys stay flat: `rate_limit_posts_per_minute`.
    #[serde(flatten)]
    pub rate_limits: RateLimitSettings,
    /// A header set by a reverse proxy the portal trusts (such as `X-Forwarded-For`) whose
    /// last address is the client's. Unset: the peer address of the connection.
    pub trusted_proxy_header: Option<String>,

    pub reattestation_cutoff: NaiveDate,
    pub reattestation_enforced_from: NaiveDate,

    /// Where the built-in sandbox listens (identity provider and Partner Center).
    pub sandbox_bind: String,
    /// Faults of the sandbox Partner Center API; keys stay flat (`sandbox_latency_ms`).
    #[serde(flatten)]
    pub sandbox_faults: SandboxFaultSettings,
    /// More generated customers in the sandbox, to try a large portfolio.
    pub sandbox_extra_customers: usize,
    /// Sandbox partner tenants that are direct-bill partners too (the sandbox's own rule
    /// then lets them attest, also in enhanced mode), to try a reseller that also bills
    /// directly; give the portal the same in `partner_types`.
    pub sandbox_direct_bill_tenants: Vec<String>,

    pub http_timeout_seconds: u64,
    pub http_max_retries: u32,
    pub customers_page_size: u32,

    /// How long the agent waits for Partner Center after Submit before being told the
    /// submission is saved and will be sent.
    pub deliver_wait_seconds: u64,
    /// How often the background worker looks for queued submissions.
    pub delivery_poll_ms: u64,
    /// How long one instance holds a submission it is delivering.
    pub delivery_lease_seconds: u64,
    /// How many submissions the background worker sends at once.
    pub delivery_concurrency: usize,
    /// `enhanced` (the default: Partner Center's way to attest since January 5, 2026) or
    /// `confirm`, for tenants where the older call still works (docs/partner-center.md).
    pub attestation_mode: AttestationMode,
    /// How often an enhanced attestation is checked for the customer's acceptance.
    pub acceptance_check_seconds: u64,

    /// Sending invitation emails over SMTP (off while `smtp_host` is unset). The keys stay
    /// flat: `smtp_host`, `MCA_SMTP_HOST`.
    #[serde(flatten)]
    pub smtp: SmtpSettings,

    /// The readiness API (docs/readiness.md); keys stay flat: `api_rate_limit_per_minute`.
    #[serde(flatten)]
    pub api: ApiSettings,
    /// The refresh of the whole portfolio: its pace, schedule and lease (flat keys:
    /// `refresh_rate_limit_per_minute`).
    #[serde(flatten)]
    pub refresh: RefreshSettings,
    /// The benchmark's reference page (docs/benchmark.md); flat key `benchmark_reference`.
    #[serde(flatten)]
    pub benchmark: BenchmarkSettings,
}

/// Rate limits per minute: sign-in starts and callbacks per client address, POSTs per
/// client address, POSTs per signed-in session.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimitSettings {
    pub rate_limit_sign_in_per_minute: u32,
    pub rate_limit_posts_per_minute: u32,
    pub rate_limit_session_posts_per_minute: u32,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings {
            rate_limit_sign_in_per_minute: 120,
            rate_limit_posts_per_minute: 1200,
            rate_limit_session_posts_per_minute: 300,
        }
    }
}

/// Whether `/benchmark/reference` answers: a fixed page from memory, the yardstick the
/// benchmark measures every page against. Off unless set.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BenchmarkSettings {
    pub benchmark_reference: bool,
}

/// Faults of the sandbox Partner Center API, for trying the portal against a flaky
/// upstream: added latency, shares (percent) of 5xx, of 429 and of timeouts, how long a
/// timeout holds the answer back, and a rate limit per partner tenant (0: none).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SandboxFaultSettings {
    pub sandbox_latency_ms: u64,
    pub sandbox_error_percent: u8,
    pub sandbox_throttle_percent: u8,
    pub sandbox_timeout_percent: u8,
    pub sandbox_timeout_seconds: u64,
    pub sandbox_rate_limit_per_minute: u32,
}

impl Default for SandboxFaultSettings {
    fn default() -> Self {
        SandboxFaultSettings {
            sandbox_latency_ms: 0,
            sandbox_error_percent: 0,
            sandbox_throttle_percent: 0,
            sandbox_timeout_percent: 0,
            sandbox_timeout_seconds: 60,
            sandbox_rate_limit_per_minute: 0,
        }
    }
}

/// How the portal reads every customer of a partner again (docs/refresh.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefreshSettings {
    /// How long a page waits for a refresh of all customers before it shows the progress.
    pub refresh_wait_seconds: u64,
    /// Partner Center calls a refresh makes per minute and partner tenant, at most.
    pub refresh_rate_limit_per_minute: u32,
    /// How many Partner Center calls a refresh has under way at once.
    pub refresh_concurrency: usize,
    /// A new refresh of each partner's customers this many minutes after the last one
    /// began; 0 for none but those agents start.
    pub refresh_every_minutes: u64,
    /// How long one instance holds a refresh it runs without renewing its hold; another
    /// instance takes over a refresh whose hold has run out.
    pub refresh_lease_seconds: u64,
    /// How often an instance looks for refreshes to start or take over.
    pub refresh_poll_seconds: u64,
    /// Records per page of the built-in sandbox's agreement-records listing.
    pub sandbox_agreement_records_page_size: usize,
}

impl Default for RefreshSettings {
    fn default() -> Self {
        RefreshSettings {
            refresh_wait_seconds: 10,
            refresh_rate_limit_per_minute: 400,
            refresh_concurrency: 6,
            refresh_every_minutes: 360,
            refresh_lease_seconds: 60,
            refresh_poll_seconds: 15,
            sandbox_agreement_records_page_size: 250,
        }
    }
}

/// The readiness API's settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiSettings {
    /// Requests per minute each API key may make; more get 429 with `Retry-After`.
    pub api_rate_limit_per_minute: u32,
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings { api_rate_limit_per_minute: 600 }
    }
}

impl ApiSettings {
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.api_rate_limit_per_minute == 0 {
            return Err(ConfigError::Invalid("api_rate_limit_per_minute must be at least 1".into()));
        }
        Ok(())
    }
}

impl RefreshSettings {
    /// Refuses values a refresh cannot run with.
    pub fn check(&self) -> Result<(), ConfigError> {
        let invalid = |s: &str| Err(ConfigError::Invalid(s.to_string()));
        if self.refresh_rate_limit_per_minute == 0 || self.refresh_concurrency == 0 {
            return invalid("refresh_rate_limit_per_minute and refresh_concurrency must be at least 1");
        }
        if self.refresh_lease_seconds < 2 || self.refresh_poll_seconds == 0 {
            return invalid("refresh_lease_seconds must be at least 2 and refresh_poll_seconds at least 1");
        }
        if self.sandbox_agreement_records_page_size == 0 {
            return invalid("sandbox_agreement_records_page_size must be at least 1");
        }
        Ok(())
    }
}

/// How the connection to the SMTP server is encrypted. There is no plain mode: the
/// password and the customers' addresses never cross the network in clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Connect in clear, then STARTTLS before anything else (submission, port 587).
    Starttls,
    /// TLS from the first byte (submissions, port 465).
    Tls,
}

/// The SMTP settings (docs/email.md). `smtp_host` unset: the portal does not send email.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SmtpSettings {
    /// The SMTP server's host name (checked against its certificate) or IP address.
    pub smtp_host: Option<String>,
    /// Unset: 587 with `starttls`, 465 with `tls`.
    pub smtp_port: Option<u16>,
    pub smtp_security: SmtpSecurity,
    /// Sign in to the server with this user and `smtp_password` (AUTH PLAIN or LOGIN).
    pub smtp_username: Option<String>,
    #[serde(serialize_with = "redacted")]
    pub smtp_password: Option<SecretString>,
    pub smtp_password_file: Option<PathBuf>,
    /// The From address (`name@example.com` or `Name <name@example.com>`); the agent is
    /// then the Reply-To. Unset: the email is from the agent's own address.
    pub smtp_sender: Option<String>,
    /// An extra trusted CA certificate (PEM) besides the public roots, for an internal
    /// server whose certificate a private CA issued.
    pub smtp_root_certificate_file: Option<PathBuf>,
    /// How long one send may take, connection included.
    pub smtp_timeout_seconds: u64,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        SmtpSettings {
            smtp_host: None,
            smtp_port: None,
            smtp_security: SmtpSecurity::Starttls,
            smtp_username: None,
            smtp_password: None,
            smtp_password_file: None,
            smtp_sender: None,
            smtp_root_certificate_file: None,
            smtp_timeout_seconds: 30,
        }
    }
}

impl SmtpSettings {
    /// The configured port, or the usual one for the security mode.
    pub fn port(&self) -> u16 {
        self.smtp_port.unwrap_or(match self.smtp_security {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
        })
    }

    /// Whether sending is configured at all.
    pub fn enabled(&self) -> bool {
        self.smtp_host.is_some()
    }

    /// Refuses SMTP settings that cannot work, with a sentence that says what to set.
    pub fn check(&self) -> Result<(), ConfigError> {
        let invalid = |s: &str| Err(ConfigError::Invalid(s.to_string()));
        let blank = |v: &Option<String>| v.as_deref().is_some_and(|v| v.trim().is_empty());
        if blank(&self.smtp_host) {
            return invalid(
                "smtp_host is empty: set the SMTP server's host name, or remove the key to turn sending off",
            );
        }
        if !self.enabled() {
            let set = [
                self.smtp_username.is_some() || self.smtp_password.is_some(),
                self.smtp_sender.is_some() || self.smtp_root_certificate_file.is_some(),
            ];
            if set.contains(&true) {
                return invalid(
                    "SMTP settings are given but smtp_host is not: set smtp_host to send email, or remove the other smtp_ keys",
                );
            }
            return Ok(());
        }
        match (&self.smtp_username, &self.smtp_password) {
            (Some(_), None) => {
                return invalid(
                    "smtp_username is set without smtp_password (or smtp_password_file): set both, or neither when the server takes mail without signing in",
                );
            }
            (None, Some(_)) => {
                return invalid(
                    "smtp_password is set without smtp_username: set both, or neither when the server takes mail without signing in",
                );
            }
            _ => {}
        }
        if blank(&self.smtp_username) {
            return invalid(
                "smtp_username is empty: set the user the SMTP server knows, or remove it together with smtp_password",
            );
        }
        if self.smtp_port == Some(0) || self.smtp_timeout_seconds == 0 {
            return invalid("smtp_port and smtp_timeout_seconds must be above zero");
        }
        if let Some(sender) = &self.smtp_sender
            && sender.trim().parse::<lettre::message::Mailbox>().is_err()
        {
            return invalid(
                "smtp_sender must be an email address, like mca@example.com or Contoso MCA <mca@example.com>",
            );
        }
        Ok(())
    }
}

fn redacted<S: Serializer>(v: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_some("[redacted]"),
        None => s.serialize_none(),
    }
}

/// The application (client) id the portal presents when none is configured; the
/// built-in sandbox registers whatever id the portal presents.
pub const DEFAULT_OIDC_CLIENT_ID: &str = "mca-portal";

/// The scopes asked for at sign-in unless configured; the Partner Center one gives the
/// delegated token.
const DEFAULT_OIDC_SCOPES: [&str; 5] =
    ["openid", "profile", "email", "offline_access", "https://api.partnercenter.microsoft.com/user_impersonation"];

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: "127.0.0.1:8080".into(),
            public_url: None,
            database_url: "sqlite://mca-portal.db".into(),
            oidc_issuer: None,
            oidc_client_id: DEFAULT_OIDC_CLIENT_ID.into(),
            oidc_client_secret: None,
            oidc_client_secret_file: None,
            oidc_scopes: DEFAULT_OIDC_SCOPES.iter().map(|s| s.to_string()).collect(),
            tenant_id: None,
            partner_center_url: None,
            partner_center_app_scope: "https://api.partnercenter.microsoft.com/.default".into(),
            app_token_endpoint: None,
            roles_from: RolesFrom::Groups,
            admin_agent_groups: Vec::new(),
            sales_agent_groups: Vec::new(),
            helpdesk_agent_groups: Vec::new(),
            global_admin_groups: Vec::new(),
            admin_agent_app_roles: Vec::new(),
            sales_agent_app_roles: Vec::new(),
            helpdesk_agent_app_roles: Vec::new(),
            global_admin_app_roles: Vec::new(),
            partner_types: BTreeMap::new(),
            session_key: None,
            session_key_file: None,
            data_key: None,
            data_key_file: None,
            data_key_previous: None,
            data_key_previous_file: None,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            rate_limits: RateLimitSettings::default(),
            trusted_proxy_header: None,
            reattestation_cutoff: ReattestationPolicy::default().cutoff,
            reattestation_enforced_from: ReattestationPolicy::default().enforced_from,
            sandbox_bind: "127.0.0.1:8081".into(),
            sandbox_faults: SandboxFaultSettings::default(),
            sandbox_extra_customers: 0,
            sandbox_direct_bill_tenants: Vec::new(),
            http_timeout_seconds: 30,
            http_max_retries: 4,
            customers_page_size: 25,
            deliver_wait_seconds: 8,
            delivery_poll_ms: 1000,
            delivery_lease_seconds: 300,
            delivery_concurrency: 4,
            attestation_mode: AttestationMode::Enhanced,
            acceptance_check_seconds: 60,
            smtp: SmtpSettings::default(),
            api: ApiSettings::default(),
            refresh: RefreshSettings::default(),
            benchmark: BenchmarkSettings::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the settings could not be read: {0}")]
    Read(#[from] Box<figment::Error>),
    #[error("{key}: could not read the file {path}: {source}")]
    SecretFile { key: &'static str, path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Invalid(String),
}

/// Keys whose environment variable is taken as written: the environment provider would
/// otherwise read `MCA_SMTP_PASSWORD=12345` as a number, and `007` as 7.
const VERBATIM_ENV_KEYS: &[&str] =
    &["oidc_client_secret", "session_key", "data_key", "data_key_previous", "smtp_username", "smtp_password"];

/// Settings as loaded, with the keys nobody knows (probably typos) to report at start.
#[derive(Debug)]
pub struct Loaded {
    pub settings: Settings,
    pub unknown_keys: Vec<String>,
    pub file: Option<PathBuf>,
}

impl Settings {
    /// Defaults < file < environment. `file` is the `--config` path; without it
    /// `mca-portal.toml` is read when it exists.
    pub fn load(file: Option<&Path>) -> Result<Loaded, ConfigError> {
        let file = match file {
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.exists()),
        };
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(f) = &file {
            if !f.exists() {
                return Err(ConfigError::Invalid(format!("the settings file {} does not exist", f.display())));
            }
            figment = figment.merge(Toml::file(f));
        }
        figment = figment.merge(Env::prefixed("MCA_").ignore(VERBATIM_ENV_KEYS));
        for (key, value) in Env::prefixed("MCA_").only(VERBATIM_ENV_KEYS).iter() {
            figment = figment.merge(Serialized::default(key.as_str(), value));
        }
        let known = known_keys();
        let mut unknown_keys: Vec<String> = figment
            .extract::<BTreeMap<String, figment::value::Value>>()
            .map_err(|e| ConfigError::Read(Box::new(e)))?
            .into_keys()
            .filter(|k| !known.contains(k))
            .collect();
        unknown_keys.sort();
        unknown_keys.dedup();
        let mut settings: Settings = figment.extract().map_err(|e| {
            // Flattened keys lose their name in the error: read them alone to get it back.
            ConfigError::Read(Box::new(
                figment
                    .extract::<SmtpSettings>()
                    .err()
                    .or_else(|| figment.extract::<RefreshSettings>().err())
                    .unwrap_or(e),
            ))
        })?;
        settings.read_secret_files()?;
        settings.check()?;
        Ok(Loaded { settings, unknown_keys, file })
    }

    fn read_secret_files(&mut self) -> Result<(), ConfigError> {
        fn read(key: &'static str, path: &Path) -> Result<SecretString, ConfigError> {
            std::fs::read_to_string(path)
                .map(|s| SecretString::from(s.trim_end_matches(['\n', '\r']).to_string()))
                .map_err(|source| ConfigError::SecretFile { key, path: path.to_path_buf(), source })
        }
        if let Some(p) = &self.oidc_client_secret_file {
            self.oidc_client_secret = Some(read("oidc_client_secret_file", p)?);
        }
        if let Some(p) = &self.session_key_file {
            self.session_key = Some(read("session_key_file", p)?);
        }
        if let Some(p) = &self.data_key_file {
            self.data_key = Some(read("data_key_file", p)?);
        }
        if let Some(p) = &self.data_key_previous_file {
            self.data_key_previous = Some(read("data_key_previous_file", p)?);
        }
        if let Some(p) = &self.smtp.smtp_password_file {
            self.smtp.smtp_password = Some(read("smtp_password_file", p)?);
        }
        Ok(())
    }

    /// Refuses combinations that cannot work, with a sentence that says what to set.
    pub fn check(&self) -> Result<(), ConfigError> {
        let invalid = |s: String| Err(ConfigError::Invalid(s));
        match (&self.oidc_issuer, &self.partner_center_url) {
            (Some(_), None) => {
                return invalid("oidc_issuer is set but partner_center_url is not: a real identity provider needs the real Partner Center (https://api.partnercenter.microsoft.com), or unset both to use the built-in sandbox".into());
            }
            (None, Some(_)) => {
                return invalid("partner_center_url is set but oidc_issuer is not: the built-in sandbox only issues tokens for itself; set oidc_issuer, oidc_client_id and oidc_client_secret too, or unset partner_center_url".into());
            }
            (Some(_), Some(_)) if self.oidc_client_secret.is_none() => {
                return invalid(
                    "oidc_client_secret (or oidc_client_secret_file) is required with a real identity provider".into(),
                );
            }
            _ => {}
        }
        self.check_sign_in()?;
        self.check_keys_and_rate_limits()?;
        self.api.check()?;
        self.smtp.check()?;
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres:")
            || self.database_url.starts_with("postgresql:"))
        {
            return invalid(format!(
                "database_url must start with sqlite: or postgres:, not {:?}",
                self.database_url.split(':').next().unwrap_or_default()
            ));
        }
        if self.session_idle_minutes == 0 || self.session_absolute_hours == 0 {
            return invalid("session_idle_minutes and session_absolute_hours must be above zero".into());
        }
        let f = &self.sandbox_faults;
        let shares = [f.sandbox_error_percent, f.sandbox_throttle_percent, f.sandbox_timeout_percent];
        if shares.iter().map(|p| u32::from(*p)).sum::<u32>() > 100 {
            return invalid(
                "sandbox_error_percent, sandbox_throttle_percent and sandbox_timeout_percent add up to more than 100"
                    .into(),
            );
        }
        if self.delivery_concurrency == 0 {
            return invalid("delivery_concurrency must be at least 1".into());
        }
        if self.customers_page_size == 0 || self.customers_page_size > 500 {
            return invalid("customers_page_size must be between 1 and 500".into());
        }
        self.refresh.check()?;
        if let Some(url) = &self.public_url
            && url::Url::parse(url).is_err()
        {
            return invalid(format!("public_url is not a URL: {url}"));
        }
        self.check_app_token_endpoint()
    }

    /// `app_token_endpoint`, when set, is a URL with `{tenant}` in it.
    fn check_app_token_endpoint(&self) -> Result<(), ConfigError> {
        match &self.app_token_endpoint {
            Some(t) if !t.contains("{tenant}") || url::Url::parse(&t.replace("{tenant}", "tenant")).is_err() => {
                Err(ConfigError::Invalid(format!(
                    "app_token_endpoint must be a URL with {{tenant}} where the partner's tenant id goes, like https://login.microsoftonline.com/{{tenant}}/oauth2/v2.0/token, not {t}"
                )))
            }
            _ => Ok(()),
        }
    }

    /// Keys long enough, rate limits above zero, a proxy header that is a header name.
    fn check_keys_and_rate_limits(&self) -> Result<(), ConfigError> {
        let invalid = |s: String| Err(ConfigError::Invalid(s));
        if let Some(key) = &self.session_key
            && key.expose_secret().len() < 64
        {
            return invalid("session_key must be at least 64 characters long".into());
        }
        for (name, key) in [("data_key", &self.data_key), ("data_key_previous", &self.data_key_previous)] {
            if let Some(key) = key
                && key.expose_secret().len() < 32
            {
                return invalid(format!("{name} must be at least 32 characters long"));
            }
        }
        let r = &self.rate_limits;
        let limits =
            [r.rate_limit_sign_in_per_minute, r.rate_limit_posts_per_minute, r.rate_limit_session_posts_per_minute];
        if limits.contains(&0) {
            return invalid("rate_limit_sign_in_per_minute, rate_limit_posts_per_minute and rate_limit_session_posts_per_minute must be at least 1".into());
        }
        if let Some(h) = &self.trusted_proxy_header
            && (h.is_empty() || !h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        {
            return invalid(format!("trusted_proxy_header is not a header name: {h:?} (for example X-Forwarded-For)"));
        }
        Ok(())
    }

    /// What sign-in needs: a role mapping with a real identity provider, and a tenant id
    /// that is one.
    fn check_sign_in(&self) -> Result<(), ConfigError> {
        if let Some(message) = self.missing_role_mapping() {
            return Err(ConfigError::Invalid(message));
        }
        if let Some(t) = &self.tenant_id
            && parse_tenant_id(t).is_none()
        {
            return Err(ConfigError::Invalid(format!(
                "tenant_id must be your partner organization's Microsoft Entra tenant id, a GUID such as 00000000-0000-0000-0000-000000000000, not {t:?}"
            )));
        }
        Ok(())
    }

    /// With a real identity provider, which of its groups (or app roles) give each agent
    /// role must be configured: nothing maps to a role by default (docs/architecture.md,
    /// "Sign-in and roles"). The sentence names the keys to set.
    fn missing_role_mapping(&self) -> Option<String> {
        self.oidc_issuer.as_ref()?;
        let (lists, keys, source) = match self.roles_from {
            RolesFrom::Groups => (
                [
                    &self.admin_agent_groups,
                    &self.sales_agent_groups,
                    &self.helpdesk_agent_groups,
                    &self.global_admin_groups,
                ],
                "admin_agent_groups, sales_agent_groups and helpdesk_agent_groups (and global_admin_groups if you wish)",
                "the object ids of your Partner Center AdminAgents, SalesAgents and HelpdeskAgents groups in Microsoft Entra ID",
            ),
            RolesFrom::AppRoles => (
                [
                    &self.admin_agent_app_roles,
                    &self.sales_agent_app_roles,
                    &self.helpdesk_agent_app_roles,
                    &self.global_admin_app_roles,
                ],
                "admin_agent_app_roles, sales_agent_app_roles and helpdesk_agent_app_roles (and global_admin_app_roles if you wish)",
                "the values of the app roles your application registration gives Admin, Sales and Helpdesk agents",
            ),
        };
        if lists.iter().any(|l| l.iter().any(|v| !v.trim().is_empty())) {
            return None;
        }
        let other = match self.roles_from {
            RolesFrom::Groups => {
                "; or read roles from app roles with roles_from = \"app_roles\" and the *_app_roles keys"
            }
            RolesFrom::AppRoles => {
                "; or read roles from groups with roles_from = \"groups\" and the *_agent_groups keys"
            }
        };
        Some(format!(
            "oidc_issuer is set, so the agent roles must be mapped explicitly (nothing gives a role by default with a real identity provider): set {keys} to {source}{other}"
        ))
    }

    /// The key that seals stored data: `data_key`, else the key file in the working
    /// directory (created with a random key the first time). Never `session_key`: one
    /// secret leaking must not open both the cookies and the database.
    pub fn data_key(&self) -> Result<SecretString, ConfigError> {
        if let Some(k) = &self.data_key {
            return Ok(k.clone());
        }
        let path = PathBuf::from(DATA_KEY_FILE);
        if let Ok(text) = std::fs::read_to_string(&path) {
            return Ok(SecretString::from(text.trim().to_string()));
        }
        use base64::Engine;
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let key = base64::engine::general_purpose::STANDARD.encode(bytes);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&path) {
            Ok(mut f) => {
                use std::io::Write;
                f.write_all(key.as_bytes()).map_err(|source| ConfigError::SecretFile {
                    key: "data_key",
                    path: path.clone(),
                    source,
                })?;
                Ok(SecretString::from(key))
            }
            // Another process created it meanwhile: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read_to_string(&path)
                .map(|t| SecretString::from(t.trim().to_string()))
                .map_err(|source| ConfigError::SecretFile { key: "data_key", path, source }),
            Err(source) => Err(ConfigError::SecretFile { key: "data_key", path, source }),
        }
    }

    pub fn uses_sandbox(&self) -> bool {
        self.oidc_issuer.is_none()
    }

    pub fn public_url(&self) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.bind)).trim_end_matches('/').to_string()
    }

    pub fn is_https(&self) -> bool {
        self.public_url().starts_with("https://")
    }

    pub fn policy(&self) -> ReattestationPolicy {
        ReattestationPolicy { cutoff: self.reattestation_cutoff, enforced_from: self.reattestation_enforced_from }
    }

    /// A short description of the database without credentials, for the start banner.
    pub fn database_description(&self) -> String {
        match url::Url::parse(&self.database_url) {
            Ok(u) if u.scheme().starts_with("postgres") => format!(
                "PostgreSQL at {}:{}{}",
                u.host_str().unwrap_or("localhost"),
                u.port().unwrap_or(5432),
                u.path()
            ),
            _ => format!(
                "SQLite file {}",
                self.database_url
                    .trim_start_matches("sqlite://")
                    .trim_start_matches("sqlite:")
                    .split('?')
                    .next()
                    .unwrap_or_default()
            ),
        }
    }
}

fn known_keys() -> Vec<String> {
    match serde_json::to_value(Settings::default()) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_run_the_sandbox_on_sqlite() {
        let s = Settings::default();
        assert!(s.uses_sandbox());
        assert!(s.check().is_ok());
        assert_eq!(s.public_url(), "http://127.0.0.1:8080");
        assert!(!s.is_https());
        assert!(s.database_description().starts_with("SQLite file mca-portal.db"));
    }

    #[test]
    fn secrets_never_serialize() {
        let s = Settings { oidc_client_secret: Some(SecretString::from("hunter2".to_string())), ..Default::default() };
        let text = serde_json::to_string(&s).unwrap();
        assert!(!text.contains("hunter2"));
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn half_configured_upstream_is_refused_with_advice() {
        let s = Settings { oidc_issuer: Some("https://login.example/".into()), ..Default::default() };
        let e = s.check().unwrap_err().to_string();
        assert!(e.contains("partner_center_url"), "{e}");
    }

    fn real_provider() -> Settings {
        Settings {
            oidc_issuer: Some("https://login.example/v2.0".into()),
            partner_center_url: Some("https://api.partnercenter.microsoft.com".into()),
            oidc_client_secret: Some(SecretString::from("a-secret".to_string())),
            ..Default::default()
        }
    }

    #[test]
    fn a_real_provider_needs_its_role_mapping_named() {
        let e = real_provider().check().unwrap_err().to_string();
        for key in ["admin_agent_groups", "sales_agent_groups", "helpdesk_agent_groups", "roles_from"] {
            assert!(e.contains(key), "{key}: {e}");
        }
        let by_app_roles = Settings { roles_from: RolesFrom::AppRoles, ..real_provider() };
        let e = by_app_roles.check().unwrap_err().to_string();
        assert!(e.contains("admin_agent_app_roles") && e.contains("sales_agent_app_roles"), "{e}");
        let mapped =
            Settings { sales_agent_groups: vec!["0f0f0f0f-0000-4000-8000-000000000000".into()], ..real_provider() };
        assert!(mapped.check().is_ok());
        let blank = Settings { admin_agent_groups: vec![" ".into()], ..real_provider() };
        assert!(blank.check().is_err(), "a blank group id maps nothing");
    }

    #[test]
    fn tenant_id_must_be_a_tenant_id() {
        let s = Settings { tenant_id: Some("default".into()), ..Default::default() };
        assert!(s.check().unwrap_err().to_string().contains("tenant_id"));
        let s = Settings { tenant_id: Some("c0a7050d-0000-4000-8000-000000000001".into()), ..Default::default() };
        assert!(s.check().is_ok());
    }

    #[test]
    fn the_app_token_endpoint_names_where_the_tenant_goes() {
        let with = |t: &str| Settings { app_token_endpoint: Some(t.into()), ..Default::default() }.check();
        assert!(with("https://login.microsoftonline.us/{tenant}/oauth2/v2.0/token").is_ok());
        let e = with("https://login.microsoftonline.com/common/oauth2/v2.0/token").unwrap_err().to_string();
        assert!(e.contains("{tenant}"), "{e}");
        assert!(with("not a url {tenant}").is_err());
    }

    #[test]
    fn smtp_settings_are_flat_keys_with_their_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("portal.toml");
        let password = dir.path().join("password");
        std::fs::write(&password, "digits-0123\n").unwrap();
        let toml = format!(
            "smtp_host = \"smtp.example.com\"\nsmtp_security = \"tls\"\nsmtp_username = \"portal\"\nsmtp_password_file = {:?}\nsmtp_sender = \"Contoso <mca@contoso.example>\"\n",
            password.display().to_string()
        );
        std::fs::write(&file, toml).unwrap();
        let loaded = Settings::load(Some(&file)).unwrap();
        let smtp = &loaded.settings.smtp;
        assert!(loaded.unknown_keys.is_empty(), "{:?}", loaded.unknown_keys);
        assert_eq!(smtp.smtp_host.as_deref(), Some("smtp.example.com"));
        assert_eq!((smtp.smtp_security, smtp.port()), (SmtpSecurity::Tls, 465));
        assert_eq!(smtp.smtp_password.as_ref().map(|p| p.expose_secret().to_string()).as_deref(), Some("digits-0123"));
        assert_eq!(smtp.smtp_timeout_seconds, 30);
        assert!(!format!("{:?}", loaded.settings).contains("digits-0123"));
        assert!(!serde_json::to_string(&loaded.settings).unwrap().contains("digits-0123"));
        assert_eq!(SmtpSettings::default().port(), 587);
    }

    #[test]
    fn smtp_settings_that_cannot_work_are_refused_with_a_sentence() {
        let smtp = |s: SmtpSettings| Settings { smtp: s, ..Default::default() }.check();
        let host = || SmtpSettings { smtp_host: Some("smtp.example.com".into()), ..Default::default() };
        assert!(smtp(host()).is_ok());
        let e = smtp(SmtpSettings { smtp_username: Some("u".into()), ..host() }).unwrap_err().to_string();
        assert!(e.contains("smtp_username is set without smtp_password"), "{e}");
        let e = smtp(SmtpSettings { smtp_password: Some(SecretString::from("p".to_string())), ..host() });
        assert!(e.unwrap_err().to_string().contains("without smtp_username"));
        let e = smtp(SmtpSettings { smtp_sender: Some("mca@contoso.example".into()), ..Default::default() });
        assert!(e.unwrap_err().to_string().contains("smtp_host is not"));
        let e = smtp(SmtpSettings { smtp_host: Some(" ".into()), ..Default::default() });
        assert!(e.unwrap_err().to_string().contains("smtp_host is empty"));
        let e = smtp(SmtpSettings { smtp_timeout_seconds: 0, ..host() });
        assert!(e.unwrap_err().to_string().contains("smtp_timeout_seconds"));
        let e = smtp(SmtpSettings { smtp_sender: Some("Contoso".into()), ..host() });
        assert!(e.unwrap_err().to_string().contains("smtp_sender must be an email address"));
        assert!(smtp(SmtpSettings { smtp_sender: Some("Zoë <zoe@contoso.example>".into()), ..host() }).is_ok());
    }

    #[test]
    fn postgres_description_hides_credentials() {
        let s = Settings { database_url: "postgres://u:secret@db.example:5433/portal".into(), ..Default::default() };
        let d = s.database_description();
        assert_eq!(d, "PostgreSQL at db.example:5433/portal");
    }
}
