-- GET /connexion, anonymous, on each town of the pool file ("<host>").
local hosts = {}
local next_index = 1

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then hosts[#hosts + 1] = line end
  end
  next_index = math.random(1, #hosts)
end

function request()
  local host = hosts[next_index]
  next_index = next_index % #hosts + 1
  return wrk.format("GET", "/connexion", { ["Host"] = host })
end

dofile(os.getenv("LOAD_DIR") .. "/report.lua")
