// The peer graceway is measured against: the official TypeScript SDK's stateful Streamable HTTP
// server with one echo tool, written as the SDK's own examples write it (node:http, one transport
// and one McpServer per session, sessions kept in a map until DELETE closes them).
//
// Usage: node ts_sdk_server.mjs PORT [json]   ("json": enableJsonResponse, else SSE responses)
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';

const port = Number(process.argv[2] ?? 8090);
const jsonResponses = process.argv[3] === 'json';
const transports = new Map();

function newServer() {
  const server = new McpServer({ name: 'ts-sdk-echo', version: '1.0.0' });
  server.registerTool('echo', { description: 'Returns the given text unchanged.', inputSchema: { text: z.string() } },
    async ({ text }) => ({ content: [{ type: 'text', text }] }));
  return server;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function refuse(res, status, message) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}

createServer(async (req, res) => {
  if (req.url === '/healthz') { res.end('ok'); return; }
  if (!req.url.startsWith('/mcp')) { refuse(res, 404, 'Not found'); return; }
  let body;
  if (req.method === 'POST') {
    try { body = JSON.parse(await readBody(req)); } catch { refuse(res, 400, 'Parse error'); return; }
  }
  const sessionId = req.headers['mcp-session-id'];
  let transport = sessionId ? transports.get(sessionId) : undefined;
  if (!transport) {
    if (sessionId) { refuse(res, 404, 'Session not found'); return; }
    if (req.method !== 'POST' || !isInitializeRequest(body)) { refuse(res, 400, 'No session'); return; }
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: jsonResponses,
      onsessioninitialized: (id) => transports.set(id, transport),
    });
    transport.onclose = () => { if (transport.sessionId) transports.delete(transport.sessionId); };
    await newServer().connect(transport);
  }
  await transport.handleRequest(req, res, body);
}).listen(port, '127.0.0.1', () => console.log(`ts-sdk-echo listening on 127.0.0.1:${port}`));
