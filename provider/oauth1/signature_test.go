package oauth1

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"testing"
)

func TestRSASHA1(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := SignRSA(rfcBaseString, key)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE"} {
		t.Run("a "+kind+" PEM verifies", func(t *testing.T) {
			pub, err := ParseRSAPublicKey(rsaPEM(t, key, kind))
			if err != nil {
				t.Fatal(err)
			}
			if !verifyRSA([]byte(rfcBaseString), sig, pub) {
				t.Fatal("valid signature refused")
			}
			if verifyRSA([]byte(rfcBaseString+"x"), sig, pub) {
				t.Fatal("signature over another base string accepted")
			}
			if verifyRSA([]byte(rfcBaseString), "!!"+sig, pub) {
				t.Fatal("malformed signature accepted")
			}
		})
	}
	t.Run("non-RSA and garbage keys are rejected", func(t *testing.T) {
		ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
		for _, p := range []string{
			string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
			"not pem",
			string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})),
			string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1, 2}})),
		} {
			if _, err := ParseRSAPublicKey(p); err == nil {
				t.Errorf("accepted %q", p)
			}
		}
	})
}

func TestHMACVerifyRejectsMalformed(t *testing.T) {
	good, _ := SignHMAC(HMACSHA1, "base", "a", "b")
	for _, sig := range []string{"", good[:len(good)-1], good + "=", " " + good, "%%%"} {
		if verifyHMAC(HMACSHA1, []byte("base"), sig, signingKey("a", "b")) {
			t.Errorf("accepted %q", sig)
		}
	}
	if verifyHMAC(HMACSHA256, []byte("base"), good, signingKey("a", "b")) {
		t.Error("SHA-1 signature accepted as SHA-256")
	}
	if _, err := SignHMAC(PLAINTEXT, "base", "a", "b"); err == nil {
		t.Error("SignHMAC accepted a non-HMAC method")
	}
}
