-- wrk script of the benchmark suite (tests/benchmarks/loadgen.py writes the settings above this
-- line: MODE, PATH, HEADERS, NTHREADS, and for bookings POINT, SERVICE, LANGUAGE, STARTS_FILE,
-- PREFIX). It counts answers by status and prints one line "WRK_JSON {...}" when done.
--
-- MODE "get": the same GET every time. MODE "booking": POST /api/v1/bookings, each with the
-- next start of STARTS_FILE (thread t takes every NTHREADS-th line from line t) and a fresh
-- Idempotency-Key and e-mail, so the per-person limit and the key never refuse one. With
-- PROOFS_FILE (not ""; `--guarded`), each also carries the next solution of that file (thread t
-- takes every NTHREADS-th line from line t) and comes from an address of its own
-- (X-Forwarded-For), so the address's limit never refuses one either.

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

wrk.method = "GET"
wrk.path = PATH
for name, value in pairs(HEADERS) do
   wrk.headers[name] = value
end

function init(args)
   statuses = {}
   sent = 0
   if MODE == "booking" then
      starts = {}
      for line in io.lines(STARTS_FILE) do
         if line ~= "" then
            table.insert(starts, line)
         end
      end
      proofs = {}
      if PROOFS_FILE ~= "" then
         for line in io.lines(PROOFS_FILE) do
            if line ~= "" then
               table.insert(proofs, line)
            end
         end
      end
   end
end

if MODE == "booking" then
   function request()
      sent = sent + 1
      local index = (id + (sent - 1) * NTHREADS) % #starts + 1
      local person = PREFIX .. "-" .. id .. "-" .. sent
      local body = string.format(
         '{"point_id":"%s","service_id":"%s","start":"%s","language":"%s",'
            .. '"visitor":{"name":"Bench Visitor","email":"%s@example.org"}}',
         POINT, SERVICE, starts[index], LANGUAGE, person
      )
      local headers = {}
      headers["Content-Type"] = "application/json"
      headers["Idempotency-Key"] = person
      if #proofs > 0 then
         headers["Altcha"] = proofs[(id + (sent - 1) * NTHREADS) % #proofs + 1]
         headers["X-Forwarded-For"] = string.format(
            "10.%d.%d.%d", id, math.floor(sent / 256) % 256, sent % 256
         )
      end
      return wrk.format("POST", PATH, headers, body)
   end
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local total = {}
   for _, thread in ipairs(threads) do
      for status, count in pairs(thread:get("statuses")) do
         total[status] = (total[status] or 0) + count
      end
   end
   local parts = {}
   for status, count in pairs(total) do
      table.insert(parts, string.format('"%d": %d', status, count))
   end
   local errors = summary.errors
   io.write(string.format(
      'WRK_JSON {"requests": %d, "seconds": %.6f, "errors": %d, "p50_us": %.1f, '
         .. '"p99_us": %.1f, "statuses": {%s}}\n',
      summary.requests,
      summary.duration / 1e6,
      errors.connect + errors.read + errors.write + errors.timeout,
      latency:percentile(50),
      latency:percentile(99),
      table.concat(parts, ", ")
   ))
end
