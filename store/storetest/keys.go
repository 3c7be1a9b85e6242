package storetest

import (
	"bytes"
	"errors"
	"testing"
)

func (h harness) testKeys(t *testing.T) {
	t.Run("a key is generated once and then loaded", func(t *testing.T) {
		s := h.store(t)
		ctx := t.Context()
		calls := 0
		gen := func() ([]byte, error) { calls++; return newHash(), nil }
		first, err := s.LoadOrCreateKey(ctx, "seal", gen)
		mustErr(t, "LoadOrCreateKey", err, nil)
		if calls != 1 || len(first) != 32 {
			t.Fatalf("first LoadOrCreateKey: %d generate calls, %d bytes; want 1 call, 32 bytes", calls, len(first))
		}
		kept := bytes.Clone(first)
		first[0] ^= 0xff // the caller owns the returned slice
		again, err := s.LoadOrCreateKey(ctx, "seal", gen)
		mustErr(t, "LoadOrCreateKey again", err, nil)
		if calls != 1 {
			t.Fatalf("LoadOrCreateKey generated again for an existing key")
		}
		mustEqual(t, "loaded key", again, kept)
	})

	t.Run("keys of different names are independent", func(t *testing.T) {
		s := h.store(t)
		ctx := t.Context()
		a, err := s.LoadOrCreateKey(ctx, "a", func() ([]byte, error) { return []byte("key-a"), nil })
		mustErr(t, "LoadOrCreateKey(a)", err, nil)
		b, err := s.LoadOrCreateKey(ctx, "a/b", func() ([]byte, error) { return []byte("key-b"), nil })
		mustErr(t, "LoadOrCreateKey(a/b)", err, nil)
		mustEqual(t, "key a", a, []byte("key-a"))
		mustEqual(t, "key a/b", b, []byte("key-b"))
	})

	t.Run("a failing generator's error is returned and nothing is stored", func(t *testing.T) {
		s := h.store(t)
		ctx := t.Context()
		boom := errors.New("no entropy")
		got, err := s.LoadOrCreateKey(ctx, "seal", func() ([]byte, error) { return nil, boom })
		mustErr(t, "LoadOrCreateKey", err, boom)
		if got != nil {
			t.Fatalf("LoadOrCreateKey returned %x with an error", got)
		}
		got, err = s.LoadOrCreateKey(ctx, "seal", func() ([]byte, error) { return []byte("later"), nil })
		mustErr(t, "LoadOrCreateKey after a failure", err, nil)
		mustEqual(t, "key", got, []byte("later"))
	})
}
