package oauth2

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/caddy-oauth/caddy-oauth/store"
)

func webParams() url.Values {
	return url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {webRedirect},
		"scope": {"read write"}, "state": {"xyz"}}
}

func TestAuthorizeNeverRedirectsForUnknownClientOrBadRedirectURI(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name   string
		params url.Values
	}{
		{"an unknown client", url.Values{"response_type": {"code"}, "client_id": {"nope"}, "redirect_uri": {webRedirect}}},
		{"a missing client_id", url.Values{"response_type": {"code"}, "redirect_uri": {webRedirect}}},
		{"a repeated client_id", url.Values{"response_type": {"code"}, "client_id": {"web", "web"}}},
		{"a repeated redirect_uri", url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {webRedirect, "https://evil.example/cb"}}},
		{"another host", url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {"https://evil.example.com/cb"}}},
		{"another path", url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {webRedirect + "/x"}}},
		{"a trailing slash", url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {webRedirect + "/"}}},
		{"an added query", url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {webRedirect + "?next=https://evil"}}},
		{"a fragment", url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {webRedirect + "#x"}}},
		{"http instead of https", url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {"http://app.example.com/cb"}}},
		{"another port", url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {"https://app.example.com:8443/cb"}}},
		{"uppercase host", url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {"https://APP.example.com/cb"}}},
		{"localhost on another port (no RFC 8252 leeway)", url.Values{"response_type": {"code"}, "client_id": {"spa"}, "redirect_uri": {"http://localhost:8080/callback"}, "code_challenge": {S256Challenge(testVerifier)}, "code_challenge_method": {"S256"}}},
		{"a loopback URI with another path", url.Values{"response_type": {"code"}, "client_id": {"spa"}, "redirect_uri": {"http://127.0.0.1:9000/other"}}},
		{"an omitted redirect_uri with two registered", url.Values{"response_type": {"code"}, "client_id": {"multi"}}},
		{"an omitted redirect_uri with none registered", url.Values{"response_type": {"code"}, "client_id": {"svc"}}},
		{"a registered non-loopback http URI", url.Values{"response_type": {"code"}, "client_id": {"plainhttp"}}},
		// Even bad requests that would normally redirect with an error
		// must not, when the redirect URI is bad.
		{"a bad redirect URI with response_type=token", url.Values{"response_type": {"token"}, "client_id": {"web"}, "redirect_uri": {"https://evil.example.com/cb"}}},
	}
	for _, tc := range tests {
		t.Run("refuses "+tc.name+" with a page", func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				rec := e.authorize(method, tc.params, "alice")
				if loc := rec.Header().Get("Location"); loc != "" {
					t.Fatalf("%s redirected to %s", method, loc)
				}
				if rec.Code != http.StatusBadRequest || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
					t.Fatalf("%s: status %d type %s", method, rec.Code, rec.Header().Get("Content-Type"))
				}
				if rec.Header().Get("X-Frame-Options") != "DENY" {
					t.Fatal("error page may be framed")
				}
			}
		})
	}
}

func TestAuthorizeAcceptsLoopbackPortVariance(t *testing.T) {
	e := newEnv(t, nil)
	for i, uri := range []string{"http://127.0.0.1:53412/callback", "http://[::1]:61000/callback", spaRedirect, "http://localhost/callback", "com.example.app:/oauth"} {
		t.Run(uri, func(t *testing.T) {
			e := e.on(t)
			params := url.Values{"response_type": {"code"}, "client_id": {"spa"}, "redirect_uri": {uri},
				"code_challenge": {S256Challenge(testVerifier)}, "code_challenge_method": {"S256"}, "state": {"s"}}
			rec := e.consent(params, "user"+string(rune('a'+i)), "approve")
			u := location(t, rec)
			got := *u
			got.RawQuery = ""
			if got.String() != uri || u.Query().Get("code") == "" {
				t.Fatalf("redirected to %s, want %s with a code", u, uri)
			}
		})
	}
}

// RFC 8252 §7.3's any-port rule is for native (public) clients: a
// confidential client registered with a loopback URI gets an exact match
// only (RFC 9700 §2.1), else its code could go to any local listener.
func TestAuthorizeLoopbackPortVarianceOnlyForPublicClients(t *testing.T) {
	e := newEnv(t, nil)
	for _, uri := range []string{"http://127.0.0.1:10/oauth2/callback", "http://[::1]:8001/cb", "http://[::1]/cb"} {
		t.Run("refuses "+uri, func(t *testing.T) {
			p := url.Values{"response_type": {"code"}, "client_id": {"loopweb"}, "redirect_uri": {uri}, "state": {"s"}}
			rec := e.on(t).authorize(http.MethodGet, p, "alice")
			if rec.Code != http.StatusBadRequest || rec.Header().Get("Location") != "" {
				t.Fatalf("status %d, location %q: want the error page", rec.Code, rec.Header().Get("Location"))
			}
		})
	}
	for i, uri := range []string{"http://127.0.0.1/oauth2/callback", "http://[::1]:8000/cb"} {
		t.Run("accepts "+uri, func(t *testing.T) {
			p := url.Values{"response_type": {"code"}, "client_id": {"loopweb"}, "redirect_uri": {uri}, "state": {"s"}}
			u := location(t, e.on(t).consent(p, "user"+string(rune('k'+i)), "approve"))
			got := *u
			got.RawQuery = ""
			if got.String() != uri || u.Query().Get("code") == "" {
				t.Fatalf("redirected to %s, want %s with a code", u, uri)
			}
		})
	}
}

func TestAuthorizeRedirectURIMayBeOmittedWithOneRegistered(t *testing.T) {
	e := newEnv(t, nil)
	p := webParams()
	p.Del("redirect_uri")
	u := location(t, e.consent(p, "alice", "approve"))
	if !strings.HasPrefix(u.String(), webRedirect+"?") || u.Query().Get("code") == "" {
		t.Fatalf("redirect %s", u)
	}
}

func TestAuthorizeRequiresAuthenticatedUserBeforeAnyRedirect(t *testing.T) {
	e := newEnv(t, nil)
	for _, p := range []url.Values{webParams(), {"response_type": {"token"}, "client_id": {"web"}}} {
		rec := e.authorize(http.MethodGet, p, "")
		if rec.Code != http.StatusUnauthorized || rec.Header().Get("Location") != "" {
			t.Fatalf("status %d location %q", rec.Code, rec.Header().Get("Location"))
		}
		if !strings.Contains(rec.Body.String(), "Login required") {
			t.Fatalf("body %s", rec.Body.String())
		}
	}
}

func TestAuthorizeErrorsRedirectWithStateAndIss(t *testing.T) {
	e := newEnv(t, nil)
	chal := S256Challenge(testVerifier)
	tests := []struct {
		name, want string
		edit       func(url.Values)
	}{
		{"response_type=token is unsupported", "unsupported_response_type", func(p url.Values) { p.Set("response_type", "token") }},
		{"response_type=code token is unsupported", "unsupported_response_type", func(p url.Values) { p.Set("response_type", "code token") }},
		{"a missing response_type is invalid", "invalid_request", func(p url.Values) { p.Del("response_type") }},
		{"an unknown scope is invalid_scope", "invalid_scope", func(p url.Values) { p.Set("scope", "read root") }},
		{"a server scope the client may not have is invalid_scope", "invalid_scope", func(p url.Values) { p.Set("scope", "admin") }},
		{"a repeated scope parameter is invalid", "invalid_request", func(p url.Values) { p["scope"] = []string{"read", "write"} }},
		{"a repeated state is invalid", "invalid_request", func(p url.Values) { p["state"] = []string{"xyz", "xyz"} }},
		{"an unknown challenge method is invalid", "invalid_request", func(p url.Values) {
			p.Set("code_challenge", chal)
			p.Set("code_challenge_method", "S512")
		}},
		{"a malformed challenge is invalid", "invalid_request", func(p url.Values) { p.Set("code_challenge", "short") }},
		{"a method without challenge is invalid", "invalid_request", func(p url.Values) { p.Set("code_challenge_method", "S256") }},
		{"response_mode=fragment is invalid", "invalid_request", func(p url.Values) { p.Set("response_mode", "fragment") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := webParams()
			tc.edit(p)
			rec := e.authorize(http.MethodGet, p, "alice")
			if rec.Code != http.StatusFound {
				t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
			}
			u := location(t, rec)
			q := u.Query()
			if !strings.HasPrefix(u.String(), webRedirect+"?") || q.Get("error") != tc.want ||
				q.Get("state") != p.Get("state") || q.Get("iss") != testIssuer || q.Get("code") != "" {
				t.Fatalf("redirect %s, want error %s with state and iss", u, tc.want)
			}
			for _, c := range q.Get("error_description") {
				if !(c == 0x20 || c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E)) {
					t.Fatalf("forbidden character in error_description %q", q.Get("error_description"))
				}
			}
		})
	}
	if !e.events.has("authorization_refused") {
		t.Fatal("no authorization_refused event")
	}
}

func TestAuthorizeUnauthorizedClientForCodeGrant(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Grants = []string{GrantClientCredentials} })
	q := location(t, e.authorize(http.MethodGet, webParams(), "alice")).Query()
	if q.Get("error") != "unauthorized_client" || q.Get("iss") != testIssuer {
		t.Fatalf("got %v", q)
	}
}

func TestAuthorizePublicClientsMustUseS256(t *testing.T) {
	e := newEnv(t, nil)
	base := url.Values{"response_type": {"code"}, "client_id": {"spa"}, "redirect_uri": {spaRedirect}, "state": {"s"}}
	noPKCE := location(t, e.authorize(http.MethodGet, base, "alice")).Query()
	if noPKCE.Get("error") != "invalid_request" {
		t.Fatalf("public client without PKCE: %v", noPKCE)
	}
	plain := url.Values{"code_challenge": {testVerifier}, "code_challenge_method": {"plain"}}
	for k, v := range base {
		plain[k] = v
	}
	if q := location(t, e.authorize(http.MethodGet, plain, "alice")).Query(); q.Get("error") != "invalid_request" {
		t.Fatalf("public client with plain: %v", q)
	}
	plain.Del("code_challenge_method") // defaults to plain (RFC 7636 §4.3)
	if q := location(t, e.authorize(http.MethodGet, plain, "alice")).Query(); q.Get("error") != "invalid_request" {
		t.Fatalf("public client with default plain: %v", q)
	}
}

func TestAuthorizePassesStateThroughUntouched(t *testing.T) {
	e := newEnv(t, func(c *Config) {})
	state := `a b+c/é%20&x=1;"<>`
	p := url.Values{"response_type": {"code"}, "client_id": {"first"}, "state": {state}}
	u := location(t, e.authorize(http.MethodGet, p, "alice"))
	if got := u.Query().Get("state"); got != state {
		t.Fatalf("state %q, want %q", got, state)
	}
	if u.Query().Get("iss") != testIssuer {
		t.Fatal("no iss on success")
	}
	// Without state, none is invented.
	p.Del("state")
	if u := location(t, e.authorize(http.MethodGet, p, "alice")); u.Query().Has("state") {
		t.Fatalf("state invented: %s", u)
	}
}

func TestAuthorizeConsent(t *testing.T) {
	t.Run("a trusted client skips the page", func(t *testing.T) {
		e := newEnv(t, nil)
		rec := e.authorize(http.MethodGet, url.Values{"response_type": {"code"}, "client_id": {"first"}}, "alice")
		if rec.Code != http.StatusFound || location(t, rec).Query().Get("code") == "" {
			t.Fatalf("status %d", rec.Code)
		}
	})
	t.Run("an untrusted client gets the page with the security headers", func(t *testing.T) {
		e := newEnv(t, nil)
		rec := e.authorize(http.MethodGet, webParams(), "alice")
		if rec.Code != http.StatusOK || rec.Header().Get("Location") != "" {
			t.Fatalf("status %d", rec.Code)
		}
		h := rec.Header()
		if h.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
			!strings.Contains(h.Get("Content-Security-Policy"), "form-action 'self' https://app.example.com") ||
			h.Get("Referrer-Policy") != "no-referrer" || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("headers %v", h)
		}
		body := rec.Body.String()
		for _, s := range []string{"Web App", "<code>read</code>", "<code>write</code>", `action="/oauth2/authorize"`, `name="state" value="xyz"`} {
			if !strings.Contains(body, s) {
				t.Errorf("page lacks %s", s)
			}
		}
	})
	t.Run("approving stores consent, issues a code, and redirects with 303", func(t *testing.T) {
		e := newEnv(t, nil)
		rec := e.consent(webParams(), "alice", "approve")
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("status %d, want 303", rec.Code)
		}
		q := location(t, rec).Query()
		if q.Get("code") == "" || q.Get("state") != "xyz" || q.Get("iss") != testIssuer {
			t.Fatalf("redirect %v", q)
		}
		c, err := e.db.GetConsent(context.Background(), "alice", "web")
		if err != nil || strings.Join(c.Scopes, " ") != "read write" {
			t.Fatalf("consent %+v %v", c, err)
		}
		// Remembered: the same or fewer scopes skip the page, with 302 on GET.
		for _, scope := range []string{"read write", "read", "write read"} {
			p := webParams()
			p.Set("scope", scope)
			rec := e.authorize(http.MethodGet, p, "alice")
			if rec.Code != http.StatusFound || location(t, rec).Query().Get("code") == "" {
				t.Fatalf("scope %q: status %d, want a code without consent", scope, rec.Code)
			}
		}
		// More scopes, or another user, need the page again.
		p := webParams()
		p.Set("scope", "read write profile")
		if rec := e.authorize(http.MethodGet, p, "alice"); rec.Code != http.StatusOK {
			t.Fatalf("superset skipped consent: %d", rec.Code)
		}
		if rec := e.authorize(http.MethodGet, webParams(), "bob"); rec.Code != http.StatusOK {
			t.Fatalf("another user skipped consent: %d", rec.Code)
		}
		// Approving the superset keeps the old scopes too.
		e.consent(p, "alice", "approve")
		c, _ = e.db.GetConsent(context.Background(), "alice", "web")
		if strings.Join(c.Scopes, " ") != "read write profile" {
			t.Fatalf("merged consent %v", c.Scopes)
		}
	})
	t.Run("denying redirects access_denied with 303 and stores nothing", func(t *testing.T) {
		e := newEnv(t, nil)
		rec := e.consent(webParams(), "alice", "deny")
		q := location(t, rec).Query()
		if rec.Code != http.StatusSeeOther || q.Get("error") != "access_denied" || q.Get("code") != "" || q.Get("iss") != testIssuer || q.Get("state") != "xyz" {
			t.Fatalf("status %d redirect %v", rec.Code, q)
		}
		if _, err := e.db.GetConsent(context.Background(), "alice", "web"); err == nil {
			t.Fatal("consent stored on deny")
		}
	})
	t.Run("a forged or foreign CSRF token is a page, not a redirect", func(t *testing.T) {
		e := newEnv(t, nil)
		page := e.authorize(http.MethodGet, webParams(), "alice")
		tok := csrfRe.FindStringSubmatch(page.Body.String())[1]
		for name, tc := range map[string]struct{ tok, user string }{
			"forged":       {"1.AAAA", "alice"},
			"another user": {tok, "mallory"},
			"missing":      {"", "alice"},
		} {
			p := webParams()
			p.Set("decision", "approve")
			if tc.tok != "" {
				p.Set("csrf_token", tc.tok)
			}
			rec := e.authorize(http.MethodPost, p, tc.user)
			if rec.Code != http.StatusForbidden || rec.Header().Get("Location") != "" {
				t.Fatalf("%s: status %d location %q", name, rec.Code, rec.Header().Get("Location"))
			}
		}
		if _, err := e.db.GetConsent(context.Background(), "mallory", "web"); err == nil {
			t.Fatal("forged consent stored")
		}
	})
	t.Run("an expired form is refused", func(t *testing.T) {
		e := newEnv(t, nil)
		page := e.authorize(http.MethodGet, webParams(), "alice")
		p := webParams()
		p.Set("csrf_token", csrfRe.FindStringSubmatch(page.Body.String())[1])
		p.Set("decision", "approve")
		e.clock.Advance(11 * 60e9)
		if rec := e.authorize(http.MethodPost, p, "alice"); rec.Code != http.StatusForbidden {
			t.Fatalf("status %d", rec.Code)
		}
	})
	t.Run("a POST authorization request without a decision shows the page", func(t *testing.T) {
		e := newEnv(t, nil)
		if rec := e.authorize(http.MethodPost, webParams(), "alice"); rec.Code != http.StatusOK || !csrfRe.MatchString(rec.Body.String()) {
			t.Fatalf("status %d", rec.Code)
		}
	})
}

func TestAuthorizeNoCORSAndOnlyGetPost(t *testing.T) {
	e := newEnv(t, nil)
	r, _ := http.NewRequest(http.MethodGet, PathAuthorize+"?"+url.Values{"response_type": {"code"}, "client_id": {"first"}}.Encode(), nil)
	r.Header.Set("Origin", "https://evil.example")
	rec := newRecorder()
	e.srv.Authorize(rec, r, "alice")
	for k := range rec.Header() {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") {
			t.Fatalf("CORS header %s", k)
		}
	}
	for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodOptions} {
		r, _ := http.NewRequest(m, PathAuthorize, nil)
		rec := newRecorder()
		e.srv.Authorize(rec, r, "alice")
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Location") != "" || rec.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("%s: %d", m, rec.Code)
		}
	}
}

func TestAuthorizeStoresOnlyTheCodeHash(t *testing.T) {
	e := newEnv(t, nil)
	code := e.code("web", "alice", url.Values{"redirect_uri": {webRedirect}})
	if len(code) < 43 {
		t.Fatalf("code %q shorter than 256 bits", code)
	}
	// The code is findable by its hash (and so not stored in clear).
	c, err := e.db.ConsumeCode(context.Background(), hashOf(code))
	if err != nil || c.ClientID != "web" || c.User != "alice" {
		t.Fatalf("%+v %v", c, err)
	}
	if !c.ExpiresAt.Equal(e.clock.Now().Add(DefaultCodeTTL)) {
		t.Fatalf("code expiry %v", c.ExpiresAt)
	}
}

// FuzzAuthorize: whatever the query, no 5xx, and a redirect only ever goes
// to a URI registered for the client named in the request.
func FuzzAuthorize(f *testing.F) {
	e := newEnv(f, nil)
	f.Add(webParams().Encode())
	f.Add("response_type=code&client_id=spa&redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Fcallback&code_challenge=" + S256Challenge(testVerifier) + "&code_challenge_method=S256")
	f.Add("response_type=token&client_id=first&state=%00")
	f.Add("client_id=web&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb%2F..%2Fcb")
	f.Fuzz(func(t *testing.T, query string) {
		r, err := http.NewRequest(http.MethodGet, PathAuthorize+"?"+query, nil)
		if err != nil {
			return
		}
		rec := newRecorder()
		e.srv.Authorize(rec, r, "alice")
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q", rec.Code, query)
		}
		loc := rec.Header().Get("Location")
		if loc == "" {
			return
		}
		q, _ := url.ParseQuery(r.URL.RawQuery)
		var client *store.Client
		for _, c := range staticClients() {
			if c.ID == q.Get("client_id") {
				client = c
			}
		}
		if client == nil {
			t.Fatalf("redirect %s for unknown client %q", loc, q.Get("client_id"))
		}
		u, _ := url.Parse(loc)
		u.RawQuery = ""
		if _, ok := matchRedirectURI(client, u.String()); !ok {
			t.Fatalf("redirect to unregistered %s", loc)
		}
	})
}
