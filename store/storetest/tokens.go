package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
)

func (h harness) testTokens(t *testing.T) {
	t.Run("a saved token reads back with every field", func(t *testing.T) {
		s := h.store(t)
		want := tok{user: "alice", family: "f1"}.build()
		want.SealedSecret = []byte("sealed")
		want.Callback = "https://app.example/oauth1"
		want.VerifierHash = newHash()
		want.AuthTime = now().Add(-time.Minute)
		want.AMR = []string{"pwd", "otp"}
		mustErr(t, "SaveToken", s.SaveToken(t.Context(), want), nil)
		got, err := s.GetToken(t.Context(), want.Hash)
		mustErr(t, "GetToken", err, nil)
		mustEqual(t, "GetToken", got, want)
	})

	t.Run("SaveTokens stores every token it is given", func(t *testing.T) {
		s := h.store(t)
		access := tok{user: "alice", family: "f1"}.build()
		refresh := tok{kind: store.KindRefresh, user: "alice", family: "f1", ttl: 24 * time.Hour}.build()
		mustErr(t, "SaveTokens", s.SaveTokens(t.Context(), access, refresh), nil)
		for _, want := range []*store.Token{access, refresh} {
			got, err := s.GetToken(t.Context(), want.Hash)
			mustErr(t, "GetToken", err, nil)
			mustEqual(t, "GetToken", got, want)
		}
	})

	t.Run("GetToken returns tokens of every kind, leaving the kind check to the caller", func(t *testing.T) {
		s := h.store(t)
		for _, kind := range []store.TokenKind{store.KindAccess, store.KindRefresh, store.KindOAuth1Access, store.KindOAuth1Request} {
			want := tok{kind: kind}.build()
			mustErr(t, "SaveToken", s.SaveToken(t.Context(), want), nil)
			got, err := s.GetToken(t.Context(), want.Hash)
			mustErr(t, fmt.Sprintf("GetToken kind %d", kind), err, nil)
			if got.Kind != kind {
				t.Fatalf("GetToken kind = %d, want %d", got.Kind, kind)
			}
		}
	})

	t.Run("a token without expiry reads back without expiry", func(t *testing.T) {
		s := h.store(t)
		want := tok{}.build()
		want.ExpiresAt = time.Time{}
		mustErr(t, "SaveToken", s.SaveToken(t.Context(), want), nil)
		got, err := s.GetToken(t.Context(), want.Hash)
		mustErr(t, "GetToken", err, nil)
		if !got.ExpiresAt.IsZero() {
			t.Fatalf("ExpiresAt = %v, want zero", got.ExpiresAt)
		}
	})

	t.Run("an unknown token is ErrNotFound", func(t *testing.T) {
		s := h.store(t)
		got, err := s.GetToken(t.Context(), newHash())
		mustErr(t, "GetToken", err, store.ErrNotFound)
		if got != nil {
			t.Fatalf("GetToken returned %+v with ErrNotFound", got)
		}
	})

	t.Run("an expired token is ErrNotFound", func(t *testing.T) {
		s := h.store(t)
		dead := tok{ttl: -time.Second}.build()
		mustErr(t, "SaveToken", s.SaveToken(t.Context(), dead), nil)
		expectGone(t, s, dead.Hash, "expired")
		mustErr(t, "RevokeToken of an expired token", s.RevokeToken(t.Context(), dead.Hash), store.ErrNotFound)
		mustErr(t, "UpdateToken of an expired token", s.UpdateToken(t.Context(), dead), store.ErrNotFound)
		_, err := s.ConsumeToken(t.Context(), dead.Hash, dead.Kind)
		mustErr(t, "ConsumeToken of an expired token", err, store.ErrNotFound)
	})

	t.Run("a revoked token is gone and revoking it again is ErrNotFound", func(t *testing.T) {
		s := h.store(t)
		a, b := tok{}.build(), tok{}.build()
		mustErr(t, "SaveTokens", s.SaveTokens(t.Context(), a, b), nil)
		mustErr(t, "RevokeToken", s.RevokeToken(t.Context(), a.Hash), nil)
		expectGone(t, s, a.Hash, "revoked")
		expectLive(t, s, b.Hash, "other")
		mustErr(t, "RevokeToken again", s.RevokeToken(t.Context(), a.Hash), store.ErrNotFound)
		mustErr(t, "RevokeToken unknown", s.RevokeToken(t.Context(), newHash()), store.ErrNotFound)
	})

	t.Run("updating a token replaces it and moves it to its new user", func(t *testing.T) {
		s := h.store(t)
		temp := tok{kind: store.KindOAuth1Request, family: "f1"}.build()
		temp.Callback = "https://app.example/cb"
		mustErr(t, "SaveToken", s.SaveToken(t.Context(), temp), nil)

		approved := *temp
		approved.User = "alice"
		approved.VerifierHash = newHash()
		mustErr(t, "UpdateToken", s.UpdateToken(t.Context(), &approved), nil)
		got, err := s.GetToken(t.Context(), temp.Hash)
		mustErr(t, "GetToken", err, nil)
		mustEqual(t, "GetToken after update", got, &approved)

		n, err := s.RevokeUser(t.Context(), "alice")
		mustErr(t, "RevokeUser", err, nil)
		if n != 1 {
			t.Fatalf("RevokeUser(alice) = %d, want 1: the update must index the new user", n)
		}
	})

	t.Run("updating an unknown token is ErrNotFound and creates nothing", func(t *testing.T) {
		s := h.store(t)
		ghost := tok{}.build()
		mustErr(t, "UpdateToken", s.UpdateToken(t.Context(), ghost), store.ErrNotFound)
		expectGone(t, s, ghost.Hash, "ghost")
	})

	t.Run("a token saved again under its hash is indexed only under its new owner", func(t *testing.T) {
		s := h.store(t)
		first := tok{user: "u1", client: "c1", family: "f1"}.build()
		mustErr(t, "SaveToken", s.SaveToken(t.Context(), first), nil)
		second := tok{user: "u2", client: "c2", family: "f2"}.build()
		second.Hash = first.Hash
		mustErr(t, "SaveToken again", s.SaveToken(t.Context(), second), nil)
		for _, c := range []struct {
			name   string
			revoke func() (int, error)
		}{
			{"RevokeUser(u1)", func() (int, error) { return s.RevokeUser(t.Context(), "u1") }},
			{"RevokeClient(c1)", func() (int, error) { return s.RevokeClient(t.Context(), "c1") }},
			{"RevokeFamily(f1)", func() (int, error) { return s.RevokeFamily(t.Context(), "f1") }},
		} {
			n, err := c.revoke()
			mustErr(t, c.name, err, nil)
			if n != 0 {
				t.Fatalf("%s = %d, want 0", c.name, n)
			}
		}
		expectLive(t, s, first.Hash, "re-saved")
		n, err := s.RevokeUser(t.Context(), "u2")
		mustErr(t, "RevokeUser(u2)", err, nil)
		if n != 1 {
			t.Fatalf("RevokeUser(u2) = %d, want 1", n)
		}
	})

	t.Run("consuming a token returns it and deletes it", func(t *testing.T) {
		s := h.store(t)
		temp := tok{kind: store.KindOAuth1Request, user: "alice", family: "f1"}.build()
		mustErr(t, "SaveToken", s.SaveToken(t.Context(), temp), nil)
		got, err := s.ConsumeToken(t.Context(), temp.Hash, store.KindOAuth1Request)
		mustErr(t, "ConsumeToken", err, nil)
		mustEqual(t, "ConsumeToken", got, temp)
		expectGone(t, s, temp.Hash, "consumed")
		_, err = s.ConsumeToken(t.Context(), temp.Hash, store.KindOAuth1Request)
		mustErr(t, "ConsumeToken again", err, store.ErrNotFound)
		n, err := s.RevokeFamily(t.Context(), "f1")
		mustErr(t, "RevokeFamily", err, nil)
		if n != 0 {
			t.Fatalf("RevokeFamily after consumption = %d, want 0", n)
		}
	})

	t.Run("consuming a token as another kind is ErrNotFound and keeps it", func(t *testing.T) {
		s := h.store(t)
		access := tok{kind: store.KindOAuth1Access}.build()
		mustErr(t, "SaveToken", s.SaveToken(t.Context(), access), nil)
		got, err := s.ConsumeToken(t.Context(), access.Hash, store.KindOAuth1Request)
		mustErr(t, "ConsumeToken with the wrong kind", err, store.ErrNotFound)
		if got != nil {
			t.Fatalf("ConsumeToken returned %+v with ErrNotFound", got)
		}
		expectLive(t, s, access.Hash, "kept")
	})
}

func (h harness) testRotation(t *testing.T) {
	t.Run("rotating a refresh token marks it rotated and saves its successors", func(t *testing.T) {
		s := h.store(t)
		old := tok{kind: store.KindRefresh, user: "alice", family: "f1", ttl: 24 * time.Hour}.build()
		mustErr(t, "SaveToken", s.SaveToken(t.Context(), old), nil)
		access := tok{user: "alice", family: "f1"}.build()
		next := tok{kind: store.KindRefresh, user: "alice", family: "f1", ttl: 24 * time.Hour}.build()

		got, err := s.RotateRefresh(t.Context(), old.Hash, access, next)
		mustErr(t, "RotateRefresh", err, nil)
		want := *old
		want.Rotated = true
		mustEqual(t, "RotateRefresh result", got, &want)

		// The old token stays, marked and with its expiry, so a replay is
		// recognized for as long as it would have lived.
		stored, err := s.GetToken(t.Context(), old.Hash)
		mustErr(t, "GetToken(old)", err, nil)
		mustEqual(t, "stored old token", stored, &want)
		for _, tk := range []*store.Token{access, next} {
			got, err := s.GetToken(t.Context(), tk.Hash)
			mustErr(t, "GetToken(successor)", err, nil)
			mustEqual(t, "successor", got, tk)
		}
		n, err := s.RevokeFamily(t.Context(), "f1")
		mustErr(t, "RevokeFamily", err, nil)
		if n != 3 {
			t.Fatalf("RevokeFamily = %d, want 3 (old, access, next)", n)
		}
	})

	t.Run("rotating a rotated refresh token is ErrRotated, returns it and saves nothing", func(t *testing.T) {
		s := h.store(t)
		old := tok{kind: store.KindRefresh, user: "alice", family: "f1"}.build()
		mustErr(t, "SaveToken", s.SaveToken(t.Context(), old), nil)
		_, err := s.RotateRefresh(t.Context(), old.Hash, tok{kind: store.KindRefresh, family: "f1"}.build())
		mustErr(t, "RotateRefresh", err, nil)

		replay := tok{kind: store.KindRefresh, family: "f1"}.build()
		got, err := s.RotateRefresh(t.Context(), old.Hash, replay)
		mustErr(t, "RotateRefresh again", err, store.ErrRotated)
		if got == nil || got.Family != "f1" || !got.Rotated {
			t.Fatalf("RotateRefresh again returned %+v, want the rotated token of family f1", got)
		}
		mustEqual(t, "returned hash", got.Hash, old.Hash)
		expectGone(t, s, replay.Hash, "successor of a replay")
	})

	t.Run("rotating an unknown refresh token is ErrNotFound and saves nothing", func(t *testing.T) {
		s := h.store(t)
		next := tok{kind: store.KindRefresh}.build()
		got, err := s.RotateRefresh(t.Context(), newHash(), next)
		mustErr(t, "RotateRefresh", err, store.ErrNotFound)
		if got != nil {
			t.Fatalf("RotateRefresh returned %+v with ErrNotFound", got)
		}
		expectGone(t, s, next.Hash, "successor")
	})

	t.Run("rotating an expired refresh token is ErrNotFound", func(t *testing.T) {
		s := h.store(t)
		old := tok{kind: store.KindRefresh, ttl: -time.Second}.build()
		mustErr(t, "SaveToken", s.SaveToken(t.Context(), old), nil)
		next := tok{kind: store.KindRefresh}.build()
		_, err := s.RotateRefresh(t.Context(), old.Hash, next)
		mustErr(t, "RotateRefresh", err, store.ErrNotFound)
		expectGone(t, s, next.Hash, "successor")
	})
}
