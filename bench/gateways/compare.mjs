// graceway's gateway mode beside supergateway, both in front of the same real, unchanged
// @modelcontextprotocol/server-everything (stdio, a child per session), on one client journey
// driven by the official TypeScript SDK client. Prints one JSON line per gateway and a table.
//
// Usage: node compare.mjs GRACEWAY_BINARY        (bench/gateways/run.sh builds and installs)
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const graceway = process.argv[2];
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const everything = here('./node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const supergateway = here('./node_modules/supergateway/dist/index.js');
const STEP_MS = 10000;

function withTimeout(promise, what, ms = STEP_MS) {
  let timer;
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Processes running server-everything from this folder: the gateways' children.
function children() {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (cmdline.includes(everything) && state !== 'Z') pids.push(Number(entry));
    } catch { /* gone meanwhile */ }
  }
  return pids;
}

// Polls until `check()` is true or `ms` pass: these are other programs' processes, with nothing
// to wait on but /proc.
async function eventually(check, ms = 6000) {
  const giveUp = Date.now() + ms;
  while (Date.now() < giveUp) {
    if (check()) return true;
    await pause(50);
  }
  return check();
}

function start(name, port) {
  const argv = name === 'graceway'
    ? [graceway, ['--port', String(port), '--drain-timeout', '10s', '--stdio', '--', process.execPath, everything, 'stdio']]
    : [process.execPath, [supergateway, '--stdio', `${process.execPath} ${everything} stdio`, '--outputTransport',
        'streamableHttp', '--stateful', '--port', String(port)]];
  const child = spawn(argv[0], argv[1], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', (l) => lines.push(l));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { name, child, lines, exited, url: `http://127.0.0.1:${port}/mcp` };
}

async function ready(url) {
  for (let i = 0; i < 200; ++i) {
    try {
      await fetch(url, { method: 'GET' });
      return;
    } catch { await pause(50); }
  }
  throw new Error('the gateway did not listen');
}

async function connect(url) {
  const client = new Client({ name: 'gateway-compare', version: '1.0.0' }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({
    role: 'assistant', model: 'compare', content: { type: 'text', text: 'sampled' },
  }));
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await withTimeout(client.connect(transport), 'connect');
  return { client, transport };
}

async function postOld(url, session, id) {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream',
               'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' },
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/list' }),
  });
  await r.body?.cancel();
  return { status: r.status, retryAfter: r.headers.get('retry-after') };
}

const longCall = (client, seconds, onprogress) => client.callTool(
  { name: 'trigger-long-running-operation', arguments: { duration: seconds, steps: 3 } }, undefined,
  { onprogress, timeout: 60000 });

async function journey(gw) {
  const results = {};
  const record = async (name, fn) => {
    try {
      const detail = await fn();
      results[name] = { pass: detail.pass, detail: detail.detail };
    } catch (e) {
      results[name] = { pass: false, detail: String(e.message ?? e) };
    }
  };
  await ready(gw.url);

  await record('tools through the gateway', async () => {
    const { client, transport } = await connect(gw.url);
    const { tools } = await withTimeout(client.listTools(), 'tools/list');
    let progress = 0;
    await withTimeout(longCall(client, 0.3, () => { progress += 1; }), 'call with progress');
    const sampled = await withTimeout(client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hi' } }),
      'sampling');
    await withTimeout(transport.terminateSession(), 'DELETE');
    await client.close();
    const ok = tools.some((t) => t.name === 'trigger-sampling-request') && progress === 3 &&
      JSON.stringify(sampled).includes('sampled');
    return { pass: ok, detail: `${tools.length} tools, ${progress} progress, sampling ${JSON.stringify(sampled).includes('sampled')}` };
  });

  // DELETE while a 1.5 s call runs (the Claude.ai connector's move).
  let overlap = {};
  await record('call survives DELETE', async () => {
    const { client, transport } = await connect(gw.url);
    let started;
    const running = new Promise((resolve) => { started = resolve; });
    const call = longCall(client, 1.5, () => started());
    await withTimeout(running, 'first progress');
    const session = transport.sessionId;
    await withTimeout(transport.terminateSession(), 'DELETE');
    overlap.during = await postOld(gw.url, session, 98);
    let outcome;
    try {
      const result = await withTimeout(call, 'the call after DELETE', 6000);
      outcome = result.content?.[0]?.text ?? JSON.stringify(result);
    } catch (e) {
      outcome = `error: ${e.message}`;
    }
    await pause(500);
    overlap.after = await postOld(gw.url, session, 99);
    await client.close().catch(() => {});
    return { pass: /completed/.test(outcome), detail: outcome.slice(0, 80) };
  });
  results['old id while draining: 503 + Retry-After'] = {
    pass: overlap.during?.status === 503 && Number(overlap.during?.retryAfter) >= 1,
    detail: `${overlap.during?.status} retry-after ${overlap.during?.retryAfter}`,
  };
  results['old id after close: 404'] = { pass: overlap.after?.status === 404, detail: `${overlap.after?.status}` };

  await record('child killed mid-call: error, then 404', async () => {
    const before = new Set(children());
    const { client, transport } = await connect(gw.url);
    const session = transport.sessionId;
    const mine = children().filter((p) => !before.has(p));
    let started;
    const running = new Promise((resolve) => { started = resolve; });
    const call = longCall(client, 20, () => started());
    await withTimeout(running, 'first progress');
    for (const pid of mine) process.kill(pid, 'SIGKILL');
    let outcome;
    try {
      await withTimeout(call, 'the call of a killed child', 8000);
      outcome = 'a result';
    } catch (e) {
      outcome = e.message;
    }
    const next = await postOld(gw.url, session, 97);
    await client.close().catch(() => {});
    const failedFast = !/timed out/.test(outcome) && outcome !== 'a result';
    return { pass: mine.length > 0 && failedFast && next.status === 404,
             detail: `${mine.length} process(es) killed; call: ${outcome.slice(0, 70)}; next request ${next.status}` };
  });

  await record("the session's child gone after DELETE", async () => {
    const before = new Set(children());
    const { client, transport } = await connect(gw.url);
    await withTimeout(client.listTools(), 'tools/list');
    const mine = children().filter((p) => !before.has(p));
    await withTimeout(transport.terminateSession(), 'DELETE');
    await client.close();
    const left = () => children().filter((p) => mine.includes(p));
    const gone = await eventually(() => left().length === 0);
    return { pass: mine.length > 0 && gone, detail: `${mine.length} process(es) for the session, ${left().length} left` };
  });

  await record('SIGTERM mid-call: result, exit 0, no child left', async () => {
    const { client } = await connect(gw.url);
    let started;
    const running = new Promise((resolve) => { started = resolve; });
    const call = longCall(client, 1, () => started());
    await withTimeout(running, 'first progress');
    gw.child.kill('SIGTERM');
    let outcome;
    try {
      outcome = (await withTimeout(call, 'the call during SIGTERM', 8000)).content?.[0]?.text ?? '?';
    } catch (e) {
      outcome = `error: ${e.message}`;
    }
    const { code, signal } = await withTimeout(gw.exited, 'exit', 15000);
    await client.close().catch(() => {});
    const gone = await eventually(() => children().length === 0);
    return { pass: /completed/.test(outcome) && code === 0 && gone,
             detail: `call: ${outcome.slice(0, 50)}; exit ${code ?? signal}; ${children().length} child(ren) left` };
  });
  return results;
}

const all = {};
let port = 39400;
for (const name of ['graceway', 'supergateway']) {
  const gw = start(name, port++);
  try {
    all[name] = await journey(gw);
  } finally {
    gw.child.kill('SIGKILL');
    for (const pid of children()) process.kill(pid, 'SIGKILL');
  }
  console.log(JSON.stringify({ gateway: name, results: all[name] }));
}
const checks = Object.keys(all.graceway);
console.log('\n| check | graceway | supergateway 4.0.0 |\n|---|---|---|');
for (const c of checks) {
  const cell = (r) => (r ? `${r.pass ? 'pass' : 'FAIL'} (${r.detail})` : '-');
  console.log(`| ${c} | ${cell(all.graceway[c])} | ${cell(all.supergateway?.[c])} |`);
}
