package caddyoauth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddy-oauth/caddy-oauth/provider"
)

// TestRequireOAuthAuditsRefusals: a refused request is an event of the
// server (logged, counted) saying why and, when the token was valid but
// lacked the scope, whose it was; the token never appears in it. A request
// without credentials is not an event.
func TestRequireOAuthAuditsRefusals(t *testing.T) {
	srv := newTestServer(t, &ServerConfig{})
	var events []provider.Event
	srv.audit = func(e provider.Event) { events = append(events, e) }
	h := newTestRequire(t, srv, &RequireOAuth{Scopes: []string{"write"}})
	readOnly := issueAccess(t, srv, "web", "alice", "read")

	call := func(auth string) int {
		r := httptest.NewRequest(http.MethodGet, "http://api.example.com/x", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w, next, _ := serve(t, h, r)
		if next.called {
			t.Fatalf("%q reached the backend", auth)
		}
		return w.Code
	}

	if got := call(""); got != http.StatusUnauthorized || len(events) != 0 {
		t.Fatalf("no credentials: %d, events %+v", got, events)
	}
	const bogus = "not-a-live-token-0123456789abcdefghijklmnopq"
	if got := call("Bearer " + bogus); got != http.StatusUnauthorized {
		t.Fatalf("unknown token: %d", got)
	}
	if got := call("Bearer " + readOnly); got != http.StatusForbidden {
		t.Fatalf("insufficient scope: %d", got)
	}
	if len(events) != 2 {
		t.Fatalf("events %+v, want 2", events)
	}
	unknown, scope := events[0], events[1]
	if unknown.Name != "request_refused" || unknown.Protocol != "oauth2" || !strings.HasPrefix(unknown.Reason, "invalid_token") || unknown.ClientID != "" {
		t.Errorf("unknown token event %+v", unknown)
	}
	if scope.Name != "request_refused" || scope.ClientID != "web" || scope.User != "alice" || !strings.HasPrefix(scope.Reason, "insufficient_scope") {
		t.Errorf("insufficient scope event %+v", scope)
	}
	for _, e := range events {
		if strings.Contains(e.Reason, bogus) || strings.Contains(e.Reason, readOnly) {
			t.Errorf("event carries the token: %+v", e)
		}
	}
}
