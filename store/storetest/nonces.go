package storetest

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

func (h harness) testNonces(t *testing.T) {
	t.Run("a nonce is fresh once", func(t *testing.T) {
		s := h.store(t)
		ctx := t.Context()
		key := "client-1\x001700000000\x00abc"
		fresh, err := s.UseNonce(ctx, key, 10*time.Minute)
		mustErr(t, "UseNonce", err, nil)
		if !fresh {
			t.Fatal("first UseNonce is not fresh")
		}
		fresh, err = s.UseNonce(ctx, key, 10*time.Minute)
		mustErr(t, "UseNonce again", err, nil)
		if fresh {
			t.Fatal("second UseNonce of one key is fresh: replay accepted")
		}
	})

	t.Run("nonces of different keys are independent", func(t *testing.T) {
		s := h.store(t)
		ctx := t.Context()
		for _, key := range []string{"k", "k2", "K", "k/", ""} {
			fresh, err := s.UseNonce(ctx, key, time.Minute)
			mustErr(t, "UseNonce "+key, err, nil)
			if !fresh {
				t.Fatalf("UseNonce(%q) is not fresh", key)
			}
		}
	})

	t.Run("a very long nonce key is accepted", func(t *testing.T) {
		s := h.store(t)
		key := string(make([]byte, 100_000))
		fresh, err := s.UseNonce(t.Context(), key, time.Minute)
		mustErr(t, "UseNonce", err, nil)
		if !fresh {
			t.Fatal("UseNonce is not fresh")
		}
	})

	t.Run("concurrent uses of many nonces are each fresh exactly once", func(t *testing.T) {
		// Each racer uses every key, in its own order, so uses of one key
		// meet in every combination a backend may batch or serialize.
		s := h.store(t)
		const keys = 50
		var fresh [keys]atomic.Int32
		race(racers, func(r int) {
			for i := range keys {
				k := (i + r*7) % keys
				ok, err := s.UseNonce(t.Context(), fmt.Sprint("client-1\x00", k), time.Minute)
				if err != nil {
					t.Errorf("UseNonce: %v", err)
				}
				if ok {
					fresh[k].Add(1)
				}
			}
		})
		for k := range keys {
			if n := fresh[k].Load(); n != 1 {
				t.Errorf("key %d: %d fresh uses, want 1", k, n)
			}
		}
	})
}
