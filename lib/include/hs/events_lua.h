/* The Lua script that publishes an event (lib/domain/events.c explains it), in a
 * header of its own so the benchmarks publish exactly as the apps do.
 * KEYS: the stream/channel, the last-id key (both named by
 * lib/domain/events.c). ARGV: type, JSON data,
 * retention (s). */
#ifndef HS_EVENTS_LUA_H
#define HS_EVENTS_LUA_H

/* Seconds a stream outlives its newest entry's retention: MINID only trims
 * on the next XADD, so a chat that goes quiet would keep its stream for ever
 * without a TTL; every XADD pushes the expiry to retention + this margin. */
#define HS_EV_TTL_MARGIN "5"

#define HS_EVENT_PUBLISH_LUA                                                                       \
    "local t = redis.call('TIME')\n"                                                               \
    "local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"                       \
    "local seq = 0\n"                                                                              \
    "local last = redis.call('GET', KEYS[2])\n"                                                    \
    "if last then\n"                                                                               \
    "  local lms, lseq = string.match(last, '^(%d+)-(%d+)$')\n"                                    \
    "  lms = tonumber(lms)\n"                                                                      \
    "  if ms <= lms then ms = lms; seq = tonumber(lseq) + 1 end\n"                                 \
    "end\n"                                                                                        \
    "local id = string.format('%.0f-%d', ms, seq)\n"                                               \
    "redis.call('SET', KEYS[2], id)\n"                                                             \
    "local minid = string.format('%.0f', ms - tonumber(ARGV[3]) * 1000)\n"                         \
    "redis.call('XADD', KEYS[1], 'MINID', '~', minid, id, 'type', ARGV[1], 'data', ARGV[2])\n"     \
    "redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]) + " HS_EV_TTL_MARGIN ")\n"                    \
    "redis.call('PUBLISH', KEYS[1], id .. ' ' .. ARGV[1] .. ' ' .. ARGV[2])\n"                     \
    "return id\n"

#endif
