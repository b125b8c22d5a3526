// A stateful MCP server written the way the official TypeScript SDK documents it (one
// StreamableHTTPServerTransport per session, kept in a map, removed on close), with a `sleep`
// tool like graceway's demo one. It is a peer for graceway-replay: see docs/races.md,
// "Against the TypeScript SDK server". It uses the SDK pinned in tests/e2e.
//
//   node tests/races/peers/ts-sdk-server.mjs PORT
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../e2e/package.json'));
const { McpServer } = await import(require.resolve('@modelcontextprotocol/sdk/server/mcp.js'));
const { StreamableHTTPServerTransport } = await import(require.resolve('@modelcontextprotocol/sdk/server/streamableHttp.js'));
const { isInitializeRequest } = await import(require.resolve('@modelcontextprotocol/sdk/types.js'));
const { z } = await import(require.resolve('zod'));

function makeServer() {
  const server = new McpServer({ name: 'ts-sdk-peer', version: '1.0.0' });
  server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  server.registerTool('add', { inputSchema: { a: z.number(), b: z.number() } }, async ({ a, b }) => ({
    content: [{ type: 'text', text: String(a + b) }],
  }));
  server.registerTool('sleep', { inputSchema: { ms: z.number() } }, async ({ ms }, extra) => {
    const token = extra._meta?.progressToken;
    const started = Date.now();
    while (Date.now() - started < ms) {
      if (extra.signal.aborted) throw new Error('cancelled');
      if (token !== undefined) {
        await extra.sendNotification({
          method: 'notifications/progress',
          params: { progressToken: token, progress: Date.now() - started, total: ms },
        });
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(50, ms)));
    }
    return { content: [{ type: 'text', text: `slept ${ms} ms` }] };
  });
  return server;
}

const transports = new Map();

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  try { return text ? JSON.parse(text) : undefined; } catch { return undefined; }
}

const httpServer = http.createServer(async (req, res) => {
  if (!req.url.startsWith('/mcp')) { res.writeHead(404).end(); return; }
  const sessionId = req.headers['mcp-session-id'];
  const body = req.method === 'POST' ? await readBody(req) : undefined;
  let transport = sessionId ? transports.get(sessionId) : undefined;
  if (!transport && !sessionId && req.method === 'POST' && isInitializeRequest(body)) {
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => transports.set(id, transport),
    });
    transport.onclose = () => { if (transport.sessionId) transports.delete(transport.sessionId); };
    await makeServer().connect(transport);
  }
  if (!transport) {
    res.writeHead(sessionId ? 404 : 400, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'No valid session' } }));
    return;
  }
  await transport.handleRequest(req, res, body);
});

httpServer.listen(Number(process.argv[2] || 3000), '127.0.0.1', () => {
  console.error(`ts-sdk-peer listening on ${httpServer.address().port}`);
});
