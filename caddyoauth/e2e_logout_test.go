package caddyoauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	xoauth2 "golang.org/x/oauth2"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/login"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// The RP-initiated logout test listens on 127.0.0.1:9620; 9621 is the
// relying party, which never needs to answer (redirects are not followed).
const (
	logoutAuth     = "http://127.0.0.1:9620"
	logoutRedirect = "http://127.0.0.1:9621/callback"
	logoutBye      = "http://127.0.0.1:9621/signed-out"
)

func logoutCaddyfile(t *testing.T) string {
	h := testPasswordHash(t)
	return e2eGlobal(`oauth {
		server {
			issuer `+logoutAuth+`
			storage badger `+t.TempDir()+`
			scopes openid profile
			user `+testUser+` `+h+`
			user bob `+h+`
			client rp {
				secret rp-secret
				redirect_uri `+logoutRedirect+`
				post_logout_redirect_uri `+logoutBye+`
				trusted
			}
		}
	}`) + `
` + logoutAuth + ` {
	oauth_server
	respond "not an oauth endpoint" 404
}
`
}

// TestRPInitiatedLogoutEndToEnd: a relying party (go-oidc) gets a real ID
// token, sends the browser to end_session with it, and the browser comes
// back to the registered URI with state, signed out everywhere the store
// is shared; a hint for another user gets login_required with prompt=none
// and the login page without it.
func TestRPInitiatedLogoutEndToEnd(t *testing.T) {
	startCaddy(t, logoutCaddyfile(t))
	ctx := oidc.ClientContext(context.Background(), &http.Client{Timeout: 10 * time.Second})
	op, err := oidc.NewProvider(ctx, logoutAuth)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
		Claims     *bool  `json:"claims_parameter_supported"`
	}
	if err := op.Claims(&meta); err != nil || meta.EndSession != logoutAuth+"/oauth2/end_session" || meta.Claims == nil || *meta.Claims {
		t.Fatalf("discovery end_session_endpoint %q claims_parameter_supported %v (%v)", meta.EndSession, meta.Claims, err)
	}
	rp := &xoauth2.Config{ClientID: "rp", ClientSecret: "rp-secret", RedirectURL: logoutRedirect,
		Endpoint: op.Endpoint(), Scopes: []string{oidc.ScopeOpenID}}
	wc := newWebClient(t)
	idToken := func(wc *webClient) string {
		t.Helper()
		pkce := xoauth2.GenerateVerifier()
		code := oidcCode(t, wc, rp.AuthCodeURL("st", xoauth2.S256ChallengeOption(pkce)), "st")
		tok, err := rp.Exchange(ctx, code, xoauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := tok.Extra("id_token").(string)
		if _, err := op.Verifier(&oidc.Config{ClientID: "rp"}).Verify(ctx, raw); err != nil {
			t.Fatalf("verify: %v", err)
		}
		return raw
	}
	alicesHint := idToken(wc)
	session := wc.cookie(t, logoutAuth, login.DefaultCookieName)
	if session == "" {
		t.Fatal("no session cookie")
	}
	endSession := func(q url.Values) string { return meta.EndSession + "?" + q.Encode() }

	t.Run("a near-miss post_logout_redirect_uri is an error page and signs nobody out", func(t *testing.T) {
		resp, body := wc.get(t, endSession(url.Values{"id_token_hint": {alicesHint}, "post_logout_redirect_uri": {logoutBye + "/"}, "state": {"s"}}))
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(body, "not registered") {
			t.Fatalf("%d %v", resp.StatusCode, resp.Header)
		}
		if wc.cookie(t, logoutAuth, login.DefaultCookieName) != session {
			t.Fatal("the session cookie changed")
		}
	})

	t.Run("end_session with the ID token signs out and returns with state", func(t *testing.T) {
		resp, body := wc.get(t, endSession(url.Values{"id_token_hint": {alicesHint}, "post_logout_redirect_uri": {logoutBye}, "state": {"bye state"}}))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != logoutBye+"?state=bye+state" {
			t.Fatalf("%d Location %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		srv, err := runningServer(DefaultServerName)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Store().GetSession(t.Context(), provider.HashToken(session)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the session is still in the store: %v", err)
		}
		// The next authorization request needs a login again.
		resp, body = wc.get(t, rp.AuthCodeURL("st", xoauth2.S256ChallengeOption(xoauth2.GenerateVerifier())))
		toLogin(t, resp, body, "/oauth/login")
	})

	t.Run("a hint for another user: login_required with prompt=none, the login page without", func(t *testing.T) {
		bob := newWebClient(t)
		authURL := rp.AuthCodeURL("st", xoauth2.S256ChallengeOption(xoauth2.GenerateVerifier()))
		resp, body := bob.get(t, authURL)
		loginURL := toLogin(t, resp, body, "/oauth/login")
		if resp, body := signIn(t, bob, loginURL.String(), "bob", testPassword); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("bob's login: %d %s", resp.StatusCode, body)
		}
		hinted := func(extra ...string) string {
			opts := []xoauth2.AuthCodeOption{xoauth2.S256ChallengeOption(xoauth2.GenerateVerifier()), xoauth2.SetAuthURLParam("id_token_hint", alicesHint)}
			for i := 0; i+1 < len(extra); i += 2 {
				opts = append(opts, xoauth2.SetAuthURLParam(extra[i], extra[i+1]))
			}
			return rp.AuthCodeURL("st", opts...)
		}
		resp, body = bob.get(t, hinted("prompt", "none"))
		if q := location(t, resp).Query(); q.Get("error") != "login_required" || q.Get("state") != "st" {
			t.Fatalf("prompt=none: %d %s\n%s", resp.StatusCode, location(t, resp), body)
		}
		resp, body = bob.get(t, hinted())
		if back := toLogin(t, resp, body, "/oauth/login").Query().Get("return_to"); strings.Contains(back, "id_token_hint") || !strings.Contains(back, "/oauth2/authorize") {
			t.Fatalf("the login page returns to %q", back)
		}
		// A hint that is no ID token of this server is invalid_request.
		resp, _ = bob.get(t, rp.AuthCodeURL("st", xoauth2.S256ChallengeOption(xoauth2.GenerateVerifier()), xoauth2.SetAuthURLParam("id_token_hint", "e30.e30.e30")))
		if q := location(t, resp).Query(); q.Get("error") != "invalid_request" {
			t.Fatalf("a bogus hint: %s", location(t, resp))
		}
		// Without a hint bob's session asks for a confirmation first.
		resp, body = bob.get(t, endSession(url.Values{"client_id": {"rp"}, "post_logout_redirect_uri": {logoutBye}}))
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="csrf_token"`) {
			t.Fatalf("confirmation: %d %s", resp.StatusCode, body)
		}
		action, form := consentForm(t, body)
		resp, _ = bob.post(t, logoutAuth+action, form)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != logoutBye {
			t.Fatalf("confirmed: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}
