package caddyoauth

import (
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"slices"
	"strings"
	"testing"
)

// TestRequireOAuthConnectionKeepsIdentity: a Connection field naming an
// identity header would make reverse_proxy delete it after require_oauth
// set it; those names leave the field, every other token stays.
func TestRequireOAuthConnectionKeepsIdentity(t *testing.T) {
	srv := newTestServer(t, &ServerConfig{})
	user := issueAccess(t, srv, "web", "alice", "read", "write")
	defaults := map[string]string{"X-OAuth-User": "alice", "X-OAuth-Client-Id": "web", "X-OAuth-Scope": "read write"}
	renamed := map[string]string{"Remote-User": "alice", "X-Client": "web", "X-Scopes": "read write"}
	custom := RequireOAuth{HeaderUser: "Remote-User", HeaderClient: "x-client", HeaderScope: "X-Scopes"}

	for _, tc := range []struct {
		name    string
		handler RequireOAuth
		conn    []string // the client's Connection fields
		want    []string // what next gets; nil: no Connection field
		headers map[string]string
	}{
		{"the user header alone", RequireOAuth{}, []string{"X-OAuth-User"}, nil, defaults},
		{"the client header alone", RequireOAuth{}, []string{"X-OAuth-Client-Id"}, nil, defaults},
		{"the scope header alone", RequireOAuth{}, []string{"X-OAuth-Scope"}, nil, defaults},
		{"any case, OWS and spelling", RequireOAuth{}, []string{" x_oauth_user\t,X.OAUTH.SCOPE ,, x-oauth-client-id"}, nil, defaults},
		{"other tokens stay as they were", RequireOAuth{}, []string{"keep-alive,  X-OAuth-User , Upgrade", "Upgrade,\tX-Other"}, []string{"keep-alive, Upgrade", "Upgrade,\tX-Other"}, defaults},
		{"a field left empty is dropped", RequireOAuth{}, []string{"X-OAuth-Scope", "keep-alive"}, []string{"keep-alive"}, defaults},
		{"a Connection without identity names is untouched", RequireOAuth{}, []string{"keep-alive, X-Remote-User"}, []string{"keep-alive, X-Remote-User"}, defaults},
		{"renamed headers", custom, []string{"remote-user, X-Client, X-Scopes"}, nil, renamed},
		// The defaults are sanitized even when renamed; naming them is
		// harmless but pointless, so they go too.
		{"renamed headers and the defaults", custom, []string{"X-OAuth-User, Upgrade"}, []string{"Upgrade"}, renamed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestRequire(t, srv, &tc.handler)
			r := httptest.NewRequest(http.MethodGet, "http://api.example.com/x", nil)
			r.Header.Set("Authorization", "Bearer "+user)
			r.Header["Connection"] = slices.Clone(tc.conn)
			_, next, _ := serve(t, h, r)
			if !next.called {
				t.Fatal("next not called")
			}
			if got, ok := next.req.Header["Connection"]; !slices.Equal(got, tc.want) || ok != (tc.want != nil) {
				t.Errorf("Connection %q (present %v), want %q", got, ok, tc.want)
			}
			// What reverse_proxy does next (removeConnectionHeaders).
			for _, f := range next.req.Header["Connection"] {
				for sf := range strings.SplitSeq(f, ",") {
					if sf = textproto.TrimString(sf); sf != "" {
						next.req.Header.Del(sf)
					}
				}
			}
			for name, want := range tc.headers {
				if got := next.req.Header.Values(name); len(got) != 1 || got[0] != want {
					t.Errorf("%s = %q after the proxy's Connection handling, want %q", name, got, want)
				}
			}
		})
	}
}
