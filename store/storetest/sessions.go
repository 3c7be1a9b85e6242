package storetest

import (
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
)

func sampleSession(ttl time.Duration) *store.Session {
	issued := now()
	return &store.Session{
		Hash:      newHash(),
		User:      "alice",
		CSRF:      "csrf-value",
		IssuedAt:  issued,
		ExpiresAt: issued.Add(ttl),
	}
}

func (h harness) testSessions(t *testing.T) {
	t.Run("a saved session reads back and is gone after deletion", func(t *testing.T) {
		s := h.store(t)
		ctx := t.Context()
		want, other := sampleSession(time.Hour), sampleSession(time.Hour)
		mustErr(t, "SaveSession", s.SaveSession(ctx, want), nil)
		mustErr(t, "SaveSession other", s.SaveSession(ctx, other), nil)
		got, err := s.GetSession(ctx, want.Hash)
		mustErr(t, "GetSession", err, nil)
		mustEqual(t, "GetSession", got, want)

		mustErr(t, "DeleteSession", s.DeleteSession(ctx, want.Hash), nil)
		_, err = s.GetSession(ctx, want.Hash)
		mustErr(t, "GetSession after delete", err, store.ErrNotFound)
		_, err = s.GetSession(ctx, other.Hash)
		mustErr(t, "GetSession of another session", err, nil)
	})

	t.Run("deleting a session that is gone is not an error", func(t *testing.T) {
		s := h.store(t)
		mustErr(t, "DeleteSession", s.DeleteSession(t.Context(), newHash()), nil)
	})

	t.Run("an unknown session is ErrNotFound", func(t *testing.T) {
		s := h.store(t)
		got, err := s.GetSession(t.Context(), newHash())
		mustErr(t, "GetSession", err, store.ErrNotFound)
		if got != nil {
			t.Fatalf("GetSession returned %+v with ErrNotFound", got)
		}
	})

	t.Run("an expired session is ErrNotFound", func(t *testing.T) {
		s := h.store(t)
		dead := sampleSession(-time.Second)
		mustErr(t, "SaveSession", s.SaveSession(t.Context(), dead), nil)
		_, err := s.GetSession(t.Context(), dead.Hash)
		mustErr(t, "GetSession", err, store.ErrNotFound)
	})
}
