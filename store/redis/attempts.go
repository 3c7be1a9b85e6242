package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/caddy-oauth/caddy-oauth/store"
)

var (
	errAttemptLimit   = errors.New("store/redis: attempt limit and durations must be positive")
	errAttemptOutcome = errors.New("store/redis: unknown attempt outcome")
)

// attemptScript is one step on the attempt counter of one key: KEYS[1]
// the counter; ARGV now ms (the caller's clock, see store.AttemptStore),
// max, window ms, lockout ms, step ("begin", "fail", "ok", "cancel"). The
// counter is a string "lockedUntil|failures|reservations", the lists
// comma-separated ms, expiring when its last lockout or window ends (and
// deleted when empty; not written when unchanged). It replies {1, 0} (reserved, or settled) or
// {0, retry ms} (refused). Same rules as store/badger's attempts.go.
var attemptScript = goredis.NewScript(`
local now, maxn, win, lock, op = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local l, f, p = 0, {}, {}
local raw = redis.call('GET', KEYS[1])
if raw then
  local ls, fs, ps = string.match(raw, '^(%d+)|([%d,]*)|([%d,]*)$')
  if not ls then return redis.error_reply('ERR store/redis: unreadable attempt counter') end
  l = tonumber(ls)
  for n in string.gmatch(fs, '%d+') do f[#f + 1] = tonumber(n) end
  for n in string.gmatch(ps, '%d+') do p[#p + 1] = tonumber(n) end
end
-- A lockout that is over goes with the failures that caused it; failures
-- and reservations (a reservation that old was left by a crash) leave
-- with the window.
if l ~= 0 and l <= now then l = 0; f = {} end
local function live(ts)
  local out = {}
  for _, t in ipairs(ts) do if t > now - win then out[#out + 1] = t end end
  return out
end
f, p = live(f), live(p)
-- pick: index of the newest (or oldest) time; lists need not be sorted,
-- the nodes' clocks are not one clock.
local function pick(ts, newest)
  local j = 0
  for i, t in ipairs(ts) do
    if j == 0 or (newest and t > ts[j]) or (not newest and t < ts[j]) then j = i end
  end
  return j
end
local reply = {1, 0}
if op == 'begin' then
  if l > now then
    reply = {0, l - now}
  elseif #f + #p >= maxn then
    -- Full only because of attempts in flight, or of failures that
    -- leave the window before a lockout: retry soon.
    local wait = 1000
    if #f > 0 then wait = math.max(wait, f[pick(f, false)] + win - now) end
    reply = {0, wait}
  else
    p[#p + 1] = now
  end
else
  -- The newest reservation: if another was left by a crash, it goes sooner.
  local j = pick(p, true)
  if j > 0 then table.remove(p, j) end
  if op == 'fail' then
    f[#f + 1] = now
    if #f > maxn then table.remove(f, pick(f, false)) end
    if #f >= maxn then l = now + lock end
  elseif op == 'ok' then
    f = {}; l = 0
  end
end
local last = l
for _, t in ipairs(f) do last = math.max(last, t + win) end
for _, t in ipairs(p) do last = math.max(last, t + win) end
if last <= now then
  if raw then redis.call('DEL', KEYS[1]) end
  return reply
end
local function join(ts)
  local out = {}
  for i, t in ipairs(ts) do out[i] = string.format('%.0f', t) end
  return table.concat(out, ',')
end
local v = string.format('%.0f', l) .. '|' .. join(f) .. '|' .. join(p)
-- Unchanged (a refusal): no write, so a flood of refused attempts costs
-- no replication or AOF traffic.
if v ~= raw then
  redis.call('SET', KEYS[1], v, 'PX', string.format('%.0f', last - now))
end
return reply
`)

// BeginAttempt reserves an attempt under key, or refuses while the key is
// locked or out of attempts; see store.AttemptStore. One script on one
// key, atomic across every node.
func (s *Store) BeginAttempt(ctx context.Context, key string, now time.Time, lim store.AttemptLimit) (bool, time.Duration, error) {
	ok, retry, err := s.attempt(ctx, key, now, lim, "begin")
	if err != nil {
		return false, 0, err
	}
	return ok, retry, nil
}

// EndAttempt settles a reservation of key; see store.AttemptStore.
func (s *Store) EndAttempt(ctx context.Context, key string, now time.Time, lim store.AttemptLimit, o store.AttemptOutcome) error {
	var step string
	switch o {
	case store.AttemptFailed:
		step = "fail"
	case store.AttemptSucceeded:
		step = "ok"
	case store.AttemptCancelled:
		step = "cancel"
	default:
		return errAttemptOutcome
	}
	_, _, err := s.attempt(ctx, key, now, lim, step)
	return err
}

func (s *Store) attempt(ctx context.Context, key string, now time.Time, lim store.AttemptLimit, step string) (bool, time.Duration, error) {
	if lim.Max < 1 || lim.Window <= 0 || lim.Lockout <= 0 {
		return false, 0, errAttemptLimit
	}
	v, err := s.run(ctx, attemptScript, []string{s.keys.attempt(key)},
		now.UnixMilli(), lim.Max, ceilMs(lim.Window), ceilMs(lim.Lockout), step)
	if err != nil {
		return false, 0, err
	}
	list, _ := v.([]any)
	if len(list) != 2 {
		return false, 0, fmt.Errorf("store/redis: attempt script replied %v", v)
	}
	ok, _ := list[0].(int64)
	ms, _ := list[1].(int64)
	return ok == 1, time.Duration(ms) * time.Millisecond, nil
}

// ceilMs is d in whole milliseconds, rounded up, so a short duration is
// never 0.
func ceilMs(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}
