//! Who calls the readiness API: the API key in `Authorization: Bearer` (or `X-Api-Key`),
//! checked on every request, counted against the key's rate limit; and the API's errors,
//! always JSON with the portal's own sentence (docs/readiness.md, "The API").

use std::future::Future;
use std::pin::Pin;

use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, dev::Payload, web};
use serde::Serialize;

use crate::web::AppState;
use crate::web::errors::current_request_id;
use crate::web::rate_limit::RateLimits;
use crate::workflows::api_keys::ApiCaller;

/// Why the API did not answer with what was asked; the sentence is the portal's own.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no API key")]
    MissingKey,
    #[error("API key not accepted")]
    UnknownKey,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("over the key's rate limit; retry after {retry_after_seconds} s")]
    TooManyRequests { retry_after_seconds: u64 },
    #[error("{0:#}")]
    Internal(#[from] anyhow::Error),
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<crate::workflows::WorkflowError> for ApiError {
    fn from(e: crate::workflows::WorkflowError) -> Self {
        ApiError::Internal(e.into())
    }
}

#[derive(Serialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize)]
struct ErrorDetail {
    code: &'static str,
    message: String,
    request_id: String,
}

impl ApiError {
    fn code_and_message(&self) -> (&'static str, String) {
        match self {
            ApiError::MissingKey => ("unauthorized", "This API needs an API key: send it as \"Authorization: Bearer <key>\" (or in the X-Api-Key header). An Admin agent creates keys under Settings, API keys.".into()),
            ApiError::UnknownKey => ("unauthorized", "The API key was not accepted: it is not one of the portal's keys, or it was revoked. Ask an Admin agent for a key (Settings, API keys).".into()),
            ApiError::NotFound => ("not_found", "There is no such customer for your organization, or no such address in this API.".into()),
            ApiError::MethodNotAllowed => ("method_not_allowed", "This API only reads: ask with GET.".into()),
            ApiError::BadRequest(m) => ("bad_request", m.clone()),
            ApiError::TooManyRequests { retry_after_seconds } => {
                let wait = if *retry_after_seconds == 1 { "1 second".to_string() } else { format!("{retry_after_seconds} seconds") };
                ("too_many_requests", format!("This API key made more requests than it may in a minute. Wait {wait}, then try again."))
            }
            ApiError::Internal(_) => ("internal_error", "The portal could not answer this. Try again; if it keeps happening, give your administrator the request id.".into()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::MissingKey | ApiError::UnknownKey => StatusCode::UNAUTHORIZED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let request_id = current_request_id();
        match self {
            ApiError::Internal(_) => tracing::error!(%request_id, error = %self, "API request failed"),
            _ => tracing::info!(%request_id, error = %self, "API request refused"),
        }
        let (code, message) = self.code_and_message();
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CACHE_CONTROL, "no-store"));
        match self {
            ApiError::MissingKey | ApiError::UnknownKey => {
                res.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"mca-portal\""));
            }
            ApiError::TooManyRequests { retry_after_seconds } => {
                res.insert_header((header::RETRY_AFTER, *retry_after_seconds));
            }
            ApiError::MethodNotAllowed => {
                res.insert_header((header::ALLOW, "GET"));
            }
            _ => {}
        }
        res.json(ErrorBody { error: ErrorDetail { code, message, request_id } })
    }
}

/// The key a request presents: `Authorization: Bearer <key>` (the scheme in any case),
/// else `X-Api-Key: <key>`.
fn presented_key(req: &HttpRequest) -> Option<String> {
    let header_text = |name| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(auth) = header_text(header::AUTHORIZATION.as_str()) {
        let (scheme, key) = auth.split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| key.trim().to_string());
    }
    header_text("x-api-key").filter(|k| !k.is_empty()).map(String::from)
}

/// A request made with a valid, unrevoked key, within that key's rate limit.
pub struct ApiClient(pub ApiCaller);

async fn api_client(req: HttpRequest) -> Result<ApiClient, ApiError> {
    let presented = presented_key(&req).ok_or(ApiError::MissingKey)?;
    let state = req.app_data::<web::Data<AppState>>().ok_or_else(|| anyhow::anyhow!("no application state"))?;
    let caller = state.workflows.api_caller(&presented).await?.ok_or(ApiError::UnknownKey)?;
    if let Some(wait) = req.app_data::<web::Data<RateLimits>>().and_then(|l| l.api_key_wait(&caller.key_id)) {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        return Err(ApiError::TooManyRequests { retry_after_seconds: seconds.max(1) });
    }
    Ok(ApiClient(caller))
}

impl FromRequest for ApiClient {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(api_client(req.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn the_key_comes_from_the_bearer_header_or_x_api_key() {
        let bearer = TestRequest::default().insert_header(("Authorization", "bearer  mcak_x ")).to_http_request();
        assert_eq!(presented_key(&bearer).as_deref(), Some("mcak_x"));
        let basic = TestRequest::default().insert_header(("Authorization", "Basic abc")).to_http_request();
        assert_eq!(presented_key(&basic), None, "another scheme is no key");
        let x = TestRequest::default().insert_header(("X-Api-Key", "mcak_y")).to_http_request();
        assert_eq!(presented_key(&x).as_deref(), Some("mcak_y"));
        assert_eq!(presented_key(&TestRequest::default().to_http_request()), None);
    }
}
