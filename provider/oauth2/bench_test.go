package oauth2

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/caddy-oauth/caddy-oauth/store/badger"
)

// BenchmarkVerifyBearer measures the require_oauth hot path: hash the
// token and look it up in Badger, among other live tokens.
func BenchmarkVerifyBearer(b *testing.B) {
	e := newEnv(b, nil)
	var tokens []string
	for range 1000 {
		rec := e.post(e.srv.Token, url.Values{"grant_type": {"client_credentials"}}, "svc", svcSecret)
		tokens = append(tokens, e.decode(rec).AccessToken)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := e.srv.VerifyBearer(ctx, tokens[i%len(tokens)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
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
