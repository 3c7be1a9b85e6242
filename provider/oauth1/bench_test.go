package oauth1

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// BenchmarkVerifyHMACSHA1 measures a protected-resource verification end to
// end as every request after the first of a token pays it: parameter
// parsing, the token credentials from the cache, the HMAC, and the nonce
// write in Badger (in memory).
func BenchmarkVerifyHMACSHA1(b *testing.B) {
	e := newEnv(b, nil)
	e.addClient(b, "c1", "sec1", nil)
	e.seedToken(b, store.KindOAuth1Access, "c1", "at1", "ats1", func(tok *store.Token) { tok.User = "bob" })
	ts := e.clock.Now().Unix()

	// Sign outside the timer: every request needs its own nonce.
	headers := make([]string, b.N)
	for i := range headers {
		r := httptest.NewRequest(http.MethodGet, "http://api.example/r?page=2&sort=name", nil)
		c := c1Access
		c.Timestamp, c.Nonce = ts, "n"+strconv.Itoa(i)
		if err := Sign(r, c); err != nil {
			b.Fatal(err)
		}
		headers[i] = r.Header.Get("Authorization")
	}
	r := httptest.NewRequest(http.MethodGet, "http://api.example/r?page=2&sort=name", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Header["Authorization"] = headers[i : i+1]
		if _, perr := e.srv.Verify(r, apiURL); perr != nil {
			b.Fatal(perr)
		}
	}
}
