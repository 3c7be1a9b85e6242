package caddyoauth

import (
	"context"
	"github.com/caddy-oauth/caddy-oauth/provider/registry"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddy-oauth/caddy-oauth/provider/oauth1"
)

// TestRequireOAuthRefusesRevokedOAuth1TokensAtOnce: the OAuth 1 engine
// caches verified token credentials, and OAuth 1 tokens are revoked by
// the OAuth 2 engine (RevokeUser, RevokeClient) and the admin API
// (revocation, client deletion). A token that require_oauth accepted, and
// so cached, must be refused by the very next request after any of them.
func TestRequireOAuthRefusesRevokedOAuth1TokensAtOnce(t *testing.T) {
	ctx := context.Background()
	srv := newTestServer(t, &ServerConfig{
		Scopes:  []string{"read"},
		Clients: []ClientConfig{{ClientMetadata: registry.ClientMetadata{ClientID: "static", Name: "Static", Scopes: []string{"read"}}, Secret: "static-secret"}},
	})
	h := newTestRequire(t, srv, &RequireOAuth{Scopes: []string{"read"}})
	m := managerFor(srv)

	// status signs a fresh request (own nonce) and returns require_oauth's
	// status; 200 means the next handler ran.
	status := func(t *testing.T, creds oauth1.ClientCreds) int {
		t.Helper()
		r := httptest.NewRequest(http.MethodGet, "http://api.example.com/x", nil)
		if err := oauth1.Sign(r, creds); err != nil {
			t.Fatal(err)
		}
		w, next, _ := serve(t, h, r)
		if (w.Code == http.StatusOK) != next.called {
			t.Fatalf("status %d, next called %v", w.Code, next.called)
		}
		return w.Code
	}

	for _, c := range []struct {
		name string
		// client returns the client ID and secret to issue the token to.
		client func(t *testing.T) (id, secret string)
		revoke func(t *testing.T, user, clientID string)
	}{
		{"OAuth 2 engine RevokeUser", theStaticClient, func(t *testing.T, user, _ string) {
			if n, err := srv.OAuth2().RevokeUser(ctx, user); err != nil || n != 1 {
				t.Fatalf("RevokeUser = %d, %v", n, err)
			}
		}},
		{"OAuth 2 engine RevokeClient", theStaticClient, func(t *testing.T, _, clientID string) {
			if n, err := srv.OAuth2().RevokeClient(ctx, clientID); err != nil || n != 1 {
				t.Fatalf("RevokeClient = %d, %v", n, err)
			}
		}},
		{"admin API revocation by user", theStaticClient, func(t *testing.T, user, _ string) {
			if res, err := m.Revoke(ctx, user, ""); err != nil || res.Revoked != 1 {
				t.Fatalf("revoke = %+v, %v", res, err)
			}
		}},
		{"admin API client deletion", func(t *testing.T) (string, string) {
			v, err := m.CreateClient(ctx, registry.ClientMetadata{Name: "Dynamic", Scopes: []string{"read"}})
			if err != nil {
				t.Fatal(err)
			}
			return v.ClientID, v.ClientSecret
		}, func(t *testing.T, _, clientID string) {
			if res, err := m.DeleteClient(ctx, clientID); err != nil || res.Revoked != 1 {
				t.Fatalf("deleteClient = %+v, %v", res, err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			clientID, clientSecret := c.client(t)
			user := "user-" + t.Name()
			token, secret := issueOAuth1(t, srv, clientID, user, "read")
			creds := oauth1.ClientCreds{ConsumerKey: clientID, ConsumerSecret: clientSecret, Token: token, TokenSecret: secret}
			for range 2 { // the second is answered from the cache
				if got := status(t, creds); got != http.StatusOK {
					t.Fatalf("before the revocation: %d, want 200", got)
				}
			}
			c.revoke(t, user, clientID)
			if got := status(t, creds); got != http.StatusUnauthorized {
				t.Fatalf("right after the revocation: %d, want 401", got)
			}
		})
	}
}

func theStaticClient(*testing.T) (string, string) { return "static", "static-secret" }
