package badger

import (
	"context"
	"errors"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/caddy-oauth/caddy-oauth/store"
)

var errNoHash = errors.New("store/badger: item without hash")

// SaveCode stores an authorization code until its ExpiresAt (group
// committed with concurrent writes, durable on return).
func (d *DB) SaveCode(ctx context.Context, c *store.Code) error {
	if c == nil || len(c.Hash) == 0 {
		return errNoHash
	}
	val, err := encode(c)
	if err != nil {
		return err
	}
	return d.groupWrite(ctx, func(txn *badgerdb.Txn) error {
		return set(txn, codeKey(c.Hash), val, c.ExpiresAt)
	})
}

// ConsumeCode marks the code used and returns it in one transaction; a
// concurrent redemption conflicts, is retried and then sees the code
// consumed. The consumed code keeps its original expiry, so a replay is
// recognized (store.ErrConsumed, with the code) for the code's lifetime
// (RFC 6749 §4.1.2: the family must then be revoked).
func (d *DB) ConsumeCode(ctx context.Context, hash []byte) (*store.Code, error) {
	var code *store.Code
	key := codeKey(hash)
	err := d.update(ctx, func(txn *badgerdb.Txn) error {
		code = new(store.Code)
		if err := get(txn, key, "code", code); err != nil {
			return err
		}
		if expired(code.ExpiresAt, time.Now()) {
			return notFound("code")
		}
		if code.Consumed {
			return store.ErrConsumed
		}
		code.Consumed = true
		val, err := encode(code)
		if err != nil {
			return err
		}
		return set(txn, key, val, code.ExpiresAt)
	})
	switch {
	case err == nil:
		return code, nil
	case errors.Is(err, store.ErrConsumed):
		return code, err
	default:
		return nil, err
	}
}
