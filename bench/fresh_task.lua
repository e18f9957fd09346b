-- wrk script: POST a task file (by default the docs example) with a fresh taskUUID on every request.
--
--   wrk -t2 -c16 -d10s --latency -s bench/fresh_task.lua http://127.0.0.1:PORT/v1 [-- TASK.json [API_KEY]]
--
-- TASK.json is one task object (sent wrapped in a JSON array) or an array holding one task; its
-- "taskUUID" value is replaced by a random uuid4-formatted string per request. Each request carries
-- Host: 127.0.0.1 (the mock refuses cross-site requests), Content-Type: application/json and
-- Authorization: Bearer API_KEY (default "bench"). No response() function is defined, so wrk does not
-- parse bodies: its "Non-2xx or 3xx responses" line is the check that every task was answered 200.

local prefix, suffix

local function read_file(path)
  local file = assert(io.open(path, "rb"))
  local text = file:read("*a")
  file:close()
  return text
end

local function script_dir()
  local source = debug.getinfo(1, "S").source
  return source:match("^@(.*/)") or "./"
end

function init(args)
  local path = args[1] or (script_dir() .. "../examples/docs-example.json")
  local text = read_file(path)
  -- Each wrk thread has its own Lua state: seed each from the kernel so threads never repeat the
  -- same sequence of UUIDs (a repeated taskUUID is a conflict, not a new task, for the mock).
  local urandom = assert(io.open("/dev/urandom", "rb"))
  local bytes = urandom:read(6)
  urandom:close()
  local seed = 0
  for i = 1, #bytes do
    seed = seed * 256 + bytes:byte(i)
  end
  math.randomseed(seed)
  local first, last = text:find('"taskUUID"%s*:%s*"[^"]*"')
  assert(first, "no taskUUID in " .. path)
  prefix = text:sub(1, first - 1) .. '"taskUUID": "'
  suffix = '"' .. text:sub(last + 1)
  if not text:match("^%s*%[") then
    prefix = "[" .. prefix
    suffix = suffix .. "]"
  end
  wrk.method = "POST"
  wrk.headers["Host"] = "127.0.0.1"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. (args[2] or "bench")
end

local random, format = math.random, string.format

function request()
  local id = format(
    "%04x%04x-%04x-4%03x-%04x-%04x%04x%04x",
    random(0, 65535), random(0, 65535), random(0, 65535), random(0, 4095),
    32768 + random(0, 16383), random(0, 65535), random(0, 65535), random(0, 65535)
  )
  return wrk.format(nil, nil, nil, prefix .. id .. suffix)
end
