package badger

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// listBatch is how many tokens ListTokens reads per read transaction, so
// that its callback runs outside any transaction and memory stays bounded.
const listBatch = 256

// ListConsents returns every consent, sorted by user, then client. The
// keys hold escaped names, whose order is not quite that of the names, so
// the list is sorted after the scan.
func (d *DB) ListConsents(ctx context.Context) ([]*store.Consent, error) {
	var out []*store.Consent
	err := d.view(ctx, func(txn *badgerdb.Txn) error {
		return scan(txn, []byte(prefixConsent), func(val []byte) error {
			c := new(store.Consent)
			if err := decodeBytes(val, c); err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *store.Consent) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.ClientID, b.ClientID))
	})
	return out, nil
}

// ListKeys returns every stored key, sorted by name.
func (d *DB) ListKeys(ctx context.Context) ([]*store.Key, error) {
	var out []*store.Key
	err := d.view(ctx, func(txn *badgerdb.Txn) error {
		prefix := []byte(prefixKey)
		opts := badgerdb.DefaultIteratorOptions
		opts.Prefix = prefix
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			item := it.Item()
			k := &store.Key{Name: string(item.Key()[len(prefix):])}
			err := item.Value(func(val []byte) error {
				if len(val) == 0 || val[0] != valueVersion {
					return errBadValue
				}
				k.Value = bytes.Clone(val[1:])
				return nil
			})
			if err != nil {
				return err
			}
			out = append(out, k)
		}
		return nil
	})
	return out, err
}

// ListTokens calls fn with every live token, listBatch at a time: each
// batch is read in its own transaction, resuming after the last key read,
// and fn runs between transactions.
func (d *DB) ListTokens(ctx context.Context, fn func(*store.Token) error) error {
	prefix := []byte(prefixToken)
	seek := prefix
	for {
		batch := make([]*store.Token, 0, listBatch)
		var last []byte
		err := d.view(ctx, func(txn *badgerdb.Txn) error {
			opts := badgerdb.DefaultIteratorOptions
			opts.Prefix = prefix
			it := txn.NewIterator(opts)
			defer it.Close()
			now := time.Now()
			n := 0
			for it.Seek(seek); it.ValidForPrefix(prefix) && n < listBatch; it.Next() {
				item := it.Item()
				if bytes.Equal(item.Key(), seek) {
					continue // read by the previous batch
				}
				n++
				last = item.KeyCopy(last[:0])
				t := new(store.Token)
				if err := item.Value(func(val []byte) error { return decodeBytes(val, t) }); err != nil {
					return err
				}
				if !expired(t.ExpiresAt, now) {
					batch = append(batch, t)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, t := range batch {
			if err := fn(t); err != nil {
				return err
			}
		}
		if last == nil {
			return nil
		}
		seek = last
	}
}
