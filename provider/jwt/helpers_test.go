package jwt

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store/badger"
)

const testIssuer = "https://auth.example.com"

var algorithms = []Algorithm{EdDSA, ES256, RS256}

// testClock is a settable clock, safe for concurrent use.
type testClock struct{ ns atomic.Int64 }

func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.set(t)
	return c
}

func (c *testClock) set(t time.Time)              { c.ns.Store(t.UnixNano()) }
func (c *testClock) now() time.Time               { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) advance(d time.Duration)      { c.ns.Add(int64(d)) }
func (c *testClock) clock() provider.Clock        { return c.now }
func (c *testClock) Now() time.Time               { return c.now() }
func (c *testClock) at(d time.Duration) time.Time { return c.now().Add(d) }

// start is a fixed instant in the middle of a 30-day period.
var start = time.Date(2031, 5, 17, 12, 0, 0, 0, time.UTC)

func openMem(tb testing.TB) *badger.DB {
	tb.Helper()
	db, err := badger.Open(badger.Options{InMemory: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

func newTestKeys(tb testing.TB, db *badger.DB, alg Algorithm, clk *testClock, opts ...Option) *Keys {
	tb.Helper()
	opts = append([]Option{WithIssuer(testIssuer)}, opts...)
	k, err := NewKeys(context.Background(), db, alg, 0, clk.clock(), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// testClaims are the claims of a typical authorization_code token.
func testClaims(clk *testClock) Claims {
	return Claims{
		Subject:   "alice",
		ClientID:  "app",
		Scope:     "read write",
		IssuedAt:  clk.now(),
		ExpiresAt: clk.at(time.Hour),
		Username:  "alice",
	}
}

func mustSign(tb testing.TB, k *Keys, c Claims) string {
	tb.Helper()
	tok, err := k.Sign(context.Background(), c)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// signRaw makes a token of arbitrary header and payload JSON, signed with
// the current key: what an attacker holding the key could forge, to test
// the checks that come after the signature.
func signRaw(tb testing.TB, k *Keys, header, payload string) string {
	tb.Helper()
	set, err := k.keys(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	input := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload))
	sig, err := set.current.sign([]byte(input))
	if err != nil {
		tb.Fatal(err)
	}
	return input + "." + b64.EncodeToString(sig)
}

// fixedKey returns deterministic PKCS#8 key material for alg, so golden
// files and fuzz seeds stay valid: Ed25519 and P-256 keys derived from a
// label, RSA keys from testdata.
func fixedKey(tb testing.TB, alg Algorithm, n int) []byte {
	tb.Helper()
	seed := sha256.Sum256([]byte("caddy-oauth jwt test key " + string(alg) + string(rune('0'+n))))
	var priv any
	switch alg {
	case EdDSA:
		priv = ed25519.NewKeyFromSeed(seed[:])
	case ES256:
		p, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), seed[:])
		if err != nil {
			tb.Fatal(err)
		}
		priv = p
	case RS256:
		b, err := os.ReadFile(filepath.Join("testdata", "rsa-"+string(rune('0'+n))+".pem"))
		if err != nil {
			tb.Fatal(err)
		}
		blk, _ := pem.Decode(b)
		if blk == nil {
			tb.Fatal("bad PEM")
		}
		return blk.Bytes
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		tb.Fatal(err)
	}
	return der
}

// fixedKeys opens Keys whose current and next keys are fixedKey 1 and 2.
func fixedKeys(tb testing.TB, db *badger.DB, alg Algorithm, clk *testClock, opts ...Option) *Keys {
	tb.Helper()
	namer := &Keys{alg: alg, rotation: int64(DefaultRotation / time.Second)}
	p := namer.periodOf(clk.now())
	for i, period := range []int64{p, p + 1} {
		der := fixedKey(tb, alg, i+1)
		got, err := db.LoadOrCreateKey(context.Background(), namer.keyName(period), func() ([]byte, error) { return der, nil })
		if err != nil {
			tb.Fatal(err)
		}
		if string(got) != string(der) {
			tb.Fatalf("store already held another key for period %d", period)
		}
	}
	return newTestKeys(tb, db, alg, clk, opts...)
}
