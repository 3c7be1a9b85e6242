package oauth1

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/badger"
)

// countingDB is the real Badger store counting the token reads, to see the
// cache answer without the store. It embeds *badger.DB, so it counts its
// versions like the store it is.
type countingDB struct {
	*badger.DB
	gets atomic.Int64
}

func (c *countingDB) GetToken(ctx context.Context, hash []byte) (*store.Token, error) {
	c.gets.Add(1)
	return c.DB.GetToken(ctx, hash)
}

// cacheEnv is refusalEnv's setup over a countingDB: client c1 (secret
// sec1) with access token at1 of bob (scope read), client c2 with at2.
func cacheEnv(t *testing.T) (*env, *countingDB) {
	t.Helper()
	db, err := badger.Open(badger.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	cdb := &countingDB{DB: db}
	e := newEnvOn(t, db, nil)
	// The engine reads through the counter; the env's helpers write to
	// the same database.
	e.srv, err = New(e.srv.cfg, cdb, e.clients)
	if err != nil {
		t.Fatal(err)
	}
	e.addClient(t, "c1", "sec1", nil)
	e.addClient(t, "c2", "sec2", nil)
	e.seedToken(t, store.KindOAuth1Access, "c1", "at1", "ats1", func(tok *store.Token) { tok.User = "bob"; tok.Scopes = []string{"read"} })
	e.seedToken(t, store.KindOAuth1Access, "c2", "at2", "ats2", func(tok *store.Token) { tok.User = "bob" })
	return e, cdb
}

// verify signs a fresh request (own nonce) with creds and verifies it.
func (e *env) verify(t *testing.T, creds ClientCreds) (*provider.Identity, *provider.Error) {
	t.Helper()
	return e.srv.Verify(e.signedReq(t, http.MethodGet, "/r?a=1", nil, creds), apiURL)
}

func mustVerify(t *testing.T, e *env, creds ClientCreds) *provider.Identity {
	t.Helper()
	id, perr := e.verify(t, creds)
	if perr != nil {
		t.Fatalf("Verify: %v", perr)
	}
	return id
}

func mustRefuse(t *testing.T, e *env, creds ClientCreds, problem string) {
	t.Helper()
	id, perr := e.verify(t, creds)
	if perr == nil {
		t.Fatalf("Verify accepted the request (user %q); want %s", id.User, problem)
	}
	if perr.Code != problem {
		t.Fatalf("Verify: %v; want %s", perr, problem)
	}
}

func TestTokenCacheAnswersRepeatedRequests(t *testing.T) {
	e, cdb := cacheEnv(t)
	for range 5 {
		id := mustVerify(t, e, c1Access)
		if id.User != "bob" || id.ClientID != "c1" || !slices.Equal(id.Scopes, []string{"read"}) || id.Protocol != provider.ProtocolOAuth1 {
			t.Fatalf("identity %+v", id)
		}
		// The caller owns its copy: changing it changes no later answer.
		id.Scopes[0] = "admin"
	}
	if n := cdb.gets.Load(); n != 1 {
		t.Fatalf("5 requests with one token read the store %d times, want 1", n)
	}
	// Every request still needs its own nonce and signature.
	r := e.signedReq(t, http.MethodGet, "/r", nil, c1Access)
	if _, perr := e.srv.Verify(r.Clone(context.Background()), apiURL); perr != nil {
		t.Fatal(perr)
	}
	if _, perr := e.srv.Verify(r, apiURL); perr == nil || perr.Code != ProblemNonceUsed {
		t.Fatalf("replay of a cached token's request: %v, want nonce_used", perr)
	}
	// The replay is audited with whom it was for.
	var replays []provider.Event
	for _, ev := range e.eventsCopy() {
		if ev.Name == "nonce_replayed" {
			replays = append(replays, ev)
		}
	}
	if len(replays) != 1 || replays[0].ClientID != "c1" || replays[0].User != "bob" || replays[0].Protocol != provider.ProtocolOAuth1 {
		t.Fatalf("nonce_replayed events %+v, want one for c1/bob", replays)
	}
	bad := c1Access
	bad.TokenSecret = "wrong"
	mustRefuse(t, e, bad, ProblemSignatureInvalid)
	other := c1Access
	other.ConsumerKey, other.ConsumerSecret = "c2", "sec2"
	mustRefuse(t, e, other, ProblemTokenRejected) // at1 is c1's, cached or not
}

// TestTokenCacheForgetsAtOnce: every way a token or its client can change
// in the store makes the next request see the change, although the token
// was cached by the request before. Without the store's versions the
// cached entry would keep answering.
func TestTokenCacheForgetsAtOnce(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		change  func(t *testing.T, e *env, db *countingDB)
		problem string // "" : still accepted, check follows
		check   func(t *testing.T, id *provider.Identity)
	}{
		{"RevokeToken", func(t *testing.T, e *env, db *countingDB) {
			if err := db.RevokeToken(ctx, provider.HashToken("at1")); err != nil {
				t.Fatal(err)
			}
		}, ProblemTokenRejected, nil},
		{"RevokeUser (the admin API, the OAuth 2 engine's RevokeUser)", func(t *testing.T, e *env, db *countingDB) {
			if n, err := db.RevokeUser(ctx, "bob"); err != nil || n != 2 {
				t.Fatalf("RevokeUser = %d, %v", n, err)
			}
		}, ProblemTokenRejected, nil},
		{"RevokeClient", func(t *testing.T, e *env, db *countingDB) {
			if n, err := db.RevokeClient(ctx, "c1"); err != nil || n != 1 {
				t.Fatalf("RevokeClient = %d, %v", n, err)
			}
		}, ProblemTokenRejected, nil},
		{"RevokeFamily", func(t *testing.T, e *env, db *countingDB) {
			if n, err := db.RevokeFamily(ctx, "fam-at1"); err != nil || n != 1 {
				t.Fatalf("RevokeFamily = %d, %v", n, err)
			}
		}, ProblemTokenRejected, nil},
		{"DeleteClient alone (its tokens left in the store)", func(t *testing.T, e *env, db *countingDB) {
			if err := db.DeleteClient(ctx, "c1"); err != nil {
				t.Fatal(err)
			}
		}, ProblemConsumerKeyUnknown, nil},
		{"UpdateClient with another secret", func(t *testing.T, e *env, db *countingDB) {
			c, err := db.GetClient(ctx, "c1")
			if err != nil {
				t.Fatal(err)
			}
			c.SealedSecret = e.sealed(t, PurposeClientSecret, "rotated")
			if err := db.UpdateClient(ctx, c); err != nil {
				t.Fatal(err)
			}
		}, ProblemSignatureInvalid, nil},
		{"UpdateToken", func(t *testing.T, e *env, db *countingDB) {
			tok, err := db.GetToken(ctx, provider.HashToken("at1"))
			if err != nil {
				t.Fatal(err)
			}
			tok.Scopes = []string{"read", "write"}
			if err := db.UpdateToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}, "", func(t *testing.T, id *provider.Identity) {
			if !slices.Equal(id.Scopes, []string{"read", "write"}) {
				t.Fatalf("scopes %v after UpdateToken, want the new ones", id.Scopes)
			}
		}},
		{"expiry on the engine's clock", func(t *testing.T, e *env, db *countingDB) {
			tok, err := db.GetToken(ctx, provider.HashToken("at2"))
			if err != nil {
				t.Fatal(err)
			}
			// A token of c1 that expires in a minute, cached, then the
			// clock passes its expiry.
			tok.Hash, tok.ClientID, tok.ExpiresAt = provider.HashToken("short"), "c1", e.clock.Now().Add(time.Minute)
			tok.SealedSecret = e.sealed(t, PurposeTokenSecret, "shorts")
			if err := db.SaveToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			short := ClientCreds{ConsumerKey: "c1", ConsumerSecret: "sec1", Token: "short", TokenSecret: "shorts"}
			mustVerify(t, e, short)
			e.clock.Advance(time.Minute)
			mustRefuse(t, e, short, ProblemTokenRejected)
		}, "", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, db := cacheEnv(t)
			mustVerify(t, e, c1Access)
			mustVerify(t, e, c1Access) // from the cache now
			if n := db.gets.Load(); n != 1 {
				t.Fatalf("the token was read %d times before the change, want 1 (cached)", n)
			}
			c.change(t, e, db)
			if c.problem != "" {
				mustRefuse(t, e, c1Access, c.problem)
				return
			}
			if c.check != nil {
				c.check(t, mustVerify(t, e, c1Access))
			}
		})
	}
}

// TestTokenCacheUnrelatedChangesKeepIt: issuing tokens and revoking other
// clients' or users' nothing leaves the entry in use.
func TestTokenCacheUnrelatedChangesKeepIt(t *testing.T) {
	ctx := context.Background()
	e, db := cacheEnv(t)
	mustVerify(t, e, c1Access)
	e.seedToken(t, store.KindOAuth1Access, "c2", "new", "news", nil)
	if n, err := db.RevokeUser(ctx, "nobody"); err != nil || n != 0 {
		t.Fatalf("RevokeUser(nobody) = %d, %v", n, err)
	}
	mustVerify(t, e, c1Access)
	if n := db.gets.Load(); n != 1 {
		t.Fatalf("the token was read %d times, want 1: unrelated writes emptied the cache", n)
	}
}

// TestTokenCacheOff: a negative size reads the store every time.
func TestTokenCacheOff(t *testing.T) {
	e, db := cacheEnv(t)
	cfg := e.srv.cfg
	cfg.TokenCacheSize = -1
	srv, err := New(cfg, db, e.clients)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	mustVerify(t, e, c1Access)
	mustVerify(t, e, c1Access)
	if n := db.gets.Load(); n != 2 {
		t.Fatalf("%d token reads for 2 requests with the cache off, want 2", n)
	}
}

// TestTokenCacheRevocationRace: requests fill and use the cache while the
// token is revoked; no request that starts after RevokeUser returned may
// be accepted, whatever fill was in flight.
func TestTokenCacheRevocationRace(t *testing.T) {
	for range 20 {
		e, db := cacheEnv(t)
		var revoked atomic.Bool
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					after := revoked.Load()
					r := httptest.NewRequest(http.MethodGet, "http://api.example/r", nil)
					creds := c1Access
					creds.Timestamp = e.clock.Now().Unix()
					if err := Sign(r, creds); err != nil {
						t.Error(err)
						return
					}
					if id, _ := e.srv.Verify(r, apiURL); id != nil && after {
						t.Error("a request that started after the revocation was accepted")
						return
					}
				}
			})
		}
		// Not a wait for anything to expire: the verifiers run (and
		// fill the cache) for a moment before and after the revocation.
		time.Sleep(time.Millisecond)
		if _, err := db.RevokeUser(context.Background(), "bob"); err != nil {
			t.Fatal(err)
		}
		revoked.Store(true)
		time.Sleep(time.Millisecond)
		close(stop)
		wg.Wait()
	}
}
