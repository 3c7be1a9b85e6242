package redis

import (
	"errors"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/redis/redistest"
)

// An attempt counter lives until its lockout or its last window ends,
// measured from the caller's time (here far in the past), and a counter
// holding nothing is deleted. An unreachable Redis is ErrUnavailable, so
// the login refuses the attempt rather than let it through unchecked.
func TestAttemptCountersCarryTheirTTL(t *testing.T) {
	srv := redistest.StartServer(t)
	s := open(t, Options{Addresses: []string{srv.Addr}, KeyPrefix: freshPrefix(t)})
	defer s.Close()
	ctx := t.Context()
	lim := store.AttemptLimit{Max: 2, Window: 10 * time.Minute, Lockout: 30 * time.Minute}
	then := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	key := s.keys.attempt("k")
	pttl := func(what string, want time.Duration) {
		t.Helper()
		got, err := s.rdb.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got > want || got < want-5*time.Second {
			t.Errorf("%s: PTTL %v, want about %v", what, got, want)
		}
	}
	mustBegin := func() {
		t.Helper()
		if ok, _, err := s.BeginAttempt(ctx, "k", then, lim); !ok || err != nil {
			t.Fatalf("BeginAttempt: %v, %v", ok, err)
		}
	}
	end := func(o store.AttemptOutcome) {
		t.Helper()
		if err := s.EndAttempt(ctx, "k", then, lim, o); err != nil {
			t.Fatal(err)
		}
	}
	mustBegin()
	pttl("a reservation", lim.Window)
	end(store.AttemptFailed)
	pttl("a failure", lim.Window)
	mustBegin()
	end(store.AttemptFailed)
	pttl("a lockout", lim.Lockout)

	end(store.AttemptSucceeded)
	mustBegin()
	end(store.AttemptCancelled)
	if n, err := s.rdb.Exists(ctx, key).Result(); n != 0 || err != nil {
		t.Fatalf("a clean counter is still stored: %d, %v", n, err)
	}

	srv.Stop()
	if ok, _, err := s.BeginAttempt(ctx, "k", then, lim); ok || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("BeginAttempt with Redis down: %v, %v; want ErrUnavailable", ok, err)
	}
	if err := s.EndAttempt(ctx, "k", then, lim, store.AttemptFailed); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("EndAttempt with Redis down: %v; want ErrUnavailable", err)
	}
}
