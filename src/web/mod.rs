//! Handlers, one file per screen area; extractors that prove a role; CSRF; error pages.

pub mod agreement;
pub mod api;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod benchmark;
pub mod csv;
pub mod customer_query;
pub mod customers;
pub mod customers_export;
pub mod dashboard;
pub mod ended_session;
pub mod errors;
pub mod extractors;
pub mod health;
pub mod invitation_templates;
pub mod invitations;
pub mod middleware;
pub mod new_customer;
pub mod pages;
pub mod rate_limit;
pub mod refresh;
pub mod session;
pub mod sign_in_cookie;
pub mod sign_in_renewal;

use actix_web::{HttpResponse, get, web};
use std::sync::Arc;

use crate::config::Settings;
use crate::store::Store;
use crate::workflows::Workflows;

/// What every handler can reach: settings, the store for reading what pages show, and
/// the use cases for everything else.
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub workflows: Arc<Workflows>,
}

const STYLESHEET: &str = include_str!("../../static/app.css");
const SCRIPT: &str = include_str!("../../static/app.js");

/// The one small script: copy buttons and the domain check; pages work without it.
#[get("/static/app.js")]
async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(SCRIPT)
}

#[get("/static/app.css")]
async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(STYLESHEET)
}

/// A small mark for the browser tab; also answers /favicon.ico so browsers stop asking.
const FAVICON: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 32 32\"><rect width=\"32\" height=\"32\" rx=\"6\" fill=\"#243a5e\"/><path d=\"M8 17l5 5 11-12\" stroke=\"#fff\" stroke-width=\"4\" fill=\"none\"/></svg>";

async fn favicon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .body(FAVICON)
}

async fn not_found() -> Result<HttpResponse, errors::AppError> {
    Err(errors::AppError::NotFound)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(stylesheet)
        .service(script)
        .route("/favicon.svg", web::get().to(favicon))
        .route("/favicon.ico", web::get().to(favicon))
        .configure(health::routes)
        .configure(benchmark::routes)
        .configure(auth::routes)
        .configure(new_customer::routes)
        .configure(audit::routes)
        .configure(customers_export::routes)
        .configure(refresh::routes)
        .configure(customers::routes)
        .configure(agreement::routes)
        .configure(invitations::routes)
        .configure(invitation_templates::routes)
        .configure(api_keys::routes)
        .configure(api::routes)
        .configure(dashboard::routes)
        .default_service(web::to(not_found));
}
