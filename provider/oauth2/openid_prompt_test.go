package oauth2

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func oidcQuery(client, redirect string, extra url.Values) url.Values {
	q := url.Values{"response_type": {"code"}, "client_id": {client}, "redirect_uri": {redirect}, "scope": {"openid read"}, "state": {"st"}}
	for k, v := range extra {
		q[k] = v
	}
	return q
}

// prompt=none shows no page: without a user it is login_required, without
// consent consent_required, redirected to the client with state (Core
// §3.1.2.6); with both it issues the code as usual.
func TestPromptNoneShowsNoPage(t *testing.T) {
	e, _ := newOpenIDEnv(t)
	none := url.Values{"prompt": {"none"}}

	u := location(t, e.authorize(http.MethodGet, oidcQuery("dyn", "https://dyn.example.com/cb", none), ""))
	if u.Query().Get("error") != "login_required" || u.Query().Get("state") != "st" {
		t.Fatalf("no user, prompt=none: %s, want login_required", u)
	}
	u = location(t, e.authorize(http.MethodGet, oidcQuery("dyn", "https://dyn.example.com/cb", none), "alice"))
	if u.Query().Get("error") != "consent_required" {
		t.Fatalf("no consent, prompt=none: %s, want consent_required", u)
	}
	// Without prompt=none the same request shows the consent page.
	if rec := e.authorize(http.MethodGet, oidcQuery("dyn", "https://dyn.example.com/cb", nil), "alice"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "csrf_token") {
		t.Fatalf("consent page: %d", rec.Code)
	}
	// A trusted client needs no consent: prompt=none gets the code.
	if u := location(t, e.authorize(http.MethodGet, oidcQuery("first", "https://first.example.com/cb", none), "alice")); u.Query().Get("code") == "" {
		t.Fatalf("trusted client, prompt=none: %s, want a code", u)
	}
	// Without openid, prompt means nothing and no user is the login page.
	q := oidcQuery("dyn", "https://dyn.example.com/cb", none)
	q.Set("scope", "read")
	if rec := e.authorize(http.MethodGet, q, ""); rec.Code != http.StatusUnauthorized {
		t.Fatalf("plain OAuth request, no user: %d, want the 401 page", rec.Code)
	}
}

// prompt=consent asks even a trusted client's user.
func TestPromptConsentAlwaysAsks(t *testing.T) {
	e, _ := newOpenIDEnv(t)
	rec := e.authorize(http.MethodGet, oidcQuery("first", "https://first.example.com/cb", url.Values{"prompt": {"consent"}}), "alice")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "csrf_token") {
		t.Fatalf("trusted client with prompt=consent: %d, want the consent page", rec.Code)
	}
}

func TestOpenIDRequestRefusals(t *testing.T) {
	e, _ := newOpenIDEnv(t)
	for name, tc := range map[string]struct {
		extra url.Values
		code  string
	}{
		"request object":        {url.Values{"request": {"eyJhbGciOiJub25lIn0.e30."}}, "request_not_supported"},
		"request_uri":           {url.Values{"request_uri": {"https://rp.example/req"}}, "request_uri_not_supported"},
		"prompt none and login": {url.Values{"prompt": {"none login"}}, "invalid_request"},
		"unknown prompt":        {url.Values{"prompt": {"dance"}}, "invalid_request"},
		"negative max_age":      {url.Values{"max_age": {"-1"}}, "invalid_request"},
		"max_age not a number":  {url.Values{"max_age": {"1h"}}, "invalid_request"},
	} {
		t.Run(name, func(t *testing.T) {
			u := location(t, e.authorize(http.MethodGet, oidcQuery("first", "https://first.example.com/cb", tc.extra), "alice"))
			if u.Query().Get("error") != tc.code {
				t.Fatalf("%s, want error %s", u, tc.code)
			}
		})
	}
}

func TestMustReauthenticate(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name     string
		p        Prompt
		signedIn time.Time
		want     bool
	}{
		{"no session", Prompt{}, time.Time{}, true},
		{"session", Prompt{}, now.Add(-time.Hour), false},
		{"prompt=login", Prompt{Login: true}, now, true},
		{"within max_age", Prompt{MaxAge: time.Minute, HasMaxAge: true}, now.Add(-30 * time.Second), false},
		{"older than max_age", Prompt{MaxAge: time.Minute, HasMaxAge: true}, now.Add(-2 * time.Minute), true},
		{"max_age=0", Prompt{HasMaxAge: true}, now.Add(-time.Second), true},
	} {
		if got := tc.p.MustReauthenticate(tc.signedIn, now); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := WithoutLoginPrompt("/oauth2/authorize?prompt=login+consent&scope=openid"); strings.Contains(got, "login") || !strings.Contains(got, "prompt=consent") {
		t.Errorf("WithoutLoginPrompt = %s", got)
	}
	if got := WithoutLoginPrompt("/oauth2/authorize?prompt=login&scope=openid"); strings.Contains(got, "prompt") {
		t.Errorf("WithoutLoginPrompt = %s", got)
	}
}
