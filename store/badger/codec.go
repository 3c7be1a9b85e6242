package badger

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// valueVersion is the first byte of every stored value; the rest is JSON
// (version 1). A new encoding gets a new byte and decode learns both.
const valueVersion byte = 1

var errBadValue = errors.New("store/badger: stored value has an unknown format")

func encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+len(b))
	out[0] = valueVersion
	copy(out[1:], b)
	return out, nil
}

func decodeBytes(val []byte, v any) error {
	if len(val) == 0 || val[0] != valueVersion {
		return errBadValue
	}
	return json.Unmarshal(val[1:], v)
}

// get reads key into v (json.Unmarshal copies, so Badger's buffer is not
// kept). A missing or Badger-expired key is store.ErrNotFound, wrapped
// with what.
func get(txn *badgerdb.Txn, key []byte, what string, v any) error {
	item, err := txn.Get(key)
	if errors.Is(err, badgerdb.ErrKeyNotFound) {
		return notFound(what)
	}
	if err != nil {
		return err
	}
	return item.Value(func(val []byte) error { return decodeBytes(val, v) })
}

// exists reports whether key is present (and not expired for Badger).
func exists(txn *badgerdb.Txn, key []byte) (bool, error) {
	_, err := txn.Get(key)
	if errors.Is(err, badgerdb.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// set writes key = val expiring at expiresAt (zero: never).
func set(txn *badgerdb.Txn, key, val []byte, expiresAt time.Time) error {
	e := badgerdb.NewEntry(key, val)
	e.ExpiresAt = badgerExpiry(expiresAt)
	return txn.SetEntry(e)
}

// badgerExpiry converts an exact expiry into Badger's TTL, whole Unix
// seconds after which Badger hides the item. It rounds up, so Badger never
// drops an item before it is due; the methods compare the exact ExpiresAt
// themselves (expired) for the last fraction of a second. Entry.WithTTL
// would round down, dropping items up to a second early.
func badgerExpiry(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	if s < 1 {
		return 1 // long past: Badger treats it as expired
	}
	return uint64(s)
}

// expired reports whether an item expiring at expiresAt is dead at now.
func expired(expiresAt, now time.Time) bool {
	return !expiresAt.IsZero() && !now.Before(expiresAt)
}

// notFound and friends wrap a sentinel with what was looked up (never a
// secret or hash), for errors.Is callers and readable logs.
func notFound(what string) error { return fmt.Errorf("%s: %w", what, store.ErrNotFound) }

func alreadyExists(what string) error { return fmt.Errorf("%s: %w", what, store.ErrExists) }

// zeroTime marks an item that never expires.
var zeroTime time.Time
