package oauth2

import (
	"context"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// Limits of the user-code throttle (RFC 8628 §5.1). A wrong user code
// counts against the signed-in user, the client's address and the whole
// server; a key that reached its limit within deviceThrottleWindow is
// refused for deviceThrottleWindow. Per device code, that bounds the
// guesses any one account or address makes during the code's lifetime
// (10 minutes by default) to deviceKeyFailures, and the guesses of
// everyone together to deviceServerFailures per window: at most 1000 of
// the 20^8 ≈ 2.6 × 10^10 codes, a chance of 4 × 10^-8 that a given code
// is hit.
const (
	deviceKeyFailures    = 5
	deviceServerFailures = 1000
	deviceThrottleWindow = 15 * time.Minute
	// deviceServerKey is the server-wide key; no user or address is "".
	deviceServerKey = ""
)

// deviceAttemptKey is key's counter in the store's attempt counters, apart
// from the login form's (provider/login counts "login:...").
func deviceAttemptKey(k string) string { return "device:" + k }

func deviceLimit(k string) store.AttemptLimit {
	max := deviceKeyFailures
	if k == deviceServerKey {
		max = deviceServerFailures
	}
	return store.AttemptLimit{Max: max, Window: deviceThrottleWindow, Lockout: deviceThrottleWindow}
}

// beginDeviceAttempt reserves a user-code attempt under every key in the
// store's attempt counters, which every node sharing the store shares (a
// guesser cannot spread guesses over nodes), or reports how long until
// one would be allowed. An attempt in flight counts as a failure in
// advance, so parallel requests cannot pass the limit. A store error is
// returned: the attempt is then refused (fail closed).
func (s *Server) beginDeviceAttempt(ctx context.Context, keys []string) (ok bool, retryAfter time.Duration, err error) {
	now := s.now()
	var reserved []string
	for _, k := range keys {
		got, wait, err := s.st.BeginAttempt(ctx, deviceAttemptKey(k), now, deviceLimit(k))
		if err != nil || !got {
			s.endDeviceAttempt(ctx, reserved, false) // give back what was taken
			return false, wait, err
		}
		reserved = append(reserved, k)
	}
	return true, 0, nil
}

// endDeviceAttempt settles the reservations: a wrong code counts as a
// failure under every key; anything else is no failure, and clears
// nothing (a right code says nothing about the other guesses).
func (s *Server) endDeviceAttempt(ctx context.Context, keys []string, failed bool) {
	// Settled even if the request went away: an unsettled reservation
	// would count as a failure until its window passes.
	ctx = context.WithoutCancel(ctx)
	o := store.AttemptCancelled
	if failed {
		o = store.AttemptFailed
	}
	now := s.now()
	for _, k := range keys {
		_ = s.st.EndAttempt(ctx, deviceAttemptKey(k), now, deviceLimit(k), o) // fail-safe: see store.AttemptStore
	}
}
