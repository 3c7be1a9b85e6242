package oauth2

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"
)

type introspectJSON struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope"`
	ClientID  string `json:"client_id"`
	Username  string `json:"username"`
	TokenType string `json:"token_type"`
	Exp       int64  `json:"exp"`
	Iat       int64  `json:"iat"`
	Sub       string `json:"sub"`
	Iss       string `json:"iss"`
}

func (e *env) introspect(client, secret, token string) introspectJSON {
	e.t.Helper()
	rec := e.post(e.srv.Introspect, url.Values{"token": {token}}, client, secret)
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "no-store" {
		e.t.Fatalf("status %d %v", rec.Code, rec.Header())
	}
	var ij introspectJSON
	if err := json.Unmarshal(rec.Body.Bytes(), &ij); err != nil {
		e.t.Fatal(err)
	}
	return ij
}

func TestIntrospect(t *testing.T) {
	e := newEnv(t, nil)
	_, user := e.exchange("web", webSecret, e.code("web", "alice", url.Values{"scope": {"read write"}}), nil)
	svc := e.decode(e.post(e.srv.Token, url.Values{"grant_type": {"client_credentials"}}, "svc", svcSecret))
	now := e.clock.Now()

	t.Run("a resource server sees any token", func(t *testing.T) {
		e := e.on(t)
		got := e.introspect("rs", rsSecret, user.AccessToken)
		want := introspectJSON{Active: true, Scope: "read write", ClientID: "web", Username: "alice", TokenType: "Bearer",
			Exp: now.Add(time.Hour).Unix(), Iat: now.Unix(), Sub: "alice", Iss: testIssuer}
		if got != want {
			t.Fatalf("got %+v\nwant %+v", got, want)
		}
		got = e.introspect("rs", rsSecret, svc.AccessToken)
		if !got.Active || got.Username != "" || got.Sub != "svc" || got.ClientID != "svc" {
			t.Fatalf("client token %+v", got)
		}
		if got := e.introspect("rs", rsSecret, user.RefreshToken); !got.Active || got.TokenType != "refresh_token" {
			t.Fatalf("refresh token %+v", got)
		}
	})
	t.Run("a client sees its own tokens", func(t *testing.T) {
		e := e.on(t)
		if got := e.introspect("web", webSecret, user.AccessToken); !got.Active || got.Username != "alice" {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("a client does not see other clients' tokens", func(t *testing.T) {
		e := e.on(t)
		if got := e.introspect("svc", svcSecret, user.AccessToken); got != (introspectJSON{}) {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("unknown tokens are inactive", func(t *testing.T) {
		e := e.on(t)
		if got := e.introspect("rs", rsSecret, "nope"); got != (introspectJSON{}) {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("unauthenticated callers get 401", func(t *testing.T) {
		e := e.on(t)
		e.wantError(e.post(e.srv.Introspect, url.Values{"token": {user.AccessToken}}, "", ""), 401, "invalid_client")
		e.wantError(e.post(e.srv.Introspect, url.Values{"token": {user.AccessToken}, "client_id": {"spa"}}, "", ""), 401, "invalid_client")
		e.wantError(e.post(e.srv.Introspect, url.Values{"token": {user.AccessToken}}, "rs", "bad"), 401, "invalid_client")
	})
	t.Run("a missing token is invalid_request", func(t *testing.T) {
		e := e.on(t)
		e.wantError(e.post(e.srv.Introspect, url.Values{}, "rs", rsSecret), 400, "invalid_request")
	})
	t.Run("a rotated refresh token is inactive", func(t *testing.T) {
		e := e.on(t)
		_, tj := e.exchange("web", webSecret, e.code("web", "bob", nil), nil)
		if rec, _ := refreshWith(e, "web", webSecret, tj.RefreshToken, nil); rec.Code != 200 {
			t.Fatal(rec.Body.String())
		}
		if got := e.introspect("rs", rsSecret, tj.RefreshToken); got.Active {
			t.Fatalf("rotated token active: %+v", got)
		}
	})
	t.Run("expired and revoked tokens are inactive", func(t *testing.T) {
		e := e.on(t)
		e.post(e.srv.Revoke, url.Values{"token": {svc.AccessToken}}, "svc", svcSecret)
		if got := e.introspect("rs", rsSecret, svc.AccessToken); got.Active {
			t.Fatal("revoked token active")
		}
		e.clock.Advance(time.Hour)
		if got := e.introspect("rs", rsSecret, user.AccessToken); got.Active {
			t.Fatal("expired token active")
		}
	})
}
