#!/usr/bin/env python3
"""Writes the hand-made seed inputs of each fuzz target into fuzz/corpus/<target>/.

The byte layouts follow each target's FuzzInput reads (fuzz/*.cpp). Inputs found by fuzzing
(crashes fixed since, and interesting finds) are added to the same directories by hand, named
after what they exercise; this script never deletes them.
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def text(s):  # FuzzInput::text: u16 length (little endian), then the bytes
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<H", len(b)) + b


# jsonrpc_codec: one byte of depth limit (% 80), then the body.
bodies = {
    "request": {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "hi"}}},
    "notification": {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}},
    "response": {"jsonrpc": "2.0", "id": "s-1", "result": {"content": []}},
    "error": {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "x"}},
    "batch": [{"jsonrpc": "2.0", "id": 1, "method": "ping"}, {"jsonrpc": "2.0", "method": "n"}, 5],
    "null_id": {"jsonrpc": "2.0", "id": None, "method": "ping"},
    "big_id": {"jsonrpc": "2.0", "id": 18446744073709551615, "method": "ping"},
    "float_id": {"jsonrpc": "2.0", "id": 1.5, "method": "ping"},
    "initialize": {"jsonrpc": "2.0", "id": 0, "method": "initialize",
                   "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                              "clientInfo": {"name": "seed", "version": "1"}}},
}
for name, body in bodies.items():
    write("jsonrpc_codec", name, bytes([64]) + json.dumps(body).encode())
write("jsonrpc_codec", "not_json", bytes([64]) + b'{"jsonrpc":')
write("jsonrpc_codec", "empty_batch", bytes([64]) + b"[]")
write("jsonrpc_codec", "deep", bytes([8]) + b"[" * 20 + b"]" * 20)
write("jsonrpc_codec", "escapes", bytes([64]) + b'{"jsonrpc":"2.0","id":"\\u00e9\\"[","method":"m\\ud83d\\ude00"}')

# request_front: verb, then Content-Type, Accept, Origin, Host, MCP-Protocol-Version picks (index
# into the target's dictionaries; len = absent, len+1 = arbitrary text), no Last-Event-ID, the
# Mcp-Session-Id choice, policy bits (JSON mode, loopback, allowed origins, allowed hosts, depth),
# table bits (server draining, at capacity, 404 while draining), the credentials (auth on, the
# Authorization choice, the X-API-Key choice: zeros are auth off, none sent), then the body.
ABSENT_ORIGIN, ABSENT_VERSION = 6, 6
LOCAL_HOST, EVIL_HOST, ABSENT_HOST = 0, 4, 9
NO_ID, OPEN_ID, DRAINING_ID, CLOSED_ID = [0], [2, 0], [2, 1], [2, 2]
UNKNOWN_ID = [1] + list(struct.pack("<H", 8)) + list(b"nosuchid")

AUTH_OFF, AUTH_NONE, AUTH_VALID_BEARER, AUTH_VALID_X_API_KEY = [0, 0, 0], [1, 0, 0], [1, 1, 0, 0], [1, 0, 3, 1]

def front(verb, ct, acc, origin, version, session, body, draining=0, capacity=0, host=LOCAL_HOST, auth=AUTH_OFF):
    b = bytes([verb, ct, acc, origin, host, version, 0] + session + [0, 1, 0, 0, 63, draining, capacity, 0] + auth)
    return b + (json.dumps(body).encode() if body != "" else b"")

ping = {"jsonrpc": "2.0", "id": 7, "method": "ping"}
write("request_front", "post_ping_open", front(0, 0, 0, ABSENT_ORIGIN, ABSENT_VERSION, OPEN_ID, ping))
write("request_front", "post_ping_draining", front(0, 0, 0, ABSENT_ORIGIN, 0, DRAINING_ID, ping))
write("request_front", "post_ping_closed", front(0, 0, 0, ABSENT_ORIGIN, 0, CLOSED_ID, ping))
write("request_front", "post_ping_unknown", front(0, 0, 0, ABSENT_ORIGIN, 0, UNKNOWN_ID, ping))
write("request_front", "post_initialize", front(0, 0, 0, ABSENT_ORIGIN, ABSENT_VERSION, NO_ID, bodies["initialize"]))
write("request_front", "post_initialize_draining_server",
      front(0, 0, 0, ABSENT_ORIGIN, ABSENT_VERSION, NO_ID, bodies["initialize"], 1))
write("request_front", "post_initialize_at_capacity",
      front(0, 0, 0, ABSENT_ORIGIN, ABSENT_VERSION, NO_ID, bodies["initialize"], 0, 1))
write("request_front", "post_batch_draining", front(0, 1, 0, ABSENT_ORIGIN, 2, DRAINING_ID, bodies["batch"]))
write("request_front", "post_notification_draining",
      front(0, 0, 0, ABSENT_ORIGIN, 0, DRAINING_ID, bodies["notification"]))
write("request_front", "post_bad_origin", front(0, 0, 0, 1, 0, OPEN_ID, ping))
write("request_front", "post_text_plain", front(0, 2, 0, ABSENT_ORIGIN, 0, OPEN_ID, ping))
write("request_front", "post_bad_version", front(0, 0, 0, ABSENT_ORIGIN, 5, OPEN_ID, ping))
write("request_front", "get_open", front(1, 0, 1, ABSENT_ORIGIN, 0, OPEN_ID, ""))
write("request_front", "get_json_only", front(1, 0, 2, ABSENT_ORIGIN, 0, OPEN_ID, ""))
write("request_front", "delete_unknown", front(2, 0, 0, ABSENT_ORIGIN, 0, UNKNOWN_ID, ""))
write("request_front", "delete_draining", front(2, 0, 0, 0, 0, DRAINING_ID, ""))
write("request_front", "post_bad_host", front(0, 0, 0, ABSENT_ORIGIN, 0, OPEN_ID, ping, host=EVIL_HOST))
write("request_front", "post_no_host", front(0, 0, 0, ABSENT_ORIGIN, 0, OPEN_ID, ping, host=ABSENT_HOST))
write("request_front", "get_bad_host", front(1, 0, 1, ABSENT_ORIGIN, 0, OPEN_ID, "", host=EVIL_HOST))
write("request_front", "delete_bad_host", front(2, 0, 0, ABSENT_ORIGIN, 0, OPEN_ID, "", host=EVIL_HOST))
write("request_front", "post_all_invalid_batch", front(0, 0, 0, ABSENT_ORIGIN, 2, DRAINING_ID, [1, 2]))
write("request_front", "post_initialize_no_credentials",
      front(0, 0, 0, ABSENT_ORIGIN, ABSENT_VERSION, NO_ID, bodies["initialize"], auth=AUTH_NONE))
write("request_front", "post_initialize_api_key_bearer",
      front(0, 0, 0, ABSENT_ORIGIN, ABSENT_VERSION, NO_ID, bodies["initialize"], auth=AUTH_VALID_BEARER))
write("request_front", "post_ping_foreign_session",
      front(0, 0, 0, ABSENT_ORIGIN, 0, OPEN_ID, ping, auth=AUTH_VALID_X_API_KEY))

# request_front, 2026-07-28: a body beginning with 0x01 carries the routing headers before the
# JSON: the Mcp-Method and Mcp-Name picks (dictionaries as above), a byte (7 % 8: one of them sent
# twice), the count of Mcp-Param-* headers (% 4) and each one's name and value (text()).
MODERN_VERSION, LEGACY_VERSION = 4, 0
M_DISCOVER, M_TOOLS_CALL, M_LISTEN, M_ABSENT = 0, 1, 3, 8
N_ECHO, N_ECHO_BASE64, N_ABSENT = 0, 1, 7

def routing(method=M_ABSENT, name=N_ABSENT, repeated=False, params=()):
    b = bytes([1, method, name, 7 if repeated else 0, len(params)])
    return b + b"".join(text(k) + text(v) for k, v in params)

def modern_front(version, routing_block, body, session=NO_ID, acc=0):
    return front(0, 0, acc, ABSENT_ORIGIN, version, session, "") + routing_block + json.dumps(body).encode()

def modern(id_, method, params=None):
    p = dict(params or {})
    p["_meta"] = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                  "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
                  "io.modelcontextprotocol/clientInfo": {"name": "seed", "version": "1"}}
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": p}

# requestState as RequestStateSeal::seal writes it: base64url(body) "." base64url(HMAC-SHA256(tag + body)),
# under the fuzz target's key (kFuzzStateKey), expiring in year 9999.
def sealed_state(payload, key=b"graceway-fuzz-request-state-key!"):
    import base64, hashlib, hmac
    body = json.dumps({"exp": 253402300799000, "p": payload}, separators=(",", ":")).encode()
    mac = hmac.new(key, b"graceway.request-state.v1" + body, hashlib.sha256).digest()
    b64 = lambda x: base64.urlsafe_b64encode(x).rstrip(b"=").decode()
    return b64(body) + "." + b64(mac)

write("request_front", "post_modern_discover",
      modern_front(MODERN_VERSION, routing(M_DISCOVER), modern(1, "server/discover")))
write("request_front", "post_modern_tools_call_base64_name",
      modern_front(MODERN_VERSION, routing(M_TOOLS_CALL, N_ECHO_BASE64, params=[("Text", "=?base64?aGk=?=")]),
                   modern(2, "tools/call", {"name": "echo", "arguments": {"text": "hi"}})))
write("request_front", "post_modern_version_mismatch",
      modern_front(LEGACY_VERSION, routing(M_DISCOVER), modern(3, "server/discover")))
write("request_front", "post_modern_routing_header_repeated",
      modern_front(MODERN_VERSION, routing(M_DISCOVER, repeated=True), modern(4, "server/discover")))
write("request_front", "post_modern_listen",
      modern_front(MODERN_VERSION, routing(M_LISTEN),
                   modern(5, "subscriptions/listen", {"notifications": {"toolsListChanged": True,
                                                                        "resourceSubscriptions": ["file:///a"]}})))
answered = {"q0": {"action": "accept", "content": {"name": "seed"}}}
write("request_front", "post_modern_input_responses",
      modern_front(MODERN_VERSION, routing(M_TOOLS_CALL, N_ECHO),
                   modern(6, "tools/call", {"name": "echo", "arguments": {},
                                            "inputResponses": {"q1": {"action": "decline"}},
                                            "requestState": sealed_state({"m": "tools/call", "n": "echo", "o": "",
                                                                          "a": answered})})))
write("request_front", "post_modern_request_state_foreign",
      modern_front(MODERN_VERSION, routing(M_TOOLS_CALL, N_ECHO),
                   modern(7, "tools/call", {"name": "echo", "inputResponses": {"q1": {"action": "cancel"}},
                                            "requestState": sealed_state({"m": "prompts/get", "n": "echo", "o": "",
                                                                          "a": {}})})))
write("request_front", "post_modern_header_claimless",
      front(0, 0, 0, ABSENT_ORIGIN, MODERN_VERSION, NO_ID, ping))

# sse_codec: id, type, data (each text()), retry flag + u16, split u16, then raw stream bytes.
def sse(id_, type_, data, retry, split, stream):
    b = text(id_) + text(type_) + text(data)
    b += bytes([1]) + struct.pack("<H", retry) if retry is not None else bytes([0])
    return b + struct.pack("<H", split) + stream.encode()

write("sse_codec", "message", sse("1", "message", '{"jsonrpc":"2.0"}', None, 10,
                                  'event: message\ndata: {"a":1}\n\n'))
write("sse_codec", "priming", sse("s1-0", "", "", 3000, 3, "id: s1-0\nretry: 3000\ndata: \n\n"))
write("sse_codec", "multiline_crlf", sse("", "", "a\r\nb\rc\n", None, 7, "data: a\r\ndata: b\r\n\r\n: keepalive\n\n"))
write("sse_codec", "bad_fields", sse("x\ny", "t\r", "\x00", None, 1, "retry: 12a\nid: 1\x002\nfoo\ndata\n\n"))

# session_lifecycle: idle-timeout byte, then ops (op byte % 11, then that op's bytes).
OPEN, POST, FINISH, DELETE, CANCEL, GONE, ADVANCE, IDLE, SHUTDOWN, GET, GET_END = range(11)
def ops(*seq):
    return bytes([3]) + bytes(seq)

write("session_lifecycle", "delete_then_post", ops(OPEN, POST, 1, 0, DELETE, 0, 8, POST, 0, 0, FINISH, 0, 0))
write("session_lifecycle", "deadline_passes", ops(OPEN, POST, 1, 0, DELETE, 0, 4, ADVANCE, 0, 0xe8, 0x03,
                                                  ADVANCE, 0, 0xff, 0x0f, FINISH, 0, 0))
write("session_lifecycle", "shutdown_shortens", ops(OPEN, OPEN, POST, 0, 0, POST, 1, 0, DELETE, 0, 15,
                                                    SHUTDOWN, 2, ADVANCE, 0, 0xd0, 0x07))
write("session_lifecycle", "idle_and_get", ops(OPEN, GET, 0, ADVANCE, 0, 0xff, 0x0f, IDLE, 0, GET_END, 0,
                                               ADVANCE, 0, 0xff, 0x0f, IDLE, 0))
write("session_lifecycle", "cancel_and_gone", ops(OPEN, POST, 0, 0, POST, 0, 0, CANCEL, 0, GONE, 0,
                                                  DELETE, 0, 3, FINISH, 0, 0, FINISH, 0, 0))

# http_request: raw bytes on a connection to a real server (session "fuzz-1" exists, 2025-03-26).
def http(method, target, headers, body=b"", version="1.1"):
    head = f"{method} {target} HTTP/{version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode() + (body.encode() if isinstance(body, str) else body)

MCP = [("Host", "127.0.0.1"), ("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")]
SESSION = MCP + [("Mcp-Session-Id", "fuzz-1")]
ping_body = json.dumps(ping)
def sized(headers, body):
    return headers + [("Content-Length", str(len(body)))]

write("http_request", "post_ping", http("POST", "/mcp", sized(SESSION, ping_body), ping_body))
write("http_request", "pipelined", http("POST", "/mcp", sized(SESSION, ping_body), ping_body) * 2 +
      http("GET", "/healthz", [("Host", "127.0.0.1")]))
write("http_request", "chunked_split", http("POST", "/mcp", SESSION + [("Transfer-Encoding", "chunked")],
      "5\r\n" + ping_body[:5] + "\r\n" + format(len(ping_body) - 5, "x") + "\r\n" + ping_body[5:] + "\r\n0\r\n\r\n"))
write("http_request", "chunked_empty", http("POST", "/mcp", SESSION + [("Transfer-Encoding", "chunked")], "0\r\n\r\n"))
write("http_request", "chunked_extension", http("POST", "/mcp", SESSION + [("Transfer-Encoding", "chunked")],
      format(len(ping_body), "x") + ";ext=1\r\n" + ping_body + "\r\n0\r\n\r\n"))
write("http_request", "te_gzip", http("POST", "/mcp", SESSION + [("Transfer-Encoding", "gzip"), ("Content-Length", "3")], "abc"))
write("http_request", "te_and_cl", http("POST", "/mcp", SESSION + [("Content-Length", "4"), ("Transfer-Encoding", "chunked")],
      "0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
write("http_request", "te_list", http("POST", "/mcp", SESSION + [("Transfer-Encoding", "gzip, chunked")], "0\r\n\r\n"))
write("http_request", "te_twice", http("POST", "/mcp", SESSION + [("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")], "0\r\n\r\n"))
write("http_request", "chunked_http10", http("POST", "/mcp", SESSION + [("Transfer-Encoding", "chunked")], "0\r\n\r\n", "1.0"))
write("http_request", "expect_continue", http("POST", "/mcp", sized(SESSION, ping_body) + [("Expect", "100-continue")], ping_body))
write("http_request", "expect_other", http("POST", "/mcp", sized(SESSION, ping_body) + [("Expect", "teapot")], ping_body))
write("http_request", "header_too_large", http("GET", "/healthz", [("Host", "127.0.0.1"), ("X-Big", "a" * 5000)]))
write("http_request", "body_too_large", http("POST", "/mcp", SESSION + [("Content-Length", "100000")], "{"))
write("http_request", "initialize", http("POST", "/mcp", sized(MCP, json.dumps(bodies["initialize"])), json.dumps(bodies["initialize"])))
write("http_request", "get_stream", http("GET", "/mcp", [("Host", "127.0.0.1"), ("Accept", "text/event-stream"), ("Mcp-Session-Id", "fuzz-1")]))
write("http_request", "legacy_sse", http("GET", "/sse", [("Host", "127.0.0.1"), ("Accept", "text/event-stream")]))
write("http_request", "delete_unknown", http("DELETE", "/mcp", [("Host", "127.0.0.1"), ("Mcp-Session-Id", "nope")]))
write("http_request", "trace", http("TRACE", "/mcp", [("Host", "127.0.0.1")]))
write("http_request", "bad_request_line", b"GET /mcp\r\n\r\n")
write("http_request", "lf_only", b"GET /healthz HTTP/1.1\nHost: 127.0.0.1\n\n")
write("http_request", "partial_head", b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
