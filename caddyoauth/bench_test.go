package caddyoauth

import (
	"context"
	"github.com/caddy-oauth/caddy-oauth/provider/registry"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-oauth/caddy-oauth/provider/oauth1"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
)

// benchNext is the backend stand-in: it only answers.
var benchNext = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
})

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the handler, not a recorder.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// benchRequest is what Caddy's server hands a handler: a fresh request
// with a replacer and the vars map, as a GET with a bearer token.
func benchRequest(tmpl *http.Request) *http.Request {
	repl := caddy.NewReplacer()
	return caddyhttp.PrepareRequest(tmpl.Clone(context.Background()), repl, nil, nil)
}

// BenchmarkRequireOAuthBearer compares a request through require_oauth
// with an opaque token (found in the engine's verification cache, or with
// the cache off read from Badger) with the same request going straight to
// the next handler. Run with -bench RequireOAuth -benchmem -v to see the
// ratios.
func BenchmarkRequireOAuthBearer(b *testing.B) {
	srv := newTestServer(b, &ServerConfig{})
	token := issueAccess(b, srv, "web", "alice", "read", "write")
	h := newTestRequire(b, srv, &RequireOAuth{Scopes: []string{"read"}})
	tmpl := httptest.NewRequest(http.MethodGet, "http://api.example.com/v1/items?page=2", nil)
	tmpl.Header.Set("Authorization", "Bearer "+token)
	tmpl.Header.Set("Accept", "application/json")
	tmpl.Header.Set("User-Agent", "bench")

	var base, with, uncached float64
	b.Run("baseline next handler only", func(b *testing.B) {
		w := &discardWriter{h: make(http.Header)}
		b.ReportAllocs()
		for b.Loop() {
			if err := benchNext.ServeHTTP(w, benchRequest(tmpl)); err != nil {
				b.Fatal(err)
			}
		}
		base = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("require_oauth opaque token", func(b *testing.B) {
		w := &discardWriter{h: make(http.Header)}
		b.ReportAllocs()
		for b.Loop() {
			r := benchRequest(tmpl)
			if err := h.ServeHTTP(w, r, benchNext); err != nil {
				b.Fatal(err)
			}
			if r.Header.Get("X-OAuth-User") != "alice" {
				b.Fatal("request refused")
			}
		}
		with = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("require_oauth opaque token, cache disabled (Badger read)", func(b *testing.B) {
		// The same server with an engine whose verification cache is off,
		// so every request reads the token from the store.
		cached := srv.engines()
		o2, err := oauth2.New(oauth2.Config{Issuer: srv.Issuer(), CacheSize: -1}, srv.Store(), srv.Clients())
		if err != nil {
			b.Fatal(err)
		}
		srv.eng.Store(&engines{o2: o2, o1: cached.o1})
		defer srv.eng.Store(cached)
		w := &discardWriter{h: make(http.Header)}
		b.ReportAllocs()
		for b.Loop() {
			r := benchRequest(tmpl)
			if err := h.ServeHTTP(w, r, benchNext); err != nil {
				b.Fatal(err)
			}
			if r.Header.Get("X-OAuth-User") != "alice" {
				b.Fatal("request refused")
			}
		}
		uncached = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	if base > 0 && with > 0 && uncached > 0 {
		b.Logf("baseline %.0f ns/op; require_oauth cached %.0f ns/op (%.1fx), uncached %.0f ns/op (%.1fx)",
			base, with, with/base, uncached, uncached/base)
	}
}

// BenchmarkRequireOAuthRefusal is the cost of turning away a request with
// no credentials (no store access).
func BenchmarkRequireOAuthRefusal(b *testing.B) {
	srv := newTestServer(b, &ServerConfig{})
	h := newTestRequire(b, srv, &RequireOAuth{Scopes: []string{"read"}})
	tmpl := httptest.NewRequest(http.MethodGet, "http://api.example.com/v1/items", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := &discardWriter{h: make(http.Header)}
		if err := h.ServeHTTP(w, benchRequest(tmpl), benchNext); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRequireOAuth1HMACSHA1 verifies OAuth 1 HMAC-SHA1 signed
// requests through require_oauth. Each request needs a fresh nonce, which
// the engine records durably (one synced Badger write per request), so the
// requests are signed before the timer starts.
func BenchmarkRequireOAuth1HMACSHA1(b *testing.B) {
	srv := newTestServer(b, &ServerConfig{Clients: []ClientConfig{{ClientMetadata: registry.ClientMetadata{ClientID: "consumer"}, Secret: "consumer-secret"}}})
	token, secret := issueOAuth1(b, srv, "consumer", "alice", "read")
	h := newTestRequire(b, srv, &RequireOAuth{Scopes: []string{"read"}})
	creds := oauth1.ClientCreds{ConsumerKey: "consumer", ConsumerSecret: "consumer-secret", Token: token, TokenSecret: secret}

	sign := func(n int) []*http.Request {
		reqs := make([]*http.Request, n)
		for i := range reqs {
			r := httptest.NewRequest(http.MethodGet, "http://api.example.com/v1/items?page=2", nil)
			if err := oauth1.Sign(r, creds); err != nil {
				b.Fatal(err)
			}
			reqs[i] = caddyhttp.PrepareRequest(r, caddy.NewReplacer(), nil, nil)
		}
		return reqs
	}
	// b.N is known up front in this style, so the signing stays outside
	// the measured time.
	reqs := sign(b.N)
	w := &discardWriter{h: make(http.Header)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := h.ServeHTTP(w, reqs[i], benchNext); err != nil {
			b.Fatal(err)
		}
		if reqs[i].Header.Get("X-OAuth-User") != "alice" {
			b.Fatal("request refused")
		}
	}
}
