package redis

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// scanCount is the COUNT hint of each SCAN step, and so roughly the size
// of the batches the listings read with one pipeline.
const scanCount = 500

// globEscaper quotes what SCAN's MATCH would read as a pattern, so that a
// key prefix such as "app*:" matches itself only.
var globEscaper = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)

// scanKeys calls fn with batches of the keys starting with prefix. In a
// Redis Cluster every master is scanned (concurrently, by go-redis); fn is
// never called concurrently, nor again once it returned an error. SCAN may return a key twice, and a key
// written during the scan may or may not be returned.
func (s *Store) scanKeys(ctx context.Context, prefix string, fn func(keys []string) error) error {
	pattern := globEscaper.Replace(prefix) + "*"
	var mu sync.Mutex
	var failed error // fn's first error: the other masters' scans stop
	scanNode := func(ctx context.Context, c goredis.Cmdable) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, pattern, scanCount).Result()
			if err != nil {
				return wrap(err)
			}
			if len(keys) > 0 {
				mu.Lock()
				if failed == nil {
					failed = fn(keys)
				}
				err = failed
				mu.Unlock()
				if err != nil {
					return err
				}
			}
			if next == 0 {
				return nil
			}
			cursor = next
		}
	}
	if cc, ok := s.rdb.(*goredis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error { return scanNode(ctx, c) })
	}
	return scanNode(ctx, s.rdb)
}

// getAll reads the string values of keys in one pipeline; a key gone
// since the scan is left out of the result.
func (s *Store) getAll(ctx context.Context, keys []string) (map[string]string, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*goredis.StringCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.Get(ctx, k)
	}
	_, _ = pipe.Exec(ctx) // each command's error is looked at below
	out := make(map[string]string, len(keys))
	for i, c := range cmds {
		v, err := c.Result()
		switch {
		case err == nil:
			out[keys[i]] = v
		case !errors.Is(err, goredis.Nil):
			return nil, wrap(err)
		}
	}
	return out, nil
}

// ListConsents returns every consent under the key prefix, sorted by user,
// then client; it SCANs every master of a cluster.
func (s *Store) ListConsents(ctx context.Context) ([]*store.Consent, error) {
	found := map[string]*store.Consent{} // by key: SCAN may repeat one
	err := s.scanKeys(ctx, s.keys.p+"consent:", func(keys []string) error {
		vals, err := s.getAll(ctx, keys)
		if err != nil {
			return err
		}
		for k, v := range vals {
			c := new(store.Consent)
			if err := json.Unmarshal([]byte(v), c); err != nil {
				return err
			}
			found[k] = c
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]*store.Consent, 0, len(found))
	for _, c := range found {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *store.Consent) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.ClientID, b.ClientID))
	})
	return out, nil
}

// ListKeys returns every server key under the key prefix, sorted by name;
// it SCANs every master of a cluster.
func (s *Store) ListKeys(ctx context.Context) ([]*store.Key, error) {
	prefix := s.keys.secret("")
	found := map[string][]byte{}
	err := s.scanKeys(ctx, prefix, func(keys []string) error {
		vals, err := s.getAll(ctx, keys)
		if err != nil {
			return err
		}
		for k, v := range vals {
			found[strings.TrimPrefix(k, prefix)] = []byte(v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]*store.Key, 0, len(found))
	for name, v := range found {
		out = append(out, &store.Key{Name: name, Value: v})
	}
	slices.SortFunc(out, func(a, b *store.Key) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// ListTokens calls fn with every live token under the key prefix, one
// SCAN batch at a time (HMGET of each batch pipelined), on every master of
// a cluster. Revocation tombstones (no d field) and tokens expired by this
// node's clock are left out. As SCAN may, a token can be passed twice.
func (s *Store) ListTokens(ctx context.Context, fn func(*store.Token) error) error {
	return s.scanKeys(ctx, s.keys.p+"t:", func(keys []string) error {
		pipe := s.rdb.Pipeline()
		cmds := make([]*goredis.SliceCmd, len(keys))
		for i, k := range keys {
			cmds[i] = pipe.HMGet(ctx, k, "d", "r")
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return wrap(err)
		}
		now := time.Now()
		for _, c := range cmds {
			v := c.Val()
			if len(v) != 2 || v[0] == nil {
				continue // gone or tombstoned since the scan
			}
			t, err := decodeToken(v[0], v[1])
			if err != nil {
				return err
			}
			if expired(t.ExpiresAt, now) {
				continue
			}
			if err := fn(t); err != nil {
				return err
			}
		}
		return nil
	})
}
