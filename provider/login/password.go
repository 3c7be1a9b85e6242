package login

import (
	"context"

	"github.com/caddy-oauth/caddy-oauth/provider"
)

// CheckPassword checks a resource owner's password outside the login form
// (the OAuth 2 password grant) under the login form's brute-force limits,
// so the token endpoint is not a way around them: the same counters per
// username and per address (Config.ContextClientIP), and while either is
// locked provider.ErrTooManyAttempts without checking the password. An
// error of the counters' store is returned as is, the password unchecked.
// It makes the Manager a provider.PasswordChecker.
func (m *Manager) CheckPassword(ctx context.Context, username, password string) (bool, error) {
	ip := ""
	if m.cfg.ContextClientIP != nil {
		ip = m.cfg.ContextClientIP(ctx)
	}
	keys := attemptKeys(username, ip)
	ok, _, err := m.begin(ctx, keys)
	if err != nil {
		return false, err
	}
	if !ok {
		return false, provider.ErrTooManyAttempts
	}
	result := aborted
	defer func() { m.end(ctx, result, keys) }()
	good, err := m.cfg.Passwords.CheckPassword(ctx, username, password)
	switch {
	case err != nil:
	case good:
		result = succeeded
	default:
		result = failed
	}
	return good, err
}

var _ provider.PasswordChecker = (*Manager)(nil)
