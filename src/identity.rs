//! Sign-in with OpenID Connect (authorization code, PKCE S256, state and nonce kept
//! server-side). Works against the built-in sandbox and any standards-compliant provider
//! given issuer, client id and secret.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreIdToken, CoreIdTokenClaims};
use openidconnect::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadataWithLogout,
    RedirectUrl, RefreshToken, Scope, TokenResponse,
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
    client_id: String,
    client_secret: Option<SecretString>,
    redirect_uri: String,
    scopes: Vec<String>,
    http: reqwest::Client,
    metadata: RwLock<Option<(Instant, ProviderMetadataWithLogout)>>,
    /// Scope of the application's own token, and the token while it is good.
    app_scope: String,
    app_token: tokio::sync::Mutex<Option<(String, i64)>>,
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
            client_id: client_id.to_string(),
            client_secret,
            redirect_uri: redirect_uri.to_string(),
            scopes,
            http,
            metadata: RwLock::new(None),
            app_scope: "https://api.partnercenter.microsoft.com/.default".into(),
            app_token: tokio::sync::Mutex::new(None),
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

    /// The application's own (App-only) token, by client credentials; kept until a few
    /// minutes before it expires.
    #[tracing::instrument(skip_all, err(level = "warn"))]
    pub async fn app_token(&self) -> Result<String, SignInError> {
        let mut cached = self.app_token.lock().await;
        let now = chrono::Utc::now().timestamp();
        if let Some((t, exp)) = cached.as_ref()
            && exp - now > 120
        {
            return Ok(t.clone());
        }
        let client = self.client().await?;
        let response = client
            .exchange_client_credentials()
            .map_err(|e| SignInError::Config(e.to_string()))?
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
        url::Url::parse(&self.issuer).map(|u| u.origin()).map_err(|e| SignInError::Config(e.to_string()))
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
