package login

import (
	"context"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// The counters of the brute-force policy (see the package documentation)
// live in the store (Config.Attempts), so every server sharing it shares
// them. An attempt is counted under the username and, if known, the
// client's address, each a key of its own: prefixed, so the username "x"
// and the address "x" are different counters.
const (
	userKeyPrefix = "login:user:"
	addrKeyPrefix = "login:addr:"
)

// outcome is how an attempt ended.
type outcome int

const (
	failed    outcome = iota // wrong username or password
	succeeded                // signed in
	aborted                  // no answer (store error): not counted
)

// attemptKeys are the counter keys of an attempt: the username's first,
// then the address's unless ip is "".
func attemptKeys(username, ip string) []string {
	keys := []string{userKeyPrefix + username}
	if ip != "" {
		keys = append(keys, addrKeyPrefix+addressKey(ip))
	}
	return keys
}

// begin reserves an attempt under every key, or reports how long until
// one would be allowed if any key is locked or has no attempts left; the
// reservations it made are then returned. Every key is asked, so the
// answer is the longest wait. A store error is returned for the caller to
// refuse the attempt (fail closed).
func (m *Manager) begin(ctx context.Context, keys []string) (ok bool, retryAfter time.Duration, err error) {
	now := m.now()
	reserved := make([]string, 0, len(keys))
	refused := false
	for _, k := range keys {
		ok, retry, err := m.cfg.Attempts.BeginAttempt(ctx, k, now, m.limit)
		if err != nil {
			m.settle(ctx, store.AttemptCancelled, reserved)
			return false, 0, err
		}
		if ok {
			reserved = append(reserved, k)
		} else {
			refused, retryAfter = true, max(retryAfter, retry)
		}
	}
	if refused {
		m.settle(ctx, store.AttemptCancelled, reserved)
		return false, max(retryAfter, time.Second), nil
	}
	return true, 0, nil
}

// end settles the attempt begin reserved under keys. A failure is counted
// under every key; a success clears the username's key (the first) only,
// so one known account does not buy a password sprayer fresh guesses from
// its address.
func (m *Manager) end(ctx context.Context, o outcome, keys []string) {
	switch o {
	case failed:
		m.settle(ctx, store.AttemptFailed, keys)
	case succeeded:
		m.settle(ctx, store.AttemptSucceeded, keys[:1])
		m.settle(ctx, store.AttemptCancelled, keys[1:])
	default:
		m.settle(ctx, store.AttemptCancelled, keys)
	}
}

// settle ends the reservations of keys with o. It runs even if the
// request's context was cancelled (a client that hung up must not leave
// its reservation standing), and it ignores errors: a reservation not
// settled counts as a failure until the window has passed, the safe side.
func (m *Manager) settle(ctx context.Context, o store.AttemptOutcome, keys []string) {
	ctx = context.WithoutCancel(ctx)
	now := m.now()
	for _, k := range keys {
		_ = m.cfg.Attempts.EndAttempt(ctx, k, now, m.limit, o)
	}
}
