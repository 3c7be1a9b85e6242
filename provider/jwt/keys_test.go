package jwt

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store/badger"
)

// jwksKids lists the kids of a JWK Set, parsed as a client would.
func jwksKids(t *testing.T, jwks []byte) []string {
	t.Helper()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatalf("JWKS is not JSON: %v\n%s", err, jwks)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}

func signingKid(t *testing.T, k *Keys) string {
	t.Helper()
	set, err := k.keys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return set.current.kid
}

func TestRotation(t *testing.T) {
	const rotation = 24 * time.Hour
	clk := newTestClock(start) // start is mid-day, so mid-period
	k, err := NewKeys(t.Context(), openMem(t), EdDSA, rotation, clk.clock(), WithIssuer(testIssuer))
	if err != nil {
		t.Fatal(err)
	}

	// Period N: a fresh store has no previous key; the next one is
	// published ahead of use.
	kidN := signingKid(t, k)
	kids := jwksKids(t, k.JWKS())
	if len(kids) != 2 || kids[0] != kidN {
		t.Fatalf("period N JWKS kids %v, want current %s and the next key", kids, kidN)
	}
	nextKid := kids[1]
	tok := mustSign(t, k, Claims{ClientID: "app", ExpiresAt: clk.at(rotation)})

	// Period N+1: the pre-published key signs, the old one still verifies.
	clk.advance(rotation)
	kidN1 := signingKid(t, k)
	if kidN1 != nextKid || kidN1 == kidN {
		t.Fatalf("period N+1 signs with %s, want the pre-published %s (N was %s)", kidN1, nextKid, kidN)
	}
	kids = jwksKids(t, k.JWKS())
	if len(kids) != 3 || kids[0] != kidN1 || !slices.Contains(kids, kidN) {
		t.Fatalf("period N+1 JWKS kids %v, want current %s, previous %s and next", kids, kidN1, kidN)
	}
	// Verify's now is passed apart from the clock that picks the keys, so
	// only the key set decides here, not exp.
	if _, err := k.Verify(tok, start); err != nil {
		t.Fatalf("token of period N refused in N+1: %v", err)
	}
	tok1 := mustSign(t, k, Claims{ClientID: "app", ExpiresAt: clk.at(time.Hour)})
	if _, err := k.Verify(tok1, clk.now()); err != nil {
		t.Fatalf("token of period N+1 refused: %v", err)
	}

	// Period N+2: the key of N is gone.
	clk.advance(rotation)
	if _, err := k.Verify(tok, start); !errors.Is(err, errUnknownKey) {
		t.Fatalf("token of period N in N+2: %v, want unknown key", err)
	}
	kids = jwksKids(t, k.JWKS())
	if slices.Contains(kids, kidN) || !slices.Contains(kids, kidN1) || len(kids) != 3 {
		t.Fatalf("period N+2 JWKS kids %v: want N+1 (%s) and not N (%s)", kids, kidN1, kidN)
	}

	// A clock stepping back picks the older set again, from the store.
	clk.set(start)
	if got := signingKid(t, k); got != kidN {
		t.Fatalf("back in period N the signing key is %s, want %s", got, kidN)
	}
}

func TestRotationPeriodsAreFloored(t *testing.T) {
	k := &Keys{rotation: 3600}
	for _, tc := range []struct {
		t    time.Time
		want int64
	}{
		{time.Unix(0, 0), 0},
		{time.Unix(3599, 999999999), 0},
		{time.Unix(3600, 0), 1},
		{time.Unix(-1, 0), -1},
		{time.Unix(-3600, 0), -1},
		{time.Unix(-3601, 0), -2},
	} {
		if got := k.periodOf(tc.t); got != tc.want {
			t.Errorf("periodOf(%d) = %d, want %d", tc.t.Unix(), got, tc.want)
		}
	}
}

func TestKeysPersistAcrossReopen(t *testing.T) {
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			dir := t.TempDir()
			clk := newTestClock(start)
			db, err := badger.Open(badger.Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			k := newTestKeys(t, db, alg, clk)
			kid, jwks := signingKid(t, k), k.JWKS()
			tok := mustSign(t, k, testClaims(clk))
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}

			db, err = badger.Open(badger.Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			k2 := newTestKeys(t, db, alg, clk)
			if got := signingKid(t, k2); got != kid {
				t.Fatalf("kid after reopen %s, want %s", got, kid)
			}
			if got := k2.JWKS(); string(got) != string(jwks) {
				t.Fatalf("JWKS changed across reopen:\n%s\n%s", jwks, got)
			}
			if _, err := k2.Verify(tok, clk.now()); err != nil {
				t.Fatalf("token from before the restart refused: %v", err)
			}
		})
	}
}

func TestInstancesSharingAStoreAgree(t *testing.T) {
	clk := newTestClock(start)
	db := openMem(t)
	var wg sync.WaitGroup
	keys := make([]*Keys, 4)
	for i := range keys {
		wg.Go(func() {
			k, err := NewKeys(context.Background(), db, ES256, 0, clk.clock(), WithIssuer(testIssuer))
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = k
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	tok := mustSign(t, keys[0], testClaims(clk))
	for i, k := range keys {
		if string(k.JWKS()) != string(keys[0].JWKS()) {
			t.Fatalf("instance %d publishes other keys", i)
		}
		if _, err := k.Verify(tok, clk.now()); err != nil {
			t.Fatalf("instance %d refuses instance 0's token: %v", i, err)
		}
	}
}

func TestNewKeysRefusesBadConfig(t *testing.T) {
	db := openMem(t)
	clk := newTestClock(start).clock()
	ctx := t.Context()
	tests := []struct {
		name string
		run  func() error
	}{
		{"no store", func() error { _, err := NewKeys(ctx, nil, EdDSA, 0, clk); return err }},
		{"HS256", func() error { _, err := NewKeys(ctx, db, "HS256", 0, clk); return err }},
		{"none", func() error { _, err := NewKeys(ctx, db, "none", 0, clk); return err }},
		{"a lowercase algorithm", func() error { _, err := NewKeys(ctx, db, "eddsa", 0, clk); return err }},
		{"a negative rotation", func() error { _, err := NewKeys(ctx, db, EdDSA, -time.Hour, clk); return err }},
		{"a rotation under a minute", func() error { _, err := NewKeys(ctx, db, EdDSA, time.Second, clk); return err }},
		{"a negative leeway", func() error { _, err := NewKeys(ctx, db, EdDSA, 0, clk, WithLeeway(-1)); return err }},
		{"a leeway over the maximum", func() error { _, err := NewKeys(ctx, db, EdDSA, 0, clk, WithLeeway(MaxLeeway+1)); return err }},
		{"an empty audience", func() error { _, err := NewKeys(ctx, db, EdDSA, 0, clk, WithAudience("a", "")); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.run() == nil {
				t.Fatal("accepted")
			}
		})
	}
	k, err := NewKeys(ctx, db, "", 0, clk)
	if err != nil || k.alg != EdDSA || k.rotation != int64(DefaultRotation/time.Second) {
		t.Fatalf("defaults: %v %+v", err, k)
	}
}

func TestNewKeysRefusesAStoredKeyOfTheWrongKind(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384, _ := x509.MarshalPKCS8PrivateKey(ec)
	tests := []struct {
		name string
		alg  Algorithm
		der  []byte
	}{
		{"an ECDSA key under an EdDSA name", EdDSA, fixedKey(t, ES256, 1)},
		{"an Ed25519 key under an RS256 name", RS256, fixedKey(t, EdDSA, 1)},
		{"an RSA key under an ES256 name", ES256, fixedKey(t, RS256, 1)},
		{"a P-384 key under an ES256 name", ES256, p384},
		{"garbage", EdDSA, []byte("not a key")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openMem(t)
			clk := newTestClock(start)
			namer := &Keys{alg: tc.alg, rotation: int64(DefaultRotation / time.Second)}
			if _, err := db.LoadOrCreateKey(t.Context(), namer.keyName(namer.periodOf(start)), func() ([]byte, error) { return tc.der, nil }); err != nil {
				t.Fatal(err)
			}
			if k, err := NewKeys(t.Context(), db, tc.alg, 0, clk.clock()); err == nil {
				t.Fatalf("accepted, JWKS %s", k.JWKS())
			}
		})
	}
}

// failingStore is a KeyStore whose failures a test switches on, over a
// real Badger store.
type failingStore struct {
	*badger.DB
	mu   sync.Mutex
	fail bool
}

func (f *failingStore) setFail(v bool) {
	f.mu.Lock()
	f.fail = v
	f.mu.Unlock()
}

func (f *failingStore) LoadOrCreateKey(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error) {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail {
		return nil, errors.New("disk on fire")
	}
	return f.DB.LoadOrCreateKey(ctx, name, gen)
}

func TestStoreFailureAtRotation(t *testing.T) {
	clk := newTestClock(start)
	fs := &failingStore{DB: openMem(t)}
	k, err := NewKeys(t.Context(), fs, EdDSA, 0, clk.clock(), WithIssuer(testIssuer))
	if err != nil {
		t.Fatal(err)
	}
	tok := mustSign(t, k, testClaims(clk))
	jwks := k.JWKS()

	fs.setFail(true)
	clk.advance(DefaultRotation)
	if _, err := k.Sign(t.Context(), Claims{ClientID: "app", ExpiresAt: clk.at(time.Hour)}); err == nil {
		t.Fatal("signed with a stale key set")
	}
	if _, err := k.Verify(tok, start); err == nil || errors.Is(err, ErrInvalidToken) {
		t.Fatalf("store failure reported as %v, want a server error", err)
	}
	if got := k.JWKS(); string(got) != string(jwks) {
		t.Fatalf("JWKS on store failure: %s, want the last known set", got)
	}

	fs.setFail(false)
	if _, err := k.Verify(tok, start); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

func TestConcurrentUseAcrossRotations(t *testing.T) {
	clk := newTestClock(start)
	k := newTestKeys(t, openMem(t), EdDSA, clk)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				now := clk.now()
				exp := now.Add(DefaultRotation / 2)
				tok, err := k.Sign(context.Background(), Claims{ClientID: "app", ExpiresAt: exp})
				if err != nil && !clk.now().Before(exp) {
					// The clock passed exp before Sign read it for iat:
					// rightly refused.
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				// The clock may have moved one period on since; the
				// previous key still verifies.
				if _, err := k.Verify(tok, now); err != nil && !errors.Is(err, errUnknownKey) {
					t.Error(err)
					return
				}
				_ = k.JWKS()
			}
		})
	}
	for range 20 {
		clk.advance(DefaultRotation / 4)
		runtime.Gosched()
	}
	wg.Wait()
}
