package remote

import (
	"crypto/rand"
	"crypto/rsa"
	"math/big"
	"testing"
	"time"
)

func TestAnIDTokenIsNoAccessToken(t *testing.T) {
	oi := newOtherIssuer(t)
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	oi.publish(map[string]string{"kty": "RSA", "kid": "id1", "alg": "RS256", "n": enc(key.N.Bytes()), "e": enc(big.NewInt(int64(key.E)).Bytes())})
	is := startGateway(t, Config{Issuer: oi.srv.URL})
	waitReady(t, is, true)
	now := time.Now()
	idToken := func(extra map[string]any) map[string]any {
		c := map[string]any{"iss": oi.srv.URL, "sub": "alice", "aud": "rp", "azp": "rp", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "auth_time": now.Unix()}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	if _, e := verify(is, sign(t, "RS256", "id1", key, idToken(nil))); e != nil {
		t.Fatalf("control: the same claims without at_hash refused: %v", e)
	}
	for name, extra := range map[string]map[string]any{
		"with at_hash": {"at_hash": "77QmUPtjPfzWtF2AnpK9RQ", "nonce": "n"},
		"with c_hash":  {"c_hash": "LDktKdoQak3Pk0cnXxCltA"},
	} {
		_, e := verify(is, sign(t, "RS256", "id1", key, idToken(extra)))
		wantCode(t, "an ID token "+name, e, "invalid_token")
	}
}
