package caddyoauth

import (
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// TestLoadErrors loads configs that adapt but cannot be provisioned: Caddy
// must refuse them with a message that says what to fix.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, caddyfile, want string
	}{
		{
			name: "a handler without a configured server",
			caddyfile: e2eGlobal("") + `
http://127.0.0.1:9492 {
	oauth_server
}`,
			want: `oauth server \"default\" is not configured`,
		},
		{
			name: "require_oauth naming an unknown server",
			caddyfile: e2eGlobal(`oauth {
		server main {
			issuer http://127.0.0.1:9492
			storage badger `+t.TempDir()+`
		}
	}`) + `
http://127.0.0.1:9492 {
	require_oauth {
		server other
	}
}`,
			want: `oauth server \"other\" is not configured (configured: main)`,
		},
		{
			name: "a client whose secret variable is empty",
			caddyfile: e2eGlobal(`oauth {
		server {
			issuer http://127.0.0.1:9492
			storage badger `+t.TempDir()+`
			client app {
				secret {env.CADDY_OAUTH_TEST_UNSET_VARIABLE}
			}
		}
	}`) + `
http://127.0.0.1:9492 {
	oauth_server
}`,
			want: `client \"app\": secret`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			caddytest.AssertLoadError(t, tc.caddyfile, "caddyfile", tc.want)
			// The refused config released what it had opened.
			open := 0
			stores.Range(func(key, _ any) bool { open++; return true })
			if open != 0 {
				t.Errorf("%d stores still open after the refused load", open)
			}
		})
	}
}
