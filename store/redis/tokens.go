package redis

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// A token is one Redis hash, <prefix>v1:t:<hex>, expiring with the token
// (PEXPIREAT), plus an entry (score: the token's expiry) in the index zset
// of its family, user and client. Writes go index first, token second, so
// an index always knows every token that could be live; revoke.go relies
// on that. doc.go explains the orderings.

// indexMargin is how long after its expiry an index entry is kept: it
// absorbs clock differences between the Redis nodes holding the index and
// the token, so an index never forgets a token its node still serves.
const indexMargin = time.Minute

// owner is one index a token is listed in.
type owner struct {
	field string // the token hash's field: f, u or c
	name  string
}

func tokenOwners(t *store.Token) []owner {
	o := make([]owner, 0, 3)
	if t.Family != "" {
		o = append(o, owner{"f", t.Family})
	}
	if t.User != "" {
		o = append(o, owner{"u", t.User})
	}
	if t.ClientID != "" {
		o = append(o, owner{"c", t.ClientID})
	}
	return o
}

func (k keys) index(o owner) string {
	switch o.field {
	case "f":
		return k.family(o.name)
	case "u":
		return k.user(o.name)
	default:
		return k.client(o.name)
	}
}

// expiryMs is the PEXPIREAT argument for t: 0 for none.
func expiryMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return max(t.UnixMilli(), 1)
}

// score is t's index score.
func score(t time.Time) string {
	if t.IsZero() {
		return "+inf"
	}
	return strconv.FormatInt(max(t.UnixMilli(), 1), 10)
}

func expired(at time.Time, now time.Time) bool { return !at.IsZero() && !now.Before(at) }

// encodedToken is a token ready for putTokenScript.
type encodedToken struct {
	t *store.Token
	d []byte
}

func encodeTokens(ts []*store.Token) ([]encodedToken, error) {
	out := make([]encodedToken, len(ts))
	for i, t := range ts {
		if t == nil || len(t.Hash) == 0 {
			return nil, errNoHash
		}
		c := *t
		c.Rotated = false // kept in field r, the one place scripts read
		d, err := json.Marshal(&c)
		if err != nil {
			return nil, err
		}
		out[i] = encodedToken{t, d}
	}
	return out, nil
}

func decodeToken(d, rotated any) (*store.Token, error) {
	s, ok := d.(string)
	if !ok {
		return nil, notFound("token")
	}
	t := new(store.Token)
	if err := json.Unmarshal([]byte(s), t); err != nil {
		return nil, err
	}
	r, _ := rotated.(string)
	t.Rotated = r == "1"
	return t, nil
}

// register lists the tokens in their indexes (one script per index).
func (s *Store) register(ctx context.Context, ts []encodedToken) error {
	order, pairs := s.indexEntries(ts)
	calls := make([]*scriptCall, 0, len(order))
	for _, k := range order {
		args := append([]any{indexMargin.Milliseconds()}, pairs[k]...)
		calls = append(calls, &scriptCall{script: indexAddScript, keys: []string{k}, args: args})
	}
	return s.runAll(ctx, calls)
}

// indexEntries groups the (score, member) pairs of the tokens' index
// entries by index key, keys in first-seen order.
func (s *Store) indexEntries(ts []encodedToken) (order []string, pairs map[string][]any) {
	pairs = map[string][]any{}
	now := time.Now()
	for _, e := range ts {
		if expired(e.t.ExpiresAt, now) {
			continue // stored only to vanish at once
		}
		for _, o := range tokenOwners(e.t) {
			k := s.keys.index(o)
			if _, ok := pairs[k]; !ok {
				order = append(order, k)
			}
			pairs[k] = append(pairs[k], score(e.t.ExpiresAt), string(e.t.Hash))
		}
	}
	return order, pairs
}

// unlist removes hash from the indexes of owners, best effort: a stale
// entry only costs a revocation a lookup (revokeMember skips it) and is
// pruned once the token's expiry has passed.
func (s *Store) unlist(ctx context.Context, hash []byte, owners []owner) {
	if len(owners) == 0 {
		return
	}
	pipe := s.rdb.Pipeline()
	for _, o := range owners {
		pipe.ZRem(ctx, s.keys.index(o), string(hash))
	}
	pipe.Exec(ctx)
}

// putResult is what putTokenScript answered for one token.
type putResult struct {
	code   int64 // -1 tombstoned, 0 not found, 1 stored, 2 replaced
	owners []owner
}

// put writes the tokens (after register), in mode "save" or "update".
func (s *Store) put(ctx context.Context, ts []encodedToken, mode string) ([]putResult, error) {
	calls := make([]*scriptCall, len(ts))
	for i, e := range ts {
		calls[i] = &scriptCall{script: putTokenScript, keys: []string{s.keys.token(e.t.Hash)}, args: putArgs(e, mode)}
	}
	err := s.runAll(ctx, calls)
	out := make([]putResult, len(ts))
	for i, c := range calls {
		out[i] = parsePut(c.cmd.Val())
	}
	return out, err
}

// saveAtomic is register + put "save" in one script, where Redis is not a
// Cluster: one round trip, and the index entries and the tokens land
// together or not at all.
func (s *Store) saveAtomic(ctx context.Context, ts []encodedToken) ([]putResult, error) {
	order, pairs := s.indexEntries(ts)
	keys := append(make([]string, 0, len(order)+len(ts)), order...)
	args := []any{len(order), indexMargin.Milliseconds()}
	for _, k := range order {
		args = append(args, len(pairs[k]))
		args = append(args, pairs[k]...)
	}
	for _, e := range ts {
		keys = append(keys, s.keys.token(e.t.Hash))
		args = append(args, putArgs(e, "save")...)
	}
	v, err := s.run(ctx, saveTokensScript, keys, args...)
	list, _ := v.([]any)
	out := make([]putResult, len(ts))
	for i := range out {
		if i < len(list) {
			out[i] = parsePut(list[i])
		}
	}
	return out, err
}

// putArgs are putToken's arguments for e.
func putArgs(e encodedToken, mode string) []any {
	rot := "0"
	if e.t.Rotated {
		rot = "1"
	}
	return []any{e.d, strconv.Itoa(int(e.t.Kind)), e.t.Family, e.t.User, e.t.ClientID, rot, expiryMs(e.t.ExpiresAt), mode}
}

// parsePut reads one putToken reply.
func parsePut(v any) putResult {
	var r putResult
	list, _ := v.([]any)
	if len(list) == 0 {
		return r
	}
	r.code, _ = list[0].(int64)
	if r.code == 2 && len(list) == 4 {
		for j, f := range []string{"f", "u", "c"} {
			if name, _ := list[1+j].(string); name != "" {
				r.owners = append(r.owners, owner{f, name})
			}
		}
	}
	return r
}

// moved returns the owners in old that t is no longer listed under.
func moved(old []owner, t *store.Token) []owner {
	var out []owner
	now := tokenOwners(t)
next:
	for _, o := range old {
		for _, n := range now {
			if o == n {
				continue next
			}
		}
		out = append(out, o)
	}
	return out
}

// SaveToken stores t.
func (s *Store) SaveToken(ctx context.Context, t *store.Token) error {
	return s.SaveTokens(ctx, t)
}

// SaveTokens stores every token: their index entries first, then the
// tokens (pipelined). If it fails midway, a token may be missing or
// listed in an index without existing, never live and unindexed. A token
// that a concurrent revocation of its family, user or client tombstoned
// before its write landed is not written (it counts as saved, then
// revoked). Tokens saved over stored ones count as changed and are
// announced to the other nodes before SaveTokens returns. Durability is
// Redis' own (appendfsync): see doc.go.
func (s *Store) SaveTokens(ctx context.Context, ts ...*store.Token) error {
	enc, err := encodeTokens(ts)
	if err != nil {
		return err
	}
	var res []putResult
	if s.cluster {
		if err := s.register(ctx, enc); err != nil {
			return err
		}
		res, err = s.put(ctx, enc, "save")
	} else {
		res, err = s.saveAtomic(ctx, enc)
	}
	var changed [][]byte
	for i, r := range res {
		if err != nil || r.code == 2 {
			changed = append(changed, enc[i].t.Hash)
		}
		if r.code == 2 {
			s.unlist(ctx, enc[i].t.Hash, moved(r.owners, enc[i].t))
		}
	}
	return s.changedTokens(ctx, err, changed...)
}

// GetToken returns a live token of any kind, in one round trip (HMGET);
// revoked, consumed or expired ones are store.ErrNotFound.
func (s *Store) GetToken(ctx context.Context, hash []byte) (*store.Token, error) {
	v, err := s.rdb.HMGet(ctx, s.keys.token(hash), "d", "r").Result()
	if err != nil {
		return nil, wrap(err)
	}
	if len(v) != 2 || v[0] == nil {
		return nil, notFound("token")
	}
	t, err := decodeToken(v[0], v[1])
	if err != nil {
		return nil, err
	}
	if expired(t.ExpiresAt, time.Now()) {
		return nil, notFound("token")
	}
	return t, nil
}

// RevokeToken deletes a live token; store.ErrNotFound if there is none.
func (s *Store) RevokeToken(ctx context.Context, hash []byte) error {
	res, err := s.run(ctx, revokeTokenScript, []string{s.keys.token(hash)})
	if err == nil {
		if list, _ := res.([]any); len(list) == 1 {
			if t, derr := decodeToken(list[0], nil); derr == nil {
				s.unlist(ctx, hash, tokenOwners(t))
			}
		} else {
			err = notFound("token")
		}
	}
	// Counted and announced also when not found: an earlier attempt whose
	// reply was lost may have deleted it.
	return s.changedTokens(ctx, err, hash)
}

// RotateRefresh marks old rotated and saves next, so that of concurrent
// rotations exactly one wins: the mark is one script on old's key. The
// successors are listed in their indexes before the mark and written
// after it, so a loser writes no token (and unlists its entries), and a
// revocation of the family racing the rotation deletes or tombstones the
// successors (doc.go). If the successors' write fails after the mark,
// they are missing and the client's retry is a replay: fail closed.
func (s *Store) RotateRefresh(ctx context.Context, old []byte, next ...*store.Token) (*store.Token, error) {
	enc, err := encodeTokens(next)
	if err != nil {
		return nil, err
	}
	changed := [][]byte{old}
	if err := s.register(ctx, enc); err != nil {
		return nil, s.changedTokens(ctx, err, changed...)
	}
	unlistAll := func() {
		for _, e := range enc {
			s.unlist(ctx, e.t.Hash, tokenOwners(e.t))
		}
	}
	res, err := s.run(ctx, markOnceScript, []string{s.keys.token(old)}, "r")
	if err != nil {
		return nil, s.changedTokens(ctx, err, changed...)
	}
	list, _ := res.([]any)
	if len(list) != 2 {
		unlistAll()
		return nil, s.changedTokens(ctx, notFound("refresh token"), changed...)
	}
	prev, err := decodeToken(list[1], "1")
	if err != nil {
		return nil, s.changedTokens(ctx, err, changed...)
	}
	if before, _ := list[0].(int64); before == 1 {
		unlistAll()
		if err := s.changedTokens(ctx, nil, changed...); err != nil {
			return nil, err
		}
		return prev, store.ErrRotated
	}
	if expired(prev.ExpiresAt, time.Now()) {
		// Expired by this node's clock, not yet by Redis': refuse, and
		// leave it rotated (fail closed).
		unlistAll()
		return nil, s.changedTokens(ctx, notFound("refresh token"), changed...)
	}
	put, err := s.put(ctx, enc, "save")
	for i, r := range put {
		if err != nil || r.code == 2 {
			changed = append(changed, enc[i].t.Hash)
		}
		if r.code == 2 {
			s.unlist(ctx, enc[i].t.Hash, moved(r.owners, enc[i].t))
		}
	}
	if err := s.changedTokens(ctx, err, changed...); err != nil {
		return nil, err
	}
	return prev, nil
}

// UpdateToken replaces a live token, moving its index entries if its
// family, user or client changed (OAuth 1 temporary credentials gain
// their user on authorization): new entries first, then the token, then
// the old entries go. store.ErrNotFound if it is gone.
func (s *Store) UpdateToken(ctx context.Context, t *store.Token) error {
	enc, err := encodeTokens([]*store.Token{t})
	if err != nil {
		return err
	}
	if err := s.register(ctx, enc); err != nil {
		return s.changedTokens(ctx, err, t.Hash)
	}
	res, err := s.put(ctx, enc, "update")
	if err == nil {
		switch res[0].code {
		case 2:
			s.unlist(ctx, t.Hash, moved(res[0].owners, t))
		default:
			err = notFound("token")
		}
	}
	return s.changedTokens(ctx, err, t.Hash)
}

// ConsumeToken deletes a live token of the given kind and returns it, in
// one script: of concurrent calls exactly one gets it. A token of another
// kind is store.ErrNotFound and stays.
func (s *Store) ConsumeToken(ctx context.Context, hash []byte, kind store.TokenKind) (*store.Token, error) {
	res, err := s.run(ctx, consumeTokenScript, []string{s.keys.token(hash)}, strconv.Itoa(int(kind)))
	var t *store.Token
	if err == nil {
		list, _ := res.([]any)
		if len(list) == 2 {
			t, err = decodeToken(list[0], list[1])
			if err == nil {
				s.unlist(ctx, hash, tokenOwners(t))
				if expired(t.ExpiresAt, time.Now()) {
					t, err = nil, notFound("token")
				}
			}
		} else {
			err = notFound("token")
		}
	}
	if err := s.changedTokens(ctx, err, hash); err != nil {
		return nil, err
	}
	return t, nil
}
