package storetest

import (
	"bytes"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
)

var deviceStep = store.DevicePace{Step: 5 * time.Second}

func sampleDevice(ttl time.Duration) *store.DeviceAuthorization {
	issued := now()
	return &store.DeviceAuthorization{
		DeviceCodeHash: newHash(),
		UserCodeHash:   newHash(),
		ClientID:       "tv",
		Scopes:         []string{"read", "profile"},
		Status:         store.DevicePending,
		Interval:       5 * time.Second,
		IssuedAt:       issued,
		ExpiresAt:      issued.Add(ttl),
	}
}

func (h harness) testDevices(t *testing.T) {
	t.Run("a created authorization is found by its user code, pending", func(t *testing.T) {
		s := h.store(t)
		d := sampleDevice(time.Minute)
		d.Status, d.User = store.DeviceApproved, "mallory" // ignored: a new one is pending
		mustErr(t, "CreateDevice", s.CreateDevice(t.Context(), d), nil)
		got, err := s.GetDeviceByUserCode(t.Context(), d.UserCodeHash)
		mustErr(t, "GetDeviceByUserCode", err, nil)
		want := *d
		want.Status, want.User = store.DevicePending, ""
		mustEqual(t, "GetDeviceByUserCode", got, &want)
	})

	t.Run("a user code in use cannot be created again", func(t *testing.T) {
		s := h.store(t)
		a, b := sampleDevice(time.Minute), sampleDevice(time.Minute)
		b.UserCodeHash = a.UserCodeHash
		mustErr(t, "CreateDevice a", s.CreateDevice(t.Context(), a), nil)
		mustErr(t, "CreateDevice b", s.CreateDevice(t.Context(), b), store.ErrExists)
		got, err := s.GetDeviceByUserCode(t.Context(), a.UserCodeHash)
		mustErr(t, "GetDeviceByUserCode", err, nil)
		mustEqual(t, "the user code still finds a", got.DeviceCodeHash, a.DeviceCodeHash)
		_, _, err = s.PollDevice(t.Context(), b.DeviceCodeHash, "tv", now(), deviceStep)
		mustErr(t, "PollDevice b", err, store.ErrNotFound)
	})

	t.Run("unknown codes are ErrNotFound", func(t *testing.T) {
		s := h.store(t)
		_, err := s.GetDeviceByUserCode(t.Context(), newHash())
		mustErr(t, "GetDeviceByUserCode", err, store.ErrNotFound)
		_, err = s.DecideDevice(t.Context(), newHash(), "alice", true)
		mustErr(t, "DecideDevice", err, store.ErrNotFound)
		_, _, err = s.PollDevice(t.Context(), newHash(), "tv", now(), deviceStep)
		mustErr(t, "PollDevice", err, store.ErrNotFound)
	})

	t.Run("an expired authorization is ErrNotFound everywhere", func(t *testing.T) {
		s := h.store(t)
		d := sampleDevice(-time.Second)
		mustErr(t, "CreateDevice", s.CreateDevice(t.Context(), d), nil)
		_, err := s.GetDeviceByUserCode(t.Context(), d.UserCodeHash)
		mustErr(t, "GetDeviceByUserCode", err, store.ErrNotFound)
		_, err = s.DecideDevice(t.Context(), d.UserCodeHash, "alice", true)
		mustErr(t, "DecideDevice", err, store.ErrNotFound)
		_, _, err = s.PollDevice(t.Context(), d.DeviceCodeHash, "tv", now(), deviceStep)
		mustErr(t, "PollDevice", err, store.ErrNotFound)
	})

	t.Run("a decision lands once", func(t *testing.T) {
		s := h.store(t)
		d := sampleDevice(time.Minute)
		mustErr(t, "CreateDevice", s.CreateDevice(t.Context(), d), nil)
		got, err := s.DecideDevice(t.Context(), d.UserCodeHash, "alice", true)
		mustErr(t, "DecideDevice", err, nil)
		want := *d
		want.Status, want.User = store.DeviceApproved, "alice"
		mustEqual(t, "DecideDevice", got, &want)

		again, err := s.DecideDevice(t.Context(), d.UserCodeHash, "mallory", false)
		mustErr(t, "DecideDevice again", err, store.ErrConsumed)
		mustEqual(t, "DecideDevice again", again, &want)
		stored, err := s.GetDeviceByUserCode(t.Context(), d.UserCodeHash)
		mustErr(t, "GetDeviceByUserCode", err, nil)
		mustEqual(t, "after a second decision", stored, &want)
	})

	type pollStep struct {
		at       time.Duration
		slow     bool
		interval time.Duration
	}
	for _, tc := range []struct {
		name  string
		pace  store.DevicePace
		steps []pollStep
	}{
		{"polling too fast while pending lengthens the interval", deviceStep, []pollStep{
			{0, false, 5 * time.Second},                // the first poll is never too fast
			{5 * time.Second, false, 5 * time.Second},  // exactly the interval
			{9 * time.Second, true, 10 * time.Second},  // 4s < 5s
			{18 * time.Second, true, 15 * time.Second}, // 9s < 10s
			{33 * time.Second, false, 15 * time.Second},
		}},
		{"a poll early by no more than the tolerance is not too fast", store.DevicePace{Step: 5 * time.Second, Tolerance: time.Second}, []pollStep{
			{0, false, 5 * time.Second},
			{4 * time.Second, false, 5 * time.Second},                      // 1s early: forgiven
			{7*time.Second + 999*time.Millisecond, true, 10 * time.Second}, // 1.001s early
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := h.store(t)
			d := sampleDevice(time.Minute)
			mustErr(t, "CreateDevice", s.CreateDevice(t.Context(), d), nil)
			t0 := now()
			for i, st := range tc.steps {
				at := t0.Add(st.at)
				got, slow, err := s.PollDevice(t.Context(), d.DeviceCodeHash, "tv", at, tc.pace)
				mustErr(t, "PollDevice", err, nil)
				if slow != st.slow || got.Interval != st.interval || got.Status != store.DevicePending || !got.LastPollAt.Equal(at) {
					t.Fatalf("poll %d at +%v: slow %v, interval %v, status %d, last poll %v; want %v, %v, pending, %v",
						i, st.at, slow, got.Interval, got.Status, got.LastPollAt, st.slow, st.interval, at)
				}
			}
		})
	}

	t.Run("an approved authorization is redeemed by exactly one poll", func(t *testing.T) {
		s := h.store(t)
		d := sampleDevice(time.Minute)
		mustErr(t, "CreateDevice", s.CreateDevice(t.Context(), d), nil)
		_, err := s.DecideDevice(t.Context(), d.UserCodeHash, "alice", true)
		mustErr(t, "DecideDevice", err, nil)
		t0 := now()
		got, slow, err := s.PollDevice(t.Context(), d.DeviceCodeHash, "tv", t0, deviceStep)
		mustErr(t, "PollDevice", err, nil)
		want := *d
		want.Status, want.User, want.LastPollAt = store.DeviceApproved, "alice", t0
		mustEqual(t, "first poll", got, &want)
		if slow {
			t.Fatal("first poll is slow_down")
		}
		got, slow, err = s.PollDevice(t.Context(), d.DeviceCodeHash, "tv", t0.Add(time.Second), deviceStep)
		mustErr(t, "PollDevice again", err, nil)
		if got.Status != store.DeviceConsumed || got.User != "alice" || slow {
			t.Fatalf("second poll: status %d, user %q, slow %v; want consumed, alice, not slow", got.Status, got.User, slow)
		}
	})

	t.Run("a denied authorization stays denied", func(t *testing.T) {
		s := h.store(t)
		d := sampleDevice(time.Minute)
		mustErr(t, "CreateDevice", s.CreateDevice(t.Context(), d), nil)
		_, err := s.DecideDevice(t.Context(), d.UserCodeHash, "alice", false)
		mustErr(t, "DecideDevice", err, nil)
		for i := range 2 {
			got, _, err := s.PollDevice(t.Context(), d.DeviceCodeHash, "tv", now().Add(time.Duration(i)*time.Minute), deviceStep)
			mustErr(t, "PollDevice", err, nil)
			if got.Status != store.DeviceDenied || got.User != "alice" {
				t.Fatalf("poll %d: status %d, user %q; want denied by alice", i, got.Status, got.User)
			}
		}
		_, err = s.DecideDevice(t.Context(), d.UserCodeHash, "alice", true)
		mustErr(t, "DecideDevice after a denial", err, store.ErrConsumed)
	})

	t.Run("another client's poll finds nothing and changes nothing", func(t *testing.T) {
		s := h.store(t)
		d := sampleDevice(time.Minute)
		mustErr(t, "CreateDevice", s.CreateDevice(t.Context(), d), nil)
		_, err := s.DecideDevice(t.Context(), d.UserCodeHash, "alice", true)
		mustErr(t, "DecideDevice", err, nil)
		_, _, err = s.PollDevice(t.Context(), d.DeviceCodeHash, "other", now(), deviceStep)
		mustErr(t, "PollDevice by another client", err, store.ErrNotFound)
		got, _, err := s.PollDevice(t.Context(), d.DeviceCodeHash, "tv", now(), deviceStep)
		mustErr(t, "PollDevice", err, nil)
		if got.Status != store.DeviceApproved {
			t.Fatalf("status %d after another client's poll, want approved", got.Status)
		}
	})

	t.Run("concurrent polls of an approved authorization have exactly one winner", func(t *testing.T) {
		s := h.store(t)
		d := sampleDevice(time.Minute)
		mustErr(t, "CreateDevice", s.CreateDevice(t.Context(), d), nil)
		_, err := s.DecideDevice(t.Context(), d.UserCodeHash, "alice", true)
		mustErr(t, "DecideDevice", err, nil)
		var won, consumed atomic.Int32
		t0 := now()
		race(racers, func(i int) {
			got, _, err := s.PollDevice(t.Context(), d.DeviceCodeHash, "tv", t0.Add(time.Duration(i)*time.Millisecond), deviceStep)
			switch {
			case err != nil || !bytes.Equal(got.DeviceCodeHash, d.DeviceCodeHash):
				t.Errorf("PollDevice: %+v, %v", got, err)
			case got.Status == store.DeviceApproved:
				won.Add(1)
			case got.Status == store.DeviceConsumed:
				consumed.Add(1)
			default:
				t.Errorf("PollDevice: status %d", got.Status)
			}
		})
		if won.Load() != 1 || consumed.Load() != racers-1 {
			t.Fatalf("%d approved and %d consumed, want 1 and %d", won.Load(), consumed.Load(), racers-1)
		}
	})

	t.Run("concurrent decisions have exactly one winner", func(t *testing.T) {
		s := h.store(t)
		d := sampleDevice(time.Minute)
		mustErr(t, "CreateDevice", s.CreateDevice(t.Context(), d), nil)
		var won, decided atomic.Int32
		winner := make([]bool, racers)
		race(racers, func(i int) {
			got, err := s.DecideDevice(t.Context(), d.UserCodeHash, "user"+string(rune('a'+i)), i%2 == 0)
			switch {
			case err == nil:
				won.Add(1)
				winner[i] = true
			case errors.Is(err, store.ErrConsumed) && got != nil:
				decided.Add(1)
			default:
				t.Errorf("DecideDevice: %+v, %v", got, err)
			}
		})
		if won.Load() != 1 || decided.Load() != racers-1 {
			t.Fatalf("%d winners and %d ErrConsumed, want 1 and %d", won.Load(), decided.Load(), racers-1)
		}
		got, err := s.GetDeviceByUserCode(t.Context(), d.UserCodeHash)
		mustErr(t, "GetDeviceByUserCode", err, nil)
		for i, w := range winner {
			if w && (got.User != "user"+string(rune('a'+i)) || (got.Status == store.DeviceApproved) != (i%2 == 0)) {
				t.Fatalf("stored decision %d by %q is not the winner's (%d)", got.Status, got.User, i)
			}
		}
	})

	t.Run("authorizations expire once their time has passed", func(t *testing.T) {
		if testing.Short() {
			t.Skip("waits about two seconds")
		}
		s := h.store(t)
		d := sampleDevice(0)
		d.ExpiresAt = time.Now().Add(time.Second)
		mustErr(t, "CreateDevice", s.CreateDevice(t.Context(), d), nil)
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, err := s.GetDeviceByUserCode(t.Context(), d.UserCodeHash)
			if errors.Is(err, store.ErrNotFound) {
				break
			}
			mustErr(t, "GetDeviceByUserCode", err, nil)
			if time.Now().After(deadline) {
				t.Fatal("5s after expiry the authorization is still found")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if time.Now().Before(d.ExpiresAt) {
			t.Fatal("the authorization vanished before it expired")
		}
		_, _, err := s.PollDevice(t.Context(), d.DeviceCodeHash, "tv", now(), deviceStep)
		mustErr(t, "PollDevice after expiry", err, store.ErrNotFound)
		// Its user code is free again.
		e := sampleDevice(time.Minute)
		e.UserCodeHash = d.UserCodeHash
		mustErr(t, "CreateDevice with the expired user code", s.CreateDevice(t.Context(), e), nil)
	})
}
