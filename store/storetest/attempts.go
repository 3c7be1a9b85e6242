package storetest

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// testAttempts checks the login attempt counters. Every call passes its
// time, so the tests move that clock instead of waiting; times are whole
// milliseconds, which every backend keeps exactly.
func (h harness) testAttempts(t *testing.T) {
	lim := store.AttemptLimit{Max: 3, Window: 10 * time.Minute, Lockout: 15 * time.Minute}

	// at is a test's store, start time T and limit.
	type at struct {
		t   *testing.T
		s   store.Store
		T   time.Time
		lim store.AttemptLimit
	}
	open := func(t *testing.T) *at { return &at{t, h.store(t), now(), lim} }
	begin := func(a *at, key string, when time.Time) (bool, time.Duration) {
		a.t.Helper()
		ok, retry, err := a.s.BeginAttempt(a.t.Context(), key, when, a.lim)
		mustErr(a.t, "BeginAttempt", err, nil)
		if ok != (retry == 0) {
			a.t.Fatalf("BeginAttempt(%q) = %v with retry %v", key, ok, retry)
		}
		return ok, retry
	}
	end := func(a *at, key string, when time.Time, o store.AttemptOutcome) {
		a.t.Helper()
		mustErr(a.t, "EndAttempt", a.s.EndAttempt(a.t.Context(), key, when, a.lim, o), nil)
	}
	allowed := func(a *at, key string, when time.Time) {
		a.t.Helper()
		if ok, retry := begin(a, key, when); !ok {
			a.t.Fatalf("%q at +%v: refused for %v, want allowed", key, when.Sub(a.T), retry)
		}
	}
	refused := func(a *at, key string, when time.Time, wantRetry time.Duration) {
		a.t.Helper()
		ok, retry := begin(a, key, when)
		if ok || (wantRetry > 0 && retry != wantRetry) || retry <= 0 {
			a.t.Fatalf("%q at +%v: allowed %v, retry %v; want refused for %v", key, when.Sub(a.T), ok, retry, wantRetry)
		}
	}
	fail := func(a *at, key string, when time.Time, n int) {
		a.t.Helper()
		for range n {
			allowed(a, key, when)
			end(a, key, when, store.AttemptFailed)
		}
	}

	t.Run("max failures within the window lock the key for the lockout", func(t *testing.T) {
		a := open(t)
		T := a.T
		fail(a, "user:alice", T, 1)
		fail(a, "user:alice", T.Add(time.Minute), lim.Max-2)
		// Not locked one failure short of Max.
		allowed(a, "user:alice", T.Add(2*time.Minute))
		end(a, "user:alice", T.Add(2*time.Minute), store.AttemptFailed)
		refused(a, "user:alice", T.Add(2*time.Minute), lim.Lockout)
		refused(a, "user:alice", T.Add(7*time.Minute), lim.Lockout-5*time.Minute)
		refused(a, "user:alice", T.Add(2*time.Minute+lim.Lockout-time.Millisecond), time.Millisecond)
	})

	t.Run("a lockout ends after its duration, with the failures that caused it", func(t *testing.T) {
		a := open(t)
		// A lockout shorter than the window, so its failures would
		// still be inside the window when it ends.
		a.lim.Lockout = a.lim.Window / 2
		T := a.T
		fail(a, "k", T, lim.Max)
		refused(a, "k", T, a.lim.Lockout)
		after := T.Add(a.lim.Lockout)
		// Max-1 new failures do not lock again: the old ones are gone.
		fail(a, "k", after, lim.Max-1)
		allowed(a, "k", after)
	})

	t.Run("failures older than the window are forgotten", func(t *testing.T) {
		a := open(t)
		T := a.T
		fail(a, "k", T, lim.Max-1)
		later := T.Add(lim.Window)
		fail(a, "k", later, lim.Max-1)
		allowed(a, "k", later)
	})

	t.Run("a failure without a reservation still counts", func(t *testing.T) {
		a := open(t)
		T := a.T
		for range lim.Max {
			end(a, "k", T, store.AttemptFailed)
		}
		refused(a, "k", T, lim.Lockout)
	})

	t.Run("reservations count as failures in advance", func(t *testing.T) {
		a := open(t)
		T := a.T
		fail(a, "k", T, 1)
		for range lim.Max - 1 {
			allowed(a, "k", T.Add(time.Minute))
		}
		// Full, not locked: refused, and allowed again once the failure
		// leaves the window (the reservations are a minute younger).
		refused(a, "k", T.Add(2*time.Minute), lim.Window-2*time.Minute)
		allowed(a, "k", T.Add(lim.Window))
	})

	t.Run("success clears the key's failures", func(t *testing.T) {
		a := open(t)
		T := a.T
		fail(a, "user:alice", T, lim.Max-1)
		allowed(a, "user:alice", T)
		end(a, "user:alice", T, store.AttemptSucceeded)
		fail(a, "user:alice", T, lim.Max-1)
		allowed(a, "user:alice", T)
	})

	t.Run("a cancelled attempt returns its reservation uncounted", func(t *testing.T) {
		a := open(t)
		T := a.T
		for range lim.Max {
			allowed(a, "k", T)
		}
		refused(a, "k", T, 0)
		end(a, "k", T, store.AttemptCancelled)
		allowed(a, "k", T)
		for range lim.Max {
			end(a, "k", T, store.AttemptCancelled)
		}
		// Nothing was counted: Max-1 failures leave one attempt.
		fail(a, "k", T, lim.Max-1)
		allowed(a, "k", T)
	})

	t.Run("a reservation never settled counts until the window passes", func(t *testing.T) {
		// What a crash between BeginAttempt and EndAttempt costs.
		a := open(t)
		T := a.T
		for range lim.Max {
			allowed(a, "k", T)
		}
		refused(a, "k", T.Add(lim.Window-time.Millisecond), 0)
		allowed(a, "k", T.Add(lim.Window))
	})

	t.Run("keys are independent", func(t *testing.T) {
		a := open(t)
		T := a.T
		fail(a, "user:x", T, lim.Max)
		refused(a, "user:x", T, lim.Lockout)
		for _, k := range []string{"addr:x", "user:X", "user:x ", "user:", "x", ""} {
			fail(a, k, T, lim.Max-1)
			allowed(a, k, T)
		}
		refused(a, "user:x", T, lim.Lockout)
	})

	t.Run("a very long key is accepted", func(t *testing.T) {
		a := open(t)
		T := a.T
		long := string(make([]byte, 100_000))
		fail(a, long, T, lim.Max)
		refused(a, long, T, lim.Lockout)
		allowed(a, long[:len(long)-1], T)
	})

	t.Run("counters keep by the caller's clock, however far from the store's", func(t *testing.T) {
		// A record's life must be measured from the caller's now, not
		// placed at the caller's now on the store's clock.
		a := open(t)
		T := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
		fail(a, "k", T, lim.Max)
		refused(a, "k", T.Add(time.Minute), lim.Lockout-time.Minute)
		allowed(a, "k", T.Add(lim.Lockout))
	})

	t.Run("invalid limits and outcomes are errors", func(t *testing.T) {
		s := h.store(t)
		ctx, T := t.Context(), now()
		for _, bad := range []store.AttemptLimit{
			{Max: 0, Window: time.Minute, Lockout: time.Minute},
			{Max: 1, Window: 0, Lockout: time.Minute},
			{Max: 1, Window: time.Minute, Lockout: -time.Minute},
		} {
			if ok, _, err := s.BeginAttempt(ctx, "k", T, bad); err == nil || ok {
				t.Errorf("BeginAttempt with %+v: %v, %v; want an error", bad, ok, err)
			}
			if err := s.EndAttempt(ctx, "k", T, bad, store.AttemptFailed); err == nil {
				t.Errorf("EndAttempt with %+v: no error", bad)
			}
		}
		for _, o := range []store.AttemptOutcome{0, store.AttemptCancelled + 1} {
			if err := s.EndAttempt(ctx, "k", T, lim, o); err == nil {
				t.Errorf("EndAttempt with outcome %d: no error", o)
			}
		}
	})

	t.Run("concurrent attempts on one key never get more than max past the check", func(t *testing.T) {
		s := h.store(t)
		T := now()
		var allowed atomic.Int32
		race(racers, func(int) {
			ok, retry, err := s.BeginAttempt(t.Context(), "user:alice", T, lim)
			if err != nil || ok == (retry > 0) {
				t.Errorf("BeginAttempt: %v, %v, %v", ok, retry, err)
			}
			if ok {
				allowed.Add(1)
			}
		})
		if n := allowed.Load(); n != int32(lim.Max) {
			t.Fatalf("%d of %d concurrent attempts allowed, want %d", n, racers, lim.Max)
		}
	})

	t.Run("concurrent guessers on one key make exactly max guesses before the lockout", func(t *testing.T) {
		s := h.store(t)
		T := now()
		var guesses atomic.Int32
		race(racers, func(int) {
			for range 2 * lim.Max {
				ok, _, err := s.BeginAttempt(t.Context(), "user:alice", T, lim)
				if err != nil {
					t.Errorf("BeginAttempt: %v", err)
					return
				}
				if ok {
					guesses.Add(1)
					if err := s.EndAttempt(t.Context(), "user:alice", T, lim, store.AttemptFailed); err != nil {
						t.Errorf("EndAttempt: %v", err)
					}
				}
			}
		})
		if n := guesses.Load(); n != int32(lim.Max) {
			t.Fatalf("%d guesses, want %d", n, lim.Max)
		}
		ok, retry, err := s.BeginAttempt(t.Context(), "user:alice", T, lim)
		if ok || err != nil || retry != lim.Lockout {
			t.Fatalf("after the guesses: %v, %v, %v; want locked for %v", ok, retry, err, lim.Lockout)
		}
	})
}
