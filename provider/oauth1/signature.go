package oauth1

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"hash"
)

// Signature methods (RFC 5849 §3.4; HMAC-SHA256 is the common extension
// with the same construction as HMAC-SHA1).
const (
	HMACSHA1   = "HMAC-SHA1"
	HMACSHA256 = "HMAC-SHA256"
	RSASHA1    = "RSA-SHA1"
	PLAINTEXT  = "PLAINTEXT"
)

// supportedMethod reports whether m is a signature method this server
// verifies.
func supportedMethod(m string) bool {
	switch m {
	case HMACSHA1, HMACSHA256, RSASHA1, PLAINTEXT:
		return true
	}
	return false
}

// signingKey is the HMAC key and the PLAINTEXT signature of §3.4.2 and
// §3.4.4: enc(client secret) "&" enc(token secret); the "&" is there even
// when the token secret is empty.
func signingKey(clientSecret, tokenSecret string) string {
	return Encode(clientSecret) + "&" + Encode(tokenSecret)
}

func hmacSum(h func() hash.Hash, key, base string) []byte {
	m := hmac.New(h, []byte(key))
	m.Write([]byte(base))
	return m.Sum(nil)
}

// SignHMAC returns the base64 HMAC signature (§3.4.2) of base with method
// HMACSHA1 or HMACSHA256.
func SignHMAC(method, base, clientSecret, tokenSecret string) (string, error) {
	h, err := hmacHash(method)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(hmacSum(h, signingKey(clientSecret, tokenSecret), base)), nil
}

func hmacHash(method string) (func() hash.Hash, error) {
	switch method {
	case HMACSHA1:
		return sha1.New, nil
	case HMACSHA256:
		return sha256.New, nil
	}
	return nil, errors.New("oauth1: not an HMAC signature method: " + method)
}

// SignPlaintext returns the PLAINTEXT signature (§3.4.4).
func SignPlaintext(clientSecret, tokenSecret string) string {
	return signingKey(clientSecret, tokenSecret)
}

// SignRSA returns the base64 RSA-SHA1 signature (§3.4.3): RSASSA-PKCS1-v1_5
// over SHA-1 of base.
func SignRSA(base string, key *rsa.PrivateKey) (string, error) {
	sum := sha1.Sum([]byte(base))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA1, sum[:])
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// verifyHMAC recomputes the HMAC of base with key (signingKey's) and
// compares it with the decoded signature in constant time (§3.2).
func verifyHMAC(method string, base []byte, signature, key string) bool {
	h, err := hmacHash(method)
	if err != nil {
		return false
	}
	var got [64]byte // more than any HMAC this package computes
	if base64.StdEncoding.DecodedLen(len(signature)) > len(got) {
		return false
	}
	n, err := base64.StdEncoding.Strict().Decode(got[:], []byte(signature))
	if err != nil {
		return false
	}
	m := hmac.New(h, []byte(key))
	m.Write(base)
	return hmac.Equal(got[:n], m.Sum(nil))
}

// verifyPlaintext compares the PLAINTEXT signature with key (signingKey's)
// in constant time.
func verifyPlaintext(signature, key string) bool {
	return subtle.ConstantTimeCompare([]byte(signature), []byte(key)) == 1
}

// verifyRSA checks an RSA-SHA1 signature with the client's public key.
func verifyRSA(base []byte, signature string, pub *rsa.PublicKey) bool {
	sig, err := base64.StdEncoding.Strict().DecodeString(signature)
	if err != nil {
		return false
	}
	sum := sha1.Sum(base)
	return rsa.VerifyPKCS1v15(pub, crypto.SHA1, sum[:], sig) == nil
}

// ParseRSAPublicKey reads a client's RSA-SHA1 verification key from PEM:
// a "PUBLIC KEY" (SPKI), an "RSA PUBLIC KEY" (PKCS#1) or a "CERTIFICATE"
// whose key is RSA. The glue calls it at provision time to reject a bad
// rsa_public_key early.
func ParseRSAPublicKey(pemText string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("oauth1: no PEM block in RSA public key")
	}
	var key any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		cert, err = x509.ParseCertificate(block.Bytes)
		if err == nil {
			key = cert.PublicKey
		}
	default:
		return nil, errors.New("oauth1: unsupported PEM block " + block.Type)
	}
	if err != nil {
		return nil, err
	}
	pub, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("oauth1: public key is not RSA")
	}
	return pub, nil
}
