package provider

import (
	"context"
	"errors"
)

// PasswordChecker verifies a resource owner's password (login form, OAuth 2
// password grant). The Caddy glue implements it with Caddy's own bcrypt and
// argon2id comparers over static users and the store, so the engine needs
// neither; it must take the same time for unknown users as for known ones.
type PasswordChecker interface {
	CheckPassword(ctx context.Context, username, password string) (bool, error)
}

// ErrTooManyAttempts is what a rate-limited PasswordChecker returns, without
// checking the password, while the username or the caller's address is
// locked out after repeated failures.
var ErrTooManyAttempts = errors.New("too many failed sign-in attempts; try again later")
