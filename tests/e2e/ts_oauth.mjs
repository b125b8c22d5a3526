// graceway as an OAuth 2.1 resource server, end to end: a real authorization server (oidc-provider,
// oauth_as.mjs) and the official TypeScript SDK client, unchanged, with a headless
// OAuthClientProvider of our own (no browser: it follows the AS's redirects itself).
//   a. the first connect gets 401 with the exact challenge; the SDK discovers the PRM and the AS,
//      registers (DCR), starts PKCE, and connect rejects with UnauthorizedError;
//   b. finishAuth(code) and a new transport: initialize, tools/list, tools/call echo;
//   c. a garbage access token: 401 invalid_token, the SDK refreshes by itself, same session;
//   d. an opaque-token client: the whole flow again, graceway introspects;
//   e. bob's token on alice's session: 404 like an unknown session (POST, GET, DELETE); alice's
//      session still works;
//   f. SIGTERM: graceway drains and exits 0.
//
// Usage: node ts_oauth.mjs GRACEWAY_BINARY
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectCleanExit, failWith, startGraceway, withTimeout } from './graceway_process.mjs';
import { startAuthorizationServer } from './oauth_as.mjs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const binary = process.argv[2];
const PROTOCOL = '2025-11-25';
const REDIRECT_URL = 'http://127.0.0.1/oauth/callback';  // never fetched: the last redirect is read, not followed

// A free port, held until release() so nothing else started meanwhile (the AS) can take it; the PRM
// and the audience name it, so graceway must be told it rather than pick its own.
function reservePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => resolve({
      port: probe.address().port,
      release: () => new Promise((done) => probe.close(() => done())),
    }));
  });
}

// fetch that records what the SDK sent and got: method, url, status, challenge, whether it had a bearer.
function recordingFetch(log) {
  return async (input, init = {}) => {
    const url = String(input instanceof Request ? input.url : input);
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
    const res = await fetch(input, init);
    log.push({
      method: init.method ?? 'GET', url, status: res.status,
      bearer: headers.get('authorization')?.replace(/^Bearer /i, ''),
      challenge: res.headers.get('www-authenticate'),
    });
    return res;
  };
}

// RFC 6750 challenge parameters: { scheme, error, resource_metadata, scope, ... }.
function parseChallenge(header) {
  assert.ok(header, 'a WWW-Authenticate header');
  const [, scheme, rest] = header.match(/^(\S+)\s*(.*)$/);
  const params = { scheme };
  for (const m of rest.matchAll(/([A-Za-z_]+)="((?:[^"\\]|\\.)*)"/g)) params[m[1]] = m[2];
  return params;
}

function isJwt(token) { return token.split('.').length === 3; }
function jwtPart(token, i) { return JSON.parse(Buffer.from(token.split('.')[i], 'base64url').toString()); }

// The SDK's OAuthClientProvider, in memory and headless: redirectToAuthorization walks the AS's
// redirects (authorize -> interaction -> resume -> ...) with a cookie jar until the AS redirects
// to REDIRECT_URL, checks state and iss there, and keeps the code for finishAuth.
class HeadlessProvider {
  constructor({ clientName, authMethod = 'none', expectedIssuer }) {
    this.clientName = clientName;
    this.authMethod = authMethod;
    this.expectedIssuer = expectedIssuer;
    this.stored = {};
    this.authorizationCode = undefined;
    this.authorizationRequests = [];   // the SearchParams of every authorization URL the SDK built
  }
  get redirectUrl() { return REDIRECT_URL; }
  get clientMetadata() {
    return {
      client_name: this.clientName,
      redirect_uris: [REDIRECT_URL],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: this.authMethod,
    };
  }
  state() { this.stored.state = randomBytes(16).toString('base64url'); return this.stored.state; }
  clientInformation() { return this.stored.client; }
  saveClientInformation(info) { this.stored.client = info; }
  tokens() { return this.stored.tokens; }
  saveTokens(tokens) { this.stored.tokens = tokens; }
  saveCodeVerifier(v) { this.stored.verifier = v; }
  codeVerifier() {
    if (!this.stored.verifier) throw new Error('no code verifier saved');
    return this.stored.verifier;
  }
  saveDiscoveryState(s) { this.stored.discovery = s; }
  discoveryState() { return this.stored.discovery; }
  invalidateCredentials(scope) {
    if (scope === 'all' || scope === 'client') delete this.stored.client;
    if (scope === 'all' || scope === 'tokens') delete this.stored.tokens;
    if (scope === 'all' || scope === 'verifier') delete this.stored.verifier;
    if (scope === 'all' || scope === 'discovery') delete this.stored.discovery;
  }
  async redirectToAuthorization(authorizationUrl) {
    this.authorizationRequests.push(new URL(authorizationUrl).searchParams);
    const jar = new Map();
    let url = new URL(authorizationUrl);
    for (let hop = 0; hop < 10; hop++) {
      const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
      const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
      for (const line of res.headers.getSetCookie()) {
        const [pair, ...attrs] = line.split(';');
        const eq = pair.indexOf('=');
        const name = pair.slice(0, eq).trim();
        const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)
          || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]) < Date.now()));
        if (expired) jar.delete(name); else jar.set(name, pair.slice(eq + 1).trim());
      }
      const location = res.headers.get('location');
      if (!location || res.status < 300 || res.status > 399) {
        throw new Error(`authorization stopped at ${url.pathname}: ${res.status} ${await res.text()}`);
      }
      await res.body?.cancel();
      const next = new URL(location, url);
      if (next.href.startsWith(REDIRECT_URL)) {
        const p = next.searchParams;
        if (p.get('error')) throw new Error(`authorization error: ${p.get('error')} ${p.get('error_description') ?? ''}`);
        assert.equal(p.get('state'), this.stored.state, 'state comes back unchanged');
        assert.equal(p.get('iss'), this.expectedIssuer, 'RFC 9207 iss names the issuer');
        assert.ok(p.get('code'), 'an authorization code');
        this.authorizationCode = p.get('code');
        return;
      }
      url = next;
    }
    throw new Error('authorization did not reach the redirect URL in 10 hops');
  }
}

async function newClient(mcpUrl, provider, log) {
  const client = new Client({ name: 'graceway-e2e-oauth', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider, fetch: recordingFetch(log) });
  return { client, transport };
}

// Steps a and b for one provider: the failed connect that runs discovery, DCR and authorization,
// finishAuth, then a connected client. Returns { client, transport, log, firstLog }.
async function authorizeAndConnect(mcpUrl, provider, what) {
  const firstLog = [];
  const first = await newClient(mcpUrl, provider, firstLog);
  await assert.rejects(withTimeout(first.client.connect(first.transport), `${what}: first connect`),
    (e) => e instanceof UnauthorizedError, `${what}: first connect rejects with UnauthorizedError`);
  assert.ok(provider.authorizationCode, `${what}: the headless authorization produced a code`);
  await withTimeout(first.transport.finishAuth(provider.authorizationCode), `${what}: finishAuth`);
  await first.client.close();
  const log = [];
  const second = await newClient(mcpUrl, provider, log);
  await withTimeout(second.client.connect(second.transport), `${what}: connect with a token`);
  return { ...second, log, firstLog };
}

function rawMcp(mcpUrl, { method = 'POST', token, session, body }) {
  const headers = { accept: 'application/json, text/event-stream', 'mcp-protocol-version': PROTOCOL };
  if (method === 'GET') headers.accept = 'text/event-stream';
  if (body) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  if (session) headers['mcp-session-id'] = session;
  return fetch(mcpUrl, { method, headers, body: body ? JSON.stringify(body) : undefined });
}

const secretDir = mkdtempSync(join(tmpdir(), 'graceway-oauth-'));
const secret = randomBytes(24).toString('base64url');
const secretFile = join(secretDir, 'introspection-secret');
writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });

const reserved = await reservePort();
const { port } = reserved;
const origin = `http://127.0.0.1:${port}`;
const mcpUrl = `${origin}/mcp`;
const prmUrl = `${origin}/.well-known/oauth-protected-resource/mcp`;
const as = await startAuthorizationServer({ resource: mcpUrl, accessTokenTTL: 300, introspectionSecret: secret });
await reserved.release();
const server = startGraceway(binary, [
  '--public-url', mcpUrl, '--auth-issuer', as.issuer, '--auth-scopes', 'mcp:tools',
  '--auth-introspection-client-id', 'graceway-rs', '--auth-introspection-secret-file', secretFile,
], { port });
const summary = { issuer: as.issuer, resource: mcpUrl };
const overall = setTimeout(() => failWith(server, new Error('timed out: the whole script (60 s)')), 60000);
overall.unref();
try {
  await server.waitForLine('listening on http://127.0.0.1:');

  // a. The challenge, by hand and as the SDK sees it.
  const bareChallenge = `Bearer resource_metadata="${prmUrl}", scope="mcp:tools"`;
  const init = { jsonrpc: '2.0', id: 1, method: 'initialize',
    params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'probe', version: '0' } } };
  for (const method of ['POST', 'GET', 'DELETE']) {
    const res = await withTimeout(rawMcp(mcpUrl, { method, body: method === 'POST' ? init : undefined }), `${method} without a token`);
    assert.equal(res.status, 401, `${method} without a token`);
    assert.equal(res.headers.get('www-authenticate'), bareChallenge, `${method}: the bare challenge`);
    const body = await res.json();
    assert.equal(body.jsonrpc, '2.0');
    assert.ok(body.error, `${method}: a JSON-RPC error body`);
  }
  const bad = await withTimeout(rawMcp(mcpUrl, { token: 'not-a-real-token', body: init }), 'POST with a bad token');
  assert.equal(bad.status, 401);
  const badChallenge = parseChallenge(bad.headers.get('www-authenticate'));
  assert.deepEqual({ ...badChallenge, error_description: undefined },
    { scheme: 'Bearer', error: 'invalid_token', resource_metadata: prmUrl, scope: 'mcp:tools', error_description: undefined });
  assert.ok((await bad.json()).error);
  const prm = await withTimeout(fetch(prmUrl), 'PRM document');
  assert.equal(prm.status, 200);
  assert.deepEqual(await prm.json(), {
    resource: mcpUrl, authorization_servers: [as.issuer], scopes_supported: ['mcp:tools'], bearer_methods_supported: ['header'],
  });

  const alice = new HeadlessProvider({ clientName: 'graceway-e2e alice', expectedIssuer: as.issuer });
  const aliceConn = await authorizeAndConnect(mcpUrl, alice, 'alice');
  const firstLog = aliceConn.firstLog;
  assert.equal(firstLog[0].status, 401, 'the SDK\'s first POST is refused');
  assert.equal(firstLog[0].challenge, bareChallenge);
  const fetched = firstLog.map((r) => `${r.method} ${r.url.replace(as.issuer, 'AS').replace(origin, 'RS')} ${r.status}`);
  assert.ok(fetched.includes(`GET RS/.well-known/oauth-protected-resource/mcp 200`), `PRM fetched: ${fetched}`);
  assert.ok(fetched.includes('GET AS/.well-known/openid-configuration 200'), `AS metadata fetched: ${fetched}`);
  assert.ok(fetched.includes('POST AS/reg 201'), `client registered: ${fetched}`);
  const authz = alice.authorizationRequests[0];
  assert.equal(authz.get('resource'), mcpUrl, 'RFC 8707 resource in the authorization request');
  assert.equal(authz.get('code_challenge_method'), 'S256');
  assert.equal(authz.get('scope'), 'mcp:tools');
  summary.discovery = fetched;
  console.log('ok: 401 challenge, PRM, AS discovery, DCR, PKCE authorization');

  // b. The token and the session.
  assert.equal(as.counts.grants.authorization_code, 1);
  const aliceToken = alice.tokens().access_token;
  assert.ok(isJwt(aliceToken), 'alice has a JWT access token');
  assert.equal(jwtPart(aliceToken, 0).typ, 'at+jwt');
  const claims = jwtPart(aliceToken, 1);
  assert.equal(claims.iss, as.issuer);
  assert.equal(claims.sub, 'alice');
  assert.deepEqual([].concat(claims.aud), [mcpUrl]);
  assert.ok(claims.scope.split(' ').includes('mcp:tools'));
  assert.ok(alice.tokens().refresh_token, 'a refresh token came with the code exchange');
  const { tools } = await withTimeout(aliceConn.client.listTools(), 'tools/list');
  const echoTool = tools.find((t) => t.name === 'echo');
  assert.ok(echoTool, `an echo tool among ${tools.map((t) => t.name)}`);
  const echoArg = ['text', 'message'].find((k) => echoTool.inputSchema?.properties?.[k]) ?? 'text';
  const echo = (conn, text, what) => withTimeout(conn.client.callTool({ name: 'echo', arguments: { [echoArg]: text } }), what);
  const hi = await echo(aliceConn, 'hi alice', 'echo with a JWT');
  assert.equal(hi.content[0].text, 'hi alice');
  const aliceSession = aliceConn.transport.sessionId;
  assert.ok(aliceSession, 'a session id');
  assert.ok(aliceConn.log.every((r) => r.bearer === aliceToken), 'every request carried the bearer');
  summary.alice = { session: aliceSession };
  console.log('ok: finishAuth, initialize, tools/list, tools/call echo with a JWT access token');

  // The AS is no pushover: a resource it does not know is refused (so `aud` means something).
  const foreignResource = new URL(`${as.issuer}/auth`);
  for (const [k, v] of Object.entries({ response_type: 'code', client_id: alice.clientInformation().client_id,
    redirect_uri: REDIRECT_URL, scope: 'mcp:tools', state: 'x', resource: 'http://127.0.0.1:1/elsewhere',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })) {
    foreignResource.searchParams.set(k, v);
  }
  const refusedTarget = await withTimeout(fetch(foreignResource, { redirect: 'manual' }), 'authorize for an unknown resource');
  await refusedTarget.body?.cancel();
  assert.equal(new URL(refusedTarget.headers.get('location')).searchParams.get('error'), 'invalid_target');

  // c. A garbage access token: 401 invalid_token, the SDK refreshes, the same session goes on.
  alice.saveTokens({ ...alice.tokens(), access_token: 'garbage-access-token' });
  const logBefore = aliceConn.log.length;
  const refreshed = await echo(aliceConn, 'after refresh', 'echo across a refresh');
  assert.equal(refreshed.content[0].text, 'after refresh');
  const during = aliceConn.log.slice(logBefore);
  const refused = during.find((r) => r.url === mcpUrl && r.status === 401);
  assert.ok(refused, `a 401 on the garbage token: ${JSON.stringify(during)}`);
  assert.equal(parseChallenge(refused.challenge).error, 'invalid_token');
  assert.ok(during.some((r) => r.url === `${as.issuer}/token` && r.status === 200), 'the SDK called the token endpoint');
  assert.equal(as.counts.grants.refresh_token, 1, 'one refresh_token grant');
  assert.deepEqual(as.counts.tokenRequests.map((t) => [t.grant_type, t.resource]),
    [['authorization_code', mcpUrl], ['refresh_token', mcpUrl]], 'both token requests named the resource');
  summary.refresh = during.map((r) => `${r.method} ${r.url.replace(as.issuer, 'AS').replace(origin, 'RS')} ${r.status}`);
  const newToken = alice.tokens().access_token;
  assert.ok(isJwt(newToken) && newToken !== aliceToken, 'a new JWT access token');
  assert.equal(aliceConn.transport.sessionId, aliceSession, 'the session survived the refresh');
  console.log('ok: refresh on invalid_token, session kept');

  // d. Opaque tokens: graceway introspects.
  const opaque = new HeadlessProvider({ clientName: 'graceway-e2e opaque', authMethod: 'client_secret_post', expectedIssuer: as.issuer });
  const opaqueConn = await authorizeAndConnect(mcpUrl, opaque, 'opaque');
  const opaqueToken = opaque.tokens().access_token;
  assert.ok(!isJwt(opaqueToken), 'an opaque access token');
  const viaIntrospection = await echo(opaqueConn, 'opaque', 'echo with an opaque token');
  assert.equal(viaIntrospection.content[0].text, 'opaque');
  assert.ok(as.counts.introspections.some((i) => i.client === 'graceway-rs' && i.active),
    `graceway introspected as graceway-rs: ${JSON.stringify(as.counts.introspections)}`);
  summary.introspections = as.counts.introspections.length;
  await opaqueConn.client.close();
  console.log('ok: opaque token, introspection');

  // e. Bob's token on alice's session.
  as.setNextUser('bob');
  const bob = new HeadlessProvider({ clientName: 'graceway-e2e bob', authMethod: 'client_secret_basic', expectedIssuer: as.issuer });
  const bobConn = await authorizeAndConnect(mcpUrl, bob, 'bob');
  const bobToken = bob.tokens().access_token;
  assert.equal(jwtPart(bobToken, 1).sub, 'bob');
  assert.equal((await echo(bobConn, 'bob', 'bob\'s own echo')).content[0].text, 'bob');
  const call = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'echo', arguments: { [echoArg]: 'stolen' } } };
  const foreign = await withTimeout(rawMcp(mcpUrl, { token: bobToken, session: aliceSession, body: call }), 'bob on alice\'s session');
  assert.equal(foreign.status, 404, 'a foreign session is not found');
  const foreignBody = await foreign.json();
  assert.equal(foreignBody.jsonrpc, '2.0');
  assert.ok(foreignBody.error, 'a JSON-RPC error body');
  const unknown = await withTimeout(rawMcp(mcpUrl, { token: bobToken, session: 'no-such-session-0000', body: call }), 'unknown session');
  assert.equal(unknown.status, 404);
  assert.deepEqual(await unknown.json(), foreignBody, 'a foreign session answers like an unknown one');
  for (const method of ['GET', 'DELETE']) {
    const res = await withTimeout(rawMcp(mcpUrl, { method, token: bobToken, session: aliceSession }), `bob's ${method} on alice's session`);
    assert.equal(res.status, 404, `bob's ${method} on alice's session`);
    await res.body?.cancel();
  }
  const stillAlice = await echo(aliceConn, 'still alice', 'alice after bob\'s attempts');
  assert.equal(stillAlice.content[0].text, 'still alice');
  assert.equal(aliceConn.transport.sessionId, aliceSession);
  await bobConn.client.close();
  console.log('ok: foreign session 404 (POST, GET, DELETE), owner unaffected');

  // f. SIGTERM with alice's session open: graceway drains and exits 0.
  server.child.kill('SIGTERM');
  summary.exit = await expectCleanExit(server);
  await aliceConn.client.close();
  await as.stop();
  console.log('ok: SIGTERM, clean exit');
  summary.asRequests = as.requests.length;
  console.log(JSON.stringify({ ok: true, ...summary }));
  rmSync(secretDir, { recursive: true, force: true });
  clearTimeout(overall);
} catch (e) {
  rmSync(secretDir, { recursive: true, force: true });
  failWith(server, e);
}
