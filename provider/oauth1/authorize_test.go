package oauth1

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// authzEnv has client web (callback https://web.example/cb?s=1), trusted
// client first, and fresh temporary credentials for each.
func authzEnv(t *testing.T) *env {
	e := newEnv(t, nil)
	e.addClient(t, "web", "s", nil)
	e.addClient(t, "first", "s", func(c *store.Client) { c.Trusted = true })
	return e
}

func (e *env) tempToken(t *testing.T, clientID, value, callback string, scopes ...string) {
	e.seedToken(t, store.KindOAuth1Request, clientID, value, "ts", func(tok *store.Token) {
		tok.Callback = callback
		tok.Scopes = scopes
		tok.ExpiresAt = e.clock.Now().Add(DefaultRequestTokenTTL)
	})
}

func (e *env) authorizeGET(token, user string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "https://auth.example/oauth1/authorize?oauth_token="+url.QueryEscape(token), nil)
	e.srv.Authorize(rec, r, RequestURL{Scheme: "https", Host: "auth.example", Secure: true}, user)
	return rec
}

func (e *env) authorizePOST(form url.Values, user string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "https://auth.example/oauth1/authorize", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	e.srv.Authorize(rec, r, RequestURL{Scheme: "https", Host: "auth.example", Secure: true}, user)
	return rec
}

func consentForm(t *testing.T, rec *httptest.ResponseRecorder, decision string) url.Values {
	t.Helper()
	m := csrfField.FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusOK || m == nil {
		t.Fatalf("no consent form: %d %s", rec.Code, rec.Body)
	}
	tf := tokenField.FindStringSubmatch(rec.Body.String())
	return url.Values{"oauth_token": {html.UnescapeString(tf[1])}, "csrf_token": {html.UnescapeString(m[1])}, "decision": {decision}}
}

func TestAuthorize(t *testing.T) {
	t.Run("nobody logged in gets a login-required page", func(t *testing.T) {
		e := authzEnv(t)
		e.tempToken(t, "web", "t1", "https://web.example/cb")
		rec := e.authorizeGET("t1", "")
		if rec.Code != http.StatusUnauthorized || rec.Header().Get("Location") != "" || !strings.Contains(rec.Body.String(), "Login required") {
			t.Fatalf("%d %q", rec.Code, rec.Body)
		}
	})
	for _, tc := range []struct{ name, token string }{
		{"an unknown token is an error page, never a redirect", "nope"},
		{"token credentials are not temporary credentials", "at"},
		{"already authorized temporary credentials cannot be authorized again", "done"},
		{"expired temporary credentials are an error page", "old"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := authzEnv(t)
			e.seedToken(t, store.KindOAuth1Access, "web", "at", "s", nil)
			e.seedToken(t, store.KindOAuth1Request, "web", "done", "s", func(tok *store.Token) {
				tok.Callback, tok.User, tok.VerifierHash = "https://web.example/cb", "bob", provider.HashToken("v")
			})
			e.tempToken(t, "web", "old", "https://web.example/cb")
			if tc.token == "old" {
				e.clock.Advance(DefaultRequestTokenTTL)
			}
			rec := e.authorizeGET(tc.token, "alice")
			if rec.Code != http.StatusBadRequest || rec.Header().Get("Location") != "" {
				t.Fatalf("%d Location=%q", rec.Code, rec.Header().Get("Location"))
			}
		})
	}
	t.Run("consent is shown with the client's name and scopes, unframeable", func(t *testing.T) {
		e := authzEnv(t)
		e.tempToken(t, "web", "t1", "https://web.example/cb", "read", "write")
		rec := e.authorizeGET("t1", "alice")
		body := rec.Body.String()
		if rec.Code != http.StatusOK || !strings.Contains(body, "Client web") || !strings.Contains(body, "<code>write</code>") ||
			!strings.Contains(body, `action="/oauth1/authorize"`) {
			t.Fatalf("%d %s", rec.Code, body)
		}
		if rec.Header().Get("X-Frame-Options") != "DENY" || !strings.Contains(rec.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Fatal("consent page framable")
		}
	})
	t.Run("approval redirects with 303, verifier appended to the callback's query", func(t *testing.T) {
		e := authzEnv(t)
		e.tempToken(t, "web", "t1", "https://web.example/cb?s=1", "read")
		rec := e.authorizePOST(consentForm(t, e.authorizeGET("t1", "alice"), "approve"), "alice")
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		loc := rec.Header().Get("Location")
		if !strings.HasPrefix(loc, "https://web.example/cb?s=1&oauth_token=t1&oauth_verifier=") {
			t.Fatalf("Location %q", loc)
		}
		ver := strings.TrimPrefix(loc, "https://web.example/cb?s=1&oauth_token=t1&oauth_verifier=")
		tok, err := e.db.GetToken(t.Context(), provider.HashToken("t1"))
		if err != nil || tok.User != "alice" || !provider.EqualBytes(tok.VerifierHash, provider.HashToken(ver)) {
			t.Fatalf("token %+v, %v", tok, err)
		}
		if rec.Header().Get("Referrer-Policy") != "no-referrer" {
			t.Fatal("redirect may leak the verifier in Referer")
		}
		// The consent is remembered: the next request for the same
		// scopes skips the page (302 after a GET).
		e.tempToken(t, "web", "t2", "https://web.example/cb", "read")
		if rec := e.authorizeGET("t2", "alice"); rec.Code != http.StatusFound {
			t.Fatalf("remembered consent not used: %d", rec.Code)
		}
		// More scopes, or another user: ask again.
		e.tempToken(t, "web", "t3", "https://web.example/cb", "read", "write")
		if rec := e.authorizeGET("t3", "alice"); rec.Code != http.StatusOK {
			t.Fatalf("wider scopes skipped consent: %d", rec.Code)
		}
		e.tempToken(t, "web", "t4", "https://web.example/cb", "read")
		if rec := e.authorizeGET("t4", "mallory"); rec.Code != http.StatusOK {
			t.Fatalf("another user's consent used: %d", rec.Code)
		}
	})
	t.Run("a trusted client skips consent", func(t *testing.T) {
		e := authzEnv(t)
		e.tempToken(t, "first", "t1", "https://first.example/cb", "read")
		rec := e.authorizeGET("t1", "alice")
		if rec.Code != http.StatusFound || !strings.HasPrefix(rec.Header().Get("Location"), "https://first.example/cb?oauth_token=t1&oauth_verifier=") {
			t.Fatalf("%d %q", rec.Code, rec.Header().Get("Location"))
		}
	})
	t.Run("denial revokes the temporary credentials and tells the client", func(t *testing.T) {
		e := authzEnv(t)
		e.tempToken(t, "web", "t1", "https://web.example/cb")
		rec := e.authorizePOST(consentForm(t, e.authorizeGET("t1", "alice"), "deny"), "alice")
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "https://web.example/cb?oauth_token=t1&oauth_problem=permission_denied" {
			t.Fatalf("%d %q", rec.Code, rec.Header().Get("Location"))
		}
		if _, err := e.db.GetToken(t.Context(), provider.HashToken("t1")); err == nil {
			t.Fatal("denied temporary credentials still live")
		}
		if _, err := e.db.GetConsent(t.Context(), "alice", "web"); err == nil {
			t.Fatal("denial remembered as consent")
		}
	})
	t.Run("oob denial shows a page", func(t *testing.T) {
		e := authzEnv(t)
		e.tempToken(t, "web", "t1", "oob")
		rec := e.authorizePOST(consentForm(t, e.authorizeGET("t1", "alice"), "deny"), "alice")
		if rec.Code != http.StatusOK || rec.Header().Get("Location") != "" || !strings.Contains(rec.Body.String(), "denied") {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	})
	t.Run("a forged consent form is refused", func(t *testing.T) {
		e := authzEnv(t)
		e.tempToken(t, "web", "t1", "https://web.example/cb")
		form := consentForm(t, e.authorizeGET("t1", "alice"), "approve")
		// Made for alice, submitted in mallory's session.
		if rec := e.authorizePOST(form, "mallory"); rec.Code != http.StatusForbidden || rec.Header().Get("Location") != "" {
			t.Fatalf("%d", rec.Code)
		}
		form.Set("csrf_token", "1.AAAA")
		if rec := e.authorizePOST(form, "alice"); rec.Code != http.StatusForbidden {
			t.Fatalf("%d", rec.Code)
		}
		tok, _ := e.db.GetToken(t.Context(), provider.HashToken("t1"))
		if tok == nil || tok.User != "" {
			t.Fatal("forged form authorized the token")
		}
	})
	t.Run("other methods are refused", func(t *testing.T) {
		e := authzEnv(t)
		rec := httptest.NewRecorder()
		e.srv.Authorize(rec, httptest.NewRequest(http.MethodPut, "/oauth1/authorize?oauth_token=x", nil), RequestURL{}, "alice")
		if rec.Code != http.StatusMethodNotAllowed {
			t.Fatalf("%d", rec.Code)
		}
	})
}

func TestAppendQuery(t *testing.T) {
	p := []Param{{"oauth_token", "a b"}, {"oauth_verifier", "v/+"}}
	for in, want := range map[string]string{
		"https://x.example/cb":            "https://x.example/cb?oauth_token=a%20b&oauth_verifier=v%2F%2B",
		"https://x.example/cb?":           "https://x.example/cb?oauth_token=a%20b&oauth_verifier=v%2F%2B",
		"https://x.example/cb?a=1":        "https://x.example/cb?a=1&oauth_token=a%20b&oauth_verifier=v%2F%2B",
		"https://x.example/cb?a=%2F&":     "https://x.example/cb?a=%2F&oauth_token=a%20b&oauth_verifier=v%2F%2B",
		"https://x.example/cb?a=1#frag":   "https://x.example/cb?a=1&oauth_token=a%20b&oauth_verifier=v%2F%2B#frag",
		"http://127.0.0.1:9/cb?q=x+y&z=1": "http://127.0.0.1:9/cb?q=x+y&z=1&oauth_token=a%20b&oauth_verifier=v%2F%2B",
	} {
		if got := AppendQuery(in, p); got != want {
			t.Errorf("AppendQuery(%q) = %q, want %q", in, got, want)
		}
	}
}
