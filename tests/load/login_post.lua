-- POST /connexion with a resident's identifier and password. Each line of
-- the pool file is "<host> <pre-session cookie> <csrf token> <identifier>":
-- a browser that opened the login page, then logs in.
local pool = {}
local next_index = 1
local password = os.getenv("LOAD_PASSWORD")

function init(args)
  for line in io.lines(args[1]) do
    local host, cookie, csrf, identifier = line:match("^(%S+) (%S+) (%S+) (%S+)$")
    if host then
      pool[#pool + 1] = { host = host, cookie = cookie, csrf = csrf, identifier = identifier }
    end
  end
  next_index = math.random(1, #pool)
end

function request()
  local entry = pool[next_index]
  next_index = next_index % #pool + 1
  local body = "identifier=" .. entry.identifier .. "&password=" .. password .. "&csrf=" .. entry.csrf
  return wrk.format("POST", "/connexion", {
    ["Host"] = entry.host,
    ["Cookie"] = entry.cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end

dofile(os.getenv("LOAD_DIR") .. "/report.lua")
