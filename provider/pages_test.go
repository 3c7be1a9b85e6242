package provider

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func newTestPages() (*Pages, *fakeClock) {
	clk := &fakeClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	return &Pages{Key: []byte("0123456789abcdef0123456789abcdef"), Clock: clk.Now}, clk
}

func renderConsent(t *testing.T, p *Pages, user, client string) (*httptest.ResponseRecorder, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	p.RenderConsent(rec, ConsentPage{
		Action: "/oauth2/authorize", User: user, ClientID: client, ClientName: "Demo <App>",
		Scopes: []string{"read", "write"},
		Params: url.Values{"client_id": {client}, "state": {`x"><script>alert(1)</script>`}, "csrf_token": {"attacker"}},
	})
	m := csrfField.FindStringSubmatch(rec.Body.String())
	if m == nil {
		t.Fatalf("no csrf_token in page:\n%s", rec.Body.String())
	}
	return rec, m[1]
}

func postConsent(form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/oauth2/authorize", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_ = r.ParseForm()
	return r
}

func TestRenderConsentSetsSecurityHeaders(t *testing.T) {
	p, _ := newTestPages()
	rec, _ := renderConsent(t, p, "alice", "app")
	want := map[string]string{
		"X-Frame-Options":         "DENY",
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-store",
		"Content-Type":            "text/html; charset=utf-8",
	}
	for k, v := range want {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if rec.Code != http.StatusOK {
		t.Errorf("status %d", rec.Code)
	}
}

func TestRenderConsentEscapesAndRoundTripsParams(t *testing.T) {
	p, _ := newTestPages()
	rec, _ := renderConsent(t, p, "alice", "app")
	body := rec.Body.String()
	if strings.Contains(body, "<script>") || strings.Contains(body, "Demo <App>") {
		t.Fatalf("unescaped input in page:\n%s", body)
	}
	for _, s := range []string{`name="client_id" value="app"`, `name="state"`, `value="approve"`, `value="deny"`, "<code>read</code>", "<code>write</code>", `action="/oauth2/authorize"`} {
		if !strings.Contains(body, s) {
			t.Errorf("page lacks %s", s)
		}
	}
	// A csrf_token smuggled in Params must not be echoed as a second field.
	if n := strings.Count(body, `name="csrf_token"`); n != 1 {
		t.Errorf("%d csrf_token fields, want 1", n)
	}
	if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Errorf("page references an external resource")
	}
}

func TestCheckConsent(t *testing.T) {
	p, clk := newTestPages()
	_, tok := renderConsent(t, p, "alice", "app")
	other, _ := newTestPages()
	other.Key = []byte("another key another key another!")
	_, foreign := renderConsent(t, other, "alice", "app")

	tests := []struct {
		name     string
		form     url.Values
		user     string
		client   string
		advance  time.Duration
		approved bool
		status   int // 0: no error
	}{
		{"approve with a valid token is approved", url.Values{"csrf_token": {tok}, "decision": {"approve"}}, "alice", "app", 0, true, 0},
		{"deny with a valid token is a refusal, not an error", url.Values{"csrf_token": {tok}, "decision": {"deny"}}, "alice", "app", 0, false, 0},
		{"a token is still valid at its expiry", url.Values{"csrf_token": {tok}, "decision": {"approve"}}, "alice", "app", DefaultFormTTL, true, 0},
		{"an expired token is refused", url.Values{"csrf_token": {tok}, "decision": {"approve"}}, "alice", "app", DefaultFormTTL + time.Second, false, 403},
		{"a token for another user is refused", url.Values{"csrf_token": {tok}, "decision": {"approve"}}, "mallory", "app", 0, false, 403},
		{"a token for another client is refused", url.Values{"csrf_token": {tok}, "decision": {"approve"}}, "alice", "evil", 0, false, 403},
		{"a token made with another key is refused", url.Values{"csrf_token": {foreign}, "decision": {"approve"}}, "alice", "app", 0, false, 403},
		{"a missing token is refused", url.Values{"decision": {"approve"}}, "alice", "app", 0, false, 403},
		{"a garbage token is refused", url.Values{"csrf_token": {"x.y.z"}, "decision": {"approve"}}, "alice", "app", 0, false, 403},
		{"a token with a moved expiry is refused", url.Values{"csrf_token": {bumpExpiry(tok)}, "decision": {"approve"}}, "alice", "app", 0, false, 403},
		{"a repeated decision is refused", url.Values{"csrf_token": {tok}, "decision": {"deny", "approve"}}, "alice", "app", 0, false, 403},
		{"an unknown decision is refused", url.Values{"csrf_token": {tok}, "decision": {"maybe"}}, "alice", "app", 0, false, 400},
	}
	start := clk.now
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk.now = start.Add(tc.advance)
			ok, err := p.CheckConsent(postConsent(tc.form), tc.user, tc.client)
			if tc.status == 0 && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if tc.status != 0 && (err == nil || err.Status != tc.status || err.Code != "invalid_request") {
				t.Fatalf("error %v, want invalid_request %d", err, tc.status)
			}
			if ok != tc.approved {
				t.Fatalf("approved = %v, want %v", ok, tc.approved)
			}
		})
	}
}

func bumpExpiry(tok string) string {
	e, mac, _ := strings.Cut(tok, ".")
	b := []byte(e)
	b[len(b)-1] = '0' + (b[len(b)-1]-'0'+1)%10
	return string(b) + "." + mac
}

func TestCheckConsentIgnoresQueryParameters(t *testing.T) {
	p, _ := newTestPages()
	_, tok := renderConsent(t, p, "alice", "app")
	q := url.Values{"csrf_token": {tok}, "decision": {"approve"}}
	r := httptest.NewRequest(http.MethodPost, "/oauth2/authorize?"+q.Encode(), strings.NewReader(""))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_ = r.ParseForm()
	if ok, err := p.CheckConsent(r, "alice", "app"); ok || err == nil {
		t.Fatalf("consent via query accepted: %v %v", ok, err)
	}
}

func TestPagesWithoutKeyUseAStableRandomKey(t *testing.T) {
	p := &Pages{}
	_, tok := renderConsent(t, p, "alice", "app")
	if ok, err := p.CheckConsent(postConsent(url.Values{"csrf_token": {tok}, "decision": {"approve"}}), "alice", "app"); !ok || err != nil {
		t.Fatalf("own token refused: %v", err)
	}
	q := &Pages{}
	if _, err := q.CheckConsent(postConsent(url.Values{"csrf_token": {tok}, "decision": {"approve"}}), "alice", "app"); err == nil {
		t.Fatal("token accepted by a Pages with a different random key")
	}
}

func TestRenderError(t *testing.T) {
	p, _ := newTestPages()
	rec := httptest.NewRecorder()
	p.RenderError(rec, http.StatusBadRequest, "Unknown client", `client "<b>x</b>" is not registered`)
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("status %d", rec.Code)
	}
	if rec.Header().Get("X-Frame-Options") != "DENY" || rec.Header().Get("Location") != "" {
		t.Fatalf("headers %v", rec.Header())
	}
	body := rec.Body.String()
	if !strings.Contains(body, "Unknown client") || strings.Contains(body, "<b>x</b>") {
		t.Fatalf("body:\n%s", body)
	}
}

func TestRenderMessageShowsValue(t *testing.T) {
	p, _ := newTestPages()
	rec := httptest.NewRecorder()
	p.RenderMessage(rec, MessagePage{Title: "Verification code", Message: "Enter this code in the application.", Value: "abc&123"})
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, "abc&amp;123") || !strings.Contains(body, `aria-label="Verification code"`) {
		t.Fatalf("status %d body:\n%s", rec.Code, body)
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatal("verifier page may be cached")
	}
}

func TestLoadTemplatesOverridesOnlyGivenFiles(t *testing.T) {
	p, _ := newTestPages()
	err := p.LoadTemplates(fstest.MapFS{
		"error.html": {Data: []byte(`<p>custom {{.Title}}</p>`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	p.RenderError(rec, 404, "gone", "")
	if got := rec.Body.String(); got != "<p>custom gone</p>" {
		t.Fatalf("override not used: %q", got)
	}
	_, tok := renderConsent(t, p, "alice", "app")
	if tok == "" {
		t.Fatal("default consent template lost")
	}
	if err := p.LoadTemplates(fstest.MapFS{"consent.html": {Data: []byte(`{{.Broken`)}}); err == nil {
		t.Fatal("broken template accepted")
	}
}

func TestConsentFormActionAllowsTheRedirectOrigin(t *testing.T) {
	tests := []struct{ redirect, want string }{
		{"", "form-action 'self';"},
		{"https://app.example.com:8443/cb?x=1", "form-action 'self' https://app.example.com:8443;"},
		{"http://127.0.0.1:5000/cb", "form-action 'self' http://127.0.0.1:5000;"},
		{"com.example.app:/oauth2redirect", "form-action 'self' com.example.app:;"},
		{"https://evil.example;script-src *", "form-action 'self';"},
		{"not a uri", "form-action 'self';"},
	}
	p, _ := newTestPages()
	for _, tc := range tests {
		rec := httptest.NewRecorder()
		p.RenderConsent(rec, ConsentPage{Action: "/a", User: "u", ClientID: "c", RedirectURI: tc.redirect})
		csp := rec.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, tc.want) || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("redirect %q: CSP %q, want %q", tc.redirect, csp, tc.want)
		}
	}
}

func TestRenderLoginShowsAnAccessibleFormAndEscapes(t *testing.T) {
	p, _ := newTestPages()
	rec := httptest.NewRecorder()
	p.RenderLogin(rec, http.StatusUnauthorized, LoginPage{
		Action: "/oauth/login", Username: `"><script>x</script>`, ReturnTo: "/a?b=1&c=2",
		CSRF: "tok", Error: "Invalid username or password.",
	})
	body := rec.Body.String()
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("X-Frame-Options") != "DENY" ||
		!strings.Contains(rec.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatalf("status %d headers %v", rec.Code, rec.Header())
	}
	for _, s := range []string{
		`<label for="username">Username</label>`, `<label for="password">Password</label>`,
		`id="username" name="username"`, `id="password" name="password" type="password"`,
		`name="csrf_token" value="tok"`, `name="return_to" value="/a?b=1&amp;c=2"`,
		`role="alert"`, `aria-describedby="login-error"`, `action="/oauth/login"`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("login page lacks %s", s)
		}
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Fatalf("unescaped input or external resource:\n%s", body)
	}
}

func TestRenderLogoutFormAndSignedOutPage(t *testing.T) {
	p, _ := newTestPages()
	rec := httptest.NewRecorder()
	p.RenderLogout(rec, http.StatusOK, LogoutPage{Action: "/oauth/logout", User: "alice", CSRF: "c1"})
	body := rec.Body.String()
	if !strings.Contains(body, `name="csrf_token" value="c1"`) || !strings.Contains(body, "<strong>alice</strong>") ||
		!strings.Contains(body, `action="/oauth/logout"`) || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("logout form:\n%s", body)
	}
	rec = httptest.NewRecorder()
	p.RenderLogout(rec, http.StatusOK, LogoutPage{SignedOut: true, User: "alice", CSRF: "c1"})
	body = rec.Body.String()
	if !strings.Contains(body, "You are signed out.") || strings.Contains(body, "<form") || strings.Contains(body, `value="c1"`) {
		t.Fatalf("signed-out page:\n%s", body)
	}
}

func TestLoginToken(t *testing.T) {
	p, clk := newTestPages()
	other, _ := newTestPages()
	other.Key = []byte("another key another key another!")
	exp := clk.now.Add(time.Hour)
	tok := p.LoginToken("cookie-1", exp)
	tests := []struct {
		name, tok, cookie string
		now               time.Time
		want              bool
	}{
		{"a token for its cookie is valid", tok, "cookie-1", clk.now, true},
		{"a token is still valid at its expiry", tok, "cookie-1", exp, true},
		{"an expired token is refused", tok, "cookie-1", exp.Add(time.Second), false},
		{"a token for another cookie is refused", tok, "cookie-2", clk.now, false},
		{"a token without a cookie is refused", tok, "", clk.now, false},
		{"a token with a moved expiry is refused", bumpExpiry(tok), "cookie-1", clk.now, false},
		{"a token made with another key is refused", other.LoginToken("cookie-1", exp), "cookie-1", clk.now, false},
		{"a consent token is not a login token", p.consentToken("cookie-1", "", exp), "cookie-1", clk.now, false},
		{"garbage is refused", "x.y", "cookie-1", clk.now, false},
		{"an empty token is refused", "", "cookie-1", clk.now, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.CheckLoginToken(tc.tok, tc.cookie, tc.now); got != tc.want {
				t.Fatalf("CheckLoginToken = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLoadTemplatesOverridesLoginAndLogout(t *testing.T) {
	p, _ := newTestPages()
	err := p.LoadTemplates(fstest.MapFS{
		"login.html":  {Data: []byte(`{{define "login.html"}}custom login {{.CSRF}}{{end}}`)},
		"logout.html": {Data: []byte(`{{define "logout.html"}}custom logout {{.SignedOut}}{{end}}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	p.RenderLogin(rec, http.StatusOK, LoginPage{CSRF: "t"})
	if rec.Body.String() != "custom login t" {
		t.Fatalf("login override not used: %q", rec.Body.String())
	}
	rec = httptest.NewRecorder()
	p.RenderLogout(rec, http.StatusOK, LogoutPage{SignedOut: true})
	if rec.Body.String() != "custom logout true" {
		t.Fatalf("logout override not used: %q", rec.Body.String())
	}
}
