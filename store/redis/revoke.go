package redis

import (
	"context"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// revokeBatch is how many index entries one round of a revocation reads.
const revokeBatch = 500

// RevokeFamily deletes every live token of a grant family and returns how
// many it deleted.
func (s *Store) RevokeFamily(ctx context.Context, family string) (int, error) {
	return s.revokeIndexed(ctx, owner{"f", family})
}

// RevokeUser deletes every live token of a resource owner and returns how
// many. The empty user (client_credentials tokens) is nobody: 0.
func (s *Store) RevokeUser(ctx context.Context, user string) (int, error) {
	return s.revokeIndexed(ctx, owner{"u", user})
}

// RevokeClient deletes every live token of a client and returns how many.
func (s *Store) RevokeClient(ctx context.Context, clientID string) (int, error) {
	return s.revokeIndexed(ctx, owner{"c", clientID})
}

// revokeIndexed revokes what an index lists, in rounds: read up to
// revokeBatch entries, revoke each token in its own slot (revokeMember:
// delete it if it still belongs to this owner, tombstone it if its write
// has not landed yet), and only then remove those entries, until the
// index is empty. Removing after revoking means a failed revocation
// leaves its entries for a retry; repeating until empty means a token
// listed while the revocation ran (a rotation's successor) is caught by a
// later round (doc.go has the argument).
func (s *Store) revokeIndexed(ctx context.Context, o owner) (n int, err error) {
	if o.name == "" {
		return 0, nil // empty names are never indexed
	}
	defer func() {
		if n > 0 || err != nil {
			err = s.changedAllTokens(ctx, err)
		}
	}()
	key := s.keys.index(o)
	for {
		res, err := s.run(ctx, indexRangeScript, []string{key}, indexMargin.Milliseconds(), revokeBatch)
		if err != nil {
			return n, err
		}
		flat, _ := res.([]any)
		if len(flat) < 2 {
			return n, nil
		}
		members := make([]any, 0, len(flat)/2)
		calls := make([]*scriptCall, 0, len(flat)/2)
		for i := 0; i+1 < len(flat); i += 2 {
			m, _ := flat[i].(string)
			sc, _ := flat[i+1].(string)
			members = append(members, m)
			calls = append(calls, &scriptCall{
				script: revokeMemberScript,
				keys:   []string{s.keys.token([]byte(m))},
				args:   []any{o.field, o.name, sc},
			})
		}
		if err := s.runAll(ctx, calls); err != nil {
			// Some may be deleted: count them, keep every entry for a retry.
			return n + deletedCount(calls), err
		}
		pipe := s.rdb.Pipeline()
		for i, c := range calls {
			list, _ := c.cmd.Val().([]any)
			if len(list) != 4 {
				continue
			}
			if v, _ := list[0].(int64); v != 1 {
				continue
			}
			n++
			// Drop the deleted token's entries in its other indexes.
			for j, f := range []string{"f", "u", "c"} {
				name, _ := list[1+j].(string)
				if other := (owner{f, name}); name != "" && other != o {
					pipe.ZRem(ctx, s.keys.index(other), members[i])
				}
			}
		}
		pipe.ZRem(ctx, key, members...)
		if _, err := pipe.Exec(ctx); err != nil {
			return n, wrap(err)
		}
	}
}

func deletedCount(calls []*scriptCall) int {
	n := 0
	for _, c := range calls {
		if c.cmd == nil {
			continue
		}
		if list, _ := c.cmd.Val().([]any); len(list) == 4 {
			if v, _ := list[0].(int64); v == 1 {
				n++
			}
		}
	}
	return n
}

var _ store.TokenStore = (*Store)(nil)
