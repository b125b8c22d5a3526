// The official TypeScript SDK 2.x client (@modelcontextprotocol/client), unchanged, against the real
// graceway binary at MCP 2026-07-28, the modern era (docs/conformance.md lists the fixture tools):
// 1. pinned to 2026-07-28: server/discover, tools/list, a call with progress, an input_required
//    round trip answered by an elicitation handler, a subscriptions/listen stream (the tools
//    listChanged handler) that receives notifications/tools/list_changed, and a long call
//    cancelled by an AbortSignal;
// 2. the same package in `auto` mode probes and lands on the modern era; in its default mode it
//    lands on the legacy era (initialize) against the same endpoint;
// 3. SIGTERM while a modern call runs: the call completes, graceway exits 0.
//
// Usage: node ts_modern.mjs GRACEWAY_BINARY
import assert from 'node:assert/strict';
import { expectCleanExit, failWith, startGraceway, withTimeout } from './graceway_process.mjs';

const MODERN = '2026-07-28';
const FIXTURE_TOOLS = ['test_tool_with_progress', 'test_input_required_result_elicitation',
  'test_trigger_tool_change', 'test_long_running_operation'];

let sdk;
try {
  sdk = await import('@modelcontextprotocol/client');
} catch (e) {
  console.error(`tests/e2e: @modelcontextprotocol/client is not installed (${e.message}); run scripts/setup.sh --tests`);
  process.exit(1);
}
const { Client, StreamableHTTPClientTransport } = sdk;

const binary = process.argv[2];
if (!binary) {
  console.error('usage: node ts_modern.mjs GRACEWAY_BINARY');
  process.exit(2);
}

// A promise and the function that settles it, for "this happened" events the script awaits.
function signal() {
  let fire;
  const fired = new Promise((resolve) => { fire = resolve; });
  return { fire, fired };
}

// A client of the given era mode; records elicitation requests and tools/list_changed deliveries.
async function connect(url, mode, { watchTools = false } = {}) {
  const elicitations = [];
  const toolsChanged = signal();
  const options = {
    capabilities: { elicitation: {} },
    ...(mode === 'default' ? {} : { versionNegotiation: { mode } }),
    ...(watchTools ? {
      listChanged: {
        tools: {
          onChanged: (error, tools) => (error ? toolsChanged.fire({ error }) : toolsChanged.fire({ tools })),
        },
      },
    } : {}),
  };
  const client = new Client({ name: 'graceway-e2e-modern', version: '1.0.0' }, options);
  client.setRequestHandler('elicitation/create', async (request) => {
    elicitations.push(request.params);
    return { action: 'accept', content: { name: 'Alice' } };
  });
  const errors = [];
  client.onerror = (e) => errors.push(String(e));
  await withTimeout(client.connect(new StreamableHTTPClientTransport(new URL(url))), `connect (${JSON.stringify(mode)})`);
  return { client, elicitations, toolsChanged, errors };
}

const text = (result) => (result.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');

// A long-running call that reports progress; `started` resolves on its first progress notification,
// so the script knows the call is running on the server before it acts.
function longCall(client, durationMs, options = {}) {
  const started = signal();
  let progress = 0;
  const call = client.callTool({ name: 'test_long_running_operation', arguments: { durationMs } }, {
    ...options,
    onprogress: () => { progress += 1; started.fire(); },
  });
  call.catch(() => {});  // awaited by the caller; this only keeps an early rejection from being unhandled
  return { call, started: started.fired, progress: () => progress };
}

const server = startGraceway(binary, ['--tools', 'conformance']);
const summary = {};
try {
  const listening = await server.waitForLine('listening on http://127.0.0.1:');
  const url = listening.match(/(http:\/\/127\.0\.0\.1:\d+\/mcp)/)[1];

  // 1. Pinned to 2026-07-28: connect() is server/discover, and must find the pinned revision.
  const pinned = await connect(url, { pin: MODERN }, { watchTools: true });
  const { client } = pinned;
  assert.equal(client.getProtocolEra(), 'modern', 'pinned client: modern era');
  assert.ok(client.getServerVersion()?.name, 'server/discover identified the server');
  assert.ok(client.getServerCapabilities()?.tools, 'server/discover advertised tools');
  assert.equal(client.getServerCapabilities()?.tools?.listChanged, true, 'server/discover advertised tools.listChanged');

  const { tools } = await withTimeout(client.listTools(), 'tools/list');
  const names = tools.map((t) => t.name);
  for (const name of FIXTURE_TOOLS) assert.ok(names.includes(name), `tools/list has ${name} (got ${names.join(', ')})`);

  // Progress on the request's own response stream.
  let progress = 0;
  const withProgress = await withTimeout(
    client.callTool({ name: 'test_tool_with_progress', arguments: {} }, { onprogress: () => { progress += 1; } }),
    'test_tool_with_progress');
  assert.ok(progress >= 1, `expected progress notifications, got ${progress}`);
  assert.ok(!withProgress.isError, `test_tool_with_progress failed: ${text(withProgress)}`);

  // input_required: the SDK answers the elicitation with the handler and retries with inputResponses.
  const greeted = await withTimeout(
    client.callTool({ name: 'test_input_required_result_elicitation', arguments: {} }),
    'test_input_required_result_elicitation');
  assert.equal(pinned.elicitations.length, 1, 'the elicitation handler ran once');
  assert.ok(text(greeted).includes('Alice'), `the retried call used the elicited name: "${text(greeted)}"`);

  // subscriptions/listen: the listChanged option opened a stream at connect; a tool-list change
  // published by another request arrives on it.
  const subscription = client.autoOpenedSubscription;
  assert.ok(subscription, 'the tools listChanged handler opened a subscriptions/listen stream');
  assert.equal(subscription.honoredFilter?.toolsListChanged, true, 'the server honoured toolsListChanged');
  await withTimeout(client.callTool({ name: 'test_trigger_tool_change', arguments: {} }), 'test_trigger_tool_change');
  const changed = await withTimeout(pinned.toolsChanged.fired, 'notifications/tools/list_changed on the listen stream');
  assert.ok(!changed.error, `the tools listChanged refresh failed: ${changed.error}`);
  assert.ok(Array.isArray(changed.tools) && changed.tools.length > 0, 'the refreshed tool list is not empty');

  // Cancellation: aborting the signal closes the request's response stream; the call rejects at once
  // and the server keeps serving.
  const abort = new AbortController();
  const cancelled = longCall(client, 30000, { signal: abort.signal });
  await withTimeout(cancelled.started, 'first progress of the call to cancel');
  abort.abort(new Error('cancelled by ts_modern.mjs'));
  await withTimeout(assert.rejects(cancelled.call), 'the aborted call rejects');
  await withTimeout(client.listTools(), 'tools/list after the cancellation');
  summary.pinned = { era: client.getProtocolEra(), progress, elicitations: pinned.elicitations.length,
    cancelledAfterProgress: cancelled.progress() };

  // 2. auto: the probe finds the modern era; default: the same endpoint speaks legacy.
  const auto = await connect(url, 'auto');
  assert.equal(auto.client.getProtocolEra(), 'modern', "auto mode: the probe lands on the modern era");
  const autoGreeted = await withTimeout(
    auto.client.callTool({ name: 'test_input_required_result_elicitation', arguments: {} }),
    'auto: test_input_required_result_elicitation');
  assert.ok(text(autoGreeted).includes('Alice'), `auto: the retried call used the elicited name: "${text(autoGreeted)}"`);
  await auto.client.close();
  const legacy = await connect(url, 'default');
  assert.equal(legacy.client.getProtocolEra(), 'legacy', 'default mode: initialize, the legacy era');
  await withTimeout(legacy.client.listTools(), 'legacy: tools/list');
  await legacy.client.close();
  summary.auto = 'modern';
  summary.default = 'legacy';

  assert.deepEqual(pinned.errors, [], 'the pinned client reported no errors');

  // 3. SIGTERM with a modern call in flight: the call still completes; graceway exits 0, and the
  //    listen stream ends (how it ends, graceful or dropped, is reported).
  const running = longCall(client, 1500);
  await withTimeout(running.started, 'first progress of the call that outlives SIGTERM');
  server.child.kill('SIGTERM');
  const finished = await withTimeout(running.call, 'the modern call in flight at SIGTERM');
  assert.ok(!finished.isError, `the call in flight at SIGTERM failed: ${text(finished)}`);
  summary.exit = await expectCleanExit(server);
  summary.listenClosed = await withTimeout(subscription.closed, 'the listen stream ends after SIGTERM');
  await client.close();
  console.log(JSON.stringify(summary));
  console.log('OK');
  process.exit(0);
} catch (e) {
  failWith(server, e);
}
