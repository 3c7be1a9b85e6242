package storetest

import (
	"testing"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// testVersions checks the store.ChangeCounter contract a cache relies on:
// every change that can affect a stored token or client changes its
// counter by the time the method returns. It never demands that a counter
// stay the same (a backend may share counters between keys), only that it
// moves when it must.
func (h harness) testVersions(t *testing.T) {
	for _, c := range []struct {
		name string
		// change changes the stored token tk in s.
		change func(t *testing.T, s store.Store, tk *store.Token)
	}{
		{"SaveToken over it", func(t *testing.T, s store.Store, tk *store.Token) {
			again := *tk
			again.Scopes = []string{"read"}
			mustErr(t, "SaveToken", s.SaveToken(t.Context(), &again), nil)
		}},
		{"SaveTokens over it", func(t *testing.T, s store.Store, tk *store.Token) {
			again := *tk
			again.User = "bob"
			mustErr(t, "SaveTokens", s.SaveTokens(t.Context(), tok{}.build(), &again), nil)
		}},
		{"UpdateToken", func(t *testing.T, s store.Store, tk *store.Token) {
			again := *tk
			again.Scopes = []string{"read"}
			mustErr(t, "UpdateToken", s.UpdateToken(t.Context(), &again), nil)
		}},
		{"RevokeToken", func(t *testing.T, s store.Store, tk *store.Token) {
			mustErr(t, "RevokeToken", s.RevokeToken(t.Context(), tk.Hash), nil)
		}},
		{"RotateRefresh of it", func(t *testing.T, s store.Store, tk *store.Token) {
			_, err := s.RotateRefresh(t.Context(), tk.Hash, tok{kind: store.KindRefresh, family: "f1"}.build())
			mustErr(t, "RotateRefresh", err, nil)
		}},
		{"RotateRefresh saving a successor over it", func(t *testing.T, s store.Store, tk *store.Token) {
			old := tok{kind: store.KindRefresh, family: "f2"}.build()
			mustErr(t, "SaveToken(old)", s.SaveToken(t.Context(), old), nil)
			next := *tk
			next.Family = "f2"
			_, err := s.RotateRefresh(t.Context(), old.Hash, &next)
			mustErr(t, "RotateRefresh", err, nil)
		}},
		{"ConsumeToken", func(t *testing.T, s store.Store, tk *store.Token) {
			_, err := s.ConsumeToken(t.Context(), tk.Hash, tk.Kind)
			mustErr(t, "ConsumeToken", err, nil)
		}},
		{"RevokeFamily", func(t *testing.T, s store.Store, tk *store.Token) {
			mustRevoke(t, "RevokeFamily", 1, func() (int, error) { return s.RevokeFamily(t.Context(), tk.Family) })
		}},
		{"RevokeUser", func(t *testing.T, s store.Store, tk *store.Token) {
			mustRevoke(t, "RevokeUser", 1, func() (int, error) { return s.RevokeUser(t.Context(), tk.User) })
		}},
		{"RevokeClient", func(t *testing.T, s store.Store, tk *store.Token) {
			mustRevoke(t, "RevokeClient", 1, func() (int, error) { return s.RevokeClient(t.Context(), tk.ClientID) })
		}},
	} {
		t.Run("a token's counter changes on "+c.name, func(t *testing.T) {
			s := h.store(t)
			tk := tok{kind: store.KindRefresh, user: "alice", family: "f1"}.build()
			mustErr(t, "SaveToken", s.SaveToken(t.Context(), tk), nil)
			// As a cache does: the counter first, then the read.
			before := s.TokenVersion(tk.Hash)
			expectLive(t, s, tk.Hash, "saved")
			c.change(t, s, tk)
			if s.TokenVersion(tk.Hash) == before {
				t.Fatalf("TokenVersion unchanged (%d) after %s", before, c.name)
			}
		})
	}

	for _, c := range []struct {
		name   string
		change func(t *testing.T, s store.Store, cl *store.Client)
	}{
		{"UpdateClient", func(t *testing.T, s store.Store, cl *store.Client) {
			again := *cl
			again.Scopes = []string{"read"}
			mustErr(t, "UpdateClient", s.UpdateClient(t.Context(), &again), nil)
		}},
		{"DeleteClient", func(t *testing.T, s store.Store, cl *store.Client) {
			mustErr(t, "DeleteClient", s.DeleteClient(t.Context(), cl.ID), nil)
		}},
	} {
		t.Run("a client's counter changes on "+c.name, func(t *testing.T) {
			s := h.store(t)
			cl := sampleClient("app")
			mustErr(t, "CreateClient", s.CreateClient(t.Context(), cl), nil)
			before := s.ClientVersion(cl.ID)
			_, err := s.GetClient(t.Context(), cl.ID)
			mustErr(t, "GetClient", err, nil)
			c.change(t, s, cl)
			if s.ClientVersion(cl.ID) == before {
				t.Fatalf("ClientVersion unchanged (%d) after %s", before, c.name)
			}
		})
	}
}
