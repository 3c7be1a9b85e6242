package login

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
)

func TestSessionExpires(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SessionTTL = time.Hour })
	b := e.browser("192.0.2.1:5000")
	rec := b.login("alice", alicePassword, "/")
	if c := cookieNamed(rec, DefaultCookieName); c == nil || c.MaxAge != 3600 {
		t.Fatalf("cookie %+v, want Max-Age 3600", c)
	}
	e.clock.Advance(time.Hour - time.Second)
	if user, ok := e.m.User(sessionRequest(b.session())); !ok || user != "alice" {
		t.Fatalf("signed out before expiry: %q %v", user, ok)
	}
	e.clock.Advance(time.Second)
	if _, ok := e.m.User(sessionRequest(b.session())); ok {
		t.Fatal("session still valid at its expiry")
	}
	if rec := b.do(http.MethodGet, "/oauth2/authorize?client_id=app", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("expired session not sent to login: %d", rec.Code)
	}
}

func TestUserIgnoresForeignCookies(t *testing.T) {
	e := newEnv(t, nil)
	for _, v := range []string{"", "short", strings.Repeat("A", 42), strings.Repeat("A", 44), strings.Repeat("!", 43), strings.Repeat("A", 43)} {
		if _, ok := e.m.User(sessionRequest(v)); ok {
			t.Fatalf("cookie %q signs in", v)
		}
	}
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	if _, ok := e.m.User(r); ok {
		t.Fatal("no cookie signs in")
	}
}

func TestRedirectToLogin(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.LoginPath = "/auth/oauth/login"; c.LogoutPath = "/auth/oauth/logout" })
	b := e.browser("192.0.2.1:5000")
	const authz = "/oauth2/authorize?client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=a%26b"
	rec := b.do(http.MethodGet, authz, nil)
	checkPageHeaders(t, rec)
	want := "/auth/oauth/login?" + url.Values{"return_to": {authz}}.Encode()
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != want {
		t.Fatalf("status %d Location %q, want 303 %q", rec.Code, rec.Header().Get("Location"), want)
	}
	// The round trip lands on the original request, query intact.
	page := b.do(http.MethodGet, want, nil)
	if c := cookieNamed(page, DefaultCookieName+"_login"); c == nil || c.Path != "/auth/oauth/login" {
		t.Fatalf("pre-login cookie %+v, want path of the prefixed login page", c)
	}
	done := b.do(http.MethodPost, "/auth/oauth/login", url.Values{
		"username": {"alice"}, "password": {alicePassword}, "return_to": {authz}, "csrf_token": {csrfOf(t, page)},
	})
	if done.Header().Get("Location") != authz {
		t.Fatalf("after login: Location %q, want %q", done.Header().Get("Location"), authz)
	}

	// A consent form posted without a session cannot be resumed.
	e2 := e.browser("192.0.2.2:5000")
	post := e2.do(http.MethodPost, "/oauth2/authorize", url.Values{"client_id": {"app"}, "decision": {"approve"}})
	checkPageHeaders(t, post)
	if post.Code != http.StatusUnauthorized || post.Header().Get("Location") != "" || !strings.Contains(post.Body.String(), "start again") {
		t.Fatalf("POST without session: status %d Location %q\n%s", post.Code, post.Header().Get("Location"), post.Body.String())
	}
}

func TestRedirectToLoginUsesReturnURI(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.ReturnURI = func(r *http.Request) string { return "/prefix" + r.URL.RequestURI() }
	})
	rec := e.browser("192.0.2.1:5000").do(http.MethodGet, "/authorize?x=1", nil)
	if got := rec.Header().Get("Location"); got != DefaultLoginPath+"?return_to=%2Fprefix%2Fauthorize%3Fx%3D1" {
		t.Fatalf("Location %q", got)
	}
	e = newEnv(t, func(c *Config) {
		c.ReturnURI = func(*http.Request) string { return "//evil.com/" }
	})
	rec = e.browser("192.0.2.1:5000").do(http.MethodGet, "/authorize", nil)
	if got := rec.Header().Get("Location"); got != DefaultLoginPath+"?return_to=%2F" {
		t.Fatalf("Location %q", got)
	}
}

func TestEveryPageCarriesSecurityHeaders(t *testing.T) {
	e := newEnv(t, nil)
	signedIn := e.browser("192.0.2.1:5000")
	signedIn.login("alice", alicePassword, "/")
	pages := map[string]func() *httptest.ResponseRecorder{
		"login form": func() *httptest.ResponseRecorder {
			return e.browser("192.0.2.2:5000").do(http.MethodGet, DefaultLoginPath, nil)
		},
		"login failure": func() *httptest.ResponseRecorder {
			return e.browser("192.0.2.3:5000").login("bob", "nope", "/")
		},
		"login success redirect": func() *httptest.ResponseRecorder {
			return e.browser("192.0.2.4:5000").login("bob", bobPassword, "/")
		},
		"login CSRF refusal": func() *httptest.ResponseRecorder {
			return e.browser("192.0.2.5:5000").do(http.MethodPost, DefaultLoginPath, url.Values{"username": {"bob"}})
		},
		"logout form": func() *httptest.ResponseRecorder { return signedIn.do(http.MethodGet, DefaultLogoutPath, nil) },
		"signed out page": func() *httptest.ResponseRecorder {
			return e.browser("192.0.2.6:5000").do(http.MethodGet, DefaultLogoutPath, nil)
		},
		"login redirect": func() *httptest.ResponseRecorder {
			return e.browser("192.0.2.7:5000").do(http.MethodGet, "/authorize", nil)
		},
		"session expired": func() *httptest.ResponseRecorder {
			return e.browser("192.0.2.8:5000").do(http.MethodPost, "/authorize", url.Values{})
		},
		"logout CSRF error": func() *httptest.ResponseRecorder {
			return signedIn.do(http.MethodPost, DefaultLogoutPath, url.Values{})
		},
	}
	for name, page := range pages {
		t.Run(name, func(t *testing.T) { checkPageHeaders(t, page()) })
	}
}

// The whole flow through a real HTTP server and client with a cookie jar:
// cookie paths and attributes as a browser applies them.
func TestLoginFlowOverHTTP(t *testing.T) {
	e := newEnv(t, nil)
	mux := http.NewServeMux()
	mux.HandleFunc(DefaultLoginPath, e.m.ServeLogin)
	mux.HandleFunc(DefaultLogoutPath, e.m.ServeLogout)
	mux.HandleFunc("/oauth2/authorize", func(w http.ResponseWriter, r *http.Request) {
		if user, ok := e.m.User(r); ok {
			_, _ = io.WriteString(w, "authorize as "+user+" "+r.URL.Query().Get("state"))
			return
		}
		e.m.RedirectToLogin(w, r)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}

	res, err := client.Get(srv.URL + "/oauth2/authorize?client_id=app&state=s1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.Request.URL.Path != DefaultLoginPath {
		t.Fatalf("landed on %s", res.Request.URL)
	}
	tok := csrfField.FindStringSubmatch(string(body))
	ret := regexpReturnTo(string(body))
	if tok == nil || ret != "/oauth2/authorize?client_id=app&amp;state=s1" {
		t.Fatalf("login page: return_to %q\n%s", ret, body)
	}
	res, err = client.PostForm(srv.URL+DefaultLoginPath, url.Values{
		"username": {"alice"}, "password": {alicePassword},
		"return_to": {"/oauth2/authorize?client_id=app&state=s1"}, "csrf_token": {tok[1]},
	})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "authorize as alice s1" {
		t.Fatalf("after login: %d %q", res.StatusCode, body)
	}

	// Sign out through the confirmation form.
	res, err = client.Get(srv.URL + DefaultLogoutPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	tok = csrfField.FindStringSubmatch(string(body))
	if tok == nil {
		t.Fatalf("logout page:\n%s", body)
	}
	res, err = client.PostForm(srv.URL+DefaultLogoutPath, url.Values{"csrf_token": {tok[1]}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	u, _ := url.Parse(srv.URL)
	for _, c := range jar.Cookies(u) {
		if c.Name == DefaultCookieName {
			t.Fatal("session cookie kept after logout")
		}
	}
	res, err = client.Get(srv.URL + "/oauth2/authorize?client_id=app&state=s2")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Request.URL.Path != DefaultLoginPath {
		t.Fatalf("after logout landed on %s", res.Request.URL)
	}
}

func regexpReturnTo(body string) string {
	_, after, ok := strings.Cut(body, `name="return_to" value="`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, `"`)
	return v
}

func TestNewValidatesConfig(t *testing.T) {
	e := newEnv(t, nil)
	base := e.m.cfg
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{"Pages is required", func(c *Config) { c.Pages = nil }},
		{"Sessions is required", func(c *Config) { c.Sessions = nil }},
		{"Attempts is required", func(c *Config) { c.Attempts = nil }},
		{"Passwords is required", func(c *Config) { c.Passwords = nil }},
		{"a negative TTL is refused", func(c *Config) { c.SessionTTL = -time.Second }},
		{"a negative limit is refused", func(c *Config) { c.MaxFailures = -1 }},
		{"a cookie name with a space is refused", func(c *Config) { c.CookieName = "a b" }},
		{"a relative login path is refused", func(c *Config) { c.LoginPath = "login" }},
		{"a login path with a query is refused", func(c *Config) { c.LoginPath = "/login?x" }},
		{"a scheme-relative logout path is refused", func(c *Config) { c.LogoutPath = "//evil/logout" }},
		{"equal paths are refused", func(c *Config) { c.LogoutPath = c.LoginPath }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.mod(&cfg)
			if _, err := New(cfg); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	m, err := New(Config{Pages: &provider.Pages{}, Sessions: e.db, Attempts: e.db, Passwords: e.checker})
	if err != nil {
		t.Fatal(err)
	}
	c := m.cfg
	if c.SessionTTL != 12*time.Hour || c.CookieName != "caddy_oauth_session" || c.LoginPath != "/oauth/login" ||
		c.LogoutPath != "/oauth/logout" || c.MaxFailures != 5 || c.FailureWindow != 15*time.Minute ||
		c.LockoutDuration != 15*time.Minute {
		t.Fatalf("defaults %+v", c)
	}
}
