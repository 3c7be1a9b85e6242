package badger

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"
)

// nonceRecord is what a used nonce leaves behind.
type nonceRecord struct {
	ExpiresAt time.Time `json:"expires_at"`
}

var errNonceTTL = errors.New("store/badger: nonce ttl must be positive")

// UseNonce records key for ttl and reports whether it was new (RFC 5849
// §3.3). It is on the path of every OAuth 1-signed request, so it is a
// map lookup and insert in the nonce journal, which holds every live
// nonce, and an 8-byte append to the journal file, synced before the
// answer with NoncesDurable (concurrent callers share one sync) and left
// in the page cache with NoncesPageCache (noncejournal.go). "Fresh" is
// answered only after the append, so a replay after a restart or a crash
// is refused; of two concurrent uses of one key exactly one is fresh (the
// check and the insert are one step under the key's shard lock). The ttl
// must be positive, so the journal stays bounded.
func (d *DB) UseNonce(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, errNonceTTL
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	sum := sha256Of(key)
	now := time.Now()
	return d.nonces.use(binary.LittleEndian.Uint64(sum[:8]), now, now.Add(ttl))
}

// carryOverNonces moves the live nonce records older versions kept in
// Badger (in this database, or in the unsynced one of page-cache mode)
// into the journal, syncs it, and deletes them, so an upgrade does not
// make a recent request replayable.
func (d *DB) carryOverNonces(opts Options, log *slog.Logger) error {
	now := time.Now()
	carry := func(db *badgerdb.DB) (int, error) {
		n := 0
		err := db.View(func(txn *badgerdb.Txn) error {
			it := txn.NewIterator(badgerdb.IteratorOptions{Prefix: []byte(prefixNonce)})
			defer it.Close()
			for it.Rewind(); it.Valid(); it.Next() {
				item := it.Item()
				var id [8]byte
				if _, err := hex.Decode(id[:], item.Key()[len(prefixNonce):][:min(16, len(item.Key())-len(prefixNonce))]); err != nil {
					continue // not a key this store wrote
				}
				var rec nonceRecord
				if err := item.Value(func(val []byte) error { return decodeBytes(val, &rec) }); err != nil {
					return err
				}
				if err := d.nonces.restore(binary.LittleEndian.Uint64(id[:]), now, rec.ExpiresAt); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		return n, err
	}
	n, err := carry(d.db)
	if err != nil {
		return fmt.Errorf("store/badger: carrying over nonce records: %w", err)
	}
	legacy := filepath.Join(opts.Dir, legacyNonceDBDir)
	if _, statErr := os.Stat(legacy); !opts.InMemory && statErr == nil {
		ndb, err := openLegacyNonceDB(legacy, log)
		if err != nil {
			return err
		}
		m, err := carry(ndb)
		ndb.Close()
		if err != nil {
			return fmt.Errorf("store/badger: carrying over nonce records: %w", err)
		}
		n += m
	}
	if n == 0 {
		return nil
	}
	if err := d.nonces.syncAll(); err != nil {
		return err
	}
	if err := d.db.DropPrefix([]byte(prefixNonce)); err != nil {
		return fmt.Errorf("store/badger: dropping carried-over nonce records: %w", err)
	}
	if !opts.InMemory {
		if err := os.RemoveAll(legacy); err != nil {
			return fmt.Errorf("store/badger: removing the old nonce database: %w", err)
		}
	}
	log.Info("carried nonce records over into the nonce journal", "nonces", n)
	return nil
}

// sha256Of hashes key, from a stack buffer for the usual short keys (the
// OAuth 1 engine's are 50 bytes), where []byte(key) would allocate.
func sha256Of(key string) [32]byte {
	var buf [128]byte
	if len(key) <= len(buf) {
		return sha256.Sum256(buf[:copy(buf[:], key)])
	}
	return sha256.Sum256([]byte(key))
}
