package badger

import (
	"context"
	"crypto/sha256"
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
// §3.3). It is on the path of every OAuth 1-signed request, so it costs a
// map lookup for a replay the process remembers and shares its fsync with
// concurrent writers otherwise (NoncesDurable):
//
//  1. The nonce cache (noncecache.go) answers "used" for a key this
//     process used recently; otherwise the key is claimed there, so a
//     duplicate racing this call is refused at once.
//  2. The record is written through the group committer with a
//     check-and-set: inside the shared transaction the key is read, and
//     if a live record is there (a use before a restart, or one the cache
//     forgot) nothing is written and the answer is "used".
//  3. "Fresh" is answered only after that transaction is durable, so a
//     replay after a restart or a crash is still refused. If the write
//     fails, the claim is released and the error returned.
//
// Atomicity rests on Badger, not on the cache: two uses of one key in one
// batch see each other (a transaction reads its own pending writes), and
// uses in different transactions conflict on the key they both read, so
// the later one is re-run and sees the earlier record. The cache only ever
// adds refusals that are true. Badger's transactions order the commits of
// one process; a second process on the same directory could not see them,
// but Badger's directory lock refuses to open a directory another process
// holds, so one process per database is guaranteed.
//
// With NoncesPageCache, step 2 is an unsynced transaction of its own on
// the nonce database, and step 3 answers once it is committed (in the
// page cache, not yet on disk).
//
// The ttl must be positive, so the nonce records stay bounded.
func (d *DB) UseNonce(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, errNonceTTL
	}
	sum := sha256Of(key)
	now := time.Now()
	exp := now.Add(ttl)
	id := nonceID(sum[:len(nonceID{})])
	sh := d.nonces.shard(&sum)
	used, claimed := sh.claim(id, now.UnixNano(), exp.UnixNano())
	if used {
		return false, nil
	}
	release := func() {
		if claimed {
			sh.release(id, exp.UnixNano())
		}
	}

	// Encoded here, not in the committer's serial apply.
	val := encodeNonceRecord(exp)
	k := hashKey(prefixNonce, sum[:])
	var replay bool // written by apply, read only after the write returned nil
	apply := func(txn *badgerdb.Txn) error {
		live, err := liveNonce(txn, k)
		if err != nil {
			return err
		}
		replay = live
		if live {
			return nil // used before: write nothing
		}
		return set(txn, k, val, exp)
	}
	var err error
	if d.nonceDB == d.db {
		err = d.groupWrite(ctx, apply)
	} else {
		// NoncesPageCache: nothing to sync, so nothing to group; Badger
		// batches concurrent commits itself.
		err = retryUpdate(ctx, d.nonceDB, apply)
	}
	if err != nil {
		// The write may still land (ctx ended while it was queued): then
		// the record refuses the key, as the claim would have.
		release()
		return false, err
	}
	if replay {
		// Refused by a record the cache did not hold; keep the cache a
		// mirror of the records rather than extend this key's life.
		release()
		return false, nil
	}
	return true, nil
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

// encodeNonceRecord is encode(nonceRecord{ExpiresAt: exp}), byte for byte,
// without the reflection: every OAuth 1 request writes one.
func encodeNonceRecord(exp time.Time) []byte {
	const head, tail = `{"expires_at":"`, `"}`
	b := make([]byte, 0, 1+len(head)+len(time.RFC3339Nano)+len(tail)+8)
	b = append(b, valueVersion)
	b = append(b, head...)
	b = exp.AppendFormat(b, time.RFC3339Nano)
	return append(b, tail...)
}

// liveNonce reports whether an unexpired record of the nonce is stored
// under k. Badger hides it after its TTL (whole seconds, rounded up); the
// exact expiry covers the last fraction of a second.
func liveNonce(txn *badgerdb.Txn, k []byte) (bool, error) {
	item, err := txn.Get(k)
	if errors.Is(err, badgerdb.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var rec nonceRecord
	if err := item.Value(func(val []byte) error { return decodeBytes(val, &rec) }); err != nil {
		return false, err
	}
	return !expired(rec.ExpiresAt, time.Now()), nil
}

// useNonceAlone is UseNonce as it was before the cache and the group
// commit: one read-modify-write transaction and one fsync per call. It is
// kept for the benchmark's comparison (BenchmarkUseNonceDurable).
func (d *DB) useNonceAlone(ctx context.Context, key string, ttl time.Duration) (bool, error) {
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
