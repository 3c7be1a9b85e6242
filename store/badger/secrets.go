package badger

import (
	"context"
	"errors"
	"fmt"

	badgerdb "github.com/dgraph-io/badger/v4"
)

// LoadOrCreateKey returns the server secret stored under name, or stores
// and returns generate()'s value, in one transaction. When two callers race
// both may run generate, but the loser's transaction conflicts and its
// retry returns the winner's value, so everyone agrees on one key. The
// value is stored as the version byte followed by the raw bytes.
func (d *DB) LoadOrCreateKey(ctx context.Context, name string, generate func() ([]byte, error)) ([]byte, error) {
	key := secretKey(name)
	var out []byte
	err := d.update(ctx, func(txn *badgerdb.Txn) error {
		out = nil
		item, err := txn.Get(key)
		if err == nil {
			return item.Value(func(val []byte) error {
				if len(val) == 0 || val[0] != valueVersion {
					return errBadValue
				}
				out = append([]byte{}, val[1:]...)
				return nil
			})
		}
		if !errors.Is(err, badgerdb.ErrKeyNotFound) {
			return err
		}
		gen, err := generate()
		if err != nil {
			return fmt.Errorf("store/badger: generating key %q: %w", name, err)
		}
		out = append([]byte{}, gen...)
		return set(txn, key, append([]byte{valueVersion}, gen...), zeroTime)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
