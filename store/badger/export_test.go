package badger

import (
	"context"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// SaveTokensAlone exposes saveTokensAlone (SaveTokens without the group
// commit) to the benchmarks of package badger_test.
func SaveTokensAlone(d *DB, ctx context.Context, ts ...*store.Token) error {
	return d.saveTokensAlone(ctx, ts...)
}

// UseNonceAlone exposes useNonceAlone (UseNonce as one transaction per
// call, without the cache or the group commit) to the benchmarks.
func UseNonceAlone(d *DB, ctx context.Context, key string, ttl time.Duration) (bool, error) {
	return d.useNonceAlone(ctx, key, ttl)
}
