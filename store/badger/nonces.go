package badger

import (
	"context"
	"errors"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// nonceRecord is what a used nonce leaves behind.
type nonceRecord struct {
	ExpiresAt time.Time `json:"expires_at"`
}

var errNonceTTL = errors.New("store/badger: nonce ttl must be positive")

// UseNonce records key for ttl and reports whether it was new (RFC 5849
// §3.3), in one transaction: of concurrent uses of one key, the losers
// conflict, retry and see it used. The ttl must be positive, so the nonce
// records stay bounded; the record survives restarts.
func (d *DB) UseNonce(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, errNonceTTL
	}
	k := nonceKey(key)
	var fresh bool
	err := d.update(ctx, func(txn *badgerdb.Txn) error {
		fresh = false
		now := time.Now()
		var rec nonceRecord
		err := get(txn, k, "nonce", &rec)
		if err == nil && !expired(rec.ExpiresAt, now) {
			return nil // replay
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		rec.ExpiresAt = now.Add(ttl)
		val, err := encode(rec)
		if err != nil {
			return err
		}
		fresh = true
		return set(txn, k, val, rec.ExpiresAt)
	})
	if err != nil {
		return false, err
	}
	return fresh, nil
}
