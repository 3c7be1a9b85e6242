package caddyoauth

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	xoauth2 "golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

const (
	jwtAuth = "http://127.0.0.1:9520"
	jwtAPI  = "http://127.0.0.1:9521"
)

// jwtCaddyfile is an authorization server issuing JWT access tokens, its
// endpoints under /auth, and a gateway needing "read" in front of the
// recording backend.
func jwtCaddyfile(t *testing.T, backendAddr string) string {
	return e2eGlobal(`oauth {
		server {
			issuer `+jwtAuth+`
			storage badger `+t.TempDir()+`
			scopes read write
			token_format jwt
			client service {
				secret service-secret
				scopes read
				grants client_credentials
			}
			client gateway {
				secret gateway-secret
				introspect
				grants client_credentials
			}
		}
	}`) + `
` + jwtAuth + ` {
	oauth_server {
		prefix /auth
	}
	respond "not an oauth endpoint" 404
}

` + jwtAPI + ` {
	require_oauth read
	reverse_proxy ` + backendAddr + `
}
`
}

func TestJWTEndToEnd(t *testing.T) {
	be := newBackend(t)
	startCaddy(t, jwtCaddyfile(t, be.addr()))
	httpc := noRedirect()
	ctx := context.WithValue(context.Background(), xoauth2.HTTPClient, &http.Client{Timeout: 10 * time.Second})

	cc := &clientcredentials.Config{
		ClientID: "service", ClientSecret: "service-secret",
		TokenURL: jwtAuth + "/auth/oauth2/token", Scopes: []string{"read"},
	}
	tok, err := cc.Token(ctx)
	if err != nil {
		t.Fatalf("client credentials: %v", err)
	}
	token := tok.AccessToken
	seg := strings.Split(token, ".")
	if len(seg) != 3 || tok.RefreshToken != "" {
		t.Fatalf("not a JWT access token alone: %+v", tok)
	}
	var header struct{ Typ, Alg, Kid string }
	var claims struct {
		Iss      string `json:"iss"`
		Sub      string `json:"sub"`
		Aud      any    `json:"aud"`
		ClientID string `json:"client_id"`
		Scope    string `json:"scope"`
		Jti      string `json:"jti"`
		Iat      int64  `json:"iat"`
		Exp      int64  `json:"exp"`
	}
	decodeSegment(t, seg[0], &header)
	decodeSegment(t, seg[1], &claims)
	claimsJSON, _ := base64.RawURLEncoding.DecodeString(seg[1])
	if header.Typ != "at+jwt" || header.Alg != "EdDSA" || header.Kid == "" {
		t.Fatalf("header %+v", header)
	}
	if claims.Iss != jwtAuth || claims.Aud != jwtAuth || claims.Sub != "service" || claims.ClientID != "service" ||
		claims.Scope != "read" || claims.Jti == "" || claims.Exp-claims.Iat != 3600 {
		t.Fatalf("claims %s", claimsJSON)
	}

	t.Run("the metadata names the JWK Set, which verifies the token", func(t *testing.T) {
		resp, body := do(t, httpc, newRequest(t, http.MethodGet, jwtAuth+"/.well-known/oauth-authorization-server", nil))
		var meta struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &meta) != nil || meta.JWKSURI != jwtAuth+"/auth/oauth2/jwks" {
			t.Fatalf("metadata %d %s", resp.StatusCode, body)
		}
		resp, body = do(t, httpc, newRequest(t, http.MethodGet, meta.JWKSURI, nil))
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" ||
			!strings.HasPrefix(resp.Header.Get("Cache-Control"), "public, max-age=") {
			t.Fatalf("JWKS %d %v %s", resp.StatusCode, resp.Header, body)
		}
		var set struct {
			Keys []struct{ Kty, Crv, Kid, Alg, X, D string }
		}
		if err := json.Unmarshal([]byte(body), &set); err != nil {
			t.Fatal(err)
		}
		var pub ed25519.PublicKey
		for _, k := range set.Keys {
			if k.D != "" {
				t.Fatalf("the JWK Set publishes a private key: %s", body)
			}
			if k.Kid == header.Kid && k.Kty == "OKP" && k.Crv == "Ed25519" && k.Alg == "EdDSA" {
				x, err := base64.RawURLEncoding.DecodeString(k.X)
				if err != nil {
					t.Fatal(err)
				}
				pub = x
			}
		}
		if len(pub) != ed25519.PublicKeySize {
			t.Fatalf("kid %s not in the JWK Set %s", header.Kid, body)
		}
		sig, err := base64.RawURLEncoding.DecodeString(seg[2])
		if err != nil {
			t.Fatal(err)
		}
		if !ed25519.Verify(pub, []byte(seg[0]+"."+seg[1]), sig) {
			t.Fatal("the token's signature does not verify with the published key")
		}
		if ed25519.Verify(pub, []byte(seg[0]+"."+seg[1]+"x"), sig) {
			t.Fatal("the published key verifies anything")
		}
	})

	t.Run("require_oauth accepts the JWT and passes the identity on", func(t *testing.T) {
		req := newRequest(t, http.MethodGet, jwtAPI+"/api/jobs", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, body := do(t, httpc, req); resp.StatusCode != http.StatusOK || body != "backend ok" {
			t.Fatalf("API: %d %s", resp.StatusCode, body)
		}
		got := be.last(t)
		if got.Path != "/api/jobs" || got.Header.Get("X-OAuth-Client-Id") != "service" || got.Header.Get("X-OAuth-Scope") != "read" {
			t.Fatalf("backend got %s %v", got.Path, got.Header)
		}
		if v := headerValues(got.Header, "X-OAuth-User"); len(v) != 0 {
			t.Errorf("a client_credentials request reached the backend with X-OAuth-User %q", v)
		}
		if v := got.Header.Get("Authorization"); v != "" {
			t.Errorf("the backend got the token: %q", v)
		}
	})

	t.Run("a tampered JWT is refused", func(t *testing.T) {
		n := be.count()
		forged := seg[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(claimsJSON), `"scope":"read"`, `"scope":"read write"`, 1))) + "." + seg[2]
		req := newRequest(t, http.MethodGet, jwtAPI+"/api/jobs", nil)
		req.Header.Set("Authorization", "Bearer "+forged)
		resp, _ := do(t, httpc, req)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Fatalf("forged token: %d %v", resp.StatusCode, resp.Header)
		}
		if be.count() != n {
			t.Fatal("a forged token reached the backend")
		}
	})

	t.Run("introspection sees the JWT", func(t *testing.T) {
		req := postForm(t, jwtAuth+"/auth/oauth2/introspect", url.Values{"token": {token}})
		req.SetBasicAuth("gateway", "gateway-secret")
		resp, body := do(t, httpc, req)
		var got struct {
			Active   bool     `json:"active"`
			ClientID string   `json:"client_id"`
			Aud      []string `json:"aud"`
			Jti      string   `json:"jti"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil || !got.Active ||
			got.ClientID != "service" || got.Jti != claims.Jti || len(got.Aud) != 1 || got.Aud[0] != jwtAuth {
			t.Fatalf("introspection %d %s", resp.StatusCode, body)
		}
	})

	t.Run("after RFC 7009 revocation require_oauth refuses it", func(t *testing.T) {
		req := postForm(t, jwtAuth+"/auth/oauth2/revoke", url.Values{"token": {token}, "token_type_hint": {"access_token"}})
		req.SetBasicAuth("service", "service-secret")
		if resp, body := do(t, httpc, req); resp.StatusCode != http.StatusOK {
			t.Fatalf("revoke: %d %s", resp.StatusCode, body)
		}
		n := be.count()
		req = newRequest(t, http.MethodGet, jwtAPI+"/api/jobs", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, _ := do(t, httpc, req)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Fatalf("revoked token: %d %v", resp.StatusCode, resp.Header)
		}
		if be.count() != n {
			t.Fatal("a revoked token reached the backend")
		}
	})
}

// decodeSegment base64url-decodes a JWS segment into v.
func decodeSegment(t *testing.T, seg string, v any) {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
}
