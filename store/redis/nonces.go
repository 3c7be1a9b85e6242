package redis

import (
	"context"
	"time"
)

// UseNonce records key for ttl and reports whether it was new (RFC 5849
// §3.3): one SET NX PX, atomic across every node. The ttl must be
// positive, so the records stay bounded.
func (s *Store) UseNonce(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, errNonceTTL
	}
	ok, err := s.rdb.SetNX(ctx, s.keys.nonce(key), "1", max(ttl, time.Millisecond)).Result()
	if err != nil {
		return false, wrap(err)
	}
	return ok, nil
}
