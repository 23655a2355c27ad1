//! Sign-in with OpenID Connect (authorization code, PKCE S256, state and nonce kept
//! server-side). Works against the built-in sandbox and any standards-compliant provider
//! given issuer, client id and secret.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreIdToken, CoreIdTokenClaims};
use openidconnect::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadataWithLogout,
    RedirectUrl, RefreshToken, Scope, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::sync::RwLock;

use serde::{Deserialize, Serialize};

pub use crate::domain::{IdToken, UserTokens};

type Client =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// State, nonce and PKCE verifier of a sign-in under way; `Debug` shows none of them.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub return_to: String,
    pub started_at: i64,
}

impl std::fmt::Debug for PendingSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSignIn")
            .field("state", &"[redacted]")
            .field("nonce", &"[redacted]")
            .field("pkce_verifier", &"[redacted]")
            .field("return_to", &self.return_to)
            .field("started_at", &self.started_at)
            .finish()
    }
}

/// A delegated token is renewed when it has less than this left.
const TOKEN_MARGIN_SECONDS: i64 = 120;

/// How long discovery metadata (and the keys it names) is trusted before it is read again.
const METADATA_TTL: Duration = Duration::from_secs(3600);

/// Entra ID's token endpoint of one tenant, where the application's own token of that
/// partner tenant comes from (`{tenant}` is replaced by the tenant id).
pub const ENTRA_TENANT_TOKEN_ENDPOINT: &str = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token";

/// The application's own token of one partner tenant and when it expires (Unix seconds),
/// while there is one. Each tenant has a cell of its own: fetching one tenant's token
/// holds only that tenant's cell, so a slow or throttled token request of one partner
/// never holds up another's.
type AppTokenCell = Arc<tokio::sync::Mutex<Option<(String, i64)>>>;

/// The identity proven by a verified ID token.
#[derive(Debug, Clone)]
pub struct Identity {
    pub oid: String,
    pub tenant_id: Option<String>,
    pub name: String,
    pub email: String,
    pub groups: Vec<String>,
    pub app_roles: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("the identity provider could not be reached or described itself wrongly: {0}")]
    Discovery(String),
    #[error("the identity provider refused the code: {0}")]
    Exchange(String),
    #[error("the ID token was refused: {0}")]
    IdToken(String),
    #[error("configuration: {0}")]
    Config(String),
}

pub struct Oidc {
    issuer: String,
    /// The issuer's origin, read once (every response's `form-action` names it).
    origin: Result<url::Origin, String>,
    client_id: String,
    client_secret: Option<SecretString>,
    redirect_uri: String,
    scopes: Vec<String>,
    http: reqwest::Client,
    metadata: RwLock<Option<(Instant, ProviderMetadataWithLogout)>>,
    /// Scope of the application's own tokens, the token endpoint of each partner tenant
    /// (with `{tenant}` in it), and each tenant's token while it is good. The map's lock is
    /// held only to find a tenant's cell, never across a network call.
    app_scope: String,
    app_token_endpoint: String,
    app_tokens: std::sync::Mutex<HashMap<String, AppTokenCell>>,
}

impl Oidc {
    pub fn new(
        issuer: &str,
        client_id: &str,
        client_secret: Option<SecretString>,
        redirect_uri: &str,
        scopes: Vec<String>,
    ) -> Result<Self, SignInError> {
        // No redirects: the library's advice against server-side request forgery.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| SignInError::Config(e.to_string()))?;
        Ok(Oidc {
            issuer: issuer.to_string(),
            origin: url::Url::parse(issuer).map(|u| u.origin()).map_err(|e| e.to_string()),
            client_id: client_id.to_string(),
            client_secret,
            redirect_uri: redirect_uri.to_string(),
            scopes,
            http,
            metadata: RwLock::new(None),
            app_scope: "https://api.partnercenter.microsoft.com/.default".into(),
            app_token_endpoint: ENTRA_TENANT_TOKEN_ENDPOINT.into(),
            app_tokens: std::sync::Mutex::new(HashMap::new()),
        })
    }

    async fn metadata(&self) -> Result<ProviderMetadataWithLogout, SignInError> {
        if let Some((at, m)) = self.metadata.read().await.as_ref()
            && at.elapsed() < METADATA_TTL
        {
            return Ok(m.clone());
        }
        let issuer = IssuerUrl::new(self.issuer.clone()).map_err(|e| SignInError::Config(e.to_string()))?;
        let m = ProviderMetadataWithLogout::discover_async(issuer, &self.http)
            .await
            .map_err(|e| SignInError::Discovery(format!("{e:#}")))?;
        *self.metadata.write().await = Some((Instant::now(), m.clone()));
        Ok(m)
    }

    async fn client(&self) -> Result<Client, SignInError> {
        let m = self.metadata().await?;
        // Send the secret in the body only when the provider does not take Basic.
        let basic = m
            .token_endpoint_auth_methods_supported()
            .is_none_or(|methods| methods.contains(&CoreClientAuthMethod::ClientSecretBasic));
        let client = CoreClient::from_provider_metadata(
            m,
            ClientId::new(self.client_id.clone()),
            self.client_secret.as_ref().map(|s| ClientSecret::new(s.expose_secret().to_string())),
        )
        .set_redirect_uri(RedirectUrl::new(self.redirect_uri.clone()).map_err(|e| SignInError::Config(e.to_string()))?)
        .set_auth_type(if basic { AuthType::BasicAuth } else { AuthType::RequestBody });
        Ok(client)
    }

    /// The address to send the browser to, and what must be kept to finish.
    #[tracing::instrument(skip_all, err(level = "warn"))]
    pub async fn start(&self, return_to: String) -> Result<(String, PendingSignIn), SignInError> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut req =
            client.authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random);
        for s in self.scopes.iter().filter(|s| s.as_str() != "openid") {
            req = req.add_scope(Scope::new(s.clone()));
        }
        let (url, state, nonce) = req.set_pkce_challenge(challenge).url();
        Ok((
            url.to_string(),
            PendingSignIn {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
                return_to,
                started_at: chrono::Utc::now().timestamp(),
            },
        ))
    }

    /// Exchanges the code, verifies the ID token (signature, issuer, audience, expiry,
    /// nonce) and returns who signed in with their delegated tokens and the ID token (kept
    /// as the hint for signing out at the provider).
    #[tracing::instrument(skip_all, err(level = "warn"))]
    pub async fn finish(&self, pending: &PendingSignIn, code: String) -> Result<SignedIn, SignInError> {
        let client = self.client().await?;
        let response = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| SignInError::Config(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| SignInError::Exchange(format!("{e:#}")))?;
        let id_token =
            response.id_token().ok_or_else(|| SignInError::IdToken("the answer carried no ID token".into()))?;
        let identity = identity_of(&client, id_token, Some(&pending.nonce))?;
        Ok(SignedIn { identity, tokens: tokens_of(&response, None), id_token: IdToken::new(id_token.to_string()) })
    }

    /// The scope asked for the application's own token.
    pub fn with_app_scope(mut self, scope: &str) -> Self {
        self.app_scope = scope.to_string();
        self
    }

    /// The token endpoint of each partner tenant for the application's own token, with
    /// `{tenant}` where the tenant id goes (docs/partner-center.md, "Sign-in (Entra ID / OpenID Connect)").
    pub fn with_app_token_endpoint(mut self, template: &str) -> Self {
        self.app_token_endpoint = template.to_string();
        self
    }

    /// The token endpoint of `tenant`; refused for anything that is not a tenant id or a
    /// tenant's domain name, so that no caller can steer the request elsewhere.
    fn app_token_url(&self, tenant: &str) -> Result<TokenUrl, SignInError> {
        let plain = tenant.len() <= 100
            && !tenant.starts_with('.')
            && !tenant.contains("..")
            && tenant.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if tenant.is_empty() || !plain {
            return Err(SignInError::Config(format!("{tenant:?} is not a partner tenant id")));
        }
        TokenUrl::new(self.app_token_endpoint.replace("{tenant}", tenant))
            .map_err(|e| SignInError::Config(e.to_string()))
    }

    /// The cell of `tenant`'s application token, made on first use.
    fn app_token_cell(&self, tenant: &str) -> AppTokenCell {
        let mut cells = self.app_tokens.lock().unwrap_or_else(|e| e.into_inner());
        cells.entry(tenant.to_string()).or_default().clone()
    }

    /// The application's own (App-only) token for the partner tenant `tenant`, by client
    /// credentials at that tenant's token endpoint; kept until two minutes before it
    /// expires. Only callers for the same tenant wait for a token being fetched.
    #[tracing::instrument(skip_all, fields(%tenant), err(level = "warn"))]
    pub async fn app_token(&self, tenant: &str) -> Result<String, SignInError> {
        let endpoint = self.app_token_url(tenant)?;
        let cell = self.app_token_cell(tenant);
        let mut cached = cell.lock().await;
        let now = chrono::Utc::now().timestamp();
        if let Some((t, exp)) = cached.as_ref()
            && exp - now > 120
        {
            return Ok(t.clone());
        }
        let client = self.client().await?.set_token_uri(endpoint);
        let response = client
            .exchange_client_credentials()
            .add_scope(Scope::new(self.app_scope.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| SignInError::Exchange(format!("{e:#}")))?;
        let token = response.access_token().secret().clone();
        let lifetime = response.expires_in().unwrap_or(Duration::from_secs(3600)).as_secs() as i64;
        *cached = Some((token.clone(), now + lifetime));
        Ok(token)
    }

    /// The one rule for delegated tokens: good for two more minutes, or renewed with the
    /// refresh token (also when `force`, after Partner Center refused the token early).
    /// `Ok(None)`: the tokens as they are will do.
    #[tracing::instrument(skip_all, fields(%force), err(level = "warn"))]
    pub async fn fresh(&self, tokens: &UserTokens, force: bool) -> Result<Option<UserTokens>, SignInError> {
        Ok(self.renew(tokens, force, false).await?.map(|r| r.tokens))
    }

    /// The same rule for a signed-in session, which must also learn who the user is now:
    /// a renewal verifies the ID token the provider sends with it (signature, issuer,
    /// audience, expiry; a refresh has no nonce) and returns its identity, so that roles
    /// are read again. `identity` is None when the answer carried no ID token.
    #[tracing::instrument(skip_all, err(level = "warn"))]
    pub async fn fresh_identity(&self, tokens: &UserTokens) -> Result<Option<Renewed>, SignInError> {
        self.renew(tokens, false, true).await
    }

    /// Whether the tokens are due for renewal: less than two minutes left.
    pub fn due(tokens: &UserTokens) -> bool {
        !tokens.good_for(TOKEN_MARGIN_SECONDS, chrono::Utc::now().timestamp())
    }

    async fn renew(&self, tokens: &UserTokens, force: bool, verify: bool) -> Result<Option<Renewed>, SignInError> {
        if !force && !Self::due(tokens) {
            return Ok(None);
        }
        let Some(rt) = tokens.refresh_token.as_deref() else {
            return Err(SignInError::Exchange("the sign-in has expired and can't be renewed".into()));
        };
        self.refresh(rt, verify).await.map(Some)
    }

    /// A new access token from the refresh token; with `verify`, the ID token that came
    /// with it too.
    async fn refresh(&self, refresh_token: &str, verify: bool) -> Result<Renewed, SignInError> {
        let client = self.client().await?;
        let rt = RefreshToken::new(refresh_token.to_string());
        let response = client
            .exchange_refresh_token(&rt)
            .map_err(|e| SignInError::Config(e.to_string()))?
            .request_async(&self.http)
            .await
            .map_err(|e| SignInError::Exchange(format!("{e:#}")))?;
        let verified = match response.id_token().filter(|_| verify) {
            Some(t) => Some((identity_of(&client, t, None)?, IdToken::new(t.to_string()))),
            None => None,
        };
        Ok(Renewed { tokens: tokens_of(&response, Some(refresh_token)), verified })
    }

    /// Where to send the browser to end the session at the provider too, when its
    /// discovery document offers `end_session_endpoint` (OpenID Connect RP-Initiated
    /// Logout): with the ID token as hint, the client id, and the address to come back
    /// to. None when the provider offers no such endpoint, or one on another origin than
    /// the issuer (the pages' `form-action` allows the issuer's origin only).
    #[tracing::instrument(skip_all, err(level = "warn"))]
    pub async fn end_session_url(
        &self,
        hint: Option<&IdToken>,
        post_logout_redirect_uri: &str,
    ) -> Result<Option<String>, SignInError> {
        let metadata = self.metadata().await?;
        let Some(endpoint) = metadata.additional_metadata().end_session_endpoint.as_ref() else {
            return Ok(None);
        };
        let mut url = endpoint.url().clone();
        if url.origin() != self.issuer_origin()? {
            tracing::warn!(endpoint = %url, "end_session_endpoint is not on the issuer's origin; signing out here only");
            return Ok(None);
        }
        {
            let mut query = url.query_pairs_mut();
            if let Some(h) = hint {
                query.append_pair("id_token_hint", h.expose());
            }
            query.append_pair("client_id", &self.client_id);
            query.append_pair("post_logout_redirect_uri", post_logout_redirect_uri);
        }
        Ok(Some(url.to_string()))
    }

    /// The origin of the issuer: the only other origin the portal's forms lead to.
    pub fn issuer_origin(&self) -> Result<url::Origin, SignInError> {
        self.origin.clone().map_err(SignInError::Config)
    }
}

/// What a successful sign-in proved, with the tokens it gave.
pub struct SignedIn {
    pub identity: Identity,
    pub tokens: UserTokens,
    pub id_token: IdToken,
}

/// Renewed tokens, with the verified identity and ID token when the answer carried one.
pub struct Renewed {
    pub tokens: UserTokens,
    pub verified: Option<(Identity, IdToken)>,
}

/// Verifies an ID token with the client's issuer, audience and keys, and the nonce when
/// one was sent; reads who it names.
fn identity_of(client: &Client, id_token: &CoreIdToken, nonce: Option<&str>) -> Result<Identity, SignInError> {
    let verifier = client.id_token_verifier();
    let claims = match nonce {
        Some(n) => id_token.claims(&verifier, &Nonce::new(n.to_string())),
        // A renewal's ID token carries no nonce of ours: nothing to compare.
        None => id_token.claims(&verifier, |_: Option<&Nonce>| Ok(())),
    }
    .map_err(|e| SignInError::IdToken(e.to_string()))?;
    // The signature is verified above; read the claims the core type does not model
    // (oid, tid, groups, roles) from the same token's payload.
    let payload: Value = id_token
        .to_string()
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| SignInError::IdToken("unreadable payload".into()))?;
    Ok(identity_from(claims, &payload))
}

fn identity_from(claims: &CoreIdTokenClaims, payload: &Value) -> Identity {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect()).unwrap_or_default()
    };
    let name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.to_string())
        .or_else(|| claims.preferred_username().map(|u| u.to_string()))
        .unwrap_or_else(|| claims.subject().to_string());
    let email = claims
        .email()
        .map(|e| e.to_string())
        .or_else(|| claims.preferred_username().map(|u| u.to_string()))
        .unwrap_or_default();
    Identity {
        oid: payload["oid"].as_str().map(String::from).unwrap_or_else(|| claims.subject().to_string()),
        tenant_id: payload["tid"].as_str().map(String::from),
        name,
        email,
        groups: strings(&payload["groups"]),
        app_roles: strings(&payload["roles"]),
    }
}

fn tokens_of<R: OAuth2TokenResponse>(r: &R, previous_refresh: Option<&str>) -> UserTokens {
    let lifetime = r.expires_in().unwrap_or(Duration::from_secs(3600));
    UserTokens {
        access_token: r.access_token().secret().clone(),
        refresh_token: r.refresh_token().map(|t| t.secret().clone()).or_else(|| previous_refresh.map(String::from)),
        expires_at: chrono::Utc::now().timestamp() + lifetime.as_secs() as i64,
    }
}

#[cfg(test)]
mod app_token_tests {
    //! The application's own tokens against a small identity provider of the test's, whose
    //! token endpoint of the tenant `slow` answers only when the test lets it.

    use std::sync::atomic::{AtomicUsize, Ordering};

    use actix_web::{App, HttpResponse, HttpServer, web};
    use serde_json::json;
    use tokio::sync::Notify;

    use super::*;

    /// What the provider shares with the test: the slow tenant's request has arrived, it
    /// may be answered, and how many token requests came in.
    #[derive(Default)]
    struct Gate {
        slow_asked: Notify,
        release: Notify,
        requests: AtomicUsize,
    }

    async fn discovery(base: web::Data<String>) -> HttpResponse {
        let b = base.get_ref();
        HttpResponse::Ok().json(json!({
            "issuer": b,
            "authorization_endpoint": format!("{b}/authorize"),
            "token_endpoint": format!("{b}/common/oauth2/v2.0/token"),
            "jwks_uri": format!("{b}/keys"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }))
    }

    async fn token(tenant: web::Path<String>, gate: web::Data<Gate>) -> HttpResponse {
        gate.requests.fetch_add(1, Ordering::SeqCst);
        if tenant.as_str() == "slow" {
            gate.slow_asked.notify_one();
            gate.release.notified().await;
        }
        HttpResponse::Ok()
            .json(json!({"access_token": format!("token-of-{tenant}"), "token_type": "Bearer", "expires_in": 3600}))
    }

    /// The provider on a free port; returns its issuer.
    fn start_provider(gate: web::Data<Gate>) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let issuer = web::Data::new(base.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(issuer.clone())
                .app_data(gate.clone())
                .route("/.well-known/openid-configuration", web::get().to(discovery))
                .route("/keys", web::get().to(|| async { HttpResponse::Ok().json(json!({"keys": []})) }))
                .route("/{tenant}/oauth2/v2.0/token", web::post().to(token))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
        tokio::spawn(server);
        base
    }

    #[tokio::test]
    async fn a_slow_token_request_of_one_tenant_holds_up_no_other_tenant() {
        let gate = web::Data::new(Gate::default());
        let issuer = start_provider(gate.clone());
        let secret = Some(SecretString::from("secret".to_string()));
        let oidc = Arc::new(
            Oidc::new(&issuer, "portal", secret, "http://127.0.0.1/cb", vec![])
                .expect("client")
                .with_app_token_endpoint(&format!("{issuer}/{{tenant}}/oauth2/v2.0/token")),
        );
        let slow = tokio::spawn({
            let oidc = oidc.clone();
            async move { oidc.app_token("slow").await }
        });
        gate.slow_asked.notified().await;
        let fast = tokio::time::timeout(Duration::from_secs(5), oidc.app_token("fast")).await;
        assert_eq!(fast.expect("the other tenant is not held up").expect("a token"), "token-of-fast");
        assert!(!slow.is_finished(), "the slow tenant's token is still on its way");
        gate.release.notify_one();
        assert_eq!(slow.await.expect("task").expect("a token"), "token-of-slow", "each tenant gets its own");
        let asked = gate.requests.load(Ordering::SeqCst);
        assert_eq!(oidc.app_token("fast").await.expect("a token"), "token-of-fast");
        assert_eq!(gate.requests.load(Ordering::SeqCst), asked, "kept, not asked for again");
    }

    #[tokio::test]
    async fn only_a_tenant_id_goes_into_the_token_endpoint() {
        let oidc =
            Oidc::new("https://login.example/v2.0", "portal", None, "http://127.0.0.1/cb", vec![]).expect("client");
        let url = oidc.app_token_url("c0a7050d-0000-4000-8000-000000000001").expect("a tenant id");
        assert_eq!(
            url.as_str(),
            "https://login.microsoftonline.com/c0a7050d-0000-4000-8000-000000000001/oauth2/v2.0/token"
        );
        assert!(oidc.app_token_url("contoso.onmicrosoft.com").is_ok());
        for bad in ["", "a/b", "..", "evil.example/x?", "a b", "%2e%2e"] {
            assert!(oidc.app_token_url(bad).is_err(), "{bad:?}");
        }
    }
}
