package redis

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// A device authorization is one hash (keys.go), so each atomic step on it
// (create, decide, poll) is one script on one key; the fields that change
// are hash fields beside the JSON of the fixed ones. The user-code index
// is a second key, written before the authorization and only ever read
// through it: an index entry whose authorization is missing, or names
// another user code, finds nothing, so a write that failed halfway fails
// closed.

// claimUserCodeScript writes the user-code index entry unless a live
// authorization holds the user code. KEYS[1] index; ARGV device code hash
// hex, expiry ms. The value is "<hex>:<expiry ms>", so that an entry
// outliving its authorization by a moment (Redis expires keys lazily or
// in the background) is seen as free by Redis' own clock. Replies 1
// (written) or 0 (taken).
var claimUserCodeScript = goredis.NewScript(nowMs + `
local v = redis.call('GET', KEYS[1])
if v then
  local exp = tonumber(string.match(v, ':(%d+)$'))
  if exp and exp > now then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 'PXAT', ARGV[2])
return 1
`)

// createDeviceScript stores an authorization unless the key exists.
// KEYS[1] device; ARGV d, user code hash hex, client id, interval ms,
// expiry ms. Replies 1 (stored) or 0 (exists).
var createDeviceScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'uc', ARGV[2], 'o', ARGV[3], 's', 'pending', 'u', '', 'iv', ARGV[4], 'lp', '0')
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
return 1
`)

// deviceFields is the reply of the device scripts after their flag:
// d, s, u, iv, lp.
const deviceFields = `local function fields(k) return redis.call('HMGET', k, 'd', 's', 'u', 'iv', 'lp') end
`

// decideDeviceScript decides a pending authorization. KEYS[1] device;
// ARGV user code hash hex, user, "approved" or "denied". Replies nil (none,
// or another user code), {1, fields...} decided now, {0, fields...}
// decided before.
var decideDeviceScript = goredis.NewScript(deviceFields + `
local v = redis.call('HMGET', KEYS[1], 'uc', 's')
if not v[1] or v[1] ~= ARGV[1] then return false end
if v[2] ~= 'pending' then
  local f = fields(KEYS[1])
  return {0, f[1], f[2], f[3], f[4], f[5]}
end
redis.call('HSET', KEYS[1], 's', ARGV[3], 'u', ARGV[2])
local f = fields(KEYS[1])
return {1, f[1], f[2], f[3], f[4], f[5]}
`)

// pollDeviceScript records a poll (store.DeviceStore.PollDevice). KEYS[1]
// device; ARGV client id, now ms, step ms, tolerance ms. The times are the engine's
// clock, not Redis', since the engine's clock decides the interval.
// Replies nil (none, or another client's) or {slow, d, status found, u,
// iv, lp}.
var pollDeviceScript = goredis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'd', 's', 'u', 'iv', 'lp', 'o')
if not v[1] or v[6] ~= ARGV[1] then return false end
local now, iv, lp = tonumber(ARGV[2]), tonumber(v[4]), tonumber(v[5])
local slow = 0
if v[2] == 'pending' and lp > 0 and now - lp < iv - tonumber(ARGV[4]) then
  iv = iv + tonumber(ARGV[3])
  slow = 1
end
redis.call('HSET', KEYS[1], 'iv', tostring(iv), 'lp', ARGV[2])
if v[2] == 'approved' then redis.call('HSET', KEYS[1], 's', 'consumed') end
return {slow, v[1], v[2], v[3], tostring(iv), ARGV[2]}
`)

var deviceStatusNames = map[store.DeviceStatus]string{
	store.DevicePending: "pending", store.DeviceApproved: "approved",
	store.DeviceDenied: "denied", store.DeviceConsumed: "consumed",
}

// CreateDevice writes the user-code index entry first
// (claimUserCodeScript), so a user code is never shared by two live
// authorizations, then the authorization; both expire at ExpiresAt.
func (s *Store) CreateDevice(ctx context.Context, d *store.DeviceAuthorization) error {
	if d == nil || len(d.DeviceCodeHash) == 0 || len(d.UserCodeHash) == 0 {
		return errNoHash
	}
	cp := *d
	cp.Status, cp.User, cp.Interval, cp.LastPollAt = 0, "", 0, time.Time{} // kept in fields
	body, err := json.Marshal(&cp)
	if err != nil {
		return err
	}
	exp := expiryMs(d.ExpiresAt)
	devHex := hex.EncodeToString(d.DeviceCodeHash)
	claimed, err := s.run(ctx, claimUserCodeScript, []string{s.keys.deviceUser(d.UserCodeHash)}, devHex, exp)
	if err != nil {
		return err
	}
	if n, _ := claimed.(int64); n != 1 {
		return alreadyExists("device authorization")
	}
	res, err := s.run(ctx, createDeviceScript, []string{s.keys.device(d.DeviceCodeHash)},
		body, hex.EncodeToString(d.UserCodeHash), d.ClientID, d.Interval.Milliseconds(), exp)
	if err != nil {
		return err
	}
	if n, _ := res.(int64); n != 1 {
		// The index entry stays until it expires; it names this device
		// code hash, whose record does not carry its user code, so it
		// finds nothing.
		return alreadyExists("device authorization")
	}
	return nil
}

// GetDeviceByUserCode follows the index to the authorization, which must
// name the same user code.
func (s *Store) GetDeviceByUserCode(ctx context.Context, userCodeHash []byte) (*store.DeviceAuthorization, error) {
	devHash, err := s.deviceFor(ctx, userCodeHash)
	if err != nil {
		return nil, err
	}
	v, err := s.rdb.HMGet(ctx, s.keys.device(devHash), "d", "s", "u", "iv", "lp", "uc").Result()
	if err != nil {
		return nil, wrap(err)
	}
	if uc, _ := v[5].(string); uc != hex.EncodeToString(userCodeHash) {
		return nil, notFound("device authorization")
	}
	return decodeDevice(v[:5])
}

// DecideDevice records the decision in one script on the authorization.
func (s *Store) DecideDevice(ctx context.Context, userCodeHash []byte, user string, approve bool) (*store.DeviceAuthorization, error) {
	devHash, err := s.deviceFor(ctx, userCodeHash)
	if err != nil {
		return nil, err
	}
	status := deviceStatusNames[store.DeviceDenied]
	if approve {
		status = deviceStatusNames[store.DeviceApproved]
	}
	res, err := s.run(ctx, decideDeviceScript, []string{s.keys.device(devHash)}, hex.EncodeToString(userCodeHash), user, status)
	if err != nil {
		return nil, err
	}
	list, _ := res.([]any)
	if len(list) != 6 {
		return nil, notFound("device authorization")
	}
	d, err := decodeDevice(list[1:])
	if err != nil {
		return nil, err
	}
	if now, _ := list[0].(int64); now != 1 {
		return d, store.ErrConsumed
	}
	return d, nil
}

// PollDevice records the poll in one script on the authorization.
func (s *Store) PollDevice(ctx context.Context, deviceCodeHash []byte, clientID string, now time.Time, pace store.DevicePace) (*store.DeviceAuthorization, bool, error) {
	res, err := s.run(ctx, pollDeviceScript, []string{s.keys.device(deviceCodeHash)},
		clientID, max(now.UnixMilli(), 1), pace.Step.Milliseconds(), pace.Tolerance.Milliseconds())
	if err != nil {
		return nil, false, err
	}
	list, _ := res.([]any)
	if len(list) != 6 {
		return nil, false, notFound("device authorization")
	}
	d, err := decodeDevice(list[1:])
	if err != nil {
		return nil, false, err
	}
	slow, _ := list[0].(int64)
	return d, slow == 1, nil
}

// deviceFor reads the user-code index: the device code hash.
func (s *Store) deviceFor(ctx context.Context, userCodeHash []byte) ([]byte, error) {
	v, err := s.rdb.Get(ctx, s.keys.deviceUser(userCodeHash)).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, notFound("device authorization")
	}
	if err != nil {
		return nil, wrap(err)
	}
	devHex, _, _ := strings.Cut(v, ":")
	h, err := hex.DecodeString(devHex)
	if err != nil {
		return nil, notFound("device authorization")
	}
	return h, nil
}

// decodeDevice builds an authorization from d, s, u, iv, lp; a missing d
// (the key is gone) or an expired one is store.ErrNotFound.
func decodeDevice(v []any) (*store.DeviceAuthorization, error) {
	body, _ := v[0].(string)
	if body == "" {
		return nil, notFound("device authorization")
	}
	d := new(store.DeviceAuthorization)
	if err := json.Unmarshal([]byte(body), d); err != nil {
		return nil, err
	}
	if expired(d.ExpiresAt, time.Now()) {
		return nil, notFound("device authorization")
	}
	status, _ := v[1].(string)
	for k, name := range deviceStatusNames {
		if name == status {
			d.Status = k
		}
	}
	if d.Status == 0 {
		return nil, errors.New("store/redis: device authorization with unknown status")
	}
	d.User, _ = v[2].(string)
	iv, _ := v[3].(string)
	lp, _ := v[4].(string)
	ivMs, err1 := strconv.ParseInt(iv, 10, 64)
	lpMs, err2 := strconv.ParseInt(lp, 10, 64)
	if err1 != nil || err2 != nil {
		return nil, errors.New("store/redis: malformed device authorization")
	}
	d.Interval = time.Duration(ivMs) * time.Millisecond
	if lpMs > 0 {
		d.LastPollAt = time.UnixMilli(lpMs)
	}
	return d, nil
}
