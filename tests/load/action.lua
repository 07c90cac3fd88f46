-- A module's action for a pool of logged-in residents: the absence report
-- (POST /services/absences/actions/signaler, answered 303), each request
-- the next line of the pool file ("<host> <session cookie> <csrf token>
-- <child's member id>"), round robin. Every report is a real write: an
-- absence in the resident's storage and a request.
local pool = {}
local next_index = 1

function init(args)
  for line in io.lines(args[1]) do
    local host, cookie, csrf, child = line:match("^(%S+) (%S+) (%S+) (%S+)$")
    if host then
      pool[#pool + 1] = {
        host = host,
        cookie = cookie,
        body = "csrf=" .. csrf .. "&enfant=" .. child
          .. "&du=2027-06-14&au=2027-06-15&motif=Maladie&commentaire=",
      }
    end
  end
  next_index = (math.random(1, #pool))
end

function request()
  local entry = pool[next_index]
  next_index = next_index % #pool + 1
  return wrk.format("POST", "/services/absences/actions/signaler", {
    ["Host"] = entry.host,
    ["Cookie"] = entry.cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, entry.body)
end

dofile(os.getenv("LOAD_DIR") .. "/report.lua")
