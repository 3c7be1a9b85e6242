package caddyoauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	xoauth2 "golang.org/x/oauth2"

	"github.com/caddy-oauth/caddy-oauth/provider/registry"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// The standard claims tests listen on 127.0.0.1:9610 (9611 is only the
// relying party's redirect URI, never listened on).
const (
	claimsAuth     = "http://127.0.0.1:9610"
	claimsRedirect = "http://127.0.0.1:9611/callback"
)

// validSubject reports whether s looks like a subject registry.NewSubject
// makes: 128 bits, base64url.
func validSubject(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == 16
}

// claimsCaddyfile: a server granting every claim scope, whose config user
// has claims in the block form.
func claimsCaddyfile(t *testing.T, dir, extra string) string {
	return e2eGlobal(`oauth {
		server {
			issuer `+claimsAuth+`
			storage badger `+dir+`
			scopes openid profile email address phone read
			default_scopes read
			`+extra+`
			user `+testUser+` `+testPasswordHash(t)+` {
				name "Alice Liddell"
				given_name Alice
				email alice@example.com
				email_verified
				locale en-GB
				address {
					street_address "1 Rabbit Hole\nDown Below"
					locality Oxford
					country UK
				}
			}
			client rp {
				secret rp-secret
				redirect_uri `+claimsRedirect+`
				trusted
			}
		}
	}`) + `
` + claimsAuth + ` {
	oauth_server
}
`
}

// rpSignIn runs the code flow for user at the relying party rp, in a
// browser of its own, and returns the tokens and the verified ID token.
func rpSignIn(t *testing.T, ctx context.Context, p *oidc.Provider, rp *xoauth2.Config, user, password string) (*xoauth2.Token, *oidc.IDToken) {
	t.Helper()
	wc := newWebClient(t)
	state, pkce := "st-"+user, xoauth2.GenerateVerifier()
	authURL := rp.AuthCodeURL(state, oidc.Nonce("n-"+user), xoauth2.S256ChallengeOption(pkce))
	resp, body := wc.get(t, authURL)
	loginURL := toLogin(t, resp, body, "/oauth/login")
	if resp, body = signIn(t, wc, loginURL.String(), user, password); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login of %s: %d\n%s", user, resp.StatusCode, body)
	}
	resp, body = wc.get(t, location(t, resp).String())
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d, want a redirect with a code; body:\n%s", resp.StatusCode, body)
	}
	code := location(t, resp).Query().Get("code")
	tok, err := rp.Exchange(ctx, code, xoauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.Verifier(&oidc.Config{ClientID: rp.ClientID}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("ID token of %s: %v", user, err)
	}
	return tok, idt
}

// userInfoOf asks UserInfo with tok, as go-oidc does, and returns its
// subject and claims; the subject must be the ID token's.
func userInfoOf(t *testing.T, ctx context.Context, p *oidc.Provider, tok *xoauth2.Token, idt *oidc.IDToken) map[string]any {
	t.Helper()
	info, err := p.UserInfo(ctx, xoauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	var claims map[string]any
	if err := info.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if info.Subject != idt.Subject || claims["sub"] != idt.Subject {
		t.Fatalf("UserInfo sub %q, ID token sub %q", info.Subject, idt.Subject)
	}
	return claims
}

func TestOpenIDStandardClaimsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	cfg := claimsCaddyfile(t, dir, "")
	startCaddy(t, cfg)
	fastPasswordHashing(t)
	ctx := oidc.ClientContext(context.Background(), &http.Client{Timeout: 10 * time.Second})
	p, err := oidc.NewProvider(ctx, claimsAuth)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	var disc struct {
		Claims []string `json:"claims_supported"`
		Scopes []string `json:"scopes_supported"`
	}
	if err := p.Claims(&disc); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"sub", "name", "email", "email_verified", "address", "phone_number", "updated_at", "preferred_username"} {
		if !strings.Contains(" "+strings.Join(disc.Claims, " ")+" ", " "+c+" ") {
			t.Errorf("claims_supported %v lacks %s", disc.Claims, c)
		}
	}
	rp := &xoauth2.Config{ClientID: "rp", ClientSecret: "rp-secret", RedirectURL: claimsRedirect,
		Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile", "email", "address", "phone"}}
	const base = "/oauth/default"

	var staticSub string
	t.Run("a config user's claims come from the user block; its sub is random and the same in both", func(t *testing.T) {
		tok, idt := rpSignIn(t, ctx, p, rp, testUser, testPassword)
		if !validSubject(idt.Subject) {
			t.Fatalf("sub %q is no random subject", idt.Subject)
		}
		staticSub = idt.Subject
		claims := userInfoOf(t, ctx, p, tok, idt)
		want := map[string]any{
			"sub": staticSub, "preferred_username": testUser, "name": "Alice Liddell", "given_name": "Alice", "locale": "en-GB",
			"email": "alice@example.com", "email_verified": true,
			"address": map[string]any{"street_address": "1 Rabbit Hole\nDown Below", "locality": "Oxford", "country": "UK"},
		}
		if !equalAsJSON(claims, want) {
			t.Fatalf("claims %v\nwant   %v", claims, want)
		}
		var inToken map[string]any
		_ = idt.Claims(&inToken)
		if inToken["email"] != nil || inToken["name"] != nil {
			t.Errorf("claims in the ID token: %v", inToken)
		}
		var v registry.UserView
		adminJSON(t, http.MethodGet, base+"/users/"+testUser, "", http.StatusOK, &v)
		if !v.Static || v.Subject != staticSub || v.Claims.Email != "alice@example.com" {
			t.Errorf("admin view %+v", v)
		}
	})

	var doraSub string
	t.Run("a user added through the admin API has a random sub and the claims given", func(t *testing.T) {
		var v registry.UserView
		adminJSON(t, http.MethodPost, base+"/users",
			`{"username":"dora","password":"dora password","claims":{"name":"Dora","email":"dora@example.com","phone_number":"+4712345678","phone_number_verified":true,"zoneinfo":"Europe/Oslo"}}`,
			http.StatusCreated, &v)
		if !validSubject(v.Subject) || v.Subject == staticSub || v.Claims.Name != "Dora" || v.UpdatedAt == nil {
			t.Fatalf("created %+v", v)
		}
		doraSub = v.Subject
		tok, idt := rpSignIn(t, ctx, p, rp, "dora", "dora password")
		if idt.Subject != doraSub {
			t.Fatalf("ID token sub %q, want the stored subject %q", idt.Subject, doraSub)
		}
		claims := userInfoOf(t, ctx, p, tok, idt)
		want := map[string]any{
			"sub": doraSub, "preferred_username": "dora", "name": "Dora", "zoneinfo": "Europe/Oslo", "updated_at": float64(v.UpdatedAt.Unix()),
			"email": "dora@example.com", "email_verified": false, "phone_number": "+4712345678", "phone_number_verified": true,
		}
		if !equalAsJSON(claims, want) {
			t.Fatalf("claims %v\nwant   %v", claims, want)
		}

		// A change of claims shows at once; the sub and the password stay.
		v = registry.UserView{} // the answer leaves out what is empty
		adminJSON(t, http.MethodPatch, base+"/users/dora", `{"claims":{"name":"Dora M.","phone_number":null,"phone_number_verified":null}}`, http.StatusOK, &v)
		if v.Subject != doraSub || v.Claims.Name != "Dora M." || v.Claims.PhoneNumber != "" || v.Claims.Email != "dora@example.com" {
			t.Fatalf("patched %+v", v)
		}
		claims = userInfoOf(t, ctx, p, tok, idt)
		if claims["name"] != "Dora M." || claims["phone_number"] != nil || claims["email"] != "dora@example.com" {
			t.Fatalf("after the change: %v", claims)
		}
		if _, idt2 := rpSignIn(t, ctx, p, rp, "dora", "dora password"); idt2.Subject != doraSub {
			t.Fatalf("sub after the change %q", idt2.Subject)
		}
	})

	t.Run("bad claims are refused with 400 naming the claim, and nothing changes", func(t *testing.T) {
		for _, tc := range []struct{ method, path, body, want string }{
			{http.MethodPost, base + "/users", `{"username":"erin","password":"erin password","claims":{"email":"Erin <erin@example.com>"}}`, "email"},
			{http.MethodPost, base + "/users", `{"username":"erin","password":"erin password","claims":{"mail":"erin@example.com"}}`, "mail"},
			{http.MethodPatch, base + "/users/dora", `{"claims":{"picture":"file:///etc/passwd"}}`, "picture"},
			{http.MethodPatch, base + "/users/dora", `{"claims":{"birthdate":"1990-13-01"}}`, "birthdate"},
			{http.MethodPatch, base + "/users/dora", `{"claims":{"address":{"city":"Oslo"}}}`, "city"},
			{http.MethodPatch, base + "/users/dora", `{"claims":"name"}`, "claims"},
			{http.MethodPatch, base + "/users/dora", `{"password":"x"}`, "password"},
			{http.MethodPatch, base + "/users/dora", `{}`, "claims"},
		} {
			status, h, body := adminCall(t, tc.method, tc.path, tc.body)
			if status != http.StatusBadRequest || !strings.Contains(apiErrorOf(t, h, body), tc.want) {
				t.Errorf("%s %s %s: %d %s, want 400 naming %s", tc.method, tc.path, tc.body, status, body, tc.want)
			}
		}
		if status, _, _ := adminCall(t, http.MethodPatch, base+"/users/"+testUser, `{"claims":{"name":"X"}}`); status != http.StatusConflict {
			t.Errorf("a config user's claims: %d, want 409", status)
		}
		if status, _, _ := adminCall(t, http.MethodPatch, base+"/users/nobody", `{"claims":{"name":"X"}}`); status != http.StatusNotFound {
			t.Errorf("an unknown user: %d, want 404", status)
		}
		var v registry.UserView
		adminJSON(t, http.MethodGet, base+"/users/dora", "", http.StatusOK, &v)
		if v.Claims.Picture != "" || v.Claims.Name != "Dora M." {
			t.Errorf("after refused changes: %+v", v)
		}
		if status, _, _ := adminCall(t, http.MethodGet, base+"/users/erin", ""); status != http.StatusNotFound {
			t.Errorf("a refused user was added: %d", status)
		}
	})

	t.Run("the CLI sets claims through the admin API", func(t *testing.T) {
		addr := []string{"--address", testAdminAddr}
		mustCLI(t, "", append([]string{"user", "add", "erin", "--password", "erin password", "--name", "Erin", "--email", "erin@example.com",
			"--email-verified", "--street-address", `2 Main St\nFlat 3`, "--country", "FR"}, addr...)...)
		out := mustCLI(t, "", append([]string{"user", "set", "erin", "--name", "", "--nickname", "ee", "--claims", `{"locale":"fr-FR"}`}, addr...)...)
		if !strings.Contains(out, "Changed the claims of user erin") {
			t.Errorf("user set printed %q", out)
		}
		var v registry.UserView
		adminJSON(t, http.MethodGet, base+"/users/erin", "", http.StatusOK, &v)
		want := store.Claims{Nickname: "ee", Email: "erin@example.com", EmailVerified: true, Locale: "fr-FR",
			Address: store.Address{StreetAddress: "2 Main St\nFlat 3", Country: "FR"}}
		if v.Claims != want || !validSubject(v.Subject) {
			t.Fatalf("erin %+v\nwant claims %+v", v, want)
		}
		show := mustCLI(t, "", append([]string{"user", "show", "erin"}, addr...)...)
		for _, line := range []string{"sub:", v.Subject, "nickname:", "address.street_address:", `2 Main St\nFlat 3`} {
			if !strings.Contains(show, line) {
				t.Errorf("user show lacks %q:\n%s", line, show)
			}
		}
		if _, _, err := runCLI(t, "", append([]string{"user", "set", "erin", "--phone-number", "0612345678"}, addr...)...); err == nil || !strings.Contains(err.Error(), "phone_number") {
			t.Errorf("a bad phone number: %v", err)
		}
		if _, _, err := runCLI(t, "", append([]string{"user", "set", "erin"}, addr...)...); err == nil || !strings.Contains(err.Error(), "no claim to change") {
			t.Errorf("user set without a claim: %v", err)
		}
	})

	t.Run("a user deleted and added again under the same name gets another sub", func(t *testing.T) {
		adminJSON(t, http.MethodDelete, base+"/users/dora", "", http.StatusOK, nil)
		var v registry.UserView
		adminJSON(t, http.MethodPost, base+"/users", `{"username":"dora","password":"dora password"}`, http.StatusCreated, &v)
		_, idt := rpSignIn(t, ctx, p, rp, "dora", "dora password")
		if idt.Subject == doraSub || idt.Subject != v.Subject || !validSubject(idt.Subject) {
			t.Fatalf("sub %q after re-adding, before %q, stored %q", idt.Subject, doraSub, v.Subject)
		}
	})

	t.Run("a user stored before subjects keeps the username as sub", func(t *testing.T) {
		srv, err := runningServer("default")
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Store().CreateUser(t.Context(), &store.User{Username: "olduser", PasswordHash: testPasswordHash(t)}); err != nil {
			t.Fatal(err)
		}
		tok, idt := rpSignIn(t, ctx, p, rp, "olduser", testPassword)
		if idt.Subject != "olduser" {
			t.Fatalf("sub %q, want the username", idt.Subject)
		}
		if claims := userInfoOf(t, ctx, p, tok, idt); claims["preferred_username"] != "olduser" {
			t.Fatalf("claims %v", claims)
		}
		// A change of claims leaves the sub as it was.
		adminJSON(t, http.MethodPatch, base+"/users/olduser", `{"claims":{"name":"Old"}}`, http.StatusOK, nil)
		if _, idt := rpSignIn(t, ctx, p, rp, "olduser", testPassword); idt.Subject != "olduser" {
			t.Fatalf("sub after a claims change %q", idt.Subject)
		}
	})

	t.Run("a reload and a restart keep the config user's sub", func(t *testing.T) {
		if staticSub == "" {
			t.Skip("no sub from the first flow")
		}
		// A reload (a changed config: Caddy skips an unchanged one)
		// provisions the users anew; then a restart on the same storage.
		startCaddy(t, claimsCaddyfile(t, dir, "access_token_ttl 30m"))
		// The old servers closed their connections: a kept-alive one
		// reused by the next request would fail with EOF.
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		if _, idt := rpSignIn(t, ctx, p, rp, testUser, testPassword); idt.Subject != staticSub {
			t.Fatalf("sub after a reload %q, want %q", idt.Subject, staticSub)
		}
		unloadCaddy(t)
		startCaddy(t, cfg)
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		if _, idt := rpSignIn(t, ctx, p, rp, testUser, testPassword); idt.Subject != staticSub {
			t.Fatalf("sub after a restart %q, want %q", idt.Subject, staticSub)
		}
	})
}

// equalAsJSON compares two values as their JSON.
func equalAsJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
