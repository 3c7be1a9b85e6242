package login

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/badger"
)

func TestLoginStartsASessionWithASafeCookie(t *testing.T) {
	tests := []struct {
		name       string
		tls, force bool
		wantSecure bool
	}{
		{"over plain HTTP the cookie is not Secure", false, false, false},
		{"over TLS the cookie is Secure", true, false, true},
		{"a forced Secure flag applies without TLS", false, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.ForceSecureCookies = tc.force })
			b := e.browser("192.0.2.1:5000")
			b.tls = tc.tls
			start := e.clock.Now()
			rec := b.login("alice", alicePassword, "/oauth2/authorize?client_id=app&state=x")
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/oauth2/authorize?client_id=app&state=x" {
				t.Fatalf("status %d Location %q, want 303 to the return_to", rec.Code, rec.Header().Get("Location"))
			}
			c := cookieNamed(rec, DefaultCookieName)
			if c == nil {
				t.Fatal("no session cookie")
			}
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != tc.wantSecure || c.Path != "/" ||
				c.MaxAge != int(DefaultSessionTTL/time.Second) {
				t.Fatalf("cookie %+v: want HttpOnly, SameSite=Lax, Secure=%v, Path=/, Max-Age=%d", c, tc.wantSecure, int(DefaultSessionTTL/time.Second))
			}
			pre := cookieNamed(b.do(http.MethodGet, DefaultLoginPath, nil), DefaultCookieName+"_login")
			if pre == nil || !pre.HttpOnly || pre.SameSite != http.SameSiteLaxMode || pre.Secure != tc.wantSecure || pre.Path != DefaultLoginPath {
				t.Fatalf("pre-login cookie %+v", pre)
			}

			// Only the SHA-256 of the value reached the store.
			if len(e.sessions.saved) != 1 {
				t.Fatalf("%d sessions saved, want 1", len(e.sessions.saved))
			}
			saved := e.sessions.saved[0]
			if !bytes.Equal(saved.Hash, provider.HashToken(c.Value)) || saved.User != "alice" || saved.CSRF == "" ||
				!saved.ExpiresAt.Equal(start.Add(DefaultSessionTTL)) {
				t.Fatalf("saved session %+v", saved)
			}
			if strings.Contains(saved.CSRF+saved.User+string(saved.Hash), c.Value) || saved.CSRF == c.Value {
				t.Fatal("the cookie value reached the store")
			}
			got, err := e.db.GetSession(context.Background(), provider.HashToken(c.Value))
			if err != nil || got.User != "alice" {
				t.Fatalf("session in store: %+v, %v", got, err)
			}
			if _, err := e.db.GetSession(context.Background(), []byte(c.Value)); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("session found under the raw cookie value: %v", err)
			}
			if rec := b.do(http.MethodGet, "/oauth2/authorize", nil); rec.Body.String() != "hello alice" {
				t.Fatalf("not signed in after login: %d %q", rec.Code, rec.Body.String())
			}
			if ev := e.events.named("login_succeeded"); len(ev) != 1 || ev[0].User != "alice" {
				t.Fatalf("events %+v", ev)
			}
		})
	}
}

func TestFailedLoginSaysTheSameForUnknownUserAndWrongPassword(t *testing.T) {
	e := newEnv(t, nil)
	var bodies []string
	for _, tc := range []struct{ user, password string }{
		{"alice", "wrong password"},
		{"nobody", "wrong password"},
		{"nobody", alicePassword},
	} {
		b := e.browser("192.0.2.1:5000")
		rec := b.login(tc.user, tc.password, "/next")
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("%s: status %d, want 401", tc.user, rec.Code)
		}
		checkPageHeaders(t, rec)
		body := rec.Body.String()
		if !strings.Contains(body, "Invalid username or password.") || strings.Contains(body, tc.password) {
			t.Fatalf("%s: body:\n%s", tc.user, body)
		}
		if b.session() != "" || cookieNamed(rec, DefaultCookieName) != nil {
			t.Fatalf("%s: a session cookie was set", tc.user)
		}
		// The form is shown again, still bound to return_to and the user.
		if !strings.Contains(body, `name="return_to" value="/next"`) || !strings.Contains(body, `value="`+tc.user+`"`) {
			t.Fatalf("%s: form not refilled:\n%s", tc.user, body)
		}
		bodies = append(bodies, strings.ReplaceAll(body, tc.user, "USER"))
	}
	if len(e.sessions.saved) != 0 {
		t.Fatalf("sessions saved: %+v", e.sessions.saved)
	}
	// Apart from the refilled username and the CSRF token, the pages match.
	strip := func(s string) string { return csrfField.ReplaceAllString(s, "") }
	if strip(bodies[0]) != strip(bodies[1]) {
		t.Fatalf("pages differ:\n%s\n---\n%s", bodies[0], bodies[1])
	}
	failures := e.events.named("login_failed")
	if len(failures) != 3 || failures[0].User != "alice" || failures[1].User != "nobody" {
		t.Fatalf("login_failed events %+v", failures)
	}
	for _, ev := range e.events.events {
		if strings.Contains(ev.Reason+ev.User, "wrong password") || strings.Contains(ev.Reason+ev.User, alicePassword) {
			t.Fatalf("password in event %+v", ev)
		}
	}
}

func TestLoginRefusesAFormWithoutAMatchingCSRFToken(t *testing.T) {
	other := &provider.Pages{Key: []byte("another key another key another!")}
	tests := []struct {
		name string
		// tamper changes the browser or form before the POST.
		tamper func(e *env, b *browser, form url.Values)
	}{
		{"a missing token is refused", func(_ *env, _ *browser, f url.Values) { f.Del("csrf_token") }},
		{"a wrong token is refused", func(_ *env, _ *browser, f url.Values) { f.Set("csrf_token", "1.AAAA") }},
		{"a repeated token is refused", func(_ *env, _ *browser, f url.Values) { f.Add("csrf_token", f.Get("csrf_token")) }},
		{"a token without its pre-login cookie is refused", func(_ *env, b *browser, _ url.Values) {
			delete(b.cookies, DefaultCookieName+"_login")
		}},
		{"a token for another browser's cookie is refused", func(e *env, b *browser, _ url.Values) {
			b.cookies[DefaultCookieName+"_login"] = strings.Repeat("A", 43)
		}},
		{"a token made with another key is refused", func(e *env, b *browser, f url.Values) {
			f.Set("csrf_token", other.LoginToken(b.cookies[DefaultCookieName+"_login"], e.clock.Now().Add(time.Hour)))
		}},
		{"an expired form is refused", func(e *env, _ *browser, _ url.Values) { e.clock.Advance(DefaultFormTTL + time.Second) }},
		{"a token sent in the query only is refused", func(_ *env, _ *browser, f url.Values) { f.Del("csrf_token") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			b := e.browser("192.0.2.1:5000")
			tok := csrfOf(t, b.do(http.MethodGet, DefaultLoginPath, nil))
			form := url.Values{"username": {"alice"}, "password": {alicePassword}, "csrf_token": {tok}}
			tc.tamper(e, b, form)
			target := DefaultLoginPath
			if tc.name == "a token sent in the query only is refused" {
				target += "?csrf_token=" + url.QueryEscape(tok)
			}
			rec := b.do(http.MethodPost, target, form)
			if rec.Code != http.StatusForbidden {
				t.Fatalf("status %d, want 403", rec.Code)
			}
			checkPageHeaders(t, rec)
			if b.session() != "" || len(e.sessions.saved) != 0 {
				t.Fatal("a session was started")
			}
			if n := e.checker.calls.Load(); n != 0 {
				t.Fatalf("password checked %d times for a forged form", n)
			}
			if len(e.events.named("login_refused")) != 1 {
				t.Fatalf("events %+v", e.events.events)
			}
			// The refusal page is a fresh form the user can submit.
			retry := b.do(http.MethodPost, DefaultLoginPath, url.Values{
				"username": {"alice"}, "password": {alicePassword}, "csrf_token": {csrfOf(t, rec)},
			})
			if retry.Code != http.StatusSeeOther || b.session() == "" {
				t.Fatalf("retry from the refusal page: status %d", retry.Code)
			}
		})
	}
}

func TestLoginNeverRedirectsOffSite(t *testing.T) {
	tests := []struct{ returnTo, want string }{
		{"//evil.com", "/"},
		{"//evil.com/path", "/"},
		{"https://evil.com", "/"},
		{"http://evil.com/oauth2/authorize", "/"},
		{`/\evil.com`, "/"},
		{`/\/evil.com`, "/"},
		{"/\t/evil.com", "/"},
		{"/\n/evil.com", "/"},
		{"javascript:alert(1)", "/"},
		{"JavaScript:alert(1)", "/"},
		{"data:text/html,<script>alert(1)</script>", "/"},
		{"evil.com", "/"},
		{"", "/"},
		{"/ok/../\\evil.com", "/"},
		{"/" + strings.Repeat("a", maxReturnTo), "/"},
		{DefaultLoginPath + "?return_to=/x", "/"},
		{DefaultLogoutPath, "/"},
		{"/oauth2/authorize?client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb", "/oauth2/authorize?client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb"},
		{"/dashboard#top", "/dashboard#top"},
	}
	e := newEnv(t, nil)
	for _, tc := range tests {
		name := tc.returnTo
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			b := e.browser("192.0.2.9:5000")
			// The login page echoes only the safe value into its form ...
			page := b.do(http.MethodGet, DefaultLoginPath+"?"+url.Values{"return_to": {tc.returnTo}}.Encode(), nil)
			if !strings.Contains(page.Body.String(), `name="return_to" value="`+htmlEscape(tc.want)+`"`) {
				t.Fatalf("login page return_to field, want %q:\n%s", tc.want, page.Body.String())
			}
			// ... and a POST carrying the raw value is redirected home.
			rec := b.do(http.MethodPost, DefaultLoginPath, url.Values{
				"username": {"alice"}, "password": {alicePassword},
				"return_to": {tc.returnTo}, "csrf_token": {csrfOf(t, page)},
			})
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != tc.want {
				t.Fatalf("status %d Location %q, want 303 %q", rec.Code, rec.Header().Get("Location"), tc.want)
			}
		})
	}
}

// htmlEscape escapes s as html/template does in a quoted attribute, for
// the characters the test values contain.
func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "+", "&#43;").Replace(s)
}

func TestLoginPageRefillsNothingSecret(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser("192.0.2.1:5000")
	rec := b.do(http.MethodGet, DefaultLoginPath+"?return_to=/a", nil)
	checkPageHeaders(t, rec)
	body := rec.Body.String()
	for _, s := range []string{
		`<label for="username">`, `<label for="password">`, `id="username"`, `id="password"`, `type="password"`,
		`autocomplete="current-password"`, `method="post"`, `action="` + DefaultLoginPath + `"`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("login page lacks %s", s)
		}
	}
	if strings.Contains(body, `name="password" value=`) {
		t.Error("password field has a value")
	}
}

func TestLoginRejectsIncompleteAndOversizedForms(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name   string
		form   url.Values
		status int
	}{
		{"an empty password is asked again", url.Values{"username": {"alice"}, "password": {""}}, http.StatusBadRequest},
		{"a missing username is asked again", url.Values{"password": {alicePassword}}, http.StatusBadRequest},
		{"a repeated password is refused", url.Values{"username": {"alice"}, "password": {"x", alicePassword}}, http.StatusBadRequest},
		{"an overlong username is refused", url.Values{"username": {strings.Repeat("a", maxUsername+1)}, "password": {"x"}}, http.StatusBadRequest},
		{"an overlong password is refused", url.Values{"username": {"alice"}, "password": {strings.Repeat("a", maxPassword+1)}}, http.StatusBadRequest},
		{"an oversized body is refused", url.Values{"username": {"alice"}, "password": {alicePassword}, "pad": {strings.Repeat("a", maxFormBytes)}}, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := e.browser("192.0.2.1:5000")
			tc.form.Set("csrf_token", csrfOf(t, b.do(http.MethodGet, DefaultLoginPath, nil)))
			rec := b.do(http.MethodPost, DefaultLoginPath, tc.form)
			if rec.Code != tc.status || b.session() != "" {
				t.Fatalf("status %d session %q, want %d and none", rec.Code, b.session(), tc.status)
			}
			checkPageHeaders(t, rec)
		})
	}
	if n := e.checker.calls.Load(); n != 0 {
		t.Fatalf("password checked %d times", n)
	}
}

func TestLoginReplacesThePreviousSession(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser("192.0.2.1:5000")
	if rec := b.login("alice", alicePassword, "/"); rec.Code != http.StatusSeeOther {
		t.Fatalf("first login: %d", rec.Code)
	}
	first := b.session()
	// A planted value that was never a session is not adopted either.
	if rec := b.login("bob", bobPassword, "/"); rec.Code != http.StatusSeeOther {
		t.Fatalf("second login: %d", rec.Code)
	}
	second := b.session()
	if second == "" || second == first {
		t.Fatalf("session value not rotated: %q", second)
	}
	if _, err := e.db.GetSession(context.Background(), provider.HashToken(first)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("old session still in store: %v", err)
	}
	old := e.browser("192.0.2.1:5000")
	old.cookies[DefaultCookieName] = first
	if rec := old.do(http.MethodGet, "/app", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("old cookie still signs in: %d %q", rec.Code, rec.Body.String())
	}
	if rec := b.do(http.MethodGet, "/app", nil); rec.Body.String() != "hello bob" {
		t.Fatalf("new session: %q", rec.Body.String())
	}

	// A value planted by an attacker before login is never the session.
	planted := strings.Repeat("P", 43)
	v := e.browser("192.0.2.2:5000")
	v.cookies[DefaultCookieName] = planted
	v.login("alice", alicePassword, "/")
	if v.session() == planted || v.session() == "" {
		t.Fatalf("planted session value kept: %q", v.session())
	}
}

func TestLoginPageNamesTheCurrentUser(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser("192.0.2.1:5000")
	b.login("alice", alicePassword, "/")
	rec := b.do(http.MethodGet, DefaultLoginPath, nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "signed in as <strong>alice</strong>") {
		t.Fatalf("status %d body:\n%s", rec.Code, rec.Body.String())
	}
}

func TestLoginAndLogoutRefuseOtherMethods(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser("192.0.2.1:5000")
	for _, path := range []string{DefaultLoginPath, DefaultLogoutPath} {
		rec := b.do(http.MethodPut, path, url.Values{})
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD, POST" {
			t.Fatalf("%s: status %d Allow %q", path, rec.Code, rec.Header().Get("Allow"))
		}
		checkPageHeaders(t, rec)
	}
}

func TestLoginReportsStoreFailureWithoutCountingIt(t *testing.T) {
	e := newEnv(t, nil)
	// The users' store fails; the counters' store works.
	broken, err := badger.Open(badger.Options{InMemory: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := broken.Close(); err != nil {
		t.Fatal(err)
	}
	e.checker.users = broken
	b := e.browser("192.0.2.1:5000")
	tok := csrfOf(t, b.do(http.MethodGet, DefaultLoginPath, nil))
	for range DefaultMaxFailures + 1 {
		rec := b.do(http.MethodPost, DefaultLoginPath, url.Values{"username": {"alice"}, "password": {alicePassword}, "csrf_token": {tok}})
		if rec.Code != http.StatusServiceUnavailable || b.session() != "" {
			t.Fatalf("status %d with a closed store, want 503", rec.Code)
		}
	}
	e.checker.users = e.db
	// Neither alice nor the address was locked by those.
	expectSignIn(t, e, "alice", alicePassword, "192.0.2.1:5000")
}

// Without its counters a login is refused, the password unchecked: an
// unreachable store must not switch the lockout off.
func TestLoginFailsClosedWithoutTheCounters(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.ContextClientIP = func(ctx context.Context) string { s, _ := ctx.Value(ctxAddr{}).(string); return s }
	})
	b := e.browser("192.0.2.1:5000")
	tok := csrfOf(t, b.do(http.MethodGet, DefaultLoginPath, nil))
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	rec := b.do(http.MethodPost, DefaultLoginPath, url.Values{"username": {"alice"}, "password": {alicePassword}, "csrf_token": {tok}})
	if rec.Code != http.StatusServiceUnavailable || b.session() != "" {
		t.Fatalf("status %d with the counters' store closed, want 503", rec.Code)
	}
	ctx := context.WithValue(context.Background(), ctxAddr{}, "192.0.2.1")
	if ok, err := e.m.CheckPassword(ctx, "alice", alicePassword); ok || err == nil || errors.Is(err, provider.ErrTooManyAttempts) {
		t.Fatalf("CheckPassword with the counters' store closed: %v, %v; want a store error", ok, err)
	}
	if n := e.checker.calls.Load(); n != 0 {
		t.Fatalf("%d passwords checked without their count", n)
	}
}

// The login_hint of the request the login returns to (an OpenID Connect
// authorization request) prefills the username, escaped like any value.
func TestLoginPagePrefillsTheLoginHint(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser("192.0.2.1:5000")
	back := url.QueryEscape("/oauth2/authorize?scope=openid&login_hint=" + url.QueryEscape(`alice"><b>`))
	body := b.do(http.MethodGet, DefaultLoginPath+"?return_to="+back, nil).Body.String()
	if !strings.Contains(body, `value="alice&#34;&gt;&lt;b&gt;"`) {
		t.Fatalf("username not prefilled (escaped) from login_hint:\n%s", body)
	}
	body = b.do(http.MethodGet, DefaultLoginPath+"?return_to=/a", nil).Body.String()
	if strings.Contains(body, `id="username" name="username" type="text" value="a`) {
		t.Fatal("a username prefilled without a hint")
	}
}
