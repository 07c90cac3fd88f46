-- GET / (or LOAD_PATH: the booking page…) for a pool of logged-in
-- residents: each request takes the next line of the pool file ("<host>
-- <session cookie>"), round robin.
local path = os.getenv("LOAD_PATH") or "/"
local pool = {}
local next_index = 1

function init(args)
  for line in io.lines(args[1]) do
    local host, cookie = line:match("^(%S+) (.+)$")
    if host then
      pool[#pool + 1] = { host = host, cookie = cookie }
    end
  end
  -- Threads start at different places of the pool.
  next_index = (math.random(1, #pool))
end

function request()
  local entry = pool[next_index]
  next_index = next_index % #pool + 1
  return wrk.format("GET", path, { ["Host"] = entry.host, ["Cookie"] = entry.cookie })
end

dofile(os.getenv("LOAD_DIR") .. "/report.lua")
