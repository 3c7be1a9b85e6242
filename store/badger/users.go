package badger

import (
	"context"
	"errors"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/caddy-oauth/caddy-oauth/store"
)

var errNoUsername = errors.New("store/badger: user without username")

// CreateUser stores a new user; store.ErrExists if the name is taken.
func (d *DB) CreateUser(ctx context.Context, u *store.User) error {
	if u == nil || u.Username == "" {
		return errNoUsername
	}
	val, err := encode(u)
	if err != nil {
		return err
	}
	key := userKey(u.Username)
	return d.update(ctx, func(txn *badgerdb.Txn) error {
		found, err := exists(txn, key)
		if err != nil {
			return err
		}
		if found {
			return alreadyExists("user")
		}
		return set(txn, key, val, zeroTime)
	})
}

// GetUser returns the user; store.ErrNotFound if none.
func (d *DB) GetUser(ctx context.Context, username string) (*store.User, error) {
	u := new(store.User)
	err := d.view(ctx, func(txn *badgerdb.Txn) error {
		return get(txn, userKey(username), "user", u)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// ListUsers returns every user, sorted by username.
func (d *DB) ListUsers(ctx context.Context) ([]*store.User, error) {
	var out []*store.User
	err := d.view(ctx, func(txn *badgerdb.Txn) error {
		return scan(txn, []byte(prefixUser), func(val []byte) error {
			u := new(store.User)
			if err := decodeBytes(val, u); err != nil {
				return err
			}
			out = append(out, u)
			return nil
		})
	})
	return out, err
}

// UpdateUser replaces an existing user; store.ErrNotFound if none.
func (d *DB) UpdateUser(ctx context.Context, u *store.User) error {
	if u == nil || u.Username == "" {
		return errNoUsername
	}
	val, err := encode(u)
	if err != nil {
		return err
	}
	return d.replace(ctx, userKey(u.Username), "user", val)
}

// DeleteUser removes a user; store.ErrNotFound if none. Their tokens are
// the caller's to revoke (RevokeUser).
func (d *DB) DeleteUser(ctx context.Context, username string) error {
	return d.remove(ctx, userKey(username), "user")
}
