package redis

import (
	"context"
	"errors"

	goredis "github.com/redis/go-redis/v9"
)

// The Lua scripts. Each touches the keys it is given and no other, so it
// runs in one cluster slot; Redis runs a script atomically. go-redis sends
// EVALSHA and falls back to EVAL when the server lost its script cache
// (a restart, a failover). Scripts read Redis' own clock (TIME) where an
// expiry is compared, so a fast or slow clock on a Caddy node cannot
// prune a live token out of an index.

// nowMs is the Lua prelude reading the server's clock in milliseconds.
const nowMs = `local __t = redis.call('TIME')
local now = tonumber(__t[1]) * 1000 + math.floor(tonumber(__t[2]) / 1000)
`

// idLess compares stream IDs ("ms-seq").
const idLess = `local function idless(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  if am ~= bm then return am < bm end
  return as < bs
end
`

// putToken stores a token hash. KEYS[1] token; ARGV d, kind, family, user,
// client, rotated ("0"/"1"), expiry ms ("0": none), mode ("save" or
// "update"). A revocation tombstone (field x) refuses the write: the token
// was revoked by family, user or client before its write landed (see
// doc.go). Replies {-1} tombstoned, {0} not found (update), {1} stored,
// {2, family, user, client} replaced a stored token (its old owners).
var putTokenScript = goredis.NewScript(luaPutToken + `
return put_token(KEYS[1], ARGV, 0)
`)

// luaPutToken is put_token(k, argv, at): putToken's body over the eight
// arguments argv[at+1..at+8], shared with saveTokensScript.
const luaPutToken = `local function put_token(k, argv, at)
  if redis.call('HEXISTS', k, 'x') == 1 then return {-1} end
  local old = redis.call('HMGET', k, 'd', 'f', 'u', 'c')
  if argv[at + 8] == 'update' and not old[1] then return {0} end
  redis.call('DEL', k)
  redis.call('HSET', k, 'd', argv[at + 1], 'k', argv[at + 2], 'f', argv[at + 3], 'u', argv[at + 4], 'c', argv[at + 5], 'r', argv[at + 6])
  local exp = tonumber(argv[at + 7])
  if exp > 0 then redis.call('PEXPIREAT', k, exp) end
  if old[1] then return {2, old[2] or '', old[3] or '', old[4] or ''} end
  return {1}
end
`

// markOnce sets flag field ARGV[1] of the record hash KEYS[1] to '1', once:
// a refresh token rotated (field r), a code consumed (field c), keeping
// the key's expiry. Replies nil (none), {0, d} marked now, {1, d} marked
// before.
var markOnceScript = goredis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'd', ARGV[1])
if not v[1] then return false end
if v[2] == '1' then return {1, v[1]} end
redis.call('HSET', KEYS[1], ARGV[1], '1')
return {0, v[1]}
`)

// consumeToken deletes a token of kind ARGV[1]. Replies nil (none or
// another kind) or {d, rotated}.
var consumeTokenScript = goredis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'd', 'k', 'r')
if not v[1] or v[2] ~= ARGV[1] then return false end
redis.call('DEL', KEYS[1])
return {v[1], v[3] or '0'}
`)

// revokeToken deletes a token. Replies nil (none) or {d}.
var revokeTokenScript = goredis.NewScript(`
local d = redis.call('HGET', KEYS[1], 'd')
if not d then return false end
redis.call('DEL', KEYS[1])
return {d}
`)

// indexAdd adds members to an index zset. KEYS[1] index; ARGV margin ms,
// then score, member pairs (score "+inf" for tokens without expiry). It
// prunes members expired for longer than the margin and keeps the index
// alive until its longest-lived member has expired (plus the margin), so
// indexes stay bounded.
var indexAddScript = goredis.NewScript(nowMs + luaIndexAdd + `
return index_add(KEYS[1], tonumber(ARGV[1]), ARGV, 1, #ARGV - 1)
`)

// luaIndexAdd is index_add(k, margin, argv, at, n): indexAdd's body over
// the n arguments argv[at+1..at+n] (score, member pairs), shared with
// saveTokensScript.
const luaIndexAdd = `local function index_add(k, margin, argv, at, n)
  redis.call('ZREMRANGEBYSCORE', k, '-inf', '(' .. (now - margin))
  for i = at + 1, at + n, 2 do redis.call('ZADD', k, argv[i], argv[i + 1]) end
  local top = redis.call('ZRANGE', k, -1, -1, 'WITHSCORES')
  if top[2] == nil then return 0 end
  if top[2] == 'inf' then
    redis.call('PERSIST', k)
  else
    redis.call('PEXPIREAT', k, math.floor(tonumber(top[2])) + margin)
  end
  return 1
end
`

// saveTokens is register + put in one atomic script, for a Redis that is
// not a Cluster (a script may then touch keys of any slot): one round trip
// per SaveTokens instead of two, and nothing to order. KEYS: the index
// keys, then the token keys. ARGV[1] the number of index keys, ARGV[2] the
// margin ms; per index key the number of its arguments, then its score,
// member pairs; per token putToken's eight arguments. Replies putToken's
// reply for each token, in order.
var saveTokensScript = goredis.NewScript(nowMs + luaIndexAdd + luaPutToken + `
local ni, margin, at = tonumber(ARGV[1]), tonumber(ARGV[2]), 2
for i = 1, ni do
  local n = tonumber(ARGV[at + 1])
  index_add(KEYS[i], margin, ARGV, at + 1, n)
  at = at + 1 + n
end
local out = {}
for i = ni + 1, #KEYS do
  out[#out + 1] = put_token(KEYS[i], ARGV, at)
  at = at + 8
end
return out
`)

// indexRange prunes an index and returns up to ARGV[2] members with their
// scores. KEYS[1] index; ARGV margin ms, count.
var indexRangeScript = goredis.NewScript(nowMs + `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[1])))
return redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1, 'WITHSCORES')
`)

// revokeMember revokes the token an index entry points at. KEYS[1] token;
// ARGV owner field (f, u or c), name, the entry's score (the token's
// expiry). A live token of that owner is deleted: {1, family, user,
// client}. A token of another owner (saved again over) stays: {0}. No
// token: its write may still be in flight (the index entry is written
// first), so a tombstone, living as long as the token would, refuses that
// write: {0}.
var revokeMemberScript = goredis.NewScript(nowMs + `
local v = redis.call('HMGET', KEYS[1], 'd', ARGV[1], 'f', 'u', 'c')
if v[1] then
  if v[2] == ARGV[2] then
    redis.call('DEL', KEYS[1])
    return {1, v[3] or '', v[4] or '', v[5] or ''}
  end
  return {0}
end
if ARGV[3] == 'inf' then
  redis.call('HSET', KEYS[1], 'x', '1')
elseif tonumber(ARGV[3]) > now then
  redis.call('HSET', KEYS[1], 'x', '1')
  redis.call('PEXPIREAT', KEYS[1], math.floor(tonumber(ARGV[3])))
end
return {0}
`)

// putExpiring replaces a hash with field d = ARGV[1], expiring at ARGV[2]
// ms ("0": never). KEYS[1].
var putExpiringScript = goredis.NewScript(`
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'd', ARGV[1])
local exp = tonumber(ARGV[2])
if exp > 0 then redis.call('PEXPIREAT', KEYS[1], exp) end
return 1
`)

// updateField sets field ARGV[1] of hash KEYS[1] to ARGV[2] if it exists.
// Replies 1 (updated) or 0 (none).
var updateFieldScript = goredis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`)

// renewScript joins or renews this node's lease and acknowledges what it
// has read. KEYS stream, lease, ack; ARGV node, last read ID ("" on the
// first join: start at the stream's end), lease ms. It forgets nodes whose
// lease expired and trims the stream to what every live node has read.
// Replies the node's read position.
var renewScript = goredis.NewScript(nowMs + idLess + `
local id = ARGV[2]
if id == '' then
  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
  if #last > 0 then id = last[1][1] else id = '0-0' end
end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], id)
local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, n in ipairs(dead) do redis.call('HDEL', KEYS[3], n) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local min = nil
for _, a in ipairs(redis.call('HVALS', KEYS[3])) do
  if min == nil or idless(a, min) then min = a end
end
if min then redis.call('XTRIM', KEYS[1], 'MINID', min) end
return id
`)

// publishScript appends an invalidation to the stream and names the live
// nodes (other than the sender) that must acknowledge it. KEYS stream,
// lease; ARGV sender, type, payload. Replies {id, node...}.
var publishScript = goredis.NewScript(nowMs + `
local id = redis.call('XADD', KEYS[1], '*', 'n', ARGV[1], 't', ARGV[2], 'v', ARGV[3])
local out = {id}
for _, n in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. now, '+inf')) do
  if n ~= ARGV[1] then out[#out + 1] = n end
end
return out
`)

// pendingScript returns the nodes among ARGV[2:] whose lease is live and
// which have not yet acknowledged stream ID ARGV[1]. KEYS lease, ack.
var pendingScript = goredis.NewScript(nowMs + idLess + `
local out = {}
for i = 2, #ARGV do
  local s = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if s and tonumber(s) > now then
    local a = redis.call('HGET', KEYS[2], ARGV[i])
    if not a or idless(a, ARGV[1]) then out[#out + 1] = ARGV[i] end
  end
end
return out
`)

// leaveScript removes a closing node, so nobody waits for it. KEYS lease,
// ack; ARGV node.
var leaveScript = goredis.NewScript(`
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
`)

// scriptCall is one script invocation in a batch (runAll).
type scriptCall struct {
	script *goredis.Script
	keys   []string
	args   []any
	cmd    *goredis.Cmd
}

// run runs one script; a nil reply is (nil, nil).
func (s *Store) run(ctx context.Context, sc *goredis.Script, keys []string, args ...any) (any, error) {
	v, err := sc.Run(ctx, s.rdb, keys, args...).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	}
	return v, wrap(err)
}

// runAll runs many scripts in one pipeline (split per node by go-redis in
// a cluster), re-sending with EVAL those the server had not cached. Each
// call's cmd holds its reply; the first error is returned.
func (s *Store) runAll(ctx context.Context, calls []*scriptCall) error {
	if len(calls) == 0 {
		return nil
	}
	send := func(calls []*scriptCall, sha bool) {
		pipe := s.rdb.Pipeline()
		for _, c := range calls {
			if sha {
				c.cmd = c.script.EvalSha(ctx, pipe, c.keys, c.args...)
			} else {
				c.cmd = c.script.Eval(ctx, pipe, c.keys, c.args...)
			}
		}
		pipe.Exec(ctx) // errors are read per command below
	}
	send(calls, true)
	var missing []*scriptCall
	for _, c := range calls {
		if err := c.cmd.Err(); err != nil && goredis.HasErrorPrefix(err, "NOSCRIPT") {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		send(missing, false)
	}
	for _, c := range calls {
		if err := c.cmd.Err(); err != nil && !errors.Is(err, goredis.Nil) {
			return wrap(err)
		}
	}
	return nil
}
