//! `/benchmark/reference?bytes=N`: a fixed HTML page held in memory, answered without the
//! database, a session or a template, as the yardstick the benchmark measures every page
//! against in the same process (docs/benchmark.md). It answers only when the setting
//! `benchmark_reference` is on, and holds nothing but fixed text.

use std::sync::LazyLock;

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;

use super::AppState;
use super::errors::AppError;

/// The longest reference page, and the length given when none is asked for.
const MOST_BYTES: usize = 1 << 20;
const DEFAULT_BYTES: usize = 32 * 1024;

/// The page: a head, then one fixed paragraph again and again, made once.
static PAGE: LazyLock<web::Bytes> = LazyLock::new(|| {
    let mut page = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Reference page</title></head><body>\n",
    );
    while page.len() < MOST_BYTES {
        page.push_str("<p>The benchmark's reference: the same text from memory on every request.</p>\n");
    }
    web::Bytes::from(page)
});

#[derive(Deserialize)]
struct Length {
    bytes: Option<usize>,
}

#[get("/benchmark/reference")]
async fn reference(state: web::Data<AppState>, q: web::Query<Length>) -> Result<HttpResponse, AppError> {
    if !state.settings.benchmark.benchmark_reference {
        return Err(AppError::NotFound);
    }
    let length = q.bytes.unwrap_or(DEFAULT_BYTES).min(MOST_BYTES);
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(PAGE.slice(..length)))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(reference);
}
