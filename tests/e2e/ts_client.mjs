// The official TypeScript SDK client, unchanged, against the real graceway binary:
// initialize, list tools, call tools with progress, terminate the session and reconnect; then the
// Claude.ai overlap (DELETE while a call runs, a request on the old id, a fresh initialize);
// then SIGTERM, which must drain and exit 0.
//
// Usage: node ts_client.mjs GRACEWAY_BINARY
import assert from 'node:assert/strict';
import { expectCleanExit, failWith, startGraceway, withTimeout } from './graceway_process.mjs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const binary = process.argv[2];

async function connect(url) {
  const client = new Client({ name: 'graceway-e2e', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  const errors = [];
  client.onerror = (e) => errors.push(String(e));
  await withTimeout(client.connect(transport), 'connect');
  return { client, transport, errors };
}

const server = startGraceway(binary);
const summary = {};
try {
  const listening = await server.waitForLine('listening on http://127.0.0.1:');
  const url = listening.match(/(http:\/\/127\.0\.0\.1:\d+\/mcp)/)[1];

  // 1. initialize, list, call with progress, terminate.
  const first = await connect(url);
  const firstSession = first.transport.sessionId;
  assert.ok(firstSession, 'server assigned a session id');
  assert.equal(first.transport.protocolVersion, '2025-11-25');
  const { tools } = await withTimeout(first.client.listTools(), 'tools/list');
  assert.deepEqual(tools.map((t) => t.name).sort(), ['add', 'echo', 'sleep']);
  const echo = await withTimeout(first.client.callTool({ name: 'echo', arguments: { text: 'hi' } }), 'echo');
  assert.deepEqual(echo.content, [{ type: 'text', text: 'hi' }]);
  let progress = 0;
  const slept = await withTimeout(
    first.client.callTool({ name: 'sleep', arguments: { ms: 350 } }, undefined, { onprogress: () => { progress += 1; } }),
    'sleep with progress');
  assert.equal(slept.content[0].text, 'slept 350 ms');
  assert.ok(progress >= 2, `expected at least 2 progress notifications, got ${progress}`);
  const sum = await withTimeout(first.client.callTool({ name: 'add', arguments: { a: 2, b: 3 } }), 'add');
  assert.equal(sum.content[0].text, '5');
  assert.deepEqual(sum.structuredContent, { sum: 5 });
  await withTimeout(first.transport.terminateSession(), 'terminateSession');
  await first.client.close();
  await server.waitForLine(`session ${firstSession}: open -> closed (delete)`);
  summary.first = { session: firstSession, progress };

  // 2. reconnect: a fresh initialize works, with a new id.
  const second = await connect(url);
  assert.notEqual(second.transport.sessionId, firstSession);
  const again = await withTimeout(second.client.callTool({ name: 'echo', arguments: { text: 'again' } }), 'echo again');
  assert.equal(again.content[0].text, 'again');

  // 3. the overlap: DELETE while a call runs; the call still completes; the old id is refused
  //    while it drains (503 + Retry-After) and forgotten after (404); new sessions open meanwhile.
  const oldSession = second.transport.sessionId;
  let started;
  const running = new Promise((resolve) => { started = resolve; });
  const call = second.client.callTool({ name: 'sleep', arguments: { ms: 800 } }, undefined,
    { onprogress: () => started() });
  await withTimeout(running, 'first progress of the running call');
  await withTimeout(second.transport.terminateSession(), 'DELETE during the call');
  await server.waitForLine(`session ${oldSession}: open -> draining (delete)`);
  const late = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream',
               'mcp-session-id': oldSession, 'mcp-protocol-version': '2025-11-25' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'tools/list' }),
  });
  assert.equal(late.status, 503);
  assert.ok(Number(late.headers.get('retry-after')) >= 1);
  assert.equal((await late.json()).id, 99);
  const third = await connect(url);  // a new session while the old one drains
  const result = await withTimeout(call, 'the call that outlived its DELETE');
  assert.equal(result.content[0].text, 'slept 800 ms');
  await server.waitForLine(`session ${oldSession}: draining -> closed (drained)`);
  const gone = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream',
               'mcp-session-id': oldSession },
    body: JSON.stringify({ jsonrpc: '2.0', id: 100, method: 'tools/list' }),
  });
  assert.equal(gone.status, 404);
  await gone.body?.cancel();
  await second.client.close();
  const still = await withTimeout(third.client.callTool({ name: 'echo', arguments: { text: 'third' } }), 'echo third');
  assert.equal(still.content[0].text, 'third');
  summary.overlap = { drained: oldSession, late: 503, after: 404 };

  // 4. SIGTERM with a session open and a call in flight: the call finishes, graceway exits 0.
  let began;
  const begun = new Promise((resolve) => { began = resolve; });
  const last = third.client.callTool({ name: 'sleep', arguments: { ms: 600 } }, undefined, { onprogress: () => began() });
  await withTimeout(begun, 'progress before SIGTERM');
  server.child.kill('SIGTERM');
  const finished = await withTimeout(last, 'call in flight during SIGTERM');
  assert.equal(finished.content[0].text, 'slept 600 ms');
  await third.client.close();
  const code = await expectCleanExit(server);
  summary.sigterm = { exit: code };
  console.log(JSON.stringify({ ok: true, ...summary }));
} catch (e) {
  failWith(server, e);
}
