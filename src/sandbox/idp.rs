//! The sandbox identity provider: OpenID Connect discovery, JWKS, an authorize page that
//! lists the demo users, and a token endpoint (authorization code with PKCE S256,
//! refresh tokens, client credentials).

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::PARTNER_CENTER_AUDIENCE;
use super::rules;
use super::seed::{self, SeedUser};
use super::state::{CodeGrant, IdTokenDefect, RefreshGrant, SandboxState};

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/idp/v2.0/.well-known/openid-configuration", web::get().to(discovery))
        .route("/idp/v2.0/keys", web::get().to(jwks))
        .route("/idp/v2.0/authorize", web::get().to(authorize_page))
        .route("/idp/v2.0/authorize", web::post().to(authorize_decision))
        .route("/idp/v2.0/token", web::post().to(token))
        // Entra ID's per-tenant token endpoint, for App-only tokens of one partner tenant.
        .route("/idp/{tenant}/oauth2/v2.0/token", web::post().to(tenant_token));
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// Only loopback redirect URIs are registered: the portal runs next to the sandbox.
pub(crate) fn redirect_allowed(uri: &str) -> bool {
    match url::Url::parse(uri) {
        Ok(u) => {
            matches!(u.scheme(), "http" | "https") && matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
        }
        Err(_) => false,
    }
}

async fn discovery(state: web::Data<SandboxState>) -> HttpResponse {
    let i = &state.issuer;
    let mut doc = json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/keys"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access", format!("{PARTNER_CENTER_AUDIENCE}/user_impersonation")],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "oid", "tid", "name", "preferred_username", "email", "groups", "roles"],
    });
    if state.options.end_session {
        doc["end_session_endpoint"] = json!(format!("{i}/logout"));
    }
    HttpResponse::Ok().json(doc)
}

async fn jwks(state: web::Data<SandboxState>) -> HttpResponse {
    HttpResponse::Ok().json(state.key.jwks())
}

#[derive(Debug, Deserialize, Clone, Default)]
struct AuthorizeParams {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    response_type: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    code_challenge: String,
    #[serde(default)]
    code_challenge_method: String,
}

pub(crate) struct UserButton {
    pub oid: String,
    pub label: String,
}

pub(crate) struct PartnerGroup {
    pub name: String,
    pub users: Vec<UserButton>,
}

#[derive(Template)]
#[template(path = "sandbox/authorize.html")]
struct AuthorizePage<'a> {
    p: &'a AuthorizeParams,
    partners: Vec<PartnerGroup>,
}

#[derive(Template)]
#[template(path = "sandbox/message.html")]
pub(crate) struct MessagePage<'a> {
    pub title: &'a str,
    pub message: &'a str,
}

pub(crate) fn html(status: actix_web::http::StatusCode, body: String, form_target: Option<&str>) -> HttpResponse {
    let form_action = match form_target.and_then(|t| url::Url::parse(t).ok()) {
        Some(u) => format!("'self' {}", u.origin().ascii_serialization()),
        None => "'self'".to_string(),
    };
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            format!("default-src 'none'; style-src 'self' 'unsafe-inline'; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

pub(crate) fn message(status: actix_web::http::StatusCode, title: &str, text: &str) -> HttpResponse {
    let body = MessagePage { title, message: text }.render().unwrap_or_else(|_| text.to_string());
    html(status, body, None)
}

/// Checks what an authorize request must carry; the error is shown, never redirected to
/// an unverified address.
fn check_authorize(state: &SandboxState, p: &AuthorizeParams) -> Result<(), String> {
    if p.client_id != state.options.client_id {
        return Err(format!("The application {:?} is not registered with the sandbox.", p.client_id));
    }
    if !redirect_allowed(&p.redirect_uri) {
        return Err("The redirect address must be on this machine (127.0.0.1, localhost or [::1]).".into());
    }
    if p.response_type != "code" {
        return Err("Only response_type=code is supported.".into());
    }
    if p.code_challenge_method != "S256" || p.code_challenge.len() < 43 {
        return Err("PKCE with code_challenge_method=S256 is required.".into());
    }
    if !p.scope.split(' ').any(|s| s == "openid") {
        return Err("The scope must include openid.".into());
    }
    Ok(())
}

async fn authorize_page(state: web::Data<SandboxState>, q: web::Query<AuthorizeParams>) -> HttpResponse {
    let p = q.into_inner();
    if let Err(e) = check_authorize(&state, &p) {
        return message(actix_web::http::StatusCode::BAD_REQUEST, "Sign-in request refused", &e);
    }
    let partners = seed::TENANTS
        .iter()
        .map(|t| PartnerGroup {
            name: t.name.to_string(),
            users: state
                .users
                .iter()
                .filter(|u| u.tenant_id == t.id)
                .map(|u| UserButton { oid: u.oid.to_string(), label: format!("{} — {}", u.name, u.role_label) })
                .collect(),
        })
        .collect();
    let body = AuthorizePage { p: &p, partners }.render().unwrap_or_default();
    html(actix_web::http::StatusCode::OK, body, Some(&p.redirect_uri))
}

#[derive(Debug, Deserialize)]
struct Decision {
    #[serde(flatten)]
    p: AuthorizeParamsForm,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    cancel: Option<String>,
}

/// Form fields arrive flat; `serde(flatten)` cannot nest the `Option` well, so mirror them.
#[derive(Debug, Deserialize)]
struct AuthorizeParamsForm {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    response_type: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    nonce: String,
    #[serde(default)]
    code_challenge: String,
    #[serde(default)]
    code_challenge_method: String,
}

async fn authorize_decision(state: web::Data<SandboxState>, form: web::Form<Decision>) -> HttpResponse {
    let d = form.into_inner();
    let p = AuthorizeParams {
        client_id: d.p.client_id,
        redirect_uri: d.p.redirect_uri,
        response_type: d.p.response_type,
        scope: d.p.scope,
        state: d.p.state,
        nonce: Some(d.p.nonce).filter(|n| !n.is_empty()),
        code_challenge: d.p.code_challenge,
        code_challenge_method: d.p.code_challenge_method,
    };
    if let Err(e) = check_authorize(&state, &p) {
        return message(actix_web::http::StatusCode::BAD_REQUEST, "Sign-in request refused", &e);
    }
    let mut target = url::Url::parse(&p.redirect_uri).expect("checked above");
    if d.cancel.is_some() {
        target
            .query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("error_description", "The user cancelled the sign-in.")
            .append_pair("state", &p.state);
        return HttpResponse::Found().insert_header((header::LOCATION, target.to_string())).finish();
    }
    let Some(user) = d.user.as_deref().and_then(|oid| state.user(oid)) else {
        return message(
            actix_web::http::StatusCode::BAD_REQUEST,
            "Choose a user",
            "Go back and choose one of the demo users.",
        );
    };
    let code = random_token();
    let mut data = state.data();
    // Codes live five minutes; forget the ones nobody came back for.
    let now_s = now();
    data.codes.retain(|_, g| now_s - g.issued_at <= 300);
    data.codes.insert(
        code.clone(),
        CodeGrant {
            client_id: p.client_id.clone(),
            redirect_uri: p.redirect_uri.clone(),
            user_oid: user.oid.to_string(),
            scope: p.scope.clone(),
            nonce: p.nonce.clone(),
            code_challenge: p.code_challenge.clone(),
            issued_at: now_s,
        },
    );
    drop(data);
    target.query_pairs_mut().append_pair("code", &code).append_pair("state", &p.state);
    HttpResponse::Found().insert_header((header::LOCATION, target.to_string())).finish()
}

fn oauth_error(status: u16, error: &str, description: &str) -> HttpResponse {
    HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::BAD_REQUEST),
    )
    .insert_header((header::CACHE_CONTROL, "no-store"))
    .json(json!({"error": error, "error_description": description}))
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

/// client_secret_basic (id and secret form-encoded, then base64) or client_secret_post.
fn client_authenticated(
    state: &SandboxState,
    req: &HttpRequest,
    form: &HashMap<String, String>,
) -> Result<String, HttpResponse> {
    let (id, secret) = match req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        Some(h) if h.starts_with("Basic ") => {
            let decoded =
                STANDARD.decode(h[6..].trim()).ok().and_then(|b| String::from_utf8(b).ok()).unwrap_or_default();
            let (i, s) = decoded.split_once(':').unwrap_or_default();
            (percent_decode(i), percent_decode(s))
        }
        _ => {
            (form.get("client_id").cloned().unwrap_or_default(), form.get("client_secret").cloned().unwrap_or_default())
        }
    };
    if id == state.options.client_id && secret == state.options.client_secret {
        Ok(id)
    } else {
        Err(oauth_error(401, "invalid_client", "Client authentication failed."))
    }
}

/// The `roles` claim of a user's ID token: the agent roles of the user's groups.
fn role_values(user: &SeedUser) -> Vec<&'static str> {
    let roles = rules::agent_roles(user.tenant_id, &user.groups).unwrap_or_default();
    roles.into_iter().map(rules::AgentRole::claim).collect()
}

fn user_tokens(state: &SandboxState, user: &SeedUser, client_id: &str, scope: &str, nonce: Option<&str>) -> Value {
    let t = now();
    let lifetime = state.options.access_token_seconds;
    let access = state.key.sign(&json!({
        "iss": state.issuer,
        "aud": PARTNER_CENTER_AUDIENCE,
        "iat": t, "nbf": t, "exp": t + lifetime,
        "oid": user.oid, "sub": user.oid, "tid": user.tenant_id,
        "name": user.name, "upn": user.username,
        "scp": "user_impersonation",
        "groups": user.groups,
        "azp": client_id,
        "ver": "2.0",
    }));
    let id_token = id_token(state, user, client_id, nonce, t);
    let refresh = random_token();
    state.data().refresh_tokens.insert(
        refresh.clone(),
        RefreshGrant { client_id: client_id.to_string(), user_oid: user.oid.to_string(), scope: scope.to_string() },
    );
    json!({
        "token_type": "Bearer",
        "access_token": access,
        "expires_in": lifetime,
        "id_token": id_token,
        "refresh_token": refresh,
        "scope": scope,
    })
}

/// The signed ID token for `user`, spoiled in the way a test asked for, if it asked.
fn id_token(state: &SandboxState, user: &SeedUser, client_id: &str, nonce: Option<&str>, t: i64) -> String {
    let mut claims = json!({
        "iss": state.issuer,
        "aud": client_id,
        "iat": t, "nbf": t, "exp": t + 3600,
        "sub": user.oid, "oid": user.oid, "tid": user.tenant_id,
        "name": user.name,
        "preferred_username": user.username,
        "email": user.username,
        "groups": user.groups,
        "roles": role_values(user),
        "ver": "2.0",
    });
    if let Some(n) = nonce {
        claims["nonce"] = json!(n);
    }
    let defect = state.data().next_defect.take();
    spoil_claims(&mut claims, defect, t);
    let token = state.key.sign(&claims);
    if defect == Some(IdTokenDefect::Tampered) { tampered(&token, claims) } else { token }
}

/// Changes the claims as the defect asks (every defect but tampering, which comes after
/// signing).
fn spoil_claims(claims: &mut Value, defect: Option<IdTokenDefect>, t: i64) {
    match defect {
        Some(IdTokenDefect::Expired) => {
            claims["iat"] = json!(t - 7200);
            claims["nbf"] = json!(t - 7200);
            claims["exp"] = json!(t - 3600);
        }
        Some(IdTokenDefect::WrongNonce) => claims["nonce"] = json!("not-the-nonce-you-sent"),
        Some(IdTokenDefect::WrongAudience) => claims["aud"] = json!("some-other-application"),
        Some(IdTokenDefect::WrongIssuer) => claims["iss"] = json!("https://login.example.invalid/v2.0"),
        Some(IdTokenDefect::MissingTenant) => {
            if let Some(fields) = claims.as_object_mut() {
                fields.remove("tid");
            }
        }
        Some(IdTokenDefect::MalformedTenant) => claims["tid"] = json!("default"),
        Some(IdTokenDefect::Tampered) | None => {}
    }
}

/// Swaps a signed token's payload for one naming an Admin agent, keeping the old signature.
fn tampered(token: &str, mut claims: Value) -> String {
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    claims["groups"] = json!([seed::CONTOSO_GROUPS.admin]);
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    parts.join(".")
}

async fn token(
    state: web::Data<SandboxState>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    issue(&state, &req, &form, seed::CONTOSO_TENANT)
}

async fn tenant_token(
    state: web::Data<SandboxState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let tenant = path.into_inner();
    if !seed::TENANTS.iter().any(|t| t.id == tenant) {
        return oauth_error(400, "invalid_request", "Unknown tenant.");
    }
    let tenant: &'static str =
        seed::TENANTS.iter().find(|t| t.id == tenant).map(|t| t.id).unwrap_or(seed::CONTOSO_TENANT);
    issue(&state, &req, &form, tenant)
}

fn issue(
    state: &SandboxState,
    req: &HttpRequest,
    form: &HashMap<String, String>,
    app_tenant: &'static str,
) -> HttpResponse {
    let client_id = match client_authenticated(state, req, form) {
        Ok(id) => id,
        Err(resp) => return resp,
    };
    let answer = match field(form, "grant_type") {
        "authorization_code" => code_grant(state, form, &client_id),
        "refresh_token" => refresh_grant(state, form, &client_id),
        "client_credentials" => client_credentials_grant(state, form, &client_id, app_tenant),
        other => Err(oauth_error(400, "unsupported_grant_type", &format!("grant_type {other:?} is not supported."))),
    };
    match answer {
        Ok(v) => HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(v),
        Err(resp) => resp,
    }
}

/// A form field, empty when missing.
fn field<'a>(form: &'a HashMap<String, String>, key: &str) -> &'a str {
    form.get(key).map(String::as_str).unwrap_or("")
}

/// An authorization code, once, within five minutes, from the client and redirect address
/// it was issued to, with the PKCE verifier of its challenge.
fn code_grant(state: &SandboxState, form: &HashMap<String, String>, client_id: &str) -> Result<Value, HttpResponse> {
    let Some(grant) = state.data().codes.remove(field(form, "code")) else {
        return Err(oauth_error(400, "invalid_grant", "The authorization code is unknown or was already used."));
    };
    if now() - grant.issued_at > 300 {
        return Err(oauth_error(400, "invalid_grant", "The authorization code has expired."));
    }
    if grant.client_id != client_id || grant.redirect_uri != field(form, "redirect_uri") {
        return Err(oauth_error(400, "invalid_grant", "The code was issued to another client or redirect address."));
    }
    let verifier = field(form, "code_verifier");
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if verifier.len() < 43 || challenge != grant.code_challenge {
        return Err(oauth_error(400, "invalid_grant", "PKCE verification failed."));
    }
    let Some(user) = state.user(&grant.user_oid) else {
        return Err(oauth_error(400, "invalid_grant", "Unknown user."));
    };
    Ok(user_tokens(state, &user, client_id, &grant.scope, grant.nonce.as_deref()))
}

/// A refresh token, once, from the client it was issued to.
fn refresh_grant(state: &SandboxState, form: &HashMap<String, String>, client_id: &str) -> Result<Value, HttpResponse> {
    let Some(grant) = state.data().refresh_tokens.remove(field(form, "refresh_token")) else {
        return Err(oauth_error(400, "invalid_grant", "The refresh token is unknown or was already used."));
    };
    if grant.client_id != client_id {
        return Err(oauth_error(400, "invalid_grant", "The refresh token belongs to another client."));
    }
    let Some(user) = state.user(&grant.user_oid) else {
        return Err(oauth_error(400, "invalid_grant", "Unknown user."));
    };
    let mut answer = user_tokens(state, &user, client_id, &grant.scope, None);
    if !state.options.id_token_on_refresh
        && let Some(fields) = answer.as_object_mut()
    {
        fields.remove("id_token");
    }
    Ok(answer)
}

/// An App-only token for the partner tenant `app_tenant`, for the `.default` scope only.
fn client_credentials_grant(
    state: &SandboxState,
    form: &HashMap<String, String>,
    client_id: &str,
    app_tenant: &str,
) -> Result<Value, HttpResponse> {
    if field(form, "scope") != format!("{PARTNER_CENTER_AUDIENCE}/.default") {
        return Err(oauth_error(400, "invalid_scope", "Ask for https://api.partnercenter.microsoft.com/.default."));
    }
    let t = now();
    let access = state.key.sign(&json!({
        "iss": state.issuer,
        "aud": PARTNER_CENTER_AUDIENCE,
        "iat": t, "nbf": t, "exp": t + state.options.access_token_seconds,
        "tid": app_tenant,
        "oid": format!("app-{client_id}"),
        "sub": format!("app-{client_id}"),
        "azp": client_id,
        "idtyp": "app",
        "roles": ["Partner.Application"],
        "ver": "2.0",
    }));
    Ok(json!({"token_type": "Bearer", "access_token": access, "expires_in": state.options.access_token_seconds}))
}
