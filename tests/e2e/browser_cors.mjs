// A real browser against the real graceway binary: headless Chromium, driven as a plain process,
// loads a page from an allowed origin (A) whose script speaks MCP to graceway with fetch() —
// initialize, notifications/initialized, tools/list, tools/call, a request without Authorization
// (401 + WWW-Authenticate must be readable), DELETE, a request on the deleted session — and posts
// what the browser let it see to its own origin. The same page from a disallowed origin (B) must
// be refused by the browser (a TypeError from fetch) while graceway logs "refused Origin".
// Then SIGTERM, which must exit 0.
//
// Usage: node browser_cors.mjs GRACEWAY_BINARY [CHROMIUM]   (CHROMIUM defaults to /usr/bin/chromium)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { expectCleanExit, failWith, startGraceway, withTimeout } from './graceway_process.mjs';

const binary = process.argv[2];
const chromium = process.argv[3] ?? '/usr/bin/chromium';
const PROTOCOL = '2025-11-25';
const ECHOED = 'from the browser';

// The page's script, serialised into page.html (it runs in Chromium, not in Node). It reads its
// config from the URL fragment (never sent to the page server), records every step and always
// posts { origin, steps, refused?, error? } to its own origin's /report.
async function pageMain(PROTOCOL, ECHOED) {
  const steps = [];
  const result = { origin: location.origin, steps };
  const record = (name, ok, status, detail) => {
    steps.push({ name, ok: Boolean(ok), status, detail });
    return Boolean(ok);
  };
  // What a response lets this page see: the visible header names, and the headers the MCP needs.
  const seen = (res) => ({
    visible: [...res.headers.keys()],
    sessionId: res.headers.get('mcp-session-id'),
    protocolVersion: res.headers.get('mcp-protocol-version'),
    wwwAuthenticate: res.headers.get('www-authenticate'),
    retryAfter: res.headers.get('retry-after'),
    contentType: res.headers.get('content-type'),
  });
  // The JSON-RPC message answering `id`: one JSON body, or the first SSE event carrying it.
  async function answer(res, id) {
    const type = res.headers.get('content-type') ?? '';
    if (type.startsWith('application/json')) return res.json();
    if (!type.startsWith('text/event-stream')) throw new Error(`content-type '${type}': ${await res.text()}`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`SSE stream ended before the answer to id ${id}`);
        buffer = (buffer + value).replace(/\r\n/g, '\n');
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = event.split('\n').filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).replace(/^ /, '')).join('\n');
          if (data === '') continue;  // the priming event, or a comment
          const message = JSON.parse(data);
          if (message.id === id) return message;
        }
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  }
  const drain = (res) => res.text().catch((e) => `(body unreadable: ${e})`);
  let current = 'page config';  // the step a thrown error is charged to
  try {
    const cfg = JSON.parse(decodeURIComponent(location.hash.slice(1)));
    const auth = { authorization: `Bearer ${cfg.key}` };
    const call = (method, headers, body) => fetch(cfg.url, {
      method,
      headers: { ...(body ? { 'content-type': 'application/json', accept: 'application/json, text/event-stream' } : {}),
                 ...headers },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(10000),
    });

    // a. initialize: the only request that may be refused by the browser (origin B).
    current = 'initialize';
    let res;
    try {
      res = await call('POST', auth, { jsonrpc: '2.0', id: 1, method: 'initialize', params: {
        protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'browser', version: '1' } } });
    } catch (e) {
      result.refused = true;
      result.error = String(e);
      record('initialize', false, null, result.error);
      return;
    }
    const init = seen(res);
    const initMessage = res.status === 200 ? await answer(res, 1) : await drain(res);
    if (!record('initialize', res.status === 200 && init.sessionId && initMessage?.result?.protocolVersion === PROTOCOL,
                res.status, { ...init, result: initMessage?.result ?? initMessage })) return;
    const session = { 'mcp-session-id': init.sessionId, 'mcp-protocol-version': PROTOCOL };
    result.sessionId = init.sessionId;

    // b. notifications/initialized: 202.
    current = 'notifications/initialized';
    res = await call('POST', { ...auth, ...session }, { jsonrpc: '2.0', method: 'notifications/initialized' });
    const initialized = seen(res);
    await drain(res);
    if (!record('notifications/initialized', res.status === 202, res.status, initialized)) return;

    // c. tools/list, then tools/call echo with whichever argument its schema names.
    current = 'tools/list';
    res = await call('POST', { ...auth, ...session }, { jsonrpc: '2.0', id: 2, method: 'tools/list' });
    const listed = res.status === 200 ? await answer(res, 2) : await drain(res);
    const echo = listed?.result?.tools?.find((t) => t.name === 'echo');
    const argument = echo?.inputSchema?.required?.[0] ?? Object.keys(echo?.inputSchema?.properties ?? {})[0];
    if (!record('tools/list', res.status === 200 && argument, res.status,
                { tools: listed?.result?.tools?.map((t) => t.name) ?? listed, argument })) return;
    current = 'tools/call echo';
    res = await call('POST', { ...auth, ...session }, { jsonrpc: '2.0', id: 3, method: 'tools/call',
      params: { name: 'echo', arguments: { [argument]: ECHOED } } });
    const called = res.status === 200 ? await answer(res, 3) : await drain(res);
    const text = called?.result?.content?.[0]?.text;
    if (!record('tools/call echo', res.status === 200 && text === ECHOED, res.status,
                { argument, text, answer: text === ECHOED ? undefined : called })) return;

    // d. no Authorization: the 401 and its WWW-Authenticate must be readable (CORS on errors).
    current = 'no Authorization';
    res = await call('POST', session, { jsonrpc: '2.0', id: 4, method: 'tools/list' });
    const unauthorised = seen(res);
    const body401 = await drain(res);
    record('no Authorization', res.status === 401 && unauthorised.wwwAuthenticate, res.status,
           { ...unauthorised, body: body401 });

    // e. DELETE the session (200), then a request on it: 503 (draining) or 404, readable.
    current = 'DELETE';
    res = await call('DELETE', { ...auth, ...session });
    const deleted = seen(res);
    await drain(res);
    if (!record('DELETE', res.status === 200, res.status, deleted)) return;
    current = 'request on the deleted session';
    res = await call('POST', { ...auth, ...session }, { jsonrpc: '2.0', id: 5, method: 'tools/list' });
    const after = seen(res);
    const bodyAfter = await drain(res);
    record('request on the deleted session', res.status === 503 || res.status === 404, res.status,
           { ...after, body: bodyAfter });
  } catch (e) {
    record(current, false, null, String(e?.stack ?? e));  // a TypeError here: the browser refused
  } finally {
    await fetch('/report', { method: 'POST', headers: { 'content-type': 'application/json' },
                             body: JSON.stringify(result) });
  }
}

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>graceway CORS</title><link rel="icon" href="data:,"></head>
<body><p>graceway browser CORS test</p>
<script>(${pageMain.toString()})(${JSON.stringify(PROTOCOL)}, ${JSON.stringify(ECHOED)});</script>
</body></html>
`;

// A page server on 127.0.0.1: GET /page.html, POST /report (same origin only). Logs nothing.
async function startPageServer() {
  const reports = [];
  const waiting = [];
  let origin;
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/page.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(PAGE);
      return;
    }
    if (req.method === 'POST' && req.url === '/report') {
      if (req.headers.origin !== undefined && req.headers.origin !== origin) {
        res.writeHead(403).end();
        return;
      }
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk) => { if (body.length < 1 << 20) body += chunk; });
      req.on('end', () => {
        res.writeHead(204).end();
        let report;
        try { report = JSON.parse(body); } catch (e) { report = { unparsable: body.slice(0, 2000) }; }
        const w = waiting.shift();
        if (w) w(report); else reports.push(report);
      });
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  origin = `http://127.0.0.1:${server.address().port}`;
  const nextReport = () => (reports.length ? Promise.resolve(reports.shift())
                                            : new Promise((resolve) => waiting.push(resolve)));
  const close = () => { server.closeAllConnections(); return new Promise((resolve) => server.close(resolve)); };
  return { origin, nextReport, close };
}

// Chromium loads `url` in a fresh profile until the page reports (and, when the page was refused
// and `consoleNeedle` is given, until Chromium's console logged a line containing it); then it is
// stopped and its profile removed, on success and on failure alike. Returns { report, consoleLine }.
// Chromium stays in this script's process group, so `timeout` or ctest ending the script ends it
// too; its zygote, renderer, GPU and network processes exit when the browser process does, and
// they all hold its stderr, so the pipe's end ('close') means every one of them is gone.
const chromiumLogs = {};
const liveBrowsers = new Set();
process.on('exit', () => { for (const c of liveBrowsers) c.kill('SIGKILL'); });
async function reportFromBrowser(label, pages, url, consoleNeedle) {
  const profile = await mkdtemp(join(tmpdir(), 'graceway-chromium-'));
  const child = spawn(chromium, [
    '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--enable-logging=stderr', `--user-data-dir=${profile}`, url,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  liveBrowsers.add(child);
  // Chromium's stderr: its console (where it explains CORS refusals) kept whole, the rest capped.
  const log = (chromiumLogs[label] = { console: [], other: [] });
  let consoleSeen;
  const consoleLine = new Promise((resolve) => { consoleSeen = resolve; });
  createInterface({ input: child.stderr }).on('line', (line) => {
    const isConsole = line.includes(':CONSOLE');
    const into = isConsole ? log.console : log.other;
    into.push(line);
    if (into.length > 200) into.shift();
    if (isConsole && consoleNeedle && line.includes(consoleNeedle)) consoleSeen(line);
  });
  const exited = new Promise((resolve) => {
    child.on('exit', () => liveBrowsers.delete(child));
    child.on('close', (code, signal) => resolve({ code, signal }));
    child.on('error', (error) => { liveBrowsers.delete(child); resolve({ error }); });
  });
  const died = exited.then(({ code, signal, error }) => {
    throw new Error(`${label}: chromium ended before the page reported (${error ?? code ?? signal})`);
  });
  try {
    const report = await withTimeout(Promise.race([pages.nextReport(), died]), `${label}: the page's report`);
    if (!consoleNeedle || report.refused !== true) return { report };
    return { report, consoleLine: await withTimeout(Promise.race([consoleLine, died]),
                                                    `${label}: chromium console line "${consoleNeedle}"`) };
  } finally {
    child.kill('SIGTERM');  // a no-op when it never started or already ended
    try {
      await withTimeout(exited, `${label}: chromium exit after SIGTERM`);
    } catch {
      child.kill('SIGKILL');
      await withTimeout(exited, `${label}: chromium exit after SIGKILL`);
    }
    await rm(profile, { recursive: true, force: true, maxRetries: 5 });
  }
}

// Graceway's raw answers to origin A (outside any browser), printed when a browser step fails.
async function rawAnswers(url, origin) {
  const pick = async (res) => ({ status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() });
  const preflight = await fetch(url, { method: 'OPTIONS', headers: {
    origin, 'access-control-request-method': 'POST',
    'access-control-request-headers': 'authorization,content-type,mcp-protocol-version,mcp-session-id' } });
  const unauthorised = await fetch(url, { method: 'POST', headers: {
    origin, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
  return { preflight: await pick(preflight), unauthorised: await pick(unauthorised) };
}

const t0 = Date.now();
const timings = {};
const mark = (name) => { timings[name] = Date.now() - t0; };
const pagesA = await startPageServer();
const pagesB = await startPageServer();
const keyDir = await mkdtemp(join(tmpdir(), 'graceway-keys-'));
const key = randomBytes(32).toString('base64url');
const keyFile = join(keyDir, 'api-keys');
await writeFile(keyFile, `# graceway API keys: NAME SHA256HEX\n\nbrowser ${createHash('sha256').update(key).digest('hex')}\n`,
                { mode: 0o600 });
const server = startGraceway(binary, ['--allowed-origins', pagesA.origin, '--api-keys', keyFile]);
const reports = {};
let raw;
const cleanup = async () => {
  await Promise.all([pagesA.close(), pagesB.close(), rm(keyDir, { recursive: true, force: true })]);
};
try {
  const listening = await Promise.race([
    server.waitForLine('listening on http://127.0.0.1:'),
    server.exited.then(({ code, signal }) => { throw new Error(`graceway exited (${code ?? signal}) before listening`); }),
  ]);
  const url = listening.match(/(http:\/\/127\.0\.0\.1:\d+\/mcp)/)[1];
  const fragment = encodeURIComponent(JSON.stringify({ url, key }));
  mark('graceway listening');
  raw = await withTimeout(rawAnswers(url, pagesA.origin), 'raw answers to origin A');

  // Origin A: every step allowed by the browser.
  const a = (reports.A = (await reportFromBrowser('A', pagesA, `${pagesA.origin}/page.html#${fragment}`)).report);
  mark('origin A reported');
  assert.equal(a.origin, pagesA.origin);
  assert.equal(a.refused, undefined, `origin A was refused by the browser: ${a.error}`);
  const names = ['initialize', 'notifications/initialized', 'tools/list', 'tools/call echo', 'no Authorization',
                 'DELETE', 'request on the deleted session'];
  const failed = a.steps.filter((s) => !s.ok);
  assert.ok(failed.length === 0, `steps origin A's page could not complete:\n${JSON.stringify(failed, null, 2)}`);
  assert.deepEqual(a.steps.map((s) => s.name), names);
  const ended = await server.waitForLine(`session ${a.sessionId}: open -> `);
  assert.match(ended, /\(delete\)/, 'the browser\'s DELETE ended its session');

  // Origin B: the browser refuses (403 without CORS headers), graceway logs it.
  // Chromium's console names the reason, so a TypeError for any other cause (graceway gone) fails.
  const fromB = await reportFromBrowser('B', pagesB, `${pagesB.origin}/page.html#${fragment}`, 'blocked by CORS policy');
  const b = (reports.B = fromB.report);
  mark('origin B reported');
  assert.equal(b.origin, pagesB.origin);
  assert.equal(b.refused, true, 'the browser refused origin B');
  assert.match(b.error, /^TypeError: /);
  const corsReason = fromB.consoleLine.match(/blocked by CORS policy: ([^"]*)"/)?.[1];
  await server.waitForLine(`refused Origin '${pagesB.origin}'`);

  server.child.kill('SIGTERM');
  const code = await expectCleanExit(server);
  mark('graceway exited');
  await cleanup();
  const byName = Object.fromEntries(a.steps.map((s) => [s.name, s.status]));
  console.log(JSON.stringify({ ok: true, chromium, A: { statuses: byName,
    protocolVersionHeader: a.steps[0].detail.protocolVersion, wwwAuthenticate: a.steps[4].detail.wwwAuthenticate },
    B: { error: b.error, chromium: corsReason }, exit: code, timings }));
} catch (e) {
  console.error('--- page reports ---\n' + JSON.stringify(reports, null, 2));
  console.error('--- graceway raw answers to origin A ---\n' + JSON.stringify(raw, null, 2));
  const redact = (lines) => lines.map((l) => l.replaceAll(key, '<key>').replaceAll(encodeURIComponent(key), '<key>'));
  for (const [label, log] of Object.entries(chromiumLogs)) {
    console.error(`--- chromium ${label} console ---\n` + redact(log.console).join('\n'));
    const noise = /dbus|bluez|idle_linux|vaapi|sandbox_linux|unexpected operator/;
    console.error(`--- chromium ${label} stderr, D-Bus noise left out ---\n` +
                  redact(log.other.filter((l) => !noise.test(l))).join('\n'));
  }
  console.error('timings: ' + JSON.stringify(timings));
  await cleanup().catch(() => {});
  failWith(server, e);
}
