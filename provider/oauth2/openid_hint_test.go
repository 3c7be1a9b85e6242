package oauth2

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// hintEnv is an OpenID env whose layer knows three hints: alice's and
// bob's for client first, and alice's for dyn.
func hintEnv(t *testing.T) *env {
	e, op := newOpenIDEnv(t)
	op.hints = map[string]IDTokenHint{
		"hint-alice":     {Subject: "sub:alice", ClientID: "first"},
		"hint-bob":       {Subject: "sub:bob", ClientID: "first"},
		"hint-alice-dyn": {Subject: "sub:alice", ClientID: "dyn"},
		// An expired ID token is still a hint of who the user was.
		"hint-alice-old": {Subject: "sub:alice", ClientID: "first", ExpiresAt: time.Now().Add(-48 * time.Hour)},
	}
	return e
}

func hinted(hint string, extra ...string) url.Values {
	v := url.Values{"id_token_hint": {hint}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return oidcQuery("first", "https://first.example.com/cb", v)
}

func TestIDTokenHintAtTheAuthorizationEndpoint(t *testing.T) {
	e := hintEnv(t)
	for _, tc := range []struct {
		name, user string
		q          url.Values
		want       string // the error, or "code"
	}{
		{"the hinted user signed in gets a code", "alice", hinted("hint-alice"), "code"},
		{"so with prompt=none", "alice", hinted("hint-alice", "prompt", "none"), "code"},
		{"an expired hint still names the user", "alice", hinted("hint-alice-old", "prompt", "none"), "code"},
		{"another user with prompt=none is login_required", "bob", hinted("hint-alice", "prompt", "none"), "login_required"},
		{"another user without prompt=none is login_required too", "bob", hinted("hint-alice"), "login_required"},
		{"an expired hint for another user is login_required", "bob", hinted("hint-alice-old", "prompt", "none"), "login_required"},
		{"an invalid hint is invalid_request", "alice", hinted("forged"), "invalid_request"},
		{"a hint issued to another client is invalid_request", "alice", hinted("hint-alice-dyn"), "invalid_request"},
		{"a repeated hint is invalid_request", "alice", func() url.Values {
			q := hinted("hint-alice")
			q.Add("id_token_hint", "hint-alice")
			return q
		}(), "invalid_request"},
		{"a store failure is server_error", "alice", hinted("store-down"), "server_error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := location(t, e.authorize(http.MethodGet, tc.q, tc.user))
			got := u.Query().Get("error")
			if got == "" && u.Query().Get("code") != "" {
				got = "code"
			}
			if got != tc.want || u.Query().Get("state") != "st" {
				t.Fatalf("%s, want %s with state", u, tc.want)
			}
		})
	}
	t.Run("without scope openid the hint is an unknown parameter", func(t *testing.T) {
		q := hinted("forged")
		q.Set("scope", "read")
		if u := location(t, e.authorize(http.MethodGet, q, "alice")); u.Query().Get("code") == "" {
			t.Fatalf("%s, want a code", u)
		}
	})
}

// The consent form carries the hint, so the POST back is checked too.
func TestTheConsentFormCarriesTheHint(t *testing.T) {
	e := hintEnv(t)
	q := oidcQuery("dyn", "https://dyn.example.com/cb", url.Values{"id_token_hint": {"hint-alice-dyn"}})
	page := e.authorize(http.MethodGet, q, "alice")
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), `name="id_token_hint" value="hint-alice-dyn"`) {
		t.Fatalf("consent page %d lacks the hint", page.Code)
	}
	if u := location(t, e.consent(q, "alice", "approve")); u.Query().Get("code") == "" {
		t.Fatalf("approve: %s", u)
	}
	// Posting the form as another user (the session changed meanwhile)
	// meets the hint check again.
	m := csrfRe.FindStringSubmatch(page.Body.String())
	if m == nil {
		t.Fatal("no csrf_token")
	}
	post := url.Values{"csrf_token": {m[1]}, "decision": {"approve"}}
	for k, v := range q {
		post[k] = v
	}
	if u := location(t, e.authorize(http.MethodPost, post, "bob")); u.Query().Get("error") != "login_required" {
		t.Fatalf("bob approving alice's hinted request: %s", u)
	}
}

func TestOtherUserHinted(t *testing.T) {
	e := hintEnv(t)
	get := func(q url.Values) *http.Request {
		return httptest.NewRequest(http.MethodGet, PathAuthorize+"?"+q.Encode(), nil)
	}
	for _, tc := range []struct {
		name string
		r    *http.Request
		user string
		want bool
	}{
		{"the hinted user", get(hinted("hint-alice")), "alice", false},
		{"another user", get(hinted("hint-alice")), "bob", true},
		{"an expired hint for another user", get(hinted("hint-alice-old")), "bob", true},
		{"an invalid hint (Authorize answers it)", get(hinted("forged")), "bob", false},
		{"another client's hint (Authorize answers it)", get(hinted("hint-alice-dyn")), "bob", false},
		{"no hint", get(oidcQuery("first", "https://first.example.com/cb", nil)), "bob", false},
		{"a POST (the consent form)", httptest.NewRequest(http.MethodPost, PathAuthorize+"?"+hinted("hint-alice").Encode(), nil), "bob", false},
	} {
		if got := e.srv.OtherUserHinted(tc.r, tc.user); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	got := WithoutIDTokenHint("/oauth2/authorize?client_id=first&id_token_hint=x&scope=openid")
	if strings.Contains(got, "id_token_hint") || !strings.Contains(got, "client_id=first") || !strings.HasPrefix(got, "/oauth2/authorize?") {
		t.Errorf("WithoutIDTokenHint = %s", got)
	}
}

// Core §5.5: a provider without claims parameter support ignores it;
// discovery says claims_parameter_supported false (package oidc).
func TestTheClaimsParameterIsIgnored(t *testing.T) {
	e := hintEnv(t)
	for _, claims := range []string{`{"id_token":{"email":{"essential":true}}}`, `not json`} {
		q := oidcQuery("first", "https://first.example.com/cb", url.Values{"claims": {claims}})
		if u := location(t, e.authorize(http.MethodGet, q, "alice")); u.Query().Get("code") == "" {
			t.Fatalf("claims %s: %s, want a code", claims, u)
		}
	}
}
