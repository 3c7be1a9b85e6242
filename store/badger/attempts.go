package badger

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// attemptRecord is the counter of one attempt key. Times are Unix
// nanoseconds of the callers' clocks, which need not agree to the
// nanosecond, so the lists are not assumed sorted.
type attemptRecord struct {
	// LockedUntil ends a lockout; 0: not locked.
	LockedUntil int64 `json:"l,omitempty"`
	// Failures are the failures still inside the window, at most Max.
	Failures []int64 `json:"f,omitempty"`
	// Pending are the reservations not settled yet, when they were made.
	Pending []int64 `json:"p,omitempty"`
}

var (
	errAttemptLimit   = errors.New("store/badger: attempt limit and durations must be positive")
	errAttemptOutcome = errors.New("store/badger: unknown attempt outcome")
)

// BeginAttempt reserves an attempt under key, or refuses while the key is
// locked or out of attempts; see store.AttemptStore. One group-committed
// transaction: concurrent calls on one key run one after the other.
func (d *DB) BeginAttempt(ctx context.Context, key string, now time.Time, lim store.AttemptLimit) (bool, time.Duration, error) {
	if err := checkAttemptLimit(lim); err != nil {
		return false, 0, err
	}
	var ok bool
	var retry time.Duration
	err := d.updateAttempt(ctx, key, now, lim, func(r *attemptRecord, t int64) {
		ok, retry = r.begin(t, lim)
	})
	if err != nil {
		return false, 0, err
	}
	return ok, retry, nil
}

// EndAttempt settles a reservation of key; see store.AttemptStore.
func (d *DB) EndAttempt(ctx context.Context, key string, now time.Time, lim store.AttemptLimit, o store.AttemptOutcome) error {
	if err := checkAttemptLimit(lim); err != nil {
		return err
	}
	if o < store.AttemptFailed || o > store.AttemptCancelled {
		return errAttemptOutcome
	}
	return d.updateAttempt(ctx, key, now, lim, func(r *attemptRecord, t int64) { r.end(t, lim, o) })
}

func checkAttemptLimit(lim store.AttemptLimit) error {
	if lim.Max < 1 || lim.Window <= 0 || lim.Lockout <= 0 {
		return errAttemptLimit
	}
	return nil
}

// updateAttempt reads key's record, lets step change it and writes it back
// in one transaction: deleted when it holds nothing, else with a TTL that
// ends when its last lockout or window does, and not written at all when
// unchanged (a refusal), so a flood of refused attempts costs no writes.
// step may run more than once (a conflict re-runs the transaction) and
// must set its results anew.
func (d *DB) updateAttempt(ctx context.Context, key string, now time.Time, lim store.AttemptLimit, step func(*attemptRecord, int64)) error {
	k := attemptKey(key)
	t := now.UnixNano()
	return d.groupWrite(ctx, func(txn *badgerdb.Txn) error {
		var r attemptRecord
		var old []byte
		item, err := txn.Get(k)
		switch {
		case errors.Is(err, badgerdb.ErrKeyNotFound):
		case err != nil:
			return err
		default:
			if old, err = item.ValueCopy(nil); err != nil {
				return err
			}
			if err := decodeBytes(old, &r); err != nil {
				return err
			}
		}
		step(&r, t)
		end := r.until(lim)
		if end <= t {
			if old == nil {
				return nil
			}
			return txn.Delete(k)
		}
		val, err := encode(&r)
		if err != nil {
			return err
		}
		if bytes.Equal(val, old) {
			return nil
		}
		// The TTL is relative: now is the caller's clock, Badger's is the
		// wall clock, and a record must not vanish early if they differ.
		return set(txn, k, val, time.Now().Add(time.Duration(end-t)))
	})
}

// expire ends a lockout that is over (with the failures that caused it)
// and forgets failures and reservations older than the window: a
// reservation that old was left by a crash.
func (r *attemptRecord) expire(t int64, lim store.AttemptLimit) {
	if r.LockedUntil != 0 && r.LockedUntil <= t {
		r.LockedUntil, r.Failures = 0, nil
	}
	old := func(at int64) bool { return at <= t-int64(lim.Window) }
	r.Failures = slices.DeleteFunc(r.Failures, old)
	r.Pending = slices.DeleteFunc(r.Pending, old)
}

func (r *attemptRecord) begin(t int64, lim store.AttemptLimit) (bool, time.Duration) {
	r.expire(t, lim)
	if r.LockedUntil > t {
		return false, time.Duration(r.LockedUntil - t)
	}
	if len(r.Failures)+len(r.Pending) >= lim.Max {
		// Full only because of attempts in flight, or of failures that
		// leave the window before a lockout: retry soon.
		wait := time.Second
		if len(r.Failures) > 0 {
			wait = max(wait, time.Duration(slices.Min(r.Failures)+int64(lim.Window)-t))
		}
		return false, wait
	}
	r.Pending = append(r.Pending, t)
	return true, 0
}

func (r *attemptRecord) end(t int64, lim store.AttemptLimit, o store.AttemptOutcome) {
	r.expire(t, lim)
	if len(r.Pending) > 0 {
		// The newest: if another reservation was left by a crash, the
		// older one goes sooner.
		i := slices.Index(r.Pending, slices.Max(r.Pending))
		r.Pending = slices.Delete(r.Pending, i, i+1)
	}
	switch o {
	case store.AttemptFailed:
		r.Failures = append(r.Failures, t)
		if len(r.Failures) > lim.Max {
			i := slices.Index(r.Failures, slices.Min(r.Failures))
			r.Failures = slices.Delete(r.Failures, i, i+1)
		}
		if len(r.Failures) >= lim.Max {
			r.LockedUntil = t + int64(lim.Lockout)
		}
	case store.AttemptSucceeded:
		r.Failures, r.LockedUntil = nil, 0
	}
}

// until is when the record stops mattering: its lockout is over and every
// failure and reservation has left the window.
func (r *attemptRecord) until(lim store.AttemptLimit) int64 {
	end := r.LockedUntil
	for _, at := range slices.Concat(r.Failures, r.Pending) {
		end = max(end, at+int64(lim.Window))
	}
	return end
}
