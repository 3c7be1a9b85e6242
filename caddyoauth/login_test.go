package caddyoauth

import (
	"context"
	"fmt"
	"github.com/caddy-oauth/caddy-oauth/provider/registry"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-oauth/caddy-oauth/provider/login"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// serveVars runs h on r as Caddy would, with the given request variables
// (client IP, trusted proxy) set as Caddy's server sets them.
func serveVars(t *testing.T, h caddyhttp.MiddlewareHandler, r *http.Request, vars map[string]any) *httptest.ResponseRecorder {
	t.Helper()
	r, _ = withReplacer(r)
	for k, v := range vars {
		caddyhttp.SetVar(r.Context(), k, v)
	}
	w := httptest.NewRecorder()
	if err := h.ServeHTTP(w, r, &nextRecorder{}); err != nil {
		t.Fatalf("ServeHTTP: %v", err)
	}
	return w
}

// loginForm fetches the login page as a browser would and returns the
// pre-login cookie and the form's CSRF token.
func loginForm(t *testing.T, h *OAuthServer, base string) (*http.Cookie, string) {
	t.Helper()
	w := serveVars(t, h, httptest.NewRequest(http.MethodGet, base+"/oauth/login", nil), nil)
	pre := setCookie(&http.Response{Header: w.Header()}, preLoginCookie)
	if w.Code != http.StatusOK || pre == nil {
		t.Fatalf("login page: %d, pre-login cookie %v", w.Code, pre)
	}
	_, form := consentForm(t, w.Body.String())
	return pre, form.Get("csrf_token")
}

func postLogin(t *testing.T, h *OAuthServer, base string, pre *http.Cookie, csrf, user, password string, vars map[string]any) *httptest.ResponseRecorder {
	t.Helper()
	form := url.Values{"csrf_token": {csrf}, "username": {user}, "password": {password}}
	r := httptest.NewRequest(http.MethodPost, base+"/oauth/login", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(pre)
	return serveVars(t, h, r, vars)
}

func TestLoginSecureCookies(t *testing.T) {
	srv := newTestServer(t, &ServerConfig{Users: []UserConfig{{Username: testUser, PasswordHash: testPasswordHash(t)}}})
	h := newTestOAuthServer(t, srv, &OAuthServer{})
	tests := []struct {
		name       string
		base       string
		header     string // X-Forwarded-Proto
		trusted    bool
		wantSecure bool
	}{
		{"over TLS", "https://auth.example.com", "", false, true},
		{"over plain http", "http://auth.example.com", "", false, false},
		{"behind a trusted proxy that terminated TLS", "http://auth.example.com", "https", true, true},
		{"X-Forwarded-Proto from an untrusted client", "http://auth.example.com", "https", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]any{caddyhttp.TrustedProxyVarKey: tc.trusted}
			r := httptest.NewRequest(http.MethodGet, tc.base+"/oauth/login", nil)
			if tc.header != "" {
				r.Header.Set("X-Forwarded-Proto", tc.header)
			}
			w := serveVars(t, h, r, vars)
			pre := setCookie(&http.Response{Header: w.Header()}, preLoginCookie)
			if pre == nil || pre.Secure != tc.wantSecure {
				t.Fatalf("pre-login cookie %+v, want Secure %v", pre, tc.wantSecure)
			}
			_, form := consentForm(t, w.Body.String())
			r = httptest.NewRequest(http.MethodPost, tc.base+"/oauth/login", strings.NewReader(url.Values{
				"csrf_token": {form.Get("csrf_token")}, "username": {testUser}, "password": {testPassword},
			}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.header != "" {
				r.Header.Set("X-Forwarded-Proto", tc.header)
			}
			r.AddCookie(pre)
			w = serveVars(t, h, r, vars)
			session := setCookie(&http.Response{Header: w.Header()}, sessionCookie)
			if w.Code != http.StatusSeeOther || session == nil || session.Secure != tc.wantSecure {
				t.Fatalf("login: %d, session cookie %+v, want Secure %v", w.Code, session, tc.wantSecure)
			}
		})
	}
}

// TestLoginLockoutCountsCaddysClientIP: the address lockout counts the
// client IP Caddy determined, not the connection's address (here the
// same for every request, as behind a proxy).
func TestLoginLockoutCountsCaddysClientIP(t *testing.T) {
	srv := newTestServer(t, &ServerConfig{Users: []UserConfig{{Username: testUser, PasswordHash: testPasswordHash(t)}}})
	h := newTestOAuthServer(t, srv, &OAuthServer{})
	const base = "https://auth.example.com"
	pre, csrf := loginForm(t, h, base)
	from := func(ip string) map[string]any { return map[string]any{caddyhttp.ClientIPVarKey: ip} }
	for i := range login.DefaultMaxFailures {
		// Another username each time: only the address can lock.
		w := postLogin(t, h, base, pre, csrf, fmt.Sprintf("guess%d", i), "wrong", from("203.0.113.7"))
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d, want 401", i+1, w.Code)
		}
	}
	if w := postLogin(t, h, base, pre, csrf, testUser, testPassword, from("203.0.113.7")); w.Code != http.StatusTooManyRequests {
		t.Fatalf("the locked address: %d, want 429", w.Code)
	}
	if w := postLogin(t, h, base, pre, csrf, testUser, testPassword, from("198.51.100.9")); w.Code != http.StatusSeeOther {
		t.Fatalf("another address: %d, want 303 (signed in)", w.Code)
	}
}

func TestLoginSessionUserMustExist(t *testing.T) {
	srv := newTestServer(t, &ServerConfig{
		Users:   []UserConfig{{Username: testUser, PasswordHash: testPasswordHash(t)}},
		Clients: []ClientConfig{{ClientMetadata: registry.ClientMetadata{ClientID: "app", RedirectURIs: []string{"https://app.example.com/cb"}, Trusted: true}, Secret: "app-secret"}},
	})
	ctx := context.Background()
	if err := srv.Store().CreateUser(ctx, &store.User{Username: "carol", PasswordHash: testPasswordHash(t)}); err != nil {
		t.Fatal(err)
	}
	h := newTestOAuthServer(t, srv, &OAuthServer{})
	const base = "https://auth.example.com"
	signIn := func(user string) *http.Cookie {
		pre, csrf := loginForm(t, h, base)
		w := postLogin(t, h, base, pre, csrf, user, testPassword, nil)
		c := setCookie(&http.Response{Header: w.Header()}, sessionCookie)
		if w.Code != http.StatusSeeOther || c == nil {
			t.Fatalf("%s's login: %d", user, w.Code)
		}
		return c
	}
	authorize := func(c *http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, base+"/oauth2/authorize?response_type=code&client_id=app&state=s", nil)
		r.AddCookie(c)
		return serveVars(t, h, r, nil)
	}
	alice, carol := signIn(testUser), signIn("carol")
	for name, c := range map[string]*http.Cookie{"static": alice, "stored": carol} {
		if w := authorize(c); w.Code != http.StatusFound || !strings.Contains(w.Header().Get("Location"), "code=") {
			t.Fatalf("%s user: %d %s, want a code", name, w.Code, w.Header().Get("Location"))
		}
	}
	if err := srv.Store().DeleteUser(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	if w := authorize(carol); w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/oauth/login?") {
		t.Fatalf("deleted user's session: %d %q, want the login page", w.Code, w.Header().Get("Location"))
	}
}

func TestSessionCookieName(t *testing.T) {
	for server, want := range map[string]string{
		DefaultServerName: "caddy_oauth_session",
		"tenant-2":        "caddy_oauth_session_tenant-2",
	} {
		if got := sessionCookieName(server); got != want {
			t.Errorf("sessionCookieName(%q) = %q, want %q", server, got, want)
		}
	}
	// Names that are not cookie tokens get a hash, still a valid name.
	a, b := sessionCookieName("a b"), sessionCookieName("a;b")
	if a == b || (&http.Cookie{Name: a, Value: "v"}).Valid() != nil || (&http.Cookie{Name: b, Value: "v"}).Valid() != nil {
		t.Errorf("sessionCookieName of unusual names: %q, %q, want two valid, distinct names", a, b)
	}
}
