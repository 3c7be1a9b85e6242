package jwt

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"flag"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files and fuzz seeds")

func TestJWKSGolden(t *testing.T) {
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			k := fixedKeys(t, openMem(t), alg, newTestClock(start))
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, k.JWKS(), "", "  "); err != nil {
				t.Fatalf("JWKS is not JSON: %v", err)
			}
			pretty.WriteByte('\n')
			path := filepath.Join("testdata", "jwks-"+string(alg)+".golden.json")
			if *update {
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Fatalf("JWKS changed (run with -update if intended):\n%s\nwant:\n%s", pretty.Bytes(), want)
			}
		})
	}
}

// thumbprint recomputes an RFC 7638 thumbprint independently of the
// package: encoding/json writes map keys sorted and without whitespace,
// which is exactly the canonical form.
func thumbprint(t *testing.T, jwk map[string]string, required ...string) string {
	t.Helper()
	m := map[string]string{}
	for _, r := range required {
		m[r] = jwk[r]
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return b64.EncodeToString(sum[:])
}

func parseJWKS(t *testing.T, b []byte) []map[string]string {
	t.Helper()
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&set); err != nil {
		t.Fatalf("JWKS is not a JWK Set of string members: %v\n%s", err, b)
	}
	if len(set.Keys) == 0 {
		t.Fatal("empty JWKS")
	}
	return set.Keys
}

func TestJWKSHasTheRightFields(t *testing.T) {
	wantMembers := map[Algorithm][]string{
		EdDSA: {"kty", "crv", "x", "kid", "use", "alg"},
		ES256: {"kty", "crv", "x", "y", "kid", "use", "alg"},
		RS256: {"kty", "n", "e", "kid", "use", "alg"},
	}
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			k := newTestKeys(t, openMem(t), alg, newTestClock(start))
			for _, jwk := range parseJWKS(t, k.JWKS()) {
				var names []string
				for n := range jwk {
					names = append(names, n)
				}
				if !sameSet(names, wantMembers[alg]) {
					t.Fatalf("members %v, want %v (no private ones)", names, wantMembers[alg])
				}
				if jwk["use"] != "sig" || jwk["alg"] != string(alg) {
					t.Fatalf("use %q alg %q", jwk["use"], jwk["alg"])
				}
				var want string
				switch alg {
				case EdDSA:
					checkB64Len(t, jwk["x"], 32)
					if jwk["kty"] != "OKP" || jwk["crv"] != "Ed25519" {
						t.Fatalf("kty %q crv %q", jwk["kty"], jwk["crv"])
					}
					want = thumbprint(t, jwk, "crv", "kty", "x")
				case ES256:
					checkB64Len(t, jwk["x"], 32)
					checkB64Len(t, jwk["y"], 32)
					if jwk["kty"] != "EC" || jwk["crv"] != "P-256" {
						t.Fatalf("kty %q crv %q", jwk["kty"], jwk["crv"])
					}
					want = thumbprint(t, jwk, "crv", "kty", "x", "y")
				case RS256:
					checkB64Len(t, jwk["n"], 256)
					if jwk["kty"] != "RSA" || jwk["e"] != "AQAB" {
						t.Fatalf("kty %q e %q", jwk["kty"], jwk["e"])
					}
					want = thumbprint(t, jwk, "e", "kty", "n")
				}
				if jwk["kid"] != want {
					t.Fatalf("kid %s, RFC 7638 thumbprint %s", jwk["kid"], want)
				}
			}
		})
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]bool{}
	for _, s := range a {
		seen[s] = true
	}
	for _, s := range b {
		if !seen[s] {
			return false
		}
	}
	return true
}

func checkB64Len(t *testing.T, s string, n int) {
	t.Helper()
	b, err := b64Strict.DecodeString(s)
	if err != nil || len(b) != n {
		t.Fatalf("%q: %d bytes (%v), want %d", s, len(b), err, n)
	}
}

// TestTokensVerifyWithTheStandardLibrary checks tokens against the
// published JWKS with crypto/* directly, as any other verifier would:
// RFC 7518 raw R||S for ES256, PKCS#1 v1.5 for RS256, RFC 8037 for EdDSA.
func TestTokensVerifyWithTheStandardLibrary(t *testing.T) {
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			clk := newTestClock(start)
			k := newTestKeys(t, openMem(t), alg, clk)
			tok := mustSign(t, k, testClaims(clk))
			parts := strings.Split(tok, ".")
			var hdr struct{ Kid, Alg, Typ string }
			h, _ := b64.DecodeString(parts[0])
			if err := json.Unmarshal(h, &hdr); err != nil {
				t.Fatal(err)
			}
			var jwk map[string]string
			for _, j := range parseJWKS(t, k.JWKS()) {
				if j["kid"] == hdr.Kid {
					jwk = j
				}
			}
			if jwk == nil || jwk["alg"] != hdr.Alg || hdr.Typ != "at+jwt" {
				t.Fatalf("header %+v has no matching JWK", hdr)
			}
			input := []byte(parts[0] + "." + parts[1])
			sig, err := b64.DecodeString(parts[2])
			if err != nil {
				t.Fatal(err)
			}
			digest := sha256.Sum256(input)
			dec := func(s string) []byte {
				b, err := b64.DecodeString(s)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			var ok bool
			switch alg {
			case EdDSA:
				ok = ed25519.Verify(ed25519.PublicKey(dec(jwk["x"])), input, sig)
			case ES256:
				pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, dec(jwk["x"])...), dec(jwk["y"])...))
				if err != nil {
					t.Fatal(err)
				}
				if len(sig) != 64 {
					t.Fatalf("ES256 signature of %d bytes, want 64 (R||S)", len(sig))
				}
				ok = ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
			case RS256:
				pub := &rsa.PublicKey{N: new(big.Int).SetBytes(dec(jwk["n"])), E: int(new(big.Int).SetBytes(dec(jwk["e"])).Int64())}
				ok = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil
			}
			if !ok {
				t.Fatal("the standard library refuses the signature")
			}
		})
	}
}

// RFC 8037 appendix A: the Ed25519 key of A.1, its thumbprint (A.3) and
// the signature of A.4.
func TestRFC8037Vectors(t *testing.T) {
	d, _ := b64.DecodeString("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
	der, err := x509.MarshalPKCS8PrivateKey(ed25519.NewKeyFromSeed(d))
	if err != nil {
		t.Fatal(err)
	}
	k, err := parseKey(EdDSA, 0, der)
	if err != nil {
		t.Fatal(err)
	}
	if got := b64.EncodeToString(k.edPub); got != "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" {
		t.Fatalf("x = %s", got)
	}
	if k.kid != "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k" {
		t.Fatalf("thumbprint %s", k.kid)
	}
	input := []byte("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc")
	sig, err := k.sign(input)
	if err != nil {
		t.Fatal(err)
	}
	const want = "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
	if got := b64.EncodeToString(sig); got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
	if !k.verify(input, sig) {
		t.Fatal("RFC 8037 signature refused")
	}
}

// RFC 7638 §3.1: the thumbprint of the RSA key of RFC 7517 appendix A.1.
func TestRFC7638Thumbprint(t *testing.T) {
	n, _ := b64.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
	k := &signingKey{alg: RS256, rsaPub: &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}}
	if err := k.describe(); err != nil {
		t.Fatal(err)
	}
	if k.kid != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Fatalf("thumbprint %s", k.kid)
	}
}

func TestServeJWKS(t *testing.T) {
	k := newTestKeys(t, openMem(t), ES256, newTestClock(start))
	tests := []struct {
		method string
		status int
		body   bool
	}{
		{http.MethodGet, 200, true},
		{http.MethodHead, 200, false},
		{http.MethodPost, 405, false},
		{http.MethodDelete, 405, false},
	}
	for _, tc := range tests {
		t.Run(tc.method, func(t *testing.T) {
			rec := httptest.NewRecorder()
			k.ServeJWKS(rec, httptest.NewRequest(tc.method, "/oauth2/jwks", nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if tc.status == 405 {
				if rec.Header().Get("Allow") != "GET, HEAD" {
					t.Fatalf("Allow %q", rec.Header().Get("Allow"))
				}
				return
			}
			want := map[string]string{
				"Content-Type":   "application/json",
				"Cache-Control":  "public, max-age=3600",
				"Content-Length": itoa(int64(len(k.JWKS()))),
			}
			for h, v := range want {
				if got := rec.Header().Get(h); got != v {
					t.Errorf("%s = %q, want %q", h, got, v)
				}
			}
			if got := rec.Body.Bytes(); tc.body != (len(got) > 0) || tc.body && !bytes.Equal(got, k.JWKS()) {
				t.Fatalf("body %q", got)
			}
		})
	}

	// The max-age stays under the rotation period.
	short, err := NewKeys(t.Context(), openMem(t), EdDSA, 10*time.Minute, newTestClock(start).clock())
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	short.ServeJWKS(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if got := rec.Header().Get("Cache-Control"); got != "public, max-age=300" {
		t.Fatalf("Cache-Control %q with a 10m rotation", got)
	}
}

func TestJWKSReturnsACopy(t *testing.T) {
	k := newTestKeys(t, openMem(t), EdDSA, newTestClock(start))
	a := k.JWKS()
	orig := string(a)
	a[0] = 'X'
	if b := k.JWKS(); string(b) != orig || reflect.DeepEqual(a, b) {
		t.Fatal("JWKS exposes its internal buffer")
	}
}
