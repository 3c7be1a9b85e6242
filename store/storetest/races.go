package storetest

import (
	"bytes"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// The race tests release many goroutines at once on one item; an atomic
// operation has exactly one winner and every loser gets the documented
// answer, never a spurious error.

func (h harness) testRaces(t *testing.T) {
	t.Run("concurrent redemptions of one code have exactly one winner", func(t *testing.T) {
		s := h.store(t)
		c := sampleCode(time.Minute)
		mustErr(t, "SaveCode", s.SaveCode(t.Context(), c), nil)
		var won, consumed atomic.Int32
		race(racers, func(int) {
			got, err := s.ConsumeCode(t.Context(), c.Hash)
			switch {
			case err == nil:
				won.Add(1)
			case errors.Is(err, store.ErrConsumed) && got != nil && bytes.Equal(got.Hash, c.Hash):
				consumed.Add(1)
			default:
				t.Errorf("ConsumeCode: %+v, %v", got, err)
			}
		})
		if won.Load() != 1 || consumed.Load() != racers-1 {
			t.Fatalf("%d winners and %d ErrConsumed, want 1 and %d", won.Load(), consumed.Load(), racers-1)
		}
	})

	t.Run("concurrent rotations of one refresh token have exactly one winner", func(t *testing.T) {
		s := h.store(t)
		old := tok{kind: store.KindRefresh, user: "alice", family: "F"}.build()
		mustErr(t, "SaveToken", s.SaveToken(t.Context(), old), nil)
		next := make([]*store.Token, racers)
		for i := range next {
			next[i] = tok{kind: store.KindRefresh, user: "alice", family: "F"}.build()
		}
		var won, rotated atomic.Int32
		winner := make([]bool, racers)
		race(racers, func(i int) {
			got, err := s.RotateRefresh(t.Context(), old.Hash, next[i])
			switch {
			case err == nil:
				won.Add(1)
				winner[i] = true
			case errors.Is(err, store.ErrRotated) && got != nil && got.Family == "F":
				rotated.Add(1)
			default:
				t.Errorf("RotateRefresh: %+v, %v", got, err)
			}
		})
		if won.Load() != 1 || rotated.Load() != racers-1 {
			t.Fatalf("%d winners and %d ErrRotated, want 1 and %d", won.Load(), rotated.Load(), racers-1)
		}
		for i, tk := range next {
			if winner[i] {
				expectLive(t, s, tk.Hash, "winner's successor")
			} else {
				expectGone(t, s, tk.Hash, "loser's successor")
			}
		}
	})

	t.Run("concurrent consumptions of one token have exactly one winner", func(t *testing.T) {
		s := h.store(t)
		temp := tok{kind: store.KindOAuth1Request}.build()
		mustErr(t, "SaveToken", s.SaveToken(t.Context(), temp), nil)
		var won, missed atomic.Int32
		race(racers, func(int) {
			_, err := s.ConsumeToken(t.Context(), temp.Hash, store.KindOAuth1Request)
			switch {
			case err == nil:
				won.Add(1)
			case errors.Is(err, store.ErrNotFound):
				missed.Add(1)
			default:
				t.Errorf("ConsumeToken: %v", err)
			}
		})
		if won.Load() != 1 || missed.Load() != racers-1 {
			t.Fatalf("%d winners and %d ErrNotFound, want 1 and %d", won.Load(), missed.Load(), racers-1)
		}
	})

	t.Run("concurrent uses of one nonce are fresh exactly once", func(t *testing.T) {
		s := h.store(t)
		var fresh atomic.Int32
		race(racers, func(int) {
			ok, err := s.UseNonce(t.Context(), "client-1\x00nonce", time.Minute)
			if err != nil {
				t.Errorf("UseNonce: %v", err)
			}
			if ok {
				fresh.Add(1)
			}
		})
		if fresh.Load() != 1 {
			t.Fatalf("%d fresh uses, want 1", fresh.Load())
		}
	})

	t.Run("concurrent creations of one key agree on one value", func(t *testing.T) {
		s := h.store(t)
		got := make([][]byte, racers)
		race(racers, func(i int) {
			k, err := s.LoadOrCreateKey(t.Context(), "seal", func() ([]byte, error) { return newHash(), nil })
			if err != nil {
				t.Errorf("LoadOrCreateKey: %v", err)
			}
			got[i] = k
		})
		for i := range got {
			if !bytes.Equal(got[i], got[0]) || len(got[i]) != 32 {
				t.Fatalf("caller %d got key %x, caller 0 got %x", i, got[i], got[0])
			}
		}
	})

	t.Run("concurrent creations of one client have exactly one winner", func(t *testing.T) {
		s := h.store(t)
		var won, exists atomic.Int32
		race(racers, func(int) {
			err := s.CreateClient(t.Context(), sampleClient("app"))
			switch {
			case err == nil:
				won.Add(1)
			case errors.Is(err, store.ErrExists):
				exists.Add(1)
			default:
				t.Errorf("CreateClient: %v", err)
			}
		})
		if won.Load() != 1 || exists.Load() != racers-1 {
			t.Fatalf("%d winners and %d ErrExists, want 1 and %d", won.Load(), exists.Load(), racers-1)
		}
	})
}
