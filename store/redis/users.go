package redis

import (
	"context"

	"github.com/caddy-oauth/caddy-oauth/store"
)

var userRecords = records[store.User]{
	what: "user",
	key:  keys.users,
	name: func(u *store.User) string { return u.Username },
}

// CreateUser stores a new user; store.ErrExists if the name is taken.
func (s *Store) CreateUser(ctx context.Context, u *store.User) error {
	return userRecords.create(ctx, s, u)
}

// GetUser returns a user; store.ErrNotFound if there is none.
func (s *Store) GetUser(ctx context.Context, username string) (*store.User, error) {
	return userRecords.get(ctx, s, username)
}

// ListUsers returns every user, sorted by username.
func (s *Store) ListUsers(ctx context.Context) ([]*store.User, error) {
	return userRecords.list(ctx, s)
}

// UpdateUser replaces a user; store.ErrNotFound if none.
func (s *Store) UpdateUser(ctx context.Context, u *store.User) error {
	return userRecords.update(ctx, s, u)
}

// DeleteUser removes a user; store.ErrNotFound if none. The user's tokens
// stay until the caller revokes them (RevokeUser).
func (s *Store) DeleteUser(ctx context.Context, username string) error {
	return userRecords.delete(ctx, s, username)
}
