package oauth2

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// Tests for protections a mutation audit found uncovered; each fails if
// the protection it names is removed.

// Least privilege (RFC 9700 §2.3, SECURITY.md OAuth 2 #7): the server's
// default scopes are granted only where the client is allowed them.
func TestDefaultScopesAreLimitedToTheClientsScopes(t *testing.T) {
	e := newEnv(t, nil) // default_scopes [read]
	if err := e.db.CreateClient(context.Background(), &store.Client{ID: "writer", Name: "Writer",
		SecretHash: provider.HashToken(webSecret), RedirectURIs: []string{"https://writer.example.com/cb"},
		Scopes: []string{"write"}, Grants: []string{GrantAuthorizationCode, GrantClientCredentials}}); err != nil {
		t.Fatal(err)
	}
	noRead := func(t *testing.T, tj tokenJSON) {
		t.Helper()
		if slices.Contains(provider.ParseScope(tj.Scope), "read") {
			t.Fatalf("granted scope %q to a client allowed only write", tj.Scope)
		}
		tok, err := e.db.GetToken(context.Background(), provider.HashToken(tj.AccessToken))
		if err != nil || slices.Contains(tok.Scopes, "read") {
			t.Fatalf("stored token %+v %v", tok, err)
		}
	}
	t.Run("client_credentials", func(t *testing.T) {
		e := e.on(t)
		rec := e.post(e.srv.Token, url.Values{"grant_type": {"client_credentials"}}, "writer", webSecret)
		tj := e.decode(rec)
		if rec.Code != http.StatusOK || tj.AccessToken == "" {
			t.Fatalf("%d %s", rec.Code, rec.Body.String())
		}
		noRead(t, tj)
	})
	t.Run("authorization_code", func(t *testing.T) {
		e := e.on(t)
		code := e.code("writer", "alice", nil)
		rec, tj := e.exchange("writer", webSecret, code, nil)
		if rec.Code != http.StatusOK || tj.AccessToken == "" {
			t.Fatalf("%d %s", rec.Code, rec.Body.String())
		}
		noRead(t, tj)
	})
}

// The redirect carrying the code must not be cached nor leak through
// Referer (RFC 9700 §4.2.4, §4.16; SECURITY.md OAuth 2 #10).
func TestCodeRedirectIsNotCachedAndSendsNoReferrer(t *testing.T) {
	e := newEnv(t, nil)
	check := func(name string, rec *httptest.ResponseRecorder, status int) {
		t.Helper()
		if rec.Code != status || location(t, rec).Query().Get("code") == "" {
			t.Fatalf("%s: status %d, want %d with a code", name, rec.Code, status)
		}
		h := rec.Header()
		if h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Fatalf("%s: headers %v", name, h)
		}
	}
	// 302: a trusted client skips consent.
	check("GET", e.authorize(http.MethodGet, url.Values{"response_type": {"code"}, "client_id": {"first"}}, "alice"), http.StatusFound)
	// 303: after approving the consent form.
	check("consent POST", e.consent(webParams(), "bob", "approve"), http.StatusSeeOther)
}

// Bodies are size-limited (SECURITY.md "Everywhere"): the limit is
// checked by behaviour, independent of the MaxBodyBytes constant, so
// raising it past 64 KiB fails too.
func TestTokenEndpointRefusesBodiesOver64KiB(t *testing.T) {
	e := newEnv(t, nil)
	body := "grant_type=client_credentials&pad=" + strings.Repeat("a", 64<<10)
	r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth("svc", svcSecret)
	rec := httptest.NewRecorder()
	e.srv.Token(rec, r)
	e.wantError(rec, http.StatusRequestEntityTooLarge, "invalid_request")
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
}

// An unknown code value must never be echoed into an event or the error
// description (SECURITY.md: no code in any log).
func TestUnknownCodeIsNeverEchoed(t *testing.T) {
	e := newEnv(t, nil)
	unknown := "unknown-code-Zq7x9VbN3mKp"
	e.secrets = append(e.secrets, unknown)
	rec, tj := e.exchange("web", webSecret, unknown, url.Values{"redirect_uri": {webRedirect}})
	e.wantError(rec, http.StatusBadRequest, "invalid_grant")
	if strings.Contains(rec.Body.String(), unknown) || strings.Contains(tj.ErrorDescription, unknown) {
		t.Fatalf("answer echoes the code: %s", rec.Body.String())
	}
	if !e.events.has("token_refused") {
		t.Fatalf("events %v", e.events.names())
	}
	e.checkNoSecretsLogged()
}

// Codes are short-lived (SECURITY.md OAuth 2 #4; RFC 6749 §4.1.2 "A
// maximum authorization code lifetime of 10 minutes is RECOMMENDED"):
// with the default configuration a code is dead after 10 minutes.
func TestDefaultCodeLifetimeIsAtMostTenMinutes(t *testing.T) {
	e := newEnv(t, nil)
	code := e.code("web", "alice", nil)
	e.clock.Advance(10*time.Minute + time.Second)
	rec, _ := e.exchange("web", webSecret, code, nil)
	e.wantError(rec, http.StatusBadRequest, "invalid_grant")
	e.checkNoSecretsLogged()
}

// A public client must use PKCE (RFC 9700 §2.1.1). The token endpoint
// enforces it too, not only the authorization endpoint: a code for a
// public client without a challenge (seeded directly in the store, as an
// authorize bug or a store migration could leave one) is refused.
func TestPublicClientCodeWithoutChallengeIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	seed := func(value, challenge, method string) {
		now := e.clock.Now()
		if err := e.db.SaveCode(context.Background(), &store.Code{
			Hash: provider.HashToken(value), ClientID: "spa", User: "alice", RedirectURI: spaRedirect,
			Scopes: []string{"read"}, CodeChallenge: challenge, CodeChallengeMethod: method,
			Family: "fam-" + value, IssuedAt: now, ExpiresAt: now.Add(time.Minute),
		}); err != nil {
			t.Fatal(err)
		}
		e.secrets = append(e.secrets, value)
	}
	redeem := func(value string, extra url.Values) *httptest.ResponseRecorder {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {value},
			"client_id": {"spa"}, "redirect_uri": {spaRedirect}}
		for k, v := range extra {
			form[k] = v
		}
		return e.post(e.srv.Token, form, "", "")
	}
	// Control: a seeded code with a challenge redeems, so the refusal
	// below is about the missing challenge and nothing else.
	seed("seeded-with-pkce-0123456789", S256Challenge(testVerifier), MethodS256)
	if rec := redeem("seeded-with-pkce-0123456789", url.Values{"code_verifier": {testVerifier}}); rec.Code != http.StatusOK {
		t.Fatalf("control: %d %s", rec.Code, rec.Body.String())
	}
	seed("seeded-without-pkce-0123456789", "", "")
	rec := redeem("seeded-without-pkce-0123456789", nil)
	e.wantError(rec, http.StatusBadRequest, "invalid_grant")
	e.checkNoSecretsLogged()
}

// checkDescription fails unless desc only has the characters RFC 6749
// §5.2 allows in error_description (%x20-21 / %x23-5B / %x5D-7E).
func checkDescription(t *testing.T, where, desc string) {
	t.Helper()
	for i := 0; i < len(desc); i++ {
		c := desc[i]
		if !(c == 0x20 || c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E)) {
			t.Fatalf("%s: error_description %q has byte %#x", where, desc, c)
		}
	}
}

// Client-supplied text that reaches an error description is reduced to
// the RFC 6749 §5.2 character set (SECURITY.md OAuth 2 #14).
func TestErrorDescriptionsOnlyHaveAllowedCharacters(t *testing.T) {
	e := newEnv(t, nil)
	const hostile = "a\"b\\c\x01d\x7fé\u202e"
	tests := []struct {
		name, body string
		code, want string // want: a fragment the description must keep
	}{
		{"scope", "grant_type=client_credentials&scope=" + url.QueryEscape(hostile), "invalid_scope", "scope"},
		{"repeated parameter name", "grant_type=client_credentials&" + url.QueryEscape(hostile) + "=1&" + url.QueryEscape(hostile) + "=2",
			"invalid_request", "parameter abcd is repeated"},
		{"grant_type", "grant_type=" + url.QueryEscape("x\\y\"\x00ü"), "unsupported_grant_type", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := e.on(t)
			r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(tc.body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.SetBasicAuth("svc", svcSecret)
			rec := httptest.NewRecorder()
			e.srv.Token(rec, r)
			e.wantError(rec, http.StatusBadRequest, tc.code)
			var raw map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
				t.Fatal(err)
			}
			desc, _ := raw["error_description"].(string)
			checkDescription(t, tc.name, desc)
			if !strings.Contains(desc, tc.want) {
				t.Fatalf("description %q lacks %q", desc, tc.want)
			}
		})
	}
	t.Run("authorize error redirect", func(t *testing.T) {
		e := e.on(t)
		p := webParams()
		p.Set("scope", hostile)
		rec := e.authorize(http.MethodGet, p, "alice")
		q := location(t, rec).Query()
		if q.Get("error") != "invalid_scope" {
			t.Fatalf("redirect %v", q)
		}
		desc := q.Get("error_description")
		checkDescription(t, "authorize", desc)
		if !strings.Contains(desc, "unknown scope abcd") {
			t.Fatalf("description %q", desc)
		}
	})
}
