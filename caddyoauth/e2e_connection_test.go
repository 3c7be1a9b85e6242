package caddyoauth

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
)

const (
	connAuth     = "http://127.0.0.1:9570"
	connAPI      = "http://127.0.0.1:9571"
	connRenamed  = "http://127.0.0.1:9572"
	connHeaderUp = "http://127.0.0.1:9573"
)

// connectionCaddyfile: require_oauth in front of reverse_proxy three ways:
// the default header names, renamed ones, and the identity forwarded by
// header_up from the placeholders.
func connectionCaddyfile(t *testing.T, backendAddr string) string {
	return e2eGlobal(`oauth {
		server {
			issuer `+connAuth+`
			storage badger `+t.TempDir()+`
			scopes read write
			default_scopes read
			grants password
			user `+testUser+` `+testPasswordHash(t)+`
			client pw-app {
				secret pw-secret
				scopes read write
				grants password
			}
		}
	}`) + `
` + connAuth + ` {
	oauth_server
}

` + connAPI + ` {
	require_oauth read
	reverse_proxy ` + backendAddr + `
}

` + connRenamed + ` {
	require_oauth read {
		header_user Remote-User
		header_client X-Client
		header_scope X-Scopes
	}
	reverse_proxy ` + backendAddr + `
}

` + connHeaderUp + ` {
	require_oauth read
	reverse_proxy ` + backendAddr + ` {
		header_up X-User {oauth.user}
		header_up X-Client {oauth.client_id}
		header_up X-Scope {oauth.scope}
		header_up X-Protocol {oauth.protocol}
		header_up X-Auth-Id {http.auth.user.id}
	}
}
`
}

// TestConnectionCannotDropIdentityHeaders: reverse_proxy removes every
// header a Connection field names (RFC 9110 §7.6.1), so a client naming an
// identity header there would make a user's request reach the backend
// without it, e.g. looking like a service token of the same client.
func TestConnectionCannotDropIdentityHeaders(t *testing.T) {
	be := newBackend(t)
	startCaddy(t, connectionCaddyfile(t, be.addr()))
	tok, ok := passwordToken(t, connAuth, "pw-app", "pw-secret", testUser, testPassword)
	if !ok {
		t.Fatal("password grant refused")
	}
	user := tok.AccessToken

	// want is every header the backend must see, per gateway.
	want := map[string]map[string]string{
		connAPI:     {"X-OAuth-User": testUser, "X-OAuth-Client-Id": "pw-app", "X-OAuth-Scope": "read"},
		connRenamed: {"Remote-User": testUser, "X-Client": "pw-app", "X-Scopes": "read"},
		connHeaderUp: {
			"X-OAuth-User": testUser, "X-OAuth-Client-Id": "pw-app", "X-OAuth-Scope": "read",
			"X-User": testUser, "X-Client": "pw-app", "X-Scope": "read", "X-Protocol": "oauth2", "X-Auth-Id": testUser,
		},
	}
	for _, api := range []string{connAPI, connRenamed, connHeaderUp} {
		names := want[api]
		connections := slices.Sorted(maps.Keys(names))
		// Every name alone, then spellings a parser must also match:
		// case, OWS, several tokens in one field, several fields.
		first := connections[0]
		connections = append(connections,
			"keep-alive,  "+strings.ToLower(first)+"\t",
			"X-Unrelated, "+first+" ,keep-alive",
		)
		for _, conn := range connections {
			t.Run(api+" Connection: "+conn, func(t *testing.T) {
				req := newRequest(t, http.MethodGet, api+"/api", nil)
				req.Header.Set("Authorization", "Bearer "+user)
				req.Header.Set("Connection", conn)
				if resp, body := do(t, noRedirect(), req); resp.StatusCode != http.StatusOK {
					t.Fatalf("API: %d %s", resp.StatusCode, body)
				}
				got := be.last(t)
				for name, v := range names {
					if g := got.Header.Values(name); len(g) != 1 || g[0] != v {
						t.Errorf("backend got %s = %q, want %q", name, g, v)
					}
				}
			})
		}
	}
	t.Run("several Connection fields naming every header", func(t *testing.T) {
		req := newRequest(t, http.MethodGet, connAPI+"/api", nil)
		req.Header.Set("Authorization", "Bearer "+user)
		req.Header["Connection"] = []string{"X-OAuth-User", "x-oauth-client-id, X-OAUTH-SCOPE"}
		if resp, body := do(t, noRedirect(), req); resp.StatusCode != http.StatusOK {
			t.Fatalf("API: %d %s", resp.StatusCode, body)
		}
		got := be.last(t)
		for name, v := range want[connAPI] {
			if g := got.Header.Values(name); len(g) != 1 || g[0] != v {
				t.Errorf("backend got %s = %q, want %q", name, g, v)
			}
		}
	})
}
