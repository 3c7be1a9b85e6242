package badger

import (
	"context"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// SaveTokensAlone exposes saveTokensAlone (SaveTokens without the group
// commit) to the benchmarks of package badger_test.
func SaveTokensAlone(d *DB, ctx context.Context, ts ...*store.Token) error {
	return d.saveTokensAlone(ctx, ts...)
}
