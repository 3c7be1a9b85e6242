package oidc_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider/oidc"
)

func TestUserInfo(t *testing.T) {
	e := newEnv(t, "")
	withProfile := e.exchange("web", webSecret, webRedirect, e.code("web", webRedirect, "openid profile", "", time.Time{})).AccessToken
	openidOnly := e.exchange("web", webSecret, webRedirect, e.code("web", webRedirect, "openid", "", time.Time{})).AccessToken
	noOpenID := e.exchange("web", webSecret, webRedirect, e.code("web", webRedirect, "profile read", "", time.Time{})).AccessToken
	clientOnly := e.token("svc", webSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}).AccessToken

	t.Run("answers sub and, with profile, preferred_username", func(t *testing.T) {
		rec := e.get(oidc.PathUserInfo, withProfile)
		body := decode(t, rec, http.StatusOK)
		if body["sub"] != "alice" || body["preferred_username"] != "alice" || rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("%v %v", body, rec.Header())
		}
		if body := decode(t, e.get(oidc.PathUserInfo, openidOnly), http.StatusOK); body["sub"] != "alice" || body["preferred_username"] != nil {
			t.Fatalf("openid only: %v", body)
		}
	})
	t.Run("accepts POST with the token in the body", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, oidc.PathUserInfo, strings.NewReader("access_token="+url.QueryEscape(withProfile)))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		e.mux.ServeHTTP(rec, r)
		if body := decode(t, rec, http.StatusOK); body["sub"] != "alice" {
			t.Fatal(body)
		}
	})
	t.Run("refuses a token without openid with insufficient_scope", func(t *testing.T) {
		rec := e.get(oidc.PathUserInfo, noOpenID)
		if body := decode(t, rec, http.StatusForbidden); body["error"] != "insufficient_scope" {
			t.Fatal(body)
		}
		if h := rec.Header().Get("WWW-Authenticate"); !strings.Contains(h, `error="insufficient_scope"`) || !strings.Contains(h, `scope="openid"`) {
			t.Fatalf("challenge %q", h)
		}
	})
	t.Run("refuses a client_credentials token, which names no user", func(t *testing.T) {
		if body := decode(t, e.get(oidc.PathUserInfo, clientOnly), http.StatusForbidden); body["error"] != "insufficient_scope" {
			t.Fatal(body)
		}
	})
	t.Run("audits what it served and what it refused", func(t *testing.T) {
		e.events.reset()
		e.get(oidc.PathUserInfo, withProfile)
		e.get(oidc.PathUserInfo, noOpenID)
		got := e.events.named("userinfo_served", "userinfo_refused")
		if len(got) != 2 || got[0].User != "alice" || got[0].ClientID != "web" || got[0].Protocol != "openid" ||
			got[1].Reason != "insufficient_scope" {
			t.Fatalf("events %+v", got)
		}
	})
	t.Run("answers a bare challenge without a token", func(t *testing.T) {
		rec := e.get(oidc.PathUserInfo, "")
		if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") != `Bearer realm="`+testIssuer+`"` {
			t.Fatalf("%d %v", rec.Code, rec.Header())
		}
	})
	t.Run("refuses an unknown token and an ID token as invalid_token", func(t *testing.T) {
		idToken := e.exchange("web", webSecret, webRedirect, e.code("web", webRedirect, "openid", "", time.Time{})).IDToken
		for _, tok := range []string{"nonsense", idToken} {
			rec := e.get(oidc.PathUserInfo, tok)
			if body := decode(t, rec, http.StatusUnauthorized); body["error"] != "invalid_token" {
				t.Fatal(body)
			}
		}
	})
}

func decode(t *testing.T, rec *httptest.ResponseRecorder, status int) map[string]any {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body.String())
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("%q: %v", rec.Body.String(), err)
	}
	return m
}
