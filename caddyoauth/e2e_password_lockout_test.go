package caddyoauth

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/caddy-oauth/caddy-oauth/provider/login"
)

const (
	lockoutAuth = "http://127.0.0.1:9560"
	lockoutAPI  = "http://127.0.0.1:9561"
)

// TestPasswordGrantSharesTheLoginLockout: the password grant is another
// way to guess a password, so it is counted and refused like the login
// form; without that, the token endpoint would be an unlimited oracle.
func TestPasswordGrantSharesTheLoginLockout(t *testing.T) {
	be := newBackend(t)
	startCaddy(t, adminCaddyfile(t, lockoutAuth, lockoutAPI, t.TempDir(), be.addr(), `client pw-app {
				secret pw-secret
				grants password
			}`))
	grant := func(password string) (int, string) {
		status, _, body := tokenRequest(t, lockoutAuth, "pw-app", "pw-secret", url.Values{
			"grant_type": {"password"}, "username": {staticUser}, "password": {password},
		})
		return status, body
	}
	if _, ok := passwordToken(t, lockoutAuth, "pw-app", "pw-secret", staticUser, testPassword); !ok {
		t.Fatal("the right password is refused before any failure")
	}
	for i := 1; i <= login.DefaultMaxFailures; i++ {
		if status, body := grant("wrong-" + string(rune('0'+i))); status != http.StatusBadRequest || !strings.Contains(body, "invalid resource owner credentials") {
			t.Fatalf("failed attempt %d: %d %s", i, status, body)
		}
	}
	status, body := grant(testPassword)
	if status != http.StatusBadRequest || !strings.Contains(body, `"error":"invalid_grant"`) || !strings.Contains(body, "too many failed sign-in attempts") {
		t.Fatalf("the right password after %d failures: %d %s, want 400 invalid_grant (locked)", login.DefaultMaxFailures, status, body)
	}
}
