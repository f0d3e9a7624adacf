-- wrk script: POSTs a valid, unique member per request so the simulator
-- does its full work (validation, duplicate check, storage) every time.
-- BENCH_BODY is a template whose "%ID%" marks are replaced by an id unique
-- across threads and "%NUM%" by a unique 10-digit number (for phone
-- numbers); BENCH_HEADERS holds "Name: value" lines (auth, type).
-- setup() runs in the main Lua state; thread:set() gives each thread its
-- own global `tid` (a local of the same name would shadow it).
local threads = {}
local next_tid = 0

function setup(thread)
   next_tid = next_tid + 1
   thread:set("tid", next_tid)
   table.insert(threads, thread)
end

function init(args)
   counter = 0
   template = os.getenv("BENCH_BODY")
   headers = {}
   for line in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
      local name, value = string.match(line, "^([^:]+):%s*(.*)$")
      if name then
         headers[name] = value
      end
   end
   prefix = "w" .. tid .. "n"
end

function request()
   counter = counter + 1
   local body = string.gsub(template, "%%ID%%", prefix .. counter)
   body = string.gsub(body, "%%NUM%%", string.format("%d%09d", tid, counter))
   return wrk.format("POST", nil, headers, body)
end
