package remote

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
)

func TestJWTFromOurIssuer(t *testing.T) {
	oi := newOurIssuer(t, "jwt")
	is := startGateway(t, Config{Issuer: oi.url, TokenType: "at+jwt"})
	waitReady(t, is, true)
	tok := oi.token("read")
	id, e := verify(is, tok)
	if e != nil {
		t.Fatalf("refused: %v", e)
	}
	if id.ClientID != "svc" || id.User != "" || len(id.Scopes) != 1 || id.Scopes[0] != "read" || id.Claims["iss"] != oi.url {
		t.Errorf("identity %+v", id)
	}
	seg := strings.Split(tok, ".")
	for name, bad := range map[string]string{
		"a changed signature": seg[0] + "." + seg[1] + "." + flip(seg[2]),
		"a changed payload":   seg[0] + "." + flip(seg[1]) + "." + seg[2],
		"alg none":            b64.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + seg[1] + ".",
		"HS256":               b64.EncodeToString([]byte(`{"alg":"HS256","typ":"at+jwt"}`)) + "." + seg[1] + "." + seg[2],
		"garbage":             "a.b.c",
	} {
		if _, e := verify(is, bad); e == nil || e.Code != "invalid_token" {
			t.Errorf("%s: %v, want invalid_token", name, e)
		}
	}
	other := startGateway(t, Config{Issuer: oi.url, Audience: []string{"https://api.example.com"}})
	waitReady(t, other, true)
	if _, e := verify(other, tok); e == nil {
		t.Error("a token for another audience was accepted")
	}
	typed := startGateway(t, Config{Issuer: oi.url, TokenType: "JWT"})
	waitReady(t, typed, true)
	if _, e := verify(typed, tok); e == nil {
		t.Error("a token of another typ was accepted")
	}
}

func flip(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// Revocation at the issuer is seen through introspection: at once with no
// cache, after the cache window with one.
func TestOpaqueTokensByIntrospection(t *testing.T) {
	oi := newOurIssuer(t, "opaque")
	now := time.Now()
	var mu sync.Mutex
	clock := provider.Clock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	uncached := startGateway(t, Config{Issuer: oi.url, Introspection: &Introspection{ClientID: "gateway", ClientSecret: "gw-secret"}})
	cached := startGateway(t, Config{Issuer: oi.url, Clock: clock, Introspection: &Introspection{ClientID: "gateway", ClientSecret: "gw-secret", Cache: 30 * time.Second, NegativeCache: 5 * time.Second}})
	waitReady(t, uncached, false)
	waitReady(t, cached, false)

	tok := oi.token("read write")
	for name, is := range map[string]*Issuer{"uncached": uncached, "cached": cached} {
		id, e := verify(is, tok)
		if e != nil || id.ClientID != "svc" || len(id.Scopes) != 2 {
			t.Fatalf("%s: %+v %v", name, id, e)
		}
	}
	calls := oi.served.Load()
	if _, e := verify(cached, tok); e != nil || oi.served.Load() != calls {
		t.Errorf("a cached answer called the issuer again (%v)", e)
	}
	oi.revoke(tok)
	if _, e := verify(uncached, tok); e == nil {
		t.Error("without a cache, a revoked token is still accepted")
	}
	if _, e := verify(cached, tok); e != nil {
		t.Errorf("within the cache window the cached answer stands: %v", e)
	}
	mu.Lock()
	now = now.Add(31 * time.Second)
	mu.Unlock()
	wantCode(t, "after the cache window", func() *provider.Error { _, e := verify(cached, tok); return e }(), "invalid_token")
	calls = oi.served.Load()
	verify(cached, tok)
	if oi.served.Load() != calls {
		t.Error("an inactive answer was not cached")
	}
	// A wrong gateway secret is the issuer refusing us: fail closed.
	bad := startGateway(t, Config{Issuer: oi.url, Introspection: &Introspection{ClientID: "gateway", ClientSecret: "wrong"}})
	waitReady(t, bad, false)
	wantCode(t, "bad gateway credentials", func() *provider.Error { _, e := verify(bad, oi.token("read")); return e }(), "temporarily_unavailable")
}

// Concurrent misses for one token make one introspection call.
func TestConcurrentMissesCollapse(t *testing.T) {
	oi := newOurIssuer(t, "opaque")
	is := startGateway(t, Config{Issuer: oi.url, Introspection: &Introspection{ClientID: "gateway", ClientSecret: "gw-secret", Cache: time.Minute}})
	waitReady(t, is, false)
	tok := oi.token("read")
	before := oi.served.Load()
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, e := verify(is, tok); e != nil {
				t.Error(e)
			}
		}()
	}
	wg.Wait()
	if n := oi.served.Load() - before; n < 1 || n > 2 {
		t.Errorf("%d introspection calls for 20 concurrent misses", n)
	}
}

// The issuer down at start: 503 until it comes up, then verification;
// stopped again: introspection fails closed, JWTs with known keys verify.
func TestIssuerDownFailsClosedAndRecovers(t *testing.T) {
	oi := newOurIssuer(t, "jwt")
	tok := oi.token("read")
	oi.stop()
	is := startGateway(t, Config{Issuer: oi.url, Timeout: time.Second, Introspection: &Introspection{ClientID: "gateway", ClientSecret: "gw-secret"}})
	wantCode(t, "issuer down", func() *provider.Error { _, e := verify(is, tok); return e }(), "temporarily_unavailable")
	oi.start()
	waitReady(t, is, true)
	if _, e := verify(is, tok); e != nil {
		t.Fatalf("after the issuer came up: %v", e)
	}
	oi.stop()
	if _, e := verify(is, tok); e != nil {
		t.Errorf("a JWT with a known key needs no issuer: %v", e)
	}
	wantCode(t, "opaque token, issuer down", func() *provider.Error { _, e := verify(is, "opaque-value"); return e }(), "temporarily_unavailable")
}
