package caddyoauth

import (
	"net/http/httptest"
	"testing"

	"github.com/caddy-oauth/caddy-oauth/provider"
)

// Claim headers carry what the issuer said, in header-safe form only: a
// value with CR or LF (header injection) or an object is left out, and a
// header the client sent under the same name never survives.
func TestClaimHeaders(t *testing.T) {
	h := &RequireOAuth{claimH: []claimHeader{
		{"X-Email", "email"}, {"X-Groups", "groups"}, {"X-Age", "age"}, {"X-Verified", "email_verified"},
		{"X-Evil", "evil"}, {"X-Obj", "obj"},
	}}
	if err := h.provisionHeaders(); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Evil", "spoofed")
	r.Header.Set("X_Email", "spoofed")
	h.setIdentity(r, &provider.Identity{ClientID: "app", Claims: map[string]any{
		"email": "a@example.com", "groups": []any{"admin", "dev"}, "age": float64(42), "email_verified": true,
		"evil": "x\r\nSet-Cookie: a=b", "obj": map[string]any{"a": 1},
	}})
	want := map[string]string{"X-Email": "a@example.com", "X-Groups": "admin dev", "X-Age": "42", "X-Verified": "true"}
	for k, v := range want {
		if got := r.Header.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	for _, k := range []string{"X-Evil", "X-Obj", "X_Email"} {
		if got, ok := r.Header[k]; ok {
			t.Errorf("%s reaches the backend: %q", k, got)
		}
	}
}
