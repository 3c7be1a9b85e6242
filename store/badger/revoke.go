package badger

import (
	"context"
	"errors"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// RevokeFamily deletes every live token of a grant family and returns how
// many it deleted.
func (d *DB) RevokeFamily(ctx context.Context, family string) (int, error) {
	return d.revokeIndexed(ctx, prefixFamily, family, func(t *store.Token) bool { return t.Family == family })
}

// RevokeUser deletes every live token of a resource owner and returns how
// many. The empty user (client_credentials tokens) is nobody: 0.
func (d *DB) RevokeUser(ctx context.Context, user string) (int, error) {
	return d.revokeIndexed(ctx, prefixTokenUser, user, func(t *store.Token) bool { return t.User == user })
}

// RevokeClient deletes every live token of a client and returns how many.
func (d *DB) RevokeClient(ctx context.Context, clientID string) (int, error) {
	return d.revokeIndexed(ctx, prefixTokenClient, clientID, func(t *store.Token) bool { return t.ClientID == clientID })
}

// revokeIndexed deletes the tokens under one index prefix in transactions of
// at most d.revokeBatch tokens, so that no revocation outgrows Badger's
// transaction size; if one does anyway (Badger's limit follows the memtable
// size), the batch is halved and retried. Each batch rescans the prefix
// from its start, since the previous batch removed what it found.
//
// Each batch reads the tokens it deletes, so a concurrent RotateRefresh or
// UpdateToken of one of them conflicts with it and one side retries: a
// token is never both rotated and counted as revoked.
func (d *DB) revokeIndexed(ctx context.Context, kind, name string, match func(*store.Token) bool) (n int, err error) {
	if name == "" {
		return 0, nil // empty names are never indexed
	}
	defer func() {
		// After the deletions are committed (versions.go); a failed
		// revocation may have committed some batches.
		if n > 0 || err != nil {
			d.versions.AllTokensChanged()
		}
	}()
	prefix := indexPrefix(kind, name)
	total, batch := 0, d.revokeBatch
	for {
		n, more, err := d.revokeBatchOnce(ctx, prefix, batch, match)
		if errors.Is(err, badgerdb.ErrTxnTooBig) && batch > 1 {
			batch /= 2
			continue
		}
		if err != nil {
			return total, err
		}
		total += n
		if !more {
			return total, nil
		}
	}
}

// revokeBatchOnce deletes up to batch tokens under prefix in one
// transaction, with their index entries. It reports how many live tokens
// it deleted and whether the prefix may hold more. Index entries whose
// token is gone or no longer matches are deleted without counting.
func (d *DB) revokeBatchOnce(ctx context.Context, prefix []byte, batch int, match func(*store.Token) bool) (n int, more bool, err error) {
	err = d.update(ctx, func(txn *badgerdb.Txn) error {
		n, more = 0, false
		keys := indexEntries(txn, prefix, batch)
		more = len(keys) == batch
		for _, k := range keys {
			if err := txn.Delete(k); err != nil {
				return err
			}
			hash, err := hashFromIndexKey(prefix, k)
			if err != nil {
				continue // not ours; deleted above
			}
			t, err := loadToken(txn, hash)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if !match(t) {
				continue
			}
			if err := deleteToken(txn, t); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, more, err
}

// indexEntries returns up to limit keys under prefix.
func indexEntries(txn *badgerdb.Txn, prefix []byte, limit int) [][]byte {
	opts := badgerdb.DefaultIteratorOptions
	opts.Prefix = prefix
	opts.PrefetchValues = false // index entries are empty
	it := txn.NewIterator(opts)
	defer it.Close()
	var keys [][]byte
	for it.Seek(prefix); it.ValidForPrefix(prefix) && len(keys) < limit; it.Next() {
		keys = append(keys, it.Item().KeyCopy(nil))
	}
	return keys
}
