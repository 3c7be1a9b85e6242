package caddyoauth

import (
	"context"
	"encoding/json"
	"github.com/caddy-oauth/caddy-oauth/provider/registry"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

func TestJWTServerConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  ServerConfig
		want string
	}{
		{"unknown algorithm", ServerConfig{TokenFormat: "jwt", JWTAlgorithm: "HS256"}, `jwt_algorithm "HS256"`},
		{"algorithm without jwt", ServerConfig{JWTAlgorithm: "ES256"}, "jwt_algorithm only applies to JWT access tokens"},
		{"rotation without jwt", ServerConfig{TokenFormat: "opaque", JWTKeyRotation: caddy.Duration(time.Hour)}, "jwt_key_rotation only applies"},
		{"audience without jwt", ServerConfig{Audience: []string{"https://api.example.com"}}, "audience only applies"},
		{"negative rotation", ServerConfig{TokenFormat: "jwt", JWTKeyRotation: -1}, "jwt_key_rotation must not be negative"},
		{"rotation too short", ServerConfig{TokenFormat: "jwt", JWTKeyRotation: caddy.Duration(30 * time.Second), AccessTokenTTL: caddy.Duration(time.Second)}, "shorter than 1m0s"},
		{"token outlives its key", ServerConfig{TokenFormat: "jwt", JWTKeyRotation: caddy.Duration(30 * time.Minute)}, "access_token_ttl 1h0m0s exceeds jwt_key_rotation 30m0s"},
		{"empty audience", ServerConfig{TokenFormat: "jwt", Audience: []string{""}}, "audience: empty value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Issuer, cfg.StorageDir = "https://auth.example.com", t.TempDir()
			srv, err := provisionTestServer(&cfg)
			if err == nil {
				srv.close()
				t.Fatalf("provisioned, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestJWTKeysPersistAcrossRestarts: the signing keys live in the server's
// storage, so a token issued before a restart (or reload) verifies after
// it, and the published key set is the same.
func TestJWTKeysPersistAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	cfg := func() *ServerConfig {
		return &ServerConfig{StorageDir: dir, TokenFormat: "jwt", JWTAlgorithm: "ES256",
			Clients: []ClientConfig{{ClientMetadata: registry.ClientMetadata{ClientID: "svc", Grants: []string{"client_credentials"}}, Secret: "svc-secret"}}}
	}
	first, err := provisionTestServer(withIssuer(cfg()))
	if err != nil {
		t.Fatal(err)
	}
	token := clientCredentialsToken(t, first, "svc", "svc-secret")
	if strings.Count(token, ".") != 2 {
		t.Fatalf("not a JWT: %q", token)
	}
	jwks := string(first.OAuth2().JWTKeys().JWKS())
	if err := first.close(); err != nil {
		t.Fatal(err)
	}

	second := newTestServer(t, withIssuer(cfg()))
	if got := string(second.OAuth2().JWTKeys().JWKS()); got != jwks {
		t.Fatalf("key set changed across a restart:\n%s\n%s", jwks, got)
	}
	if _, perr := second.OAuth2().VerifyBearer(context.Background(), token); perr != nil {
		t.Fatalf("token from before the restart refused: %v", perr)
	}
}

func withIssuer(c *ServerConfig) *ServerConfig {
	c.Issuer = "https://auth.example.com"
	return c
}

// clientCredentialsToken asks srv's token endpoint for an access token.
func clientCredentialsToken(tb testing.TB, srv *Server, id, secret string) string {
	tb.Helper()
	r := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(id, secret)
	rec := httptest.NewRecorder()
	srv.OAuth2().Token(rec, r)
	var resp struct {
		AccessToken string `json:"access_token"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &resp) != nil || resp.AccessToken == "" {
		tb.Fatalf("token endpoint: %d %s", rec.Code, rec.Body.String())
	}
	return resp.AccessToken
}

func TestOAuthServerServesJWKSOnlyForJWT(t *testing.T) {
	jwtSrv := newTestOAuthServer(t, newTestServer(t, &ServerConfig{TokenFormat: "jwt"}), &OAuthServer{Prefix: "/auth"})
	opaque := newTestOAuthServer(t, newTestServer(t, &ServerConfig{}), &OAuthServer{Prefix: "/auth"})
	for _, tc := range []struct {
		name       string
		h          *OAuthServer
		method     string
		wantStatus int // 0: passed to next
		wantBody   string
	}{
		{"jwt: the key set is served under the prefix", jwtSrv, http.MethodGet, 200, `{"keys":[{"kty":"OKP","crv":"Ed25519"`},
		{"jwt: HEAD too", jwtSrv, http.MethodHead, 200, ""},
		{"jwt: POST is refused", jwtSrv, http.MethodPost, 405, ""},
		{"opaque: the path goes on", opaque, http.MethodGet, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, next, _ := serve(t, tc.h, httptest.NewRequest(tc.method, "https://auth.example.com/auth/oauth2/jwks", nil))
			passed := next.called
			if tc.wantStatus == 0 {
				if !passed {
					t.Fatalf("served %d, want it passed on", rec.Code)
				}
				return
			}
			if passed || rec.Code != tc.wantStatus || !strings.HasPrefix(rec.Body.String(), tc.wantBody) {
				t.Fatalf("%d %q (passed on: %v)", rec.Code, rec.Body.String(), passed)
			}
		})
	}
}
