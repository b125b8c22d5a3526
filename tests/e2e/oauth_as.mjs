// A real OAuth 2.1 authorization server for the e2e tests: oidc-provider (pinned in package.json),
// configured the way an MCP deployment needs it, on 127.0.0.1 and a free port, with no browser:
//
//   const as = await startAuthorizationServer({ resource, accessTokenTTL, introspectionSecret });
//   as.issuer            'http://127.0.0.1:<port>' (no trailing slash; the discovery document's
//                        `issuer` is this string byte for byte)
//   as.url               the same, as the base to build endpoint URLs on
//   as.setNextUser(name) the account the next login interaction signs in (default 'alice')
//   as.counts            { registrations, grants: { <grant_type>: n },
//                          tokenRequests: [ {grant_type, client, resource} ], introspections: [ {client, active} ] }
//   as.requests          'METHOD /path' of every request the AS received, in order
//   await as.stop()
//
// What it does:
// - open dynamic client registration (no initial access token; token_endpoint_auth_method none,
//   client_secret_basic or client_secret_post);
// - authorization code flow with PKCE S256 (required), RFC 9207 `iss` in the authorization response;
// - resource indicators (RFC 8707): `resource` is the only known resource (anything else is
//   InvalidTarget); its tokens carry scope mcp:tools and aud = resource; JWT access tokens
//   (typ at+jwt, ES256, key generated at start) unless the client's registered client_name
//   contains "opaque", whose tokens are opaque (and need introspection);
// - a refresh token with every code exchange (not only with offline_access), rotated on use;
// - introspection (RFC 7662) for the pre-registered confidential client `introspectionClientId`
//   (default 'graceway-rs') with client_secret_basic; no other client may introspect;
// - interactions approve on their own: GET /interaction/<uid> signs in the next user and grants every
//   requested scope and resource scope, then redirects on (follow the redirects with a cookie jar);
// - discovery only at /.well-known/openid-configuration (oidc-provider 8.x serves no
//   /.well-known/oauth-authorization-server: clients must fall back, as MCP requires them to).
// Quiet unless DEBUG is set in the environment (then every request and provider error is logged).
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider, { errors } from 'oidc-provider';

const debug = process.env.DEBUG ? (...args) => console.error('[oauth-as]', ...args) : () => {};

// oidc-provider's storage contract, kept in a Map per server (each test gets a fresh AS).
function memoryAdapterFactory() {
  const store = new Map();          // key -> { payload, expiresAt }
  const byGrant = new Map();        // grantId -> Set of keys
  const byIndex = new Map();        // 'uid:<uid>' / 'userCode:<code>' -> key
  const live = (key) => {
    const entry = store.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt && entry.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry.payload;
  };
  return class MemoryAdapter {
    constructor(model) { this.model = model; }
    key(id) { return `${this.model}:${id}`; }
    async upsert(id, payload, expiresIn) {
      const key = this.key(id);
      store.set(key, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : 0 });
      if (payload.grantId) {
        if (!byGrant.has(payload.grantId)) byGrant.set(payload.grantId, new Set());
        byGrant.get(payload.grantId).add(key);
      }
      if (payload.uid) byIndex.set(`uid:${payload.uid}`, key);
      if (payload.userCode) byIndex.set(`userCode:${payload.userCode}`, key);
    }
    async find(id) { return live(this.key(id)); }
    async findByUid(uid) { const key = byIndex.get(`uid:${uid}`); return key ? live(key) : undefined; }
    async findByUserCode(code) { const key = byIndex.get(`userCode:${code}`); return key ? live(key) : undefined; }
    async consume(id) { const payload = live(this.key(id)); if (payload) payload.consumed = Math.floor(Date.now() / 1000); }
    async destroy(id) { store.delete(this.key(id)); }
    async revokeByGrantId(grantId) {
      for (const key of byGrant.get(grantId) ?? []) store.delete(key);
      byGrant.delete(grantId);
    }
  };
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => { server.off('error', reject); resolve(server.address().port); });
  });
}

export async function startAuthorizationServer({
  resource,
  accessTokenTTL = 300,
  introspectionSecret,
  introspectionClientId = 'graceway-rs',
}) {
  if (!resource) throw new Error('startAuthorizationServer: resource is required');
  if (!introspectionSecret) throw new Error('startAuthorizationServer: introspectionSecret is required');

  // Listen first, so the issuer can name the real port.
  let handler = (req, res) => { res.statusCode = 503; res.end(); };
  const server = createServer((req, res) => handler(req, res));
  const port = await listen(server);
  const issuer = `http://127.0.0.1:${port}`;

  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' };

  let nextUser = 'alice';
  const counts = { registrations: 0, grants: {}, tokenRequests: [], introspections: [] };
  const requests = [];

  const provider = new Provider(issuer, {
    adapter: memoryAdapterFactory(),
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    clients: [{
      client_id: introspectionClientId,
      client_secret: introspectionSecret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: [],
      response_types: [],
      redirect_uris: [],
    }],
    // mcp:tools must be a known scope: the SDK registers clients with `scope: "mcp:tools"`.
    scopes: ['openid', 'offline_access', 'mcp:tools'],
    responseTypes: ['code'],
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: 'ES256',
    },
    enabledJWA: { idTokenSigningAlgValues: ['ES256'] },
    pkce: { required: () => true },
    findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    clientBasedCORS: () => true,
    pairwiseIdentifier: async (ctx, accountId) => accountId,
    renderError: async (ctx, out) => { ctx.type = 'json'; ctx.body = out; },
    ttl: {
      AccessToken: accessTokenTTL,
      AuthorizationCode: 60,
      ClientCredentials: 600,
      DeviceCode: 600,
      BackchannelAuthenticationRequest: 600,
      IdToken: 3600,
      RefreshToken: 86400,
      Interaction: 600,
      Session: 3600,
      Grant: 86400,
    },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true },           // open: no initial access token
      introspection: {
        enabled: true,
        allowedPolicy: async (ctx, client) => client.clientId === introspectionClientId,
      },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, indicator, client) => {
          if (indicator !== resource) throw new errors.InvalidTarget(`unknown resource ${indicator}`);
          const opaque = /opaque/i.test(client?.clientName ?? '');
          return opaque
            ? { scope: 'mcp:tools', audience: resource, accessTokenTTL, accessTokenFormat: 'opaque' }
            : { scope: 'mcp:tools', audience: resource, accessTokenTTL, accessTokenFormat: 'jwt',
                jwt: { sign: { alg: 'ES256' } } };
        },
      },
    },
  });

  provider.on('registration_create.success', () => { counts.registrations += 1; });
  provider.on('grant.success', (ctx) => {
    const type = ctx.oidc.params?.grant_type ?? 'unknown';
    counts.grants[type] = (counts.grants[type] ?? 0) + 1;
    counts.tokenRequests.push({ grant_type: type, client: ctx.oidc.client?.clientId, resource: ctx.oidc.params?.resource });
  });
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route === 'introspection') {
      counts.introspections.push({ client: ctx.oidc.client?.clientId, active: ctx.body?.active === true });
    }
  });
  for (const event of ['server_error', 'authorization.error', 'grant.error', 'registration_create.error',
    'introspection.error', 'revocation.error']) {
    provider.on(event, (ctx, err) => debug(event, err?.message, err?.error_description ?? ''));
  }

  // The auto-approving interaction: sign in the next user, then grant everything asked for.
  async function interaction(req, res) {
    const details = await provider.interactionDetails(req, res);
    const { prompt, params, session, grantId } = details;
    if (prompt.name === 'login') {
      debug('login as', nextUser);
      await provider.interactionFinished(req, res, { login: { accountId: nextUser } },
        { mergeWithLastSubmission: false });
      return;
    }
    if (prompt.name === 'consent') {
      const grant = grantId
        ? await provider.Grant.find(grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
      if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
      if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } },
        { mergeWithLastSubmission: true });
      return;
    }
    res.statusCode = 501;
    res.end(`unsupported prompt ${prompt.name}`);
  }

  const callback = provider.callback();
  handler = (req, res) => {
    requests.push(`${req.method} ${req.url.split('?')[0]}`);
    debug(req.method, req.url);
    if (req.method === 'GET' && req.url.startsWith('/interaction/')) {
      interaction(req, res).catch((e) => {
        debug('interaction failed:', e?.message);
        res.statusCode = 400;
        res.end(String(e?.message ?? e));
      });
      return;
    }
    callback(req, res);
  };

  return {
    issuer,
    url: issuer,
    port,
    provider,
    counts,
    requests,
    setNextUser(name) { nextUser = name; },
    stop() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
