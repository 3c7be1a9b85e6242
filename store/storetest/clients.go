package storetest

import (
	"testing"

	"github.com/caddy-oauth/caddy-oauth/store"
)

func sampleClient(id string) *store.Client {
	return &store.Client{
		ID:                     id,
		Name:                   "Client " + id,
		SecretHash:             newHash(),
		SealedSecret:           []byte("sealed-" + id),
		RedirectURIs:           []string{"https://app.example/cb", "http://127.0.0.1/cb"},
		CallbackURIs:           []string{"https://app.example/oauth1"},
		PostLogoutRedirectURIs: []string{"https://app.example/signed-out", "http://127.0.0.1/bye?from=op"},
		Scopes:                 []string{"read", "write"},
		Grants:                 []string{"authorization_code", "refresh_token"},
		Trusted:                true,
		Introspect:             true,
		RSAPublicKeyPEM:        "-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n",
		CreatedAt:              now(),
	}
}

func (h harness) testClients(t *testing.T) {
	t.Run("a created client reads back with every field", func(t *testing.T) {
		s := h.store(t)
		want := sampleClient("app")
		mustErr(t, "CreateClient", s.CreateClient(t.Context(), want), nil)
		got, err := s.GetClient(t.Context(), "app")
		mustErr(t, "GetClient", err, nil)
		mustEqual(t, "GetClient", got, want)
	})

	t.Run("creating a client id twice is ErrExists and keeps the first", func(t *testing.T) {
		s := h.store(t)
		first := sampleClient("app")
		mustErr(t, "CreateClient", s.CreateClient(t.Context(), first), nil)
		second := sampleClient("app")
		second.Name = "impostor"
		mustErr(t, "CreateClient again", s.CreateClient(t.Context(), second), store.ErrExists)
		got, err := s.GetClient(t.Context(), "app")
		mustErr(t, "GetClient", err, nil)
		mustEqual(t, "GetClient", got, first)
	})

	t.Run("an unknown client is ErrNotFound", func(t *testing.T) {
		s := h.store(t)
		got, err := s.GetClient(t.Context(), "nobody")
		mustErr(t, "GetClient", err, store.ErrNotFound)
		if got != nil {
			t.Fatalf("GetClient returned %+v with ErrNotFound", got)
		}
	})

	t.Run("clients are listed sorted by id", func(t *testing.T) {
		s := h.store(t)
		list, err := s.ListClients(t.Context())
		mustErr(t, "ListClients on an empty store", err, nil)
		if len(list) != 0 {
			t.Fatalf("empty store lists %d clients", len(list))
		}
		for _, id := range []string{"charlie", "alpha", "bravo/x", "bravo"} {
			mustErr(t, "CreateClient "+id, s.CreateClient(t.Context(), sampleClient(id)), nil)
		}
		list, err = s.ListClients(t.Context())
		mustErr(t, "ListClients", err, nil)
		var ids []string
		for _, c := range list {
			ids = append(ids, c.ID)
		}
		mustEqual(t, "ListClients ids", ids, []string{"alpha", "bravo", "bravo/x", "charlie"})
		mustEqual(t, "first listed client", list[0], sampleClientLike(list[0], "alpha"))
	})

	t.Run("updating a client replaces it", func(t *testing.T) {
		s := h.store(t)
		mustErr(t, "CreateClient", s.CreateClient(t.Context(), sampleClient("app")), nil)
		next := sampleClient("app")
		next.Name = "Renamed"
		next.RedirectURIs = []string{"https://new.example/cb"}
		next.Public, next.SecretHash = true, nil
		mustErr(t, "UpdateClient", s.UpdateClient(t.Context(), next), nil)
		got, err := s.GetClient(t.Context(), "app")
		mustErr(t, "GetClient", err, nil)
		mustEqual(t, "GetClient after update", got, next)
	})

	t.Run("post-logout redirect URIs are kept, replaced and cleared by updates", func(t *testing.T) {
		s := h.store(t)
		c := sampleClient("rp")
		mustErr(t, "CreateClient", s.CreateClient(t.Context(), c), nil)
		got, err := s.GetClient(t.Context(), "rp")
		mustErr(t, "GetClient", err, nil)
		mustEqual(t, "post_logout_redirect_uris", got.PostLogoutRedirectURIs, c.PostLogoutRedirectURIs)
		c.PostLogoutRedirectURIs = []string{"https://rp.example/logged-out"}
		mustErr(t, "UpdateClient", s.UpdateClient(t.Context(), c), nil)
		got, err = s.GetClient(t.Context(), "rp")
		mustErr(t, "GetClient after update", err, nil)
		mustEqual(t, "post_logout_redirect_uris after update", got.PostLogoutRedirectURIs, []string{"https://rp.example/logged-out"})
		c.PostLogoutRedirectURIs = nil
		mustErr(t, "UpdateClient", s.UpdateClient(t.Context(), c), nil)
		got, err = s.GetClient(t.Context(), "rp")
		mustErr(t, "GetClient after clearing", err, nil)
		if len(got.PostLogoutRedirectURIs) != 0 {
			t.Fatalf("cleared post_logout_redirect_uris read back as %q", got.PostLogoutRedirectURIs)
		}
	})

	t.Run("updating an unknown client is ErrNotFound and creates nothing", func(t *testing.T) {
		s := h.store(t)
		mustErr(t, "UpdateClient", s.UpdateClient(t.Context(), sampleClient("ghost")), store.ErrNotFound)
		_, err := s.GetClient(t.Context(), "ghost")
		mustErr(t, "GetClient", err, store.ErrNotFound)
	})

	t.Run("a deleted client is gone and deleting it again is ErrNotFound", func(t *testing.T) {
		s := h.store(t)
		mustErr(t, "CreateClient", s.CreateClient(t.Context(), sampleClient("app")), nil)
		mustErr(t, "CreateClient", s.CreateClient(t.Context(), sampleClient("other")), nil)
		mustErr(t, "DeleteClient", s.DeleteClient(t.Context(), "app"), nil)
		_, err := s.GetClient(t.Context(), "app")
		mustErr(t, "GetClient after delete", err, store.ErrNotFound)
		_, err = s.GetClient(t.Context(), "other")
		mustErr(t, "GetClient of another client", err, nil)
		mustErr(t, "DeleteClient again", s.DeleteClient(t.Context(), "app"), store.ErrNotFound)
	})
}

// sampleClientLike is sampleClient(id) with got's random and time fields,
// for checking that a listed client carries its data.
func sampleClientLike(got *store.Client, id string) *store.Client {
	c := sampleClient(id)
	c.SecretHash, c.CreatedAt = got.SecretHash, got.CreatedAt
	return c
}
