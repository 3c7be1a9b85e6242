package caddyoauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	xoauth2 "golang.org/x/oauth2"
)

// The OpenID Connect tests listen on 127.0.0.1:9584-9589.
const (
	oidcAuth     = "http://127.0.0.1:9584"
	oidcAuthJWT  = "http://127.0.0.1:9585"
	oidcPlain    = "http://127.0.0.1:9586"
	oidcGateway  = "http://127.0.0.1:9587"
	oidcRedirect = "http://127.0.0.1:9589/callback"
)

// oidcCaddyfile: two servers with openid among their scopes (opaque and
// JWT access tokens) and one without, which is plain OAuth.
func oidcCaddyfile(t *testing.T, backendAddr string) string {
	h := testPasswordHash(t)
	return e2eGlobal(`oauth {
		server {
			issuer `+oidcAuth+`
			storage badger `+t.TempDir()+`
			scopes openid profile read offline_access
			default_scopes read
			user `+testUser+` `+h+`
			client rp {
				name "Relying party"
				secret rp-secret
				redirect_uri `+oidcRedirect+`
				scopes openid profile read offline_access
			}
			client other-rp {
				secret other-secret
				redirect_uri `+oidcRedirect+`
				scopes openid profile read offline_access
				trusted
			}
		}
		server jwt {
			issuer `+oidcAuthJWT+`
			storage badger `+t.TempDir()+`
			scopes openid profile read offline_access
			token_format jwt
			user `+testUser+` `+h+`
			client rp {
				secret rp-secret
				redirect_uri `+oidcRedirect+`
				id_token_signed_response_alg EdDSA
				trusted
			}
		}
		server plain {
			issuer `+oidcPlain+`
			storage badger `+t.TempDir()+`
			scopes read
			user `+testUser+` `+h+`
		}
	}`) + `
` + oidcAuth + ` {
	oauth_server
	respond "not an oauth endpoint" 404
}
` + oidcAuthJWT + ` {
	oauth_server jwt
	respond "not an oauth endpoint" 404
}
` + oidcPlain + ` {
	oauth_server plain
	respond "not an oauth endpoint" 404
}
` + oidcGateway + ` {
	require_oauth {
		issuer ` + oidcAuth + `
		introspect {
			client_id rp
			client_secret rp-secret
		}
	}
	reverse_proxy ` + backendAddr + `
}
`
}

// oidcCode runs the browser's part of the code flow at authURL (signing
// in first when wc has no session, approving the consent page when one
// is shown) and returns the code.
func oidcCode(t *testing.T, wc *webClient, authURL, state string) string {
	t.Helper()
	resp, body := wc.get(t, authURL)
	if resp.StatusCode == http.StatusSeeOther && strings.HasSuffix(location(t, resp).Path, "/oauth/login") {
		resp, body = signedInAt(t, wc, authURL, "/oauth/login")
	}
	if resp.StatusCode == http.StatusOK {
		action, form := consentForm(t, body)
		form.Set("decision", "approve")
		u, _ := url.Parse(authURL)
		resp, body = wc.post(t, u.Scheme+"://"+u.Host+action, form)
	}
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d, want a redirect with a code; body:\n%s", resp.StatusCode, body)
	}
	q := location(t, resp).Query()
	if q.Get("code") == "" || q.Get("state") != state {
		t.Fatalf("authorization response %v", q)
	}
	return q.Get("code")
}

func TestOpenIDConnectEndToEnd(t *testing.T) {
	be := newBackend(t)
	startCaddy(t, oidcCaddyfile(t, be.addr()))
	ctx := oidc.ClientContext(context.Background(), &http.Client{Timeout: 10 * time.Second})

	// Discovery, as a relying party does it: the document's issuer must
	// be the URL it was fetched from.
	provider, err := oidc.NewProvider(ctx, oidcAuth)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	if provider.Endpoint().TokenURL != oidcAuth+"/oauth2/token" || provider.UserInfoEndpoint() != oidcAuth+"/oauth2/userinfo" {
		t.Fatalf("endpoints %+v %s", provider.Endpoint(), provider.UserInfoEndpoint())
	}
	rp := &xoauth2.Config{
		ClientID: "rp", ClientSecret: "rp-secret", RedirectURL: oidcRedirect,
		Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile", oidc.ScopeOfflineAccess},
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: "rp"})
	wc := newWebClient(t)

	var first *xoauth2.Token
	var firstID *oidc.IDToken
	t.Run("the code flow returns an ID token the relying party verifies", func(t *testing.T) {
		nonce, state, pkce := "n-"+xoauth2.GenerateVerifier()[:20], "st-oidc", xoauth2.GenerateVerifier()
		before := time.Now().Truncate(time.Second)
		code := oidcCode(t, wc, rp.AuthCodeURL(state, oidc.Nonce(nonce), xoauth2.S256ChallengeOption(pkce)), state)
		tok, err := rp.Exchange(ctx, code, xoauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := verifier.Verify(ctx, raw)
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		if idt.Nonce != nonce {
			t.Fatalf("nonce %q, want %q", idt.Nonce, nonce)
		}
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			t.Fatalf("at_hash: %v", err)
		}
		var c struct {
			AuthTime int64    `json:"auth_time"`
			Azp      string   `json:"azp"`
			AMR      []string `json:"amr"`
		}
		_ = idt.Claims(&c)
		if !slices.Equal(c.AMR, []string{"pwd"}) {
			t.Errorf("amr %v, want [pwd] for the built-in login", c.AMR)
		}
		// testUser is a config user: its sub is random, kept in the storage.
		if !validSubject(idt.Subject) || c.Azp != "rp" || c.AuthTime < before.Unix() || c.AuthTime > time.Now().Unix() {
			t.Fatalf("sub %q azp %q auth_time %d (signed in from %d)", idt.Subject, c.Azp, c.AuthTime, before.Unix())
		}
		first, firstID = tok, idt

		info, err := provider.UserInfo(ctx, xoauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatalf("userinfo: %v", err)
		}
		var claims struct {
			PreferredUsername string `json:"preferred_username"`
		}
		_ = info.Claims(&claims)
		if info.Subject != idt.Subject || claims.PreferredUsername != testUser {
			t.Fatalf("userinfo sub %q preferred_username %q", info.Subject, claims.PreferredUsername)
		}
	})
	if first == nil {
		t.FailNow()
	}

	t.Run("a gateway trusting the issuer takes the access token but not the ID token", func(t *testing.T) {
		raw, _ := first.Extra("id_token").(string)
		call := func(tok string) int {
			req := newRequest(t, http.MethodGet, oidcGateway+"/data", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, _ := do(t, noRedirect(), req)
			return resp.StatusCode
		}
		// The gateway fetches the metadata in the background.
		status := 0
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if status = call(first.AccessToken); status != http.StatusServiceUnavailable || time.Now().After(deadline) {
				break
			}
		}
		if status != http.StatusOK {
			t.Fatalf("access token: %d", status)
		}
		if status := call(raw); status != http.StatusUnauthorized {
			t.Fatalf("ID token: %d, want 401", status)
		}
	})

	t.Run("the ID token is refused for another audience", func(t *testing.T) {
		raw, _ := first.Extra("id_token").(string)
		if _, err := provider.Verifier(&oidc.Config{ClientID: "other-rp"}).Verify(ctx, raw); err == nil {
			t.Fatal("the ID token of rp verified for other-rp")
		}
	})

	t.Run("a later flow of the same session echoes its own nonce exactly and keeps the sign-in time", func(t *testing.T) {
		// A second later, so that the request time differs from the
		// session's start.
		time.Sleep(1100 * time.Millisecond)
		state, pkce := "st-nonce", xoauth2.GenerateVerifier()
		sent := "Nonce-With-Case_and.dots~"
		code := oidcCode(t, wc, rp.AuthCodeURL(state, oidc.Nonce(sent), xoauth2.S256ChallengeOption(pkce)), state)
		tok, err := rp.Exchange(ctx, code, xoauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := verifier.Verify(ctx, raw)
		if err != nil || idt.Nonce != sent {
			t.Fatalf("nonce %v, want exactly %q (%v)", idt, sent, err)
		}
		var a, b struct {
			AuthTime int64 `json:"auth_time"`
		}
		_ = idt.Claims(&a)
		_ = firstID.Claims(&b)
		if a.AuthTime != b.AuthTime {
			t.Fatalf("auth_time %d, want the session's %d", a.AuthTime, b.AuthTime)
		}
	})

	t.Run("a refresh returns a new ID token for the same authentication", func(t *testing.T) {
		expired := *first
		expired.Expiry = time.Now().Add(-time.Minute)
		tok, err := rp.TokenSource(ctx, &expired).Token()
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := verifier.Verify(ctx, raw)
		if err != nil {
			t.Fatalf("refreshed ID token: %v", err)
		}
		var a, b struct {
			AuthTime int64 `json:"auth_time"`
		}
		_ = idt.Claims(&a)
		_ = firstID.Claims(&b)
		if idt.Subject != firstID.Subject || a.AuthTime != b.AuthTime || tok.AccessToken == first.AccessToken {
			t.Fatalf("sub %q auth_time %d, want %q %d", idt.Subject, a.AuthTime, firstID.Subject, b.AuthTime)
		}
	})

	t.Run("without offline_access an OpenID grant has no refresh token", func(t *testing.T) {
		online := *rp
		online.Scopes = []string{oidc.ScopeOpenID, "profile"}
		state, pkce := "st-online", xoauth2.GenerateVerifier()
		code := oidcCode(t, wc, online.AuthCodeURL(state, oidc.Nonce("online"), xoauth2.S256ChallengeOption(pkce)), state)
		tok, err := online.Exchange(ctx, code, xoauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatal(err)
		}
		if raw, _ := tok.Extra("id_token").(string); raw == "" || tok.RefreshToken != "" {
			t.Fatalf("id_token %t, refresh token %q", raw != "", tok.RefreshToken)
		}
	})

	t.Run("without scope openid there is no ID token, and UserInfo refuses the token", func(t *testing.T) {
		plain := *rp
		plain.Scopes = []string{"profile", "read"}
		state, pkce := "st-plain", xoauth2.GenerateVerifier()
		code := oidcCode(t, wc, plain.AuthCodeURL(state, xoauth2.S256ChallengeOption(pkce)), state)
		tok, err := plain.Exchange(ctx, code, xoauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatal(err)
		}
		if raw, _ := tok.Extra("id_token").(string); raw != "" {
			t.Fatal("an ID token without scope openid")
		}
		req := newRequest(t, http.MethodGet, oidcAuth+"/oauth2/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, body := do(t, noRedirect(), req)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
			t.Fatalf("userinfo: %d %v %s", resp.StatusCode, resp.Header, body)
		}
	})

	t.Run("with JWT access tokens too, from a session's first sign-in", func(t *testing.T) {
		p, err := oidc.NewProvider(ctx, oidcAuthJWT)
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		cfg := &xoauth2.Config{ClientID: "rp", ClientSecret: "rp-secret", RedirectURL: oidcRedirect,
			Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID}}
		state, pkce := "st-jwt", xoauth2.GenerateVerifier()
		code := oidcCode(t, newWebClient(t), cfg.AuthCodeURL(state, oidc.Nonce("jwt-nonce"), xoauth2.S256ChallengeOption(pkce)), state)
		tok, err := cfg.Exchange(ctx, code, xoauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := tok.Extra("id_token").(string)
		// The client asked for EdDSA (id_token_signed_response_alg), which
		// discovery lists after RS256; go-oidc takes the list from there.
		idt, err := p.Verifier(&oidc.Config{ClientID: "rp"}).Verify(ctx, raw)
		if err != nil || idt.Nonce != "jwt-nonce" {
			t.Fatalf("verify: %v %v", idt, err)
		}
		var d struct {
			Algs []string `json:"id_token_signing_alg_values_supported"`
		}
		if err := p.Claims(&d); err != nil || !slices.Equal(d.Algs, []string{"RS256", "EdDSA"}) {
			t.Fatalf("id_token_signing_alg_values_supported %v (%v)", d.Algs, err)
		}
		if h, _, _ := strings.Cut(raw, "."); !strings.Contains(string(mustDecodeSegment(t, h)), `"alg":"EdDSA"`) {
			t.Fatalf("ID token header %s, want alg EdDSA", mustDecodeSegment(t, h))
		}
		if _, err := p.UserInfo(ctx, xoauth2.StaticTokenSource(tok)); err != nil {
			t.Fatalf("userinfo: %v", err)
		}
	})

	t.Run("a server without openid among its scopes serves no discovery and no keys", func(t *testing.T) {
		for _, path := range []string{"/.well-known/openid-configuration", "/oauth2/userinfo", "/oauth2/jwks"} {
			resp, body := do(t, noRedirect(), newRequest(t, http.MethodGet, oidcPlain+path, nil))
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s: %d %s", path, resp.StatusCode, body)
			}
		}
		resp, body := do(t, noRedirect(), newRequest(t, http.MethodGet, oidcPlain+"/.well-known/oauth-authorization-server", nil))
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil || resp.StatusCode != http.StatusOK || m["jwks_uri"] != nil {
			t.Errorf("metadata %d %s", resp.StatusCode, body)
		}
	})
}

// TestOpenIDPromptAndMaxAge: prompt=none answers the client instead of
// showing the login page; prompt=login and a session older than max_age
// send a signed-in browser to the login page, which then returns to the
// request without prompt=login (no loop); a fresh enough session passes.
func TestOpenIDPromptAndMaxAge(t *testing.T) {
	be := newBackend(t)
	startCaddy(t, oidcCaddyfile(t, be.addr()))
	rp := &xoauth2.Config{ClientID: "rp", ClientSecret: "rp-secret", RedirectURL: oidcRedirect,
		Endpoint: xoauth2.Endpoint{AuthURL: oidcAuth + "/oauth2/authorize", TokenURL: oidcAuth + "/oauth2/token"},
		Scopes:   []string{"openid", "profile"}}
	wc := newWebClient(t)
	pkce := xoauth2.GenerateVerifier()
	authURL := func(opts ...xoauth2.AuthCodeOption) string {
		return rp.AuthCodeURL("st", append(opts, xoauth2.S256ChallengeOption(pkce))...)
	}

	resp, body := wc.get(t, authURL(xoauth2.SetAuthURLParam("prompt", "none")))
	if u := location(t, resp); u.Query().Get("error") != "login_required" || !strings.HasPrefix(u.String(), oidcRedirect) {
		t.Fatalf("prompt=none without a session: %d %s\n%s", resp.StatusCode, u, body)
	}

	oidcCode(t, wc, authURL(), "st") // signs in and consents

	for name, opt := range map[string]xoauth2.AuthCodeOption{
		"prompt=login": xoauth2.SetAuthURLParam("prompt", "login"),
		"max_age=0":    xoauth2.SetAuthURLParam("max_age", "0"),
	} {
		resp, body := wc.get(t, authURL(opt))
		loginURL := toLogin(t, resp, body, "/oauth/login")
		if back := loginURL.Query().Get("return_to"); strings.Contains(back, "prompt=login") || !strings.Contains(back, "/oauth2/authorize") {
			t.Errorf("%s: login returns to %q", name, back)
		}
	}
	if resp, body := wc.get(t, authURL(xoauth2.SetAuthURLParam("max_age", "3600"))); location(t, resp).Query().Get("code") == "" {
		t.Errorf("max_age=3600 with a fresh session: %d %s, want the code", resp.StatusCode, body)
	}
	if resp, _ := wc.get(t, authURL(xoauth2.SetAuthURLParam("prompt", "none"))); location(t, resp).Query().Get("code") == "" {
		t.Errorf("prompt=none with a session and consent: %s, want the code", location(t, resp))
	}
}

// mustDecodeSegment decodes one base64url segment of a compact JWS.
func mustDecodeSegment(t *testing.T, seg string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("segment %q: %v", seg, err)
	}
	return b
}
