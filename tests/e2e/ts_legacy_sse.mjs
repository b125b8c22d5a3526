// The official TypeScript SDK's legacy SSEClientTransport (HTTP+SSE, protocol 2024-11-05) and its
// StreamableHTTPClientTransport, unchanged, against one running graceway binary at the same time:
// both list tools and call echo while the other is connected; a sleep call with progress runs on
// the SSE session while the Streamable one calls echo; closing the SSE client ends its session
// (the legacy transport's DELETE); SIGTERM then drains and exits 0 with no error-level line.
//
// Usage: node ts_legacy_sse.mjs GRACEWAY_BINARY
import assert from 'node:assert/strict';
import { expectCleanExit, failWith, startGraceway, withTimeout } from './graceway_process.mjs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const binary = process.argv[2];

async function connect(name, transport) {
  const client = new Client({ name, version: '1.0.0' });
  const errors = [];
  client.onerror = (e) => errors.push(String(e));
  await withTimeout(client.connect(transport), `${name} connect`);
  return { client, transport, errors };
}

const server = startGraceway(binary);
const summary = {};
try {
  const listening = await server.waitForLine('listening on http://127.0.0.1:');
  const base = listening.match(/(http:\/\/127\.0\.0\.1:\d+)\/mcp/)[1];

  // Both clients connected at once.
  const legacy = await connect('graceway-e2e-sse', new SSEClientTransport(new URL(`${base}/sse`)));
  const modern = await connect('graceway-e2e-streamable', new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
  const legacySession = legacy.transport._endpoint?.searchParams.get('sessionId');
  assert.ok(legacySession, 'the endpoint event named a sessionId');
  assert.ok(modern.transport.sessionId, 'the Streamable session has an id');
  assert.notEqual(legacySession, modern.transport.sessionId);
  await server.waitForLine(`session ${legacySession}: initialized (legacy HTTP+SSE`);

  const [legacyTools, modernTools] = await Promise.all([
    withTimeout(legacy.client.listTools(), 'SSE tools/list'),
    withTimeout(modern.client.listTools(), 'Streamable tools/list'),
  ]);
  for (const { tools } of [legacyTools, modernTools]) {
    assert.deepEqual(tools.map((t) => t.name).sort(), ['add', 'echo', 'sleep']);
  }

  // A call in flight on the SSE session while both call echo.
  let progress = 0;
  const sleeping = legacy.client.callTool({ name: 'sleep', arguments: { ms: 300 } }, undefined,
    { onprogress: () => { progress += 1; } });
  const [legacyEcho, modernEcho] = await Promise.all([
    withTimeout(legacy.client.callTool({ name: 'echo', arguments: { text: 'over sse' } }), 'SSE echo'),
    withTimeout(modern.client.callTool({ name: 'echo', arguments: { text: 'over streamable' } }), 'Streamable echo'),
  ]);
  assert.deepEqual(legacyEcho.content, [{ type: 'text', text: 'over sse' }]);
  assert.deepEqual(modernEcho.content, [{ type: 'text', text: 'over streamable' }]);
  const slept = await withTimeout(sleeping, 'SSE sleep with progress');
  assert.equal(slept.content[0].text, 'slept 300 ms');
  assert.ok(progress >= 1, `expected progress on the SSE stream, got ${progress}`);
  summary.legacy = { session: legacySession, progress };
  summary.streamable = { session: modern.transport.sessionId };

  // The SDK runs notification handlers in a microtask but responses at once, so when the final
  // progress notification and the response arrive in one read (the server wrote them in that
  // order), the eventsource client handles the response first and then reports the progress as
  // "for an unknown token". That is the client's ordering, not the wire's; every other error counts.
  const clientOrdering = /Received a progress notification for an unknown token/;
  assert.deepEqual(legacy.errors.filter((e) => !clientOrdering.test(e)), [], 'the SSE client saw no error');
  assert.deepEqual(modern.errors, [], 'the Streamable client saw no error');

  // Closing the SSE client is its DELETE; the Streamable session is unaffected.
  await legacy.client.close();
  await server.waitForLine(`session ${legacySession}: open -> closed (stream_closed)`);
  const after = await withTimeout(modern.client.callTool({ name: 'echo', arguments: { text: 'still here' } }),
    'Streamable echo after the SSE client left');
  assert.equal(after.content[0].text, 'still here');

  // A new SSE client connects, and SIGTERM drains it with the Streamable session.
  const second = await connect('graceway-e2e-sse-2', new SSEClientTransport(new URL(`${base}/sse`)));
  const again = await withTimeout(second.client.callTool({ name: 'echo', arguments: { text: 'again' } }), 'SSE echo again');
  assert.equal(again.content[0].text, 'again');
  server.child.kill('SIGTERM');
  const exit = expectCleanExit(server);
  await second.client.close();
  await modern.client.close();
  await exit;
  console.log(JSON.stringify({ ok: true, ...summary }));
} catch (e) {
  failWith(server, e);
}
