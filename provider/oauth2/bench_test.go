package oauth2

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/badger"
)

// BenchmarkVerifyBearer measures the require_oauth hot path from parallel
// requests over 1,000 live tokens: "cached" with the verification cache
// (the default), "uncached" with it disabled, so every call hashes the
// token and reads Badger.
func BenchmarkVerifyBearer(b *testing.B) {
	for _, bc := range []struct {
		name string
		size int
	}{{"cached", 0}, {"uncached", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			// The real clock: the test clock's mutex would serialize the
			// parallel callers.
			e := newEnv(b, func(c *Config) { c.CacheSize = bc.size; c.Clock = nil })
			var tokens []string
			for range 1000 {
				rec := e.post(e.srv.Token, url.Values{"grant_type": {"client_credentials"}}, "svc", svcSecret)
				tokens = append(tokens, e.decode(rec).AccessToken)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := rand.IntN(len(tokens))
				for pb.Next() {
					if _, err := e.srv.VerifyBearer(ctx, tokens[i%len(tokens)]); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}

// liveTokensEnv is the environment variable that adds 1,000,000 live
// tokens to BenchmarkVerifyBearerLiveTokens: filling them takes about 15 s,
// the whole run about a minute and 2 GB of memory.
const liveTokensEnv = "OAUTH2_BENCH_1M"

// BenchmarkVerifyBearerLiveTokens shows verification latency (one caller,
// uniformly random tokens) as the number of live tokens in the store grows
// from 1,000 to 100,000, and to 1,000,000 with OAUTH2_BENCH_1M=1:
//
//	OAUTH2_BENCH_1M=1 go test -run '^$' -bench VerifyBearerLiveTokens -timeout 30m ./provider/oauth2/
//
// Variants: "cached" requests every live token, from a warm cache twice
// the working set (shards fill unevenly, so a cache exactly the working
// set's size would evict); "hot1k" requests 1,000 of the live tokens from
// a warm default-size cache (many live tokens, few active clients);
// "uncached" has no cache, so every lookup is a cold Badger read.
func BenchmarkVerifyBearerLiveTokens(b *testing.B) {
	sizes := []int{1_000, 10_000, 100_000}
	if os.Getenv(liveTokensEnv) != "" {
		sizes = append(sizes, 1_000_000)
	}
	db, err := badger.Open(badger.Options{InMemory: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	ctx := context.Background()
	var tokens []string
	for _, n := range sizes {
		start := time.Now()
		tokens = fillTokens(b, db, tokens, n)
		b.Logf("%d live tokens (filled in %v)", n, time.Since(start).Round(time.Millisecond))
		for _, v := range []struct {
			name   string
			size   int
			tokens []string
		}{{"cached", 2 * n, tokens}, {"hot1k", 0, tokens[n-1000:]}, {"uncached", -1, tokens}} {
			// Built and warmed once per variant, not per calibration
			// round, so the cache stays warm.
			e := newEnvOn(b, db, func(c *Config) { c.CacheSize = v.size; c.Clock = nil })
			if v.size >= 0 {
				for _, tok := range v.tokens {
					if _, err := e.srv.VerifyBearer(ctx, tok); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.Run(fmt.Sprintf("tokens=%d/%s", n, v.name), func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, uint64(n)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := e.srv.VerifyBearer(ctx, v.tokens[r.IntN(len(v.tokens))]); err != nil {
						b.Fatal(err)
					}
				}
			})
			e.srv.bearers = nil // let the next variant have the memory
		}
	}
}

// fillTokens adds access tokens to db until it holds n, as
// client_credentials grants store them (own family, no user), in large
// transactions.
func fillTokens(b *testing.B, db *badger.DB, tokens []string, n int) []string {
	b.Helper()
	const batch = 500
	now := time.Now()
	for len(tokens) < n {
		ts := make([]*store.Token, 0, batch)
		for len(ts) < batch && len(tokens) < n {
			v, err := provider.NewToken(nil)
			if err != nil {
				b.Fatal(err)
			}
			tokens = append(tokens, v)
			ts = append(ts, &store.Token{Hash: provider.HashToken(v), Kind: store.KindAccess, ClientID: "svc",
				Scopes: []string{"read"}, Family: v[:22], IssuedAt: now, ExpiresAt: now.Add(24 * time.Hour)})
		}
		if err := db.SaveTokens(context.Background(), ts...); err != nil {
			b.Fatal(err)
		}
	}
	return tokens
}

// BenchmarkClientCredentials runs the whole token endpoint (parse,
// authenticate, mint, durable write) on an on-disk Badger store from
// parallel clients, so commits batch as they do in production.
func BenchmarkClientCredentials(b *testing.B) {
	db, err := badger.Open(badger.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	e := newEnvOn(b, db, nil)
	body := url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}.Encode()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.SetBasicAuth("svc", svcSecret)
			rec := httptest.NewRecorder()
			e.srv.Token(rec, r)
			if rec.Code != http.StatusOK {
				b.Errorf("status %d %s", rec.Code, rec.Body.String())
				return
			}
		}
	})
}
