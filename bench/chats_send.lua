-- wrk script for bench/chats.sh: POST /api/v1/messages as one user into one
-- chat. The token and chat id come from the environment (BENCH_TOKEN,
-- BENCH_CHAT); each request carries one of a few short texts in turn, so
-- the bodies (and the search index's work) vary a little.
local token = os.getenv("BENCH_TOKEN") or error("BENCH_TOKEN is not set")
local chat = os.getenv("BENCH_CHAT") or error("BENCH_CHAT is not set")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token

local texts = {
  "On my way, see you in ten minutes",
  "Did anyone look at the draft I sent this morning?",
  "Sounds good to me",
  "Lunch at the usual place? I can book a table for four",
  "The build is green again, thanks for the quick fix",
  "ok",
  "Can we move the call to Thursday afternoon instead",
  "Here are the notes from the meeting, comments welcome",
}
local bodies = {}
for i, t in ipairs(texts) do
  bodies[i] = '{"chat_id":"' .. chat .. '","content":"' .. t .. '"}'
end

local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, bodies[(n % #bodies) + 1])
end
