package oauth2

import (
	"context"
	"fmt"
	"net/url"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/cache"
)

// cached reports whether tok has a live entry in the verification cache.
func (e *env) cached(tok string) bool {
	_, ok := e.srv.bearers.Get(cache.KeyOf(tok), e.clock.Now())
	return ok
}

// verified verifies tok and requires it to be cached afterwards, so that a
// later refusal proves the cache was invalidated.
func (e *env) verified(tok string) *provider.Identity {
	e.t.Helper()
	id, err := e.srv.VerifyBearer(context.Background(), tok)
	if err != nil {
		e.t.Fatalf("verify: %v", err)
	}
	if !e.cached(tok) {
		e.t.Fatal("verified token not cached")
	}
	return id
}

// refused requires VerifyBearer to refuse tok with invalid_token.
func (e *env) refused(tok, why string) {
	e.t.Helper()
	if id, err := e.srv.VerifyBearer(context.Background(), tok); err == nil || err.Code != "invalid_token" {
		e.t.Fatalf("%s: token still accepted (%+v, %v)", why, id, err)
	}
}

func (e *env) clientToken(client string) string {
	e.t.Helper()
	tj := e.decode(e.post(e.srv.Token, url.Values{"grant_type": {"client_credentials"}}, client, svcSecret))
	if tj.AccessToken == "" {
		e.t.Fatalf("no token for %s: %+v", client, tj)
	}
	return tj.AccessToken
}

func (e *env) userTokens(client, user string) tokenJSON {
	e.t.Helper()
	_, tj := e.exchange(client, webSecret, e.code(client, user, url.Values{"scope": {"read write"}}), nil)
	if tj.AccessToken == "" || tj.RefreshToken == "" {
		e.t.Fatalf("no tokens: %+v", tj)
	}
	return tj
}

func TestVerifyBearerAnswersRepeatsFromTheCache(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	cs := &countingStore{DB: e.db}
	srv, err := New(e.srv.cfg, cs, e.srv.clients)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	tj := e.userTokens("web", "alice")
	first := e.verified(tj.AccessToken)
	reads := cs.gets.Load()
	again, perr := e.srv.VerifyBearer(ctx, tj.AccessToken)
	if perr != nil {
		t.Fatalf("cached token refused: %v", perr)
	}
	if n := cs.gets.Load() - reads; n != 0 {
		t.Fatalf("a cache hit read the store %d times", n)
	}
	if again == first || again.User != "alice" || again.ClientID != "web" || !slices.Equal(again.Scopes, []string{"read", "write"}) ||
		again.Protocol != provider.ProtocolOAuth2 || !again.ExpiresAt.Equal(first.ExpiresAt) {
		t.Fatalf("cached identity %+v differs from %+v", again, first)
	}

	// The caller owns what it gets: changing it does not change the cache.
	again.Scopes[0] = "admin"
	again.User = "mallory"
	if id, _ := e.srv.VerifyBearer(ctx, tj.AccessToken); id.User != "alice" || id.Scopes[0] != "read" {
		t.Fatalf("caller's change reached the cache: %+v", id)
	}
}

// TestRevocationElsewhereReachesTheCache: a token revoked behind this
// Server's back (on the store directly, or by another Server over the
// same store, as another Caddy node over one Redis) is refused on the
// next request although it is cached: the store's change counter moved.
func TestRevocationElsewhereReachesTheCache(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	other := newEnvOn(t, e.db, nil) // a second engine over the same store
	for name, revoke := range map[string]func(tj tokenJSON){
		"store": func(tj tokenJSON) { _ = e.db.RevokeToken(ctx, hashOf(tj.AccessToken)) },
		"other engine": func(tj tokenJSON) {
			other.post(other.srv.Revoke, url.Values{"token": {tj.AccessToken}}, "web", webSecret)
		},
		"other engine, by user": func(tj tokenJSON) {
			if _, err := other.srv.RevokeUser(ctx, "alice"); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			e.t = t
			tj := e.userTokens("web", "alice")
			e.verified(tj.AccessToken)
			e.verified(tj.AccessToken)
			revoke(tj)
			e.refused(tj.AccessToken, "cached token revoked elsewhere")
		})
	}
}

func TestVerifyBearerCachesOnlyValidAccessTokens(t *testing.T) {
	e := newEnv(t, nil)
	tj := e.userTokens("web", "alice")
	for _, tok := range []string{"garbage", tj.RefreshToken, "garbage"} {
		e.refused(tok, "not an access token")
	}
	if n := e.srv.bearers.Len(); n != 0 {
		t.Fatalf("%d entries cached for refused tokens", n)
	}
	e.verified(tj.AccessToken)
	if n := e.srv.bearers.Len(); n != 1 {
		t.Fatalf("%d entries, want 1", n)
	}
}

func TestCachedTokenExpiresByTheEngineClock(t *testing.T) {
	e := newEnv(t, nil)
	tj := e.userTokens("web", "alice")
	e.verified(tj.AccessToken)
	e.clock.Advance(DefaultAccessTokenTTL - time.Second)
	if !e.cached(tj.AccessToken) || !e.active(tj.AccessToken) {
		t.Fatal("cached token refused before its expiry")
	}
	e.clock.Advance(time.Second)
	if e.cached(tj.AccessToken) {
		t.Fatal("the cache still answers for a token expired by the engine clock")
	}
	e.refused(tj.AccessToken, "expired while cached")
}

func TestRevocationThroughTheServerReachesTheCache(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// run revokes and returns the tokens that must now be refused
		// and those that must still be accepted.
		run func(e *env) (refused, kept []string)
	}{
		{"RFC 7009 revocation of an access token", func(e *env) ([]string, []string) {
			a, b := e.userTokens("web", "alice"), e.userTokens("web", "alice")
			e.verified(a.AccessToken)
			e.verified(b.AccessToken)
			if rec := e.post(e.srv.Revoke, url.Values{"token": {a.AccessToken}}, "web", webSecret); rec.Code != 200 {
				e.t.Fatalf("revoke: %d", rec.Code)
			}
			return []string{a.AccessToken}, []string{b.AccessToken}
		}},
		{"RFC 7009 revocation of a refresh token revokes its family", func(e *env) ([]string, []string) {
			a, b := e.userTokens("web", "alice"), e.userTokens("web", "alice")
			e.verified(a.AccessToken)
			e.verified(b.AccessToken)
			if rec := e.post(e.srv.Revoke, url.Values{"token": {a.RefreshToken}}, "web", webSecret); rec.Code != 200 {
				e.t.Fatalf("revoke: %d", rec.Code)
			}
			return []string{a.AccessToken}, []string{b.AccessToken}
		}},
		{"a replayed code revokes the tokens issued from it", func(e *env) ([]string, []string) {
			code := e.code("web", "alice", nil)
			_, a := e.exchange("web", webSecret, code, nil)
			other := e.userTokens("web", "alice")
			e.verified(a.AccessToken)
			e.verified(other.AccessToken)
			rec, _ := e.exchange("web", webSecret, code, nil)
			e.wantError(rec, 400, "invalid_grant")
			return []string{a.AccessToken}, []string{other.AccessToken}
		}},
		{"a reused refresh token revokes its family", func(e *env) ([]string, []string) {
			a := e.userTokens("web", "alice")
			other := e.userTokens("web", "alice")
			e.verified(a.AccessToken)
			e.verified(other.AccessToken)
			rec, next := refreshWith(e, "web", webSecret, a.RefreshToken, nil)
			if rec.Code != 200 {
				e.t.Fatalf("refresh: %s", rec.Body.String())
			}
			// Rotation alone leaves the earlier access token valid.
			e.verified(a.AccessToken)
			e.verified(next.AccessToken)
			rec, _ = refreshWith(e, "web", webSecret, a.RefreshToken, nil)
			e.wantError(rec, 400, "invalid_grant")
			return []string{a.AccessToken, next.AccessToken}, []string{other.AccessToken}
		}},
		{"RevokeUser", func(e *env) ([]string, []string) {
			a1, a2, b := e.userTokens("web", "alice"), e.userTokens("dyn", "alice"), e.userTokens("web", "bob")
			svc := e.clientToken("svc")
			for _, tok := range []string{a1.AccessToken, a2.AccessToken, b.AccessToken, svc} {
				e.verified(tok)
			}
			n, err := e.srv.RevokeUser(ctx, "alice")
			if err != nil || n != 4 {
				e.t.Fatalf("RevokeUser = %d, %v; want 4 tokens", n, err)
			}
			return []string{a1.AccessToken, a2.AccessToken}, []string{b.AccessToken, svc}
		}},
		{"RevokeClient", func(e *env) ([]string, []string) {
			a, b, d := e.userTokens("web", "alice"), e.userTokens("web", "bob"), e.userTokens("dyn", "alice")
			svc := e.clientToken("svc")
			for _, tok := range []string{a.AccessToken, b.AccessToken, d.AccessToken, svc} {
				e.verified(tok)
			}
			n, err := e.srv.RevokeClient(ctx, "web")
			if err != nil || n != 4 {
				e.t.Fatalf("RevokeClient = %d, %v; want 4 tokens", n, err)
			}
			return []string{a.AccessToken, b.AccessToken}, []string{d.AccessToken, svc}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			refused, kept := tc.run(e)
			for _, tok := range refused {
				e.refused(tok, tc.name)
			}
			for _, tok := range kept {
				if !e.active(tok) {
					t.Fatal("an unrelated token was refused")
				}
			}
			e.checkNoSecretsLogged()
		})
	}
}

func TestRevokeUserAndClientEmitEvents(t *testing.T) {
	e := newEnv(t, nil)
	e.userTokens("web", "alice")
	if _, err := e.srv.RevokeUser(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.RevokeClient(context.Background(), "web"); err != nil {
		t.Fatal(err)
	}
	e.events.mu.Lock()
	var got []string
	for _, ev := range e.events.all {
		if ev.Name == "token_revoked" {
			got = append(got, ev.User+"|"+ev.ClientID+"|"+ev.Reason)
		}
	}
	e.events.mu.Unlock()
	want := []string{
		"alice||revoked by administrator for the user; 2 tokens",
		"|web|revoked by administrator for the client; 0 tokens",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	e.checkNoSecretsLogged()
}

func TestVerificationCacheStaysWithinCacheSize(t *testing.T) {
	const size = 10
	e := newEnv(t, func(c *Config) { c.CacheSize = size })
	if c := e.srv.bearers.Cap(); c != size {
		t.Fatalf("Cap() = %d", c)
	}
	var toks []string
	for range 5 * size {
		toks = append(toks, e.clientToken("svc"))
	}
	for round := range 3 {
		for i, tok := range toks {
			if !e.active(tok) {
				t.Fatalf("round %d: token %d refused", round, i)
			}
			if n := e.srv.bearers.Len(); n > size {
				t.Fatalf("%d entries, bound %d", n, size)
			}
		}
	}
	if n := e.srv.bearers.Len(); n != size {
		t.Fatalf("%d entries after %d tokens, want %d", n, len(toks), size)
	}
	if d := newEnv(t, nil).srv.bearers.Cap(); d != DefaultCacheSize {
		t.Fatalf("default Cap() = %d", d)
	}
}

// TestConcurrentVerifyNeverAcceptsARevokedToken verifies tokens from
// several goroutines while others are revoked: once a revocation returned,
// no verification that starts afterwards may accept the token.
func TestConcurrentVerifyNeverAcceptsARevokedToken(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.CacheSize = 64 })
	const n = 40
	toks := make([]string, n)
	for i := range toks {
		toks[i] = e.clientToken("svc")
	}
	keep := e.clientToken("svc:two ü")
	var revoked [n]atomic.Bool
	var stop atomic.Bool
	var accepted atomic.Int64
	var wg sync.WaitGroup
	ctx := context.Background()
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; !stop.Load(); i++ {
				k := i % n
				wasRevoked := revoked[k].Load()
				_, err := e.srv.VerifyBearer(ctx, toks[k])
				if wasRevoked && err == nil {
					t.Errorf("token %d accepted after its revocation returned", k)
					return
				}
				if err == nil {
					accepted.Add(1)
				}
				if _, err := e.srv.VerifyBearer(ctx, keep); err != nil {
					t.Errorf("unrelated token refused: %v", err)
					return
				}
			}
		}()
	}
	// Revoke only once the readers are verifying (on a busy machine they
	// may not have been scheduled yet), so live tokens were cached.
	for accepted.Load() == 0 && !t.Failed() {
		runtime.Gosched()
	}
	// One by one through RFC 7009 for the first half, then the rest at
	// once through RevokeClient.
	for i := range n / 2 {
		if rec := e.post(e.srv.Revoke, url.Values{"token": {toks[i]}}, "svc", svcSecret); rec.Code != 200 {
			t.Errorf("revoke %d: %d", i, rec.Code)
		}
		revoked[i].Store(true)
	}
	if _, err := e.srv.RevokeClient(ctx, "svc"); err != nil {
		t.Error(err)
	}
	for i := range n {
		revoked[i].Store(true)
	}
	// Let the readers run against the fully revoked set for a while.
	for range 200 {
		if e.active(toks[n-1]) {
			t.Fatal("revoked token accepted")
		}
	}
	stop.Store(true)
	wg.Wait()
	if accepted.Load() == 0 {
		t.Fatal("no verification succeeded: the test exercised nothing")
	}
	for i, tok := range toks {
		e.refused(tok, fmt.Sprint("token ", i))
	}
}
