package caddyoauth

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	xoauth2 "golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

const (
	remoteAuthJWT    = "http://127.0.0.1:9580"
	remoteAuthOpaque = "http://127.0.0.1:9581"
	remoteAPIJWT     = "http://127.0.0.1:9582"
	remoteAPIOpaque  = "http://127.0.0.1:9583"
)

// remoteCaddyfile runs two authorization servers (JWT and opaque tokens)
// and two gateways that know them only by their issuer URL: what they
// learn of them comes over HTTP (discovery, JWK Set, introspection), as
// from any other issuer.
func remoteCaddyfile(t *testing.T, backendAddr string) string {
	server := func(name, issuer, format string) string {
		return `server ` + name + ` {
			issuer ` + issuer + `
			storage badger ` + t.TempDir() + `
			scopes read write
			token_format ` + format + `
			client service {
				secret service-secret
				grants client_credentials
			}
			client gateway {
				secret gateway-secret
				introspect
				grants client_credentials
			}
		}`
	}
	return e2eGlobal(`oauth {
		`+server("jwtissuer", remoteAuthJWT, "jwt")+`
		`+server("opaqueissuer", remoteAuthOpaque, "opaque")+`
	}`) + `
` + remoteAuthJWT + ` {
	oauth_server jwtissuer
}
` + remoteAuthOpaque + ` {
	oauth_server opaqueissuer
}
` + remoteAPIJWT + ` {
	require_oauth read {
		issuer ` + remoteAuthJWT + `
		token_type at+jwt
		claim_header X-OAuth-Issuer iss
	}
	reverse_proxy ` + backendAddr + `
}
` + remoteAPIOpaque + ` {
	require_oauth read {
		issuer ` + remoteAuthOpaque + `
		introspect {
			client_id gateway
			client_secret gateway-secret
		}
		claim_header X-Token-Type token_type
	}
	reverse_proxy ` + backendAddr + `
}
`
}

func TestRemoteIssuerEndToEnd(t *testing.T) {
	be := newBackend(t)
	startCaddy(t, remoteCaddyfile(t, be.addr()))
	ctx := context.WithValue(context.Background(), xoauth2.HTTPClient, &http.Client{Timeout: 10 * time.Second})
	token := func(auth, scope string) string {
		cc := &clientcredentials.Config{ClientID: "service", ClientSecret: "service-secret", TokenURL: auth + "/oauth2/token", Scopes: []string{scope}}
		tok, err := cc.Token(ctx)
		if err != nil {
			t.Fatalf("client credentials at %s: %v", auth, err)
		}
		return tok.AccessToken
	}
	call := func(api, tok string, hdr ...string) *http.Response {
		req := newRequest(t, http.MethodGet, api+"/data", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, _ := do(t, noRedirect(), req)
		return resp
	}
	for _, tc := range []struct{ name, auth, api, claimHeader, claim string }{
		{"a JWT verified with the issuer's JWK Set", remoteAuthJWT, remoteAPIJWT, "X-Oauth-Issuer", remoteAuthJWT},
		{"an opaque token introspected", remoteAuthOpaque, remoteAPIOpaque, "X-Token-Type", "Bearer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := token(tc.auth, "read")
			var resp *http.Response
			// The gateway fetches the metadata in the background.
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				if resp = call(tc.api, tok, tc.claimHeader, "spoofed", "X-OAuth-Client-Id", "spoofed"); resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
					break
				}
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			got := be.last(t)
			if got.Header.Get("X-OAuth-Client-Id") != "service" || got.Header.Get("X-OAuth-Scope") != "read" || got.Header.Get("Authorization") != "" {
				t.Errorf("backend saw %v", got.Header)
			}
			if v := got.Header.Values(tc.claimHeader); len(v) != 1 || v[0] != tc.claim {
				t.Errorf("claim header %s = %q, want %q", tc.claimHeader, v, tc.claim)
			}
			if resp := call(tc.api, token(tc.auth, "write")); resp.StatusCode != http.StatusForbidden ||
				!strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
				t.Errorf("a token without read: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
			if resp := call(tc.api, tok+"x"); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("a spoiled token: %d", resp.StatusCode)
			}
		})
	}
	t.Run("a token of the other issuer is refused", func(t *testing.T) {
		if resp := call(remoteAPIJWT, token(remoteAuthOpaque, "read")); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("an opaque token of another issuer at the JWT gateway: %d", resp.StatusCode)
		}
	})
}
