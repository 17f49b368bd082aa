// A real OpenID Connect provider for the web tests: panva's oidc-provider (npm, installed by
// scripts/setup into .cache/npm), the certified implementation Keycloak-like IdPs are tested
// against. One confidential client (the web app), PKCE required, and test accounts whose
// role/team/citizen claims come with the "homevitals" scope, as a municipality's IdP would
// map them. Its own development login/consent pages stand in for the IdP's login form.
//
// usage: node oidc_provider.mjs   (configured by environment, see below)
//   OIDC_PROVIDER_MODULE  file URL of oidc-provider's lib/index.js (ES modules ignore NODE_PATH)
//   OIDC_PORT          port to listen on (127.0.0.1)
//   OIDC_CLIENT_ID     the web app's client id
//   OIDC_CLIENT_SECRET its secret
//   OIDC_REDIRECT_URI  the web app's callback (…/app/login/callback)
//   OIDC_POST_LOGOUT_URI  where the provider sends the browser after logout (…/app/login?logged_out=1)
//   OIDC_ACCOUNTS      JSON: {"nurse.nord": {"role": "caregiver", "team": "team-nord"}, …}
// Prints "oidc-provider ready <issuer>" once it listens.

const { default: Provider } = await import(process.env.OIDC_PROVIDER_MODULE);

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS);

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.OIDC_CLIENT_ID,
    client_secret: process.env.OIDC_CLIENT_SECRET,
    redirect_uris: [process.env.OIDC_REDIRECT_URI],
    post_logout_redirect_uris: [process.env.OIDC_POST_LOGOUT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  // Every client must send a PKCE challenge, confidential or not.
  pkce: { required: () => true },
  scopes: ['openid', 'profile', 'homevitals'],
  claims: { openid: ['sub'], profile: ['name'], homevitals: ['role', 'team', 'citizen'] },
  async findAccount(_ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() { return { sub: id, name: id, ...account }; },
    };
  },
  cookies: { keys: ['homevitals-web-tests-cookie-key'] },
  features: { devInteractions: { enabled: true } },
});
provider.proxy = false;

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider ready ${issuer}`);
});
