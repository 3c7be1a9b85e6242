package remote

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"github.com/caddy-oauth/caddy-oauth/provider"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// otherIssuer publishes metadata and a JWK Set as Keycloak, Auth0 or
// Entra ID do (RSA with and without alg, EC, Ed25519), and counts the key
// set fetches.
type otherIssuer struct {
	srv     *httptest.Server
	mu      sync.Mutex
	jwks    []map[string]string
	fetches atomic.Int64
}

func newOtherIssuer(t *testing.T) *otherIssuer {
	oi := &otherIssuer{}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": oi.srv.URL, "jwks_uri": oi.srv.URL + "/keys"})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		oi.fetches.Add(1)
		oi.mu.Lock()
		defer oi.mu.Unlock()
		w.Header().Set("Cache-Control", "public, max-age=3600")
		json.NewEncoder(w).Encode(map[string]any{"keys": oi.jwks})
	})
	// An introspection endpoint the metadata does not advertise (Hydra's
	// admin port).
	mux.HandleFunc("/admin/introspect", func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "gateway" || p != "gw-secret" || r.PostFormValue("token") != "opaque-1" {
			json.NewEncoder(w).Encode(map[string]any{"active": false})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"active": true, "client_id": "app", "sub": "alice", "scope": "read"})
	})
	oi.srv = httptest.NewServer(mux)
	t.Cleanup(oi.srv.Close)
	return oi
}

func (oi *otherIssuer) publish(k map[string]string) {
	oi.mu.Lock()
	oi.jwks = append(oi.jwks, k)
	oi.mu.Unlock()
}

func enc(b []byte) string { return b64.EncodeToString(b) }

func pad(n *big.Int, size int) []byte { return n.FillBytes(make([]byte, size)) }

// sign makes a compact JWS of claims with header alg/kid.
func sign(t *testing.T, alg, kid string, priv crypto.Signer, c map[string]any) string {
	hdr, _ := json.Marshal(map[string]string{"alg": alg, "kid": kid, "typ": "JWT"})
	body, _ := json.Marshal(c)
	input := enc(hdr) + "." + enc(body)
	var sig []byte
	var err error
	switch alg {
	case "EdDSA":
		sig = ed25519.Sign(priv.(ed25519.PrivateKey), []byte(input))
	case "ES256":
		h := sha256.Sum256([]byte(input))
		r, s, e := ecdsa.Sign(rand.Reader, priv.(*ecdsa.PrivateKey), h[:])
		err = e
		sig = append(pad(r, 32), pad(s, 32)...)
	case "RS256":
		h := sha256.Sum256([]byte(input))
		sig, err = rsa.SignPKCS1v15(rand.Reader, priv.(*rsa.PrivateKey), crypto.SHA256, h[:])
	case "PS256":
		h := sha256.Sum256([]byte(input))
		sig, err = rsa.SignPSS(rand.Reader, priv.(*rsa.PrivateKey), crypto.SHA256, h[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	}
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + enc(sig)
}

func TestJWKSOfOtherIssuers(t *testing.T) {
	oi := newOtherIssuer(t)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	oi.publish(map[string]string{"kty": "RSA", "kid": "rsa1", "use": "sig", "n": enc(rsaKey.N.Bytes()), "e": enc(big.NewInt(int64(rsaKey.E)).Bytes())})
	oi.publish(map[string]string{"kty": "RSA", "kid": "rsa-rs256", "alg": "RS256", "n": enc(rsaKey.N.Bytes()), "e": "AQAB"})
	oi.publish(map[string]string{"kty": "EC", "kid": "ec1", "crv": "P-256", "x": enc(pad(ecKey.X, 32)), "y": enc(pad(ecKey.Y, 32))})
	oi.publish(map[string]string{"kty": "OKP", "kid": "ed1", "crv": "Ed25519", "x": enc(edKey.Public().(ed25519.PublicKey))})
	oi.publish(map[string]string{"kty": "RSA", "kid": "enc1", "use": "enc", "n": enc(rsaKey.N.Bytes()), "e": "AQAB"})
	oi.publish(map[string]string{"kty": "oct", "kid": "hmac", "k": enc([]byte("secret"))})

	now := time.Now()
	is := startGateway(t, Config{Issuer: oi.srv.URL, KidRefreshGap: time.Hour})
	waitReady(t, is, true)
	claims := map[string]any{"iss": oi.srv.URL, "sub": "user-1", "azp": "spa", "scp": []string{"read"}, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
	for _, tc := range []struct {
		alg, kid string
		priv     crypto.Signer
	}{
		{"RS256", "rsa1", rsaKey}, {"PS256", "rsa1", rsaKey}, {"RS256", "rsa-rs256", rsaKey},
		{"ES256", "ec1", ecKey}, {"EdDSA", "ed1", edKey},
	} {
		id, e := verify(is, sign(t, tc.alg, tc.kid, tc.priv, claims))
		if e != nil {
			t.Errorf("%s/%s refused: %v", tc.alg, tc.kid, e)
			continue
		}
		if id.User != "user-1" || id.ClientID != "spa" || len(id.Scopes) != 1 {
			t.Errorf("%s: identity %+v", tc.alg, id)
		}
	}
	// Refusals: an alg the key does not allow, a key for encryption, an
	// HMAC keyed with the public key (alg confusion), expired, another iss.
	refuse := map[string]string{
		"PS256 with an RS256-only key": sign(t, "PS256", "rsa-rs256", rsaKey, claims),
		"RS256 named with the EC kid":  sign(t, "RS256", "ec1", rsaKey, claims),
		"a key for encryption":         sign(t, "RS256", "enc1", rsaKey, claims),
		"expired":                      sign(t, "EdDSA", "ed1", edKey, map[string]any{"iss": oi.srv.URL, "sub": "u", "exp": now.Add(-time.Hour).Unix()}),
		"another issuer":               sign(t, "EdDSA", "ed1", edKey, map[string]any{"iss": "https://evil.example", "sub": "u", "exp": now.Add(time.Hour).Unix()}),
		"no exp":                       sign(t, "EdDSA", "ed1", edKey, map[string]any{"iss": oi.srv.URL, "sub": "u"}),
	}
	hdr, _ := json.Marshal(map[string]string{"alg": "HS256", "kid": "rsa1"})
	body, _ := json.Marshal(claims)
	mac := hmac.New(sha256.New, rsaKey.N.Bytes())
	mac.Write([]byte(enc(hdr) + "." + enc(body)))
	refuse["HS256 keyed with the public key"] = enc(hdr) + "." + enc(body) + "." + enc(mac.Sum(nil))
	for name, tok := range refuse {
		wantCode(t, name, func() *provider.Error { _, e := verify(is, tok); return e }(), "invalid_token")
	}

	// A flood of unknown kids costs at most one fetch per gap.
	before := oi.fetches.Load()
	for i := range 50 {
		verify(is, sign(t, "EdDSA", "random-"+itoa(i), edKey, claims))
	}
	if n := oi.fetches.Load() - before; n > 1 {
		t.Errorf("%d key set fetches for 50 unknown kids, want at most 1", n)
	}
}

// A rotation on the issuer is seen on the first token with the new kid.
func TestKeyRotationSeen(t *testing.T) {
	oi := newOtherIssuer(t)
	_, k1, _ := ed25519.GenerateKey(rand.Reader)
	oi.publish(map[string]string{"kty": "OKP", "kid": "k1", "crv": "Ed25519", "x": enc(k1.Public().(ed25519.PublicKey))})
	is := startGateway(t, Config{Issuer: oi.srv.URL})
	waitReady(t, is, true)
	claims := map[string]any{"iss": oi.srv.URL, "sub": "u", "exp": time.Now().Add(time.Hour).Unix()}
	if _, e := verify(is, sign(t, "EdDSA", "k1", k1, claims)); e != nil {
		t.Fatal(e)
	}
	_, k2, _ := ed25519.GenerateKey(rand.Reader)
	oi.publish(map[string]string{"kty": "OKP", "kid": "k2", "crv": "Ed25519", "x": enc(k2.Public().(ed25519.PublicKey))})
	if _, e := verify(is, sign(t, "EdDSA", "k2", k2, claims)); e != nil {
		t.Errorf("a token of the rotated-in key: %v", e)
	}
}

func itoa(i int) string { return big.NewInt(int64(i)).String() }

func TestIntrospectionEndpointOverride(t *testing.T) {
	oi := newOtherIssuer(t)
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	oi.publish(map[string]string{"kty": "OKP", "kid": "k", "crv": "Ed25519", "x": enc(k.Public().(ed25519.PublicKey))})
	without := startGateway(t, Config{Issuer: oi.srv.URL, Introspection: &Introspection{ClientID: "gateway", ClientSecret: "gw-secret"}})
	with := startGateway(t, Config{Issuer: oi.srv.URL, Introspection: &Introspection{ClientID: "gateway", ClientSecret: "gw-secret", Endpoint: oi.srv.URL + "/admin/introspect"}})
	waitReady(t, without, true)
	waitReady(t, with, true)
	if _, e := verify(without, "opaque-1"); e == nil {
		t.Error("an opaque token accepted with no introspection endpoint")
	}
	id, e := verify(with, "opaque-1")
	if e != nil || id.User != "alice" || id.ClientID != "app" {
		t.Errorf("with the endpoint: %+v %v", id, e)
	}
	if _, e := verify(with, "opaque-2"); e == nil {
		t.Error("an inactive token accepted")
	}
}

// An RSA key under 2048 bits is not used, even when it signed the token
// (RFC 8725 §3.5 asks for adequate key lengths).
func TestShortRSAKeyIgnored(t *testing.T) {
	oi := newOtherIssuer(t)
	short, _ := rsa.GenerateKey(rand.Reader, 1024)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	oi.publish(map[string]string{"kty": "RSA", "kid": "short", "n": enc(short.N.Bytes()), "e": "AQAB"})
	oi.publish(map[string]string{"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": enc(ed.Public().(ed25519.PublicKey))})
	is := startGateway(t, Config{Issuer: oi.srv.URL, KidRefreshGap: time.Hour})
	waitReady(t, is, true)
	claims := map[string]any{"iss": oi.srv.URL, "sub": "u", "exp": time.Now().Add(time.Hour).Unix()}
	wantCode(t, "a token signed with a 1024-bit key", func() *provider.Error { _, e := verify(is, sign(t, "RS256", "short", short, claims)); return e }(), "invalid_token")
	if _, e := verify(is, sign(t, "EdDSA", "ed", ed, claims)); e != nil {
		t.Errorf("the usable key next to it: %v", e)
	}
}
