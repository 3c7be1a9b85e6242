package badger

import (
	"context"
	"errors"

	"github.com/caddy-oauth/caddy-oauth/store"
)

var errNoUsername = errors.New("store/badger: user without username")

// userRecords are the resource owners, by username.
var userRecords = &records[store.User]{
	what:      "user",
	key:       userKey,
	prefix:    prefixUser,
	name:      func(u *store.User) string { return u.Username },
	errNoName: errNoUsername,
}

// CreateUser stores a new user; store.ErrExists if the name is taken.
func (d *DB) CreateUser(ctx context.Context, u *store.User) error {
	return userRecords.create(ctx, d, u)
}

// GetUser returns the user; store.ErrNotFound if none.
func (d *DB) GetUser(ctx context.Context, username string) (*store.User, error) {
	return userRecords.get(ctx, d, username)
}

// ListUsers returns every user, sorted by username.
func (d *DB) ListUsers(ctx context.Context) ([]*store.User, error) {
	return userRecords.list(ctx, d)
}

// UpdateUser replaces an existing user; store.ErrNotFound if none.
func (d *DB) UpdateUser(ctx context.Context, u *store.User) error {
	return userRecords.update(ctx, d, u)
}

// DeleteUser removes a user; store.ErrNotFound if none. Their tokens are
// the caller's to revoke (RevokeUser).
func (d *DB) DeleteUser(ctx context.Context, username string) error {
	return userRecords.delete(ctx, d, username)
}
