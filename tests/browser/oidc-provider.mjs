// An independent, certified OpenID Connect provider (panva's oidc-provider) with its
// development login form, for testing that the portal's sign-in works against a
// provider that is not its own sandbox.
// Usage: node oidc-provider.mjs <port> <redirect-uri> <client-id> <client-secret>
// Prints "listening <issuer>" once it accepts requests.

import Provider from 'oidc-provider';

const [port, redirectUri, clientId, clientSecret] = process.argv.slice(2);
if (!port || !redirectUri || !clientId || !clientSecret) {
  console.error('usage: node oidc-provider.mjs <port> <redirect-uri> <client-id> <client-secret>');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    // Sign out comes back to the portal's signed-out page, on the callback's origin.
    post_logout_redirect_uris: [new URL('/?signed_out=1', redirectUri).href],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  pkce: { required: () => true },
  // Name and email in the ID token itself, as Entra ID puts them.
  conformIdTokenClaims: false,
  claims: { openid: ['sub'], profile: ['name'], email: ['email'] },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, name: `External ${id}`, email: `${id}@external.example` }),
  }),
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['a-test-only-cookie-signing-key'] },
});

const server = provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
