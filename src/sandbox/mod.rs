//! A stand-in for Partner Center and for Entra ID on loopback, so that the portal runs,
//! demos and tests on one machine. It speaks real HTTP and real OpenID Connect; the
//! portal's client and sign-in code are the ones that would talk to Microsoft.

#![allow(
    clippy::result_large_err,
    reason = "checks return the refusal itself, an HttpResponse, as their error; the sandbox answers on loopback, where its size costs nothing"
)]

mod agreement_records;
mod api;
mod api_write;
mod end_session;
mod enhanced;
pub mod faults;
mod idp;
pub mod jwt;
mod partner_invitation;
mod relationship_requests;
mod rules;
pub mod seed;
mod state;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};

pub use faults::{Faults, Refusal};
pub use state::{IdTokenDefect, RecordedRequest, SandboxOptions, SandboxState};

/// The client id the sandbox registers when it is not told the portal's.
pub const DEFAULT_CLIENT_ID: &str = "mca-portal";
/// The client secret the sandbox registers for the portal (a demo value, loopback only).
pub const CLIENT_SECRET: &str = "sandbox-client-secret";

/// The audience of Partner Center access tokens.
pub const PARTNER_CENTER_AUDIENCE: &str = "https://api.partnercenter.microsoft.com";

/// A running sandbox.
pub struct Sandbox {
    pub base_url: String,
    pub state: Arc<SandboxState>,
    handle: ServerHandle,
}

impl Sandbox {
    /// The OpenID Connect issuer (discovery lives below it).
    pub fn issuer(&self) -> String {
        self.state.issuer.clone()
    }

    /// The token endpoint of each partner tenant, with `{tenant}` where the tenant id goes,
    /// as Entra ID has one per tenant.
    pub fn app_token_endpoint(&self) -> String {
        format!("{}/idp/{{tenant}}/oauth2/v2.0/token", self.base_url)
    }

    /// The Partner Center API root (paths start with `/v1/`).
    pub fn partner_center_url(&self) -> String {
        self.base_url.clone()
    }

    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}

/// Starts the sandbox on a listener it is given (port 0 in tests) and returns at once;
/// the server runs on the current runtime.
pub fn start(listener: TcpListener, options: SandboxOptions) -> std::io::Result<Sandbox> {
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");
    let state = Arc::new(SandboxState::new(&base_url, options));
    let data = web::Data::from(state.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::FormConfig::default().limit(64 * 1024))
            .wrap(actix_web::middleware::from_fn(faults::inject))
            .wrap(actix_web::middleware::from_fn(state::record_request))
            .configure(idp::routes)
            .configure(faults::routes)
            .configure(end_session::routes)
            // Before `api`, whose `/v1/customers/{id}` would shadow the relationship request.
            .configure(relationship_requests::routes)
            .configure(api::routes)
            .configure(agreement_records::routes)
            .configure(api_write::routes)
            .configure(api_write::create_routes)
            .configure(enhanced::routes)
            .configure(partner_invitation::routes)
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    Ok(Sandbox { base_url, state, handle })
}
