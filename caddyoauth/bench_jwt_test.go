package caddyoauth

import (
	"github.com/caddy-oauth/caddy-oauth/provider/registry"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider/jwt"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
)

// BenchmarkRequireOAuthJWT compares require_oauth with a JWT access token
// (token_format jwt) and with an opaque one: "cached" answers from the
// engine's verification cache; "uncached" swaps in an engine with the
// cache off, so an opaque token costs a Badger read and a JWT a signature
// check (EdDSA) and the same read. Run with -bench RequireOAuthJWT
// -benchmem -v to see the ratios.
func BenchmarkRequireOAuthJWT(b *testing.B) {
	clients := []ClientConfig{{ClientMetadata: registry.ClientMetadata{ClientID: "svc", Grants: []string{"client_credentials"}}, Secret: "svc-secret"}}
	opaqueSrv := newTestServer(b, &ServerConfig{Clients: clients, DefaultScopes: []string{"read"}})
	jwtSrv := newTestServer(b, &ServerConfig{Clients: clients, DefaultScopes: []string{"read"}, TokenFormat: "jwt"})
	for _, bc := range []struct {
		name   string
		srv    *Server
		cached bool
	}{
		{"opaque token, cached", opaqueSrv, true},
		{"jwt token, cached", jwtSrv, true},
		{"opaque token, cache disabled (Badger read)", opaqueSrv, false},
		{"jwt token, cache disabled (signature check and Badger read)", jwtSrv, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			srv := bc.srv
			token := clientCredentialsToken(b, srv, "svc", "svc-secret")
			if (srv == jwtSrv) != (strings.Count(token, ".") == 2) {
				b.Fatalf("token %q has the wrong format", token)
			}
			if !bc.cached {
				cached := srv.engines()
				o2, err := oauth2.New(oauth2.Config{
					Issuer: srv.Issuer(), CacheSize: -1, TokenFormat: srv.cfg.TokenFormat,
					JWTAlgorithm: jwt.Algorithm(srv.cfg.JWTAlgorithm), JWTKeyRotation: time.Duration(srv.cfg.JWTKeyRotation),
				}, srv.Store(), srv.Clients())
				if err != nil {
					b.Fatal(err)
				}
				srv.eng.Store(&engines{o2: o2, o1: cached.o1})
				defer srv.eng.Store(cached)
			}
			h := newTestRequire(b, srv, &RequireOAuth{Scopes: []string{"read"}})
			tmpl := httptest.NewRequest(http.MethodGet, "http://api.example.com/v1/items?page=2", nil)
			tmpl.Header.Set("Authorization", "Bearer "+token)
			tmpl.Header.Set("Accept", "application/json")
			tmpl.Header.Set("User-Agent", "bench")
			w := &discardWriter{h: make(http.Header)}
			b.ReportAllocs()
			for b.Loop() {
				r := benchRequest(tmpl)
				if err := h.ServeHTTP(w, r, benchNext); err != nil {
					b.Fatal(err)
				}
				if r.Header.Get("X-OAuth-Client-Id") != "svc" {
					b.Fatal("request refused")
				}
			}
		})
	}
}
