-- One machine-readable line at the end of a wrk run: requests per second,
-- latency percentiles (milliseconds), and the answers that were not the
-- expected status.
local expected = tonumber(os.getenv("LOAD_EXPECT_STATUS") or "200")
local unexpected = 0
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function response(status, headers, body)
  if status ~= expected then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("unexpected") or 0)
  end
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'RESULT {"requests": %d, "rps": %.1f, "p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, "unexpected": %d, "socket_errors": %d}\n',
    summary.requests, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, bad,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
