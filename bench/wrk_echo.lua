-- wrk script: echo tools/call over MCP sessions opened beforehand (graceway-loadgen open prints
-- them; bench/run.sh passes them in SESSIONS, comma-separated). Each request goes to the next
-- session in turn with a request id unique in the run; every answer is checked for a result.
-- Prints one JSON line of results (bench/run.sh reads it).
local sessions = {}
for id in string.gmatch(os.getenv("SESSIONS") or "", "[^,]+") do sessions[#sessions + 1] = id end
local threads = {}
local next_thread = 0

function setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_index", next_thread)
  threads[#threads + 1] = thread
end

function init(args)
  counter = 0
  failed = 0
  base = thread_index * 1000000000
end

function request()
  counter = counter + 1
  local session = sessions[(counter + thread_index) % #sessions + 1]
  local body = '{"jsonrpc":"2.0","id":' .. (base + counter) ..
    ',"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello from wrk"}}}'
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json, text/event-stream",
    ["MCP-Protocol-Version"] = "2025-06-18",
    ["Mcp-Session-Id"] = session,
  }, body)
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"result"', 1, true) then failed = failed + 1 end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("failed") end
  local s = summary.duration / 1e6
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.status + e.timeout
  io.write(string.format(
    '{"mode":"wrk","ok":%d,"seconds":%.3f,"per_second":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,' ..
    '"max_ms":%.3f,"failed":%d}\n',
    summary.requests - bad, s, (summary.requests - bad) / s, latency:percentile(50) / 1e3,
    latency:percentile(90) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3, bad + errors))
end
