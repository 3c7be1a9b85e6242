package storetest

import (
	"testing"

	"github.com/caddy-oauth/caddy-oauth/store"
)

func sampleConsent(user, clientID string, scopes ...string) *store.Consent {
	return &store.Consent{User: user, ClientID: clientID, Scopes: scopes, GrantedAt: now()}
}

func (h harness) testConsents(t *testing.T) {
	t.Run("a consent is kept per user and client", func(t *testing.T) {
		s := h.store(t)
		ctx := t.Context()
		want := sampleConsent("alice", "c1", "read", "write")
		mustErr(t, "PutConsent", s.PutConsent(ctx, want), nil)
		got, err := s.GetConsent(ctx, "alice", "c1")
		mustErr(t, "GetConsent", err, nil)
		mustEqual(t, "GetConsent", got, want)
		_, err = s.GetConsent(ctx, "alice", "c2")
		mustErr(t, "GetConsent for another client", err, store.ErrNotFound)
		_, err = s.GetConsent(ctx, "bob", "c1")
		mustErr(t, "GetConsent for another user", err, store.ErrNotFound)
	})

	t.Run("putting a consent again replaces it", func(t *testing.T) {
		s := h.store(t)
		ctx := t.Context()
		mustErr(t, "PutConsent", s.PutConsent(ctx, sampleConsent("alice", "c1", "read")), nil)
		want := sampleConsent("alice", "c1", "read", "admin")
		mustErr(t, "PutConsent again", s.PutConsent(ctx, want), nil)
		got, err := s.GetConsent(ctx, "alice", "c1")
		mustErr(t, "GetConsent", err, nil)
		mustEqual(t, "GetConsent", got, want)
	})

	t.Run("user and client names containing separators do not collide", func(t *testing.T) {
		s := h.store(t)
		ctx := t.Context()
		pairs := []*store.Consent{
			sampleConsent("a", "b/c", "one"),
			sampleConsent("a/b", "c", "two"),
			sampleConsent("a\x00b", "c", "three"),
			sampleConsent("a", "b\x00c", "four"),
		}
		for _, c := range pairs {
			mustErr(t, "PutConsent", s.PutConsent(ctx, c), nil)
		}
		for _, want := range pairs {
			got, err := s.GetConsent(ctx, want.User, want.ClientID)
			mustErr(t, "GetConsent", err, nil)
			mustEqual(t, "GetConsent("+want.User+", "+want.ClientID+")", got, want)
		}
	})

	t.Run("a deleted consent is gone and deleting an unknown one is not an error", func(t *testing.T) {
		s := h.store(t)
		ctx := t.Context()
		mustErr(t, "PutConsent", s.PutConsent(ctx, sampleConsent("alice", "c1", "read")), nil)
		mustErr(t, "PutConsent", s.PutConsent(ctx, sampleConsent("alice", "c2", "read")), nil)
		mustErr(t, "DeleteConsent", s.DeleteConsent(ctx, "alice", "c1"), nil)
		_, err := s.GetConsent(ctx, "alice", "c1")
		mustErr(t, "GetConsent after delete", err, store.ErrNotFound)
		_, err = s.GetConsent(ctx, "alice", "c2")
		mustErr(t, "GetConsent of another client", err, nil)
		mustErr(t, "DeleteConsent again", s.DeleteConsent(ctx, "alice", "c1"), nil)
	})
}
