// The official TypeScript SDK clients, unchanged, through graceway in gateway mode in front of the
// real, unchanged @modelcontextprotocol/server-everything: as a stdio child per session (mode
// `stdio`), or as one Streamable HTTP upstream with an upstream session per graceway session (mode
// `upstream`; "the child" below is then that upstream session, and being reaped is its DELETE):
// Streamable HTTP: initialize, list, a call with progress, a sampling request from the child
// answered by the client, DELETE while a long call runs (its result arrives, the old id gets 503,
// then 404, and only then is the child reaped); the legacy SSE client (HTTP+SSE) lists and calls
// through its own child; SIGTERM with a call in flight drains, reaps every child and exits 0.
//
// Usage: node ts_gateway.mjs GRACEWAY_BINARY [stdio|upstream]
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expectCleanExit, failWith, startGraceway, withTimeout } from './graceway_process.mjs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const binary = process.argv[2];
const everything = fileURLToPath(new URL('./node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url));

function newClient() {
  const client = new Client({ name: 'graceway-gateway-e2e', version: '1.0.0' }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => ({
    role: 'assistant',
    model: 'e2e',
    content: { type: 'text', text: `sampled: ${request.params.messages.length} message(s)` },
  }));
  return client;
}

const mode = process.argv[3] ?? 'stdio';

let upstream;  // the server-everything process in upstream mode; killed when the script ends

// server-everything over Streamable HTTP on a free loopback port; resolves to its /mcp URL.
async function startUpstream() {
  const port = await new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address();
      probe.close(() => resolve(free));
    });
  });
  const child = spawn(process.execPath, [everything, 'streamableHttp'], {
    env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  upstream = child;
  process.on('exit', () => child.kill('SIGKILL'));
  await withTimeout(new Promise((resolve) => {  // it logs to stderr
    createInterface({ input: child.stderr }).on('line', (line) => { if (line.includes('listening on port')) resolve(); });
  }), 'server-everything over Streamable HTTP listening');
  return `http://127.0.0.1:${port}/mcp`;
}

const gatewayFlags = mode === 'upstream'
  ? ['--upstream', await startUpstream(), '--upstream-delete-timeout', '2s']
  : ['--stdio-stop-timeout', '1s', '--stdio', '--', process.execPath, everything, 'stdio'];
// The log line that says a session's server has been let go of, and one that says it is under way.
const releasedLine = (session) => (mode === 'upstream' ? `session ${session}: upstream session ended (DELETE answered 200)`
  : `session ${session}: its MCP server`);
const opened = (line) => (mode === 'upstream' ? /: upstream session \S+$/.test(line) : line.includes('started its MCP server (pid'));
const released = (line) => (mode === 'upstream' ? /upstream session ended \(DELETE answered 200\)/.test(line) : / reaped after /.test(line));
const server = startGraceway(binary, gatewayFlags);
const summary = { mode };
try {
  const listening = await server.waitForLine('listening on http://127.0.0.1:');
  const base = listening.match(/(http:\/\/127\.0\.0\.1:\d+)\/mcp/)[1];
  const url = `${base}/mcp`;

  // 1. Streamable HTTP through the gateway.
  const client = newClient();
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await withTimeout(client.connect(transport), 'connect');
  const session = transport.sessionId;
  assert.ok(session, 'graceway minted a session id');
  assert.equal(client.getServerVersion()?.name, 'mcp-servers/everything', "the client sees the child's serverInfo");
  const { tools } = await withTimeout(client.listTools(), 'tools/list');
  const names = tools.map((t) => t.name);
  for (const n of ['echo', 'trigger-long-running-operation', 'trigger-sampling-request']) assert.ok(names.includes(n), n);
  let progress = 0;
  const quick = await withTimeout(client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } },
    undefined, { onprogress: () => { progress += 1; } }), 'call with progress');
  assert.match(quick.content[0].text, /Long running operation completed/);
  assert.equal(progress, 3);
  const sampled = await withTimeout(client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hi' } }),
    'sampling request answered by the client');
  assert.match(JSON.stringify(sampled), /sampled: 1 message/);
  summary.streamable = { session, tools: names.length, progress };

  // 2. DELETE while a long call runs.
  let started;
  const running = new Promise((resolve) => { started = resolve; });
  const call = client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 1.5, steps: 3 } }, undefined,
    { onprogress: () => started() });
  await withTimeout(running, 'first progress of the long call');
  await withTimeout(transport.terminateSession(), 'DELETE during the call');
  await server.waitForLine(`session ${session}: open -> draining (delete)`);
  const post = (id) => fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream',
               'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' },
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/list' }),
  });
  const late = await post(98);
  assert.equal(late.status, 503);
  assert.ok(Number(late.headers.get('retry-after')) >= 1);
  await late.body?.cancel();
  assert.ok(!server.lines.some((l) => l.includes(`session ${session}:`) && released(l)),
    'the child (or upstream session) is not let go of while its session drains');
  const result = await withTimeout(call, 'the call that outlived its DELETE');
  assert.match(result.content[0].text, /Duration: 1.5 seconds/);
  await server.waitForLine(`session ${session}: draining -> closed (drained)`);
  const gone = await post(99);
  assert.equal(gone.status, 404);
  await gone.body?.cancel();
  await server.waitForLine(releasedLine(session));
  if (mode === 'stdio') {
    const reaped = await server.waitForLine('exited with code 0; reaped');
    assert.ok(reaped.includes(session), reaped);
  }
  await client.close();
  summary.overlap = { late: 503, after: 404 };

  // 3. The legacy HTTP+SSE client, through a child of its own.
  const legacy = newClient();
  await withTimeout(legacy.connect(new SSEClientTransport(new URL(`${base}/sse`))), 'legacy SSE connect');
  assert.equal(legacy.getServerVersion()?.name, 'mcp-servers/everything');
  const echoed = await withTimeout(legacy.callTool({ name: 'echo', arguments: { message: 'over sse' } }), 'legacy echo');
  assert.equal(echoed.content[0].text, 'Echo: over sse');
  summary.legacy = { echo: echoed.content[0].text };

  // 4. SIGTERM with a call in flight: it finishes inside the window; every child is reaped.
  const last = newClient();
  const lastTransport = new StreamableHTTPClientTransport(new URL(url));
  await withTimeout(last.connect(lastTransport), 'connect before SIGTERM');
  let began;
  const begun = new Promise((resolve) => { began = resolve; });
  const inflight = last.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 2 } }, undefined,
    { onprogress: () => began() });
  await withTimeout(begun, 'progress before SIGTERM');
  server.child.kill('SIGTERM');
  const finished = await withTimeout(inflight, 'call in flight during SIGTERM');
  assert.match(finished.content[0].text, /Long running operation completed/);
  await last.close();
  await legacy.close();
  const code = await expectCleanExit(server);
  const spawned = server.lines.filter(opened).length;
  const gathered = server.lines.filter(released).length;
  assert.equal(gathered, spawned, `every child reaped or upstream session deleted (${gathered} of ${spawned})`);
  summary.sigterm = { exit: code, children: spawned };
  console.log(JSON.stringify({ ok: true, ...summary }));
  upstream?.kill('SIGTERM');
} catch (e) {
  failWith(server, e);
}
