package oauth2

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

func TestRevoke(t *testing.T) {
	grant := func(e *env) tokenJSON {
		_, tj := e.exchange("web", webSecret, e.code("web", "alice", nil), nil)
		return tj
	}
	revoke := func(e *env, client, secret string, form url.Values) int {
		rec := e.post(e.srv.Revoke, form, client, secret)
		if rec.Code == 200 && rec.Body.Len() != 0 {
			e.t.Fatalf("body %q", rec.Body.String())
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			e.t.Fatal("cacheable")
		}
		return rec.Code
	}
	t.Run("revoking an access token revokes only it", func(t *testing.T) {
		e := newEnv(t, nil)
		tj := grant(e)
		if c := revoke(e, "web", webSecret, url.Values{"token": {tj.AccessToken}, "token_type_hint": {"access_token"}}); c != 200 {
			t.Fatalf("status %d", c)
		}
		if e.active(tj.AccessToken) {
			t.Fatal("still active")
		}
		if rec, _ := refreshWith(e, "web", webSecret, tj.RefreshToken, nil); rec.Code != 200 {
			t.Fatal("refresh token revoked with the access token")
		}
		if !e.events.has("token_revoked") {
			t.Fatal("no event")
		}
		e.checkNoSecretsLogged()
	})
	t.Run("revoking a refresh token revokes its family", func(t *testing.T) {
		e := newEnv(t, nil)
		tj := grant(e)
		other := grant(e)
		// A wrong hint does not matter.
		if c := revoke(e, "web", webSecret, url.Values{"token": {tj.RefreshToken}, "token_type_hint": {"access_token"}}); c != 200 {
			t.Fatalf("status %d", c)
		}
		if e.active(tj.AccessToken) {
			t.Fatal("access token of the family still active")
		}
		rec, _ := refreshWith(e, "web", webSecret, tj.RefreshToken, nil)
		e.wantError(rec, 400, "invalid_grant")
		if !e.active(other.AccessToken) {
			t.Fatal("another grant was revoked")
		}
	})
	t.Run("a token of another client is left alone with 200", func(t *testing.T) {
		e := newEnv(t, nil)
		tj := grant(e)
		if c := revoke(e, "dyn", webSecret, url.Values{"token": {tj.AccessToken}}); c != 200 {
			t.Fatalf("status %d", c)
		}
		if !e.active(tj.AccessToken) {
			t.Fatal("another client revoked the token")
		}
	})
	t.Run("an unknown token answers 200", func(t *testing.T) {
		e := newEnv(t, nil)
		if c := revoke(e, "web", webSecret, url.Values{"token": {"nope"}, "token_type_hint": {"refresh_token"}}); c != 200 {
			t.Fatalf("status %d", c)
		}
	})
	t.Run("OAuth 1 credentials are not revoked here", func(t *testing.T) {
		e := newEnv(t, nil)
		o1 := &store.Token{Hash: provider.HashToken("oauth1-token"), Kind: store.KindOAuth1Access, ClientID: "web", User: "alice",
			IssuedAt: e.clock.Now(), ExpiresAt: e.clock.Now().Add(time.Hour)}
		if err := e.db.SaveToken(context.Background(), o1); err != nil {
			t.Fatal(err)
		}
		if c := revoke(e, "web", webSecret, url.Values{"token": {"oauth1-token"}}); c != 200 {
			t.Fatalf("status %d", c)
		}
		if _, err := e.db.GetToken(context.Background(), o1.Hash); err != nil {
			t.Fatal("OAuth 1 token revoked through OAuth 2")
		}
	})
	t.Run("a public client revokes its own tokens with client_id", func(t *testing.T) {
		e := newEnv(t, nil)
		code := e.code("spa", "alice", url.Values{"redirect_uri": {spaRedirect}, "code_challenge": {S256Challenge(testVerifier)}, "code_challenge_method": {"S256"}})
		rec := e.post(e.srv.Token, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {"spa"},
			"redirect_uri": {spaRedirect}, "code_verifier": {testVerifier}}, "", "")
		tj := e.decode(rec)
		if tj.AccessToken == "" {
			t.Fatalf("%s", rec.Body.String())
		}
		if c := revoke(e, "", "", url.Values{"token": {tj.RefreshToken}, "client_id": {"spa"}}); c != 200 || e.active(tj.AccessToken) {
			t.Fatalf("status %d active %v", c, e.active(tj.AccessToken))
		}
	})
	t.Run("client authentication is required", func(t *testing.T) {
		e := newEnv(t, nil)
		tj := grant(e)
		e.wantError(e.post(e.srv.Revoke, url.Values{"token": {tj.AccessToken}}, "", ""), 401, "invalid_client")
		e.wantError(e.post(e.srv.Revoke, url.Values{"token": {tj.AccessToken}}, "web", "wrong"), 401, "invalid_client")
		if !e.active(tj.AccessToken) {
			t.Fatal("revoked without authentication")
		}
	})
	t.Run("a missing token is invalid_request", func(t *testing.T) {
		e := newEnv(t, nil)
		e.wantError(e.post(e.srv.Revoke, url.Values{}, "web", webSecret), 400, "invalid_request")
		e.wantError(e.post(e.srv.Revoke, url.Values{"token": {"a", "b"}}, "web", webSecret), 400, "invalid_request")
	})
	t.Run("GET is refused", func(t *testing.T) {
		e := newEnv(t, nil)
		r, _ := http.NewRequest(http.MethodGet, PathRevoke+"?token=x", nil)
		rec := newRecorder()
		e.srv.Revoke(rec, r)
		e.wantError(rec, 405, "invalid_request")
	})
}
