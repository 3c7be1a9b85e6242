package badger

import (
	"context"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// SaveSession stores a login session until its ExpiresAt (group
// committed with concurrent writes, durable on return).
func (d *DB) SaveSession(ctx context.Context, s *store.Session) error {
	if s == nil || len(s.Hash) == 0 {
		return errNoHash
	}
	val, err := encode(s)
	if err != nil {
		return err
	}
	return d.groupWrite(ctx, func(txn *badgerdb.Txn) error {
		return set(txn, sessionKey(s.Hash), val, s.ExpiresAt)
	})
}

// GetSession returns a live session; missing or expired is
// store.ErrNotFound.
func (d *DB) GetSession(ctx context.Context, hash []byte) (*store.Session, error) {
	s := new(store.Session)
	err := d.view(ctx, func(txn *badgerdb.Txn) error {
		return get(txn, sessionKey(hash), "session", s)
	})
	if err != nil {
		return nil, err
	}
	if expired(s.ExpiresAt, time.Now()) {
		return nil, notFound("session")
	}
	return s, nil
}

// DeleteSession removes a session; deleting one that is already gone (a
// second logout, an expired cookie) is not an error.
func (d *DB) DeleteSession(ctx context.Context, hash []byte) error {
	if len(hash) == 0 {
		return nil
	}
	return d.update(ctx, func(txn *badgerdb.Txn) error {
		return txn.Delete(sessionKey(hash))
	})
}
