//! Builds the application on listeners it is given, so tests run on port 0.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_session::SessionMiddleware;
use actix_session::config::{BrowserSession, CookieContentSecurity, TtlExtensionPolicy};
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use secrecy::ExposeSecret;

use crate::config::Settings;
use crate::identity::Oidc;
use crate::jobs;
use crate::partner_center::{PartnerCenter, RetryPolicy};
use crate::sandbox::{self, Sandbox, SandboxOptions};
use crate::store::{DbSessionStore, Store};
use crate::web::ended_session::no_cookie_for_ended_session;
use crate::web::errors::AppError;
use crate::web::rate_limit::{RateLimits, limit_rates};
use crate::web::session::session_cookie_name;
use crate::web::sign_in_cookie::SignInCookie;
use crate::web::{AppState, middleware, sign_in_renewal};
use crate::workflows::Workflows;

/// The sandbox's settings, from the portal's: its faults, how many customers it has and
/// which of its partners also bill directly.
pub fn sandbox_options(settings: &Settings) -> SandboxOptions {
    SandboxOptions {
        client_id: settings.oidc_client_id.clone(),
        faults: sandbox::Faults {
            latency_ms: settings.sandbox_faults.sandbox_latency_ms,
            error_percent: settings.sandbox_faults.sandbox_error_percent,
            throttle_percent: settings.sandbox_faults.sandbox_throttle_percent,
            timeout_percent: settings.sandbox_faults.sandbox_timeout_percent,
            timeout_seconds: settings.sandbox_faults.sandbox_timeout_seconds,
            rate_limit_per_minute: settings.sandbox_faults.sandbox_rate_limit_per_minute,
            ..sandbox::Faults::default()
        },
        extra_customers: settings.sandbox_extra_customers,
        direct_bill_tenants: settings.sandbox_direct_bill_tenants.clone(),
        agreement_records_page_size: settings.refresh.sandbox_agreement_records_page_size,
        ..SandboxOptions::default()
    }
}

/// With the built-in sandbox and no role mapping configured, the sandbox's groups and app
/// roles map to the agent roles, so that its demo people sign in with their roles. With a
/// real identity provider nothing is filled in: the settings must name its groups or app
/// roles (`Settings::check` refuses to start otherwise).
fn fill_sandbox_role_groups(settings: &mut Settings) {
    if !settings.uses_sandbox() {
        return;
    }
    let none = settings.admin_agent_groups.is_empty()
        && settings.sales_agent_groups.is_empty()
        && settings.helpdesk_agent_groups.is_empty()
        && settings.global_admin_groups.is_empty();
    if none {
        let g = sandbox::seed::role_groups();
        settings.admin_agent_groups = g.admin;
        settings.sales_agent_groups = g.sales;
        settings.helpdesk_agent_groups = g.helpdesk;
        settings.global_admin_groups = g.global_admin;
    }
    let no_app_roles = settings.admin_agent_app_roles.is_empty()
        && settings.sales_agent_app_roles.is_empty()
        && settings.helpdesk_agent_app_roles.is_empty()
        && settings.global_admin_app_roles.is_empty();
    if no_app_roles {
        let r = sandbox::seed::role_app_roles();
        settings.admin_agent_app_roles = r.admin;
        settings.sales_agent_app_roles = r.sales;
        settings.helpdesk_agent_app_roles = r.helpdesk;
        settings.global_admin_app_roles = r.global_admin;
    }
}

pub struct Application {
    port: u16,
    worker: tokio::task::JoinHandle<()>,
    refresher: tokio::task::JoinHandle<()>,
    workflows: Arc<Workflows>,
    server: Server,
    pub public_url: String,
    pub sandbox: Option<Sandbox>,
    pub store: Store,
    pub settings: Arc<Settings>,
    email: Option<String>,
}

impl Application {
    /// Binds `settings.bind` (and the sandbox's address when it is used).
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(&settings.bind).with_context(|| {
            format!("could not listen on {} (set bind or MCA_BIND to another address)", settings.bind)
        })?;
        let sandbox_listener = if settings.uses_sandbox() {
            Some(TcpListener::bind(&settings.sandbox_bind).with_context(|| {
                format!("the built-in sandbox could not listen on {} (set sandbox_bind or MCA_SANDBOX_BIND to a free address)", settings.sandbox_bind)
            })?)
        } else {
            None
        };
        let options = sandbox_options(&settings);
        Self::build_on(settings, listener, sandbox_listener, options).await
    }

    pub async fn build_on(
        mut settings: Settings,
        listener: TcpListener,
        sandbox_listener: Option<TcpListener>,
        sandbox_options: SandboxOptions,
    ) -> anyhow::Result<Application> {
        let port = listener.local_addr()?.port();
        settings.check()?;
        fill_sandbox_role_groups(&mut settings);
        if settings.public_url.is_none() {
            let ip = listener.local_addr()?.ip();
            let host = if ip.is_unspecified() { "127.0.0.1".to_string() } else { ip.to_string() };
            settings.public_url = Some(format!("http://{host}:{port}"));
        }
        let sandbox = match sandbox_listener {
            Some(l) if settings.uses_sandbox() => {
                let options = SandboxOptions { client_id: settings.oidc_client_id.clone(), ..sandbox_options };
                Some(sandbox::start(l, options)?)
            }
            _ => None,
        };
        let store = open_store(&settings).await?;
        let settings = Arc::new(settings);
        let workflows = Arc::new(workflows(&settings, store.clone(), sandbox.as_ref())?);
        // Queued submissions (from before a restart too) are delivered in the background.
        let worker =
            jobs::spawn_delivery_worker(workflows.delivery.clone(), Duration::from_millis(settings.delivery_poll_ms));
        jobs::spawn_session_sweeper(store.clone());
        jobs::spawn_token_sweeper(workflows.clone());
        let poll = Duration::from_secs(settings.refresh.refresh_poll_seconds);
        let refresher = jobs::spawn_refresh_job(workflows.clone(), poll);
        let limits = web::Data::new(RateLimits::new(&settings));
        let cleaned = limits.clone();
        jobs::spawn_rate_limit_cleanup(move || cleaned.forget_idle());
        let email = workflows.email_description();
        let state = web::Data::new(AppState { settings: settings.clone(), store: store.clone(), workflows });
        let workflows = state.workflows.clone();
        let server = serve(&settings, state, limits, store.clone(), listener)?;
        let public_url = settings.public_url();
        Ok(Application { port, worker, refresher, workflows, server, public_url, sandbox, store, settings, email })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where invitations are sent (SMTP), for the start banner; None without SMTP.
    pub fn email_description(&self) -> Option<&str> {
        self.email.as_deref()
    }

    /// What stops this instance from outside, as a crash would: see [`Stopper`].
    pub fn stopper(&self) -> Stopper {
        Stopper {
            server: self.server.handle(),
            jobs: vec![self.worker.abort_handle(), self.refresher.abort_handle()],
            workflows: self.workflows.clone(),
        }
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.worker.abort();
        self.refresher.abort();
        self.workflows.halt_refreshes();
        result
    }
}

/// Stops an instance without letting it finish its work: no more requests, no background
/// jobs, and its refreshes stop where they are (unfinished in the database, for another
/// instance to continue once their lease runs out). The built-in sandbox runs on.
pub struct Stopper {
    server: actix_web::dev::ServerHandle,
    jobs: Vec<tokio::task::AbortHandle>,
    workflows: Arc<Workflows>,
}

impl Stopper {
    pub async fn stop(&self) {
        self.workflows.halt_refreshes();
        for job in &self.jobs {
            job.abort();
        }
        self.server.stop(false).await;
    }
}

/// The database, migrated, sealing what it keeps with the deployment's data key (and
/// opening what the previous key sealed, during a key rotation).
pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let data_key = settings.data_key().context("the key that seals stored data could not be read or created")?;
    if settings.data_key.is_none() && settings.database_url.starts_with("postgres") {
        tracing::warn!(
            "no data_key is set: each instance keeps its own key file, so instances can't read each other's sessions or queued submissions; set data_key"
        );
    }
    let store = Store::connect(&settings.database_url)
        .await
        .with_context(|| format!("could not open the database ({})", settings.database_description()))?;
    let previous = settings.data_key_previous.as_ref().map(|k| k.expose_secret().as_bytes());
    let sealer = crate::store::sealing::Sealer::with_previous(data_key.expose_secret().as_bytes(), previous);
    Ok(store.with_sealer(sealer))
}

/// The use cases, with the identity provider and Partner Center they talk to: the
/// built-in sandbox, or the configured ones.
fn workflows(settings: &Arc<Settings>, store: Store, sandbox: Option<&Sandbox>) -> anyhow::Result<Workflows> {
    let (issuer, pc_url, secret) = match sandbox {
        Some(s) => {
            (s.issuer(), s.partner_center_url(), Some(secrecy::SecretString::from(sandbox::CLIENT_SECRET.to_string())))
        }
        None => (
            settings.oidc_issuer.clone().context("oidc_issuer is required without the sandbox")?,
            settings.partner_center_url.clone().context("partner_center_url is required without the sandbox")?,
            settings.oidc_client_secret.clone(),
        ),
    };
    // Each partner tenant's token endpoint for the application's own token.
    let app_token_endpoint = match (&settings.app_token_endpoint, sandbox) {
        (Some(template), _) => template.clone(),
        (None, Some(s)) => s.app_token_endpoint(),
        (None, None) => crate::identity::ENTRA_TENANT_TOKEN_ENDPOINT.to_string(),
    };
    let redirect = format!("{}/auth/callback", settings.public_url());
    let oidc = Oidc::new(&issuer, &settings.oidc_client_id, secret, &redirect, settings.oidc_scopes.clone())?
        .with_app_scope(&settings.partner_center_app_scope)
        .with_app_token_endpoint(&app_token_endpoint);
    let retry = RetryPolicy { max_retries: settings.http_max_retries, ..RetryPolicy::default() };
    let pc = PartnerCenter::new(&pc_url, Duration::from_secs(settings.http_timeout_seconds), retry)?;
    // A wrong SMTP setting (an unreadable certificate file) stops the start, not the
    // first Send.
    let mailer = crate::mail::Mailer::from_settings(settings)?;
    Ok(Workflows::new(settings.clone(), store, pc, Arc::new(oidc)).with_mailer(mailer))
}

/// The HTTP server: sessions in the database, the middlewares, the routes.
fn serve(
    settings: &Settings,
    state: web::Data<AppState>,
    limits: web::Data<RateLimits>,
    store: Store,
    listener: TcpListener,
) -> anyhow::Result<Server> {
    let key = match &settings.session_key {
        Some(k) => Key::derive_from(k.expose_secret().as_bytes()),
        None => Key::generate(),
    };
    let https = settings.is_https();
    let cookie_name = session_cookie_name(https).to_string();
    let sign_in_cookie = web::Data::new(SignInCookie::new(settings.session_key.as_ref(), https));
    let idle = actix_web::cookie::time::Duration::minutes(settings.session_idle_minutes as i64);
    let session_store = DbSessionStore::new(store);
    let server = HttpServer::new(move || {
        let sessions = SessionMiddleware::builder(session_store.clone(), key.clone())
            .cookie_name(cookie_name.clone())
            .cookie_secure(https)
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_path("/".into())
            .cookie_content_security(CookieContentSecurity::Private)
            .session_lifecycle(
                BrowserSession::default()
                    .state_ttl(idle)
                    .state_ttl_extension_policy(TtlExtensionPolicy::OnEveryRequest),
            )
            .build();
        App::new()
            .app_data(state.clone())
            .app_data(limits.clone())
            .app_data(sign_in_cookie.clone())
            .app_data(web::FormConfig::default().limit(256 * 1024))
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                AppError::BadRequest(format!(
                    "The address has a value the portal cannot read ({e}). Go back to the customer list and try again."
                ))
                .into()
            }))
            .app_data(web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()))
            .wrap(from_fn(middleware::csrf_guard))
            .wrap(from_fn(limit_rates))
            .wrap(from_fn(middleware::signed_in_frame))
            .wrap(from_fn(sign_in_renewal::renew_sign_in_when_due))
            .wrap(sessions)
            .wrap(from_fn(no_cookie_for_ended_session))
            .wrap(from_fn(middleware::request_id_and_headers))
            .configure(crate::web::routes)
    })
    .listen(listener)?
    .run();
    Ok(server)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_gets_its_faults_customers_and_direct_bill_partners_from_the_settings() {
        let settings = Settings {
            sandbox_faults: crate::config::SandboxFaultSettings { sandbox_error_percent: 30, ..Default::default() },
            sandbox_extra_customers: 7,
            sandbox_direct_bill_tenants: vec!["fab01ca7-0000-4000-8000-000000000002".into()],
            ..Settings::default()
        };
        let options = sandbox_options(&settings);
        assert_eq!(options.faults.error_percent, 30);
        assert_eq!(options.extra_customers, 7);
        assert_eq!(options.direct_bill_tenants, settings.sandbox_direct_bill_tenants);
    }
}
