package provider

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"io"
)

// TokenBytes is the entropy of every minted token, code, secret and
// verifier: 256 bits, well above RFC 6749 §10.10's 128.
const TokenBytes = 32

// NewToken returns a fresh random value, base64url without padding. A nil
// entropy source means crypto/rand.
func NewToken(entropy io.Reader) (string, error) {
	if entropy == nil {
		entropy = rand.Reader
	}
	b := make([]byte, TokenBytes)
	if _, err := io.ReadFull(entropy, b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// HashToken is how token values, codes and generated secrets are kept at
// rest and looked up: SHA-256, enough for 256-bit random values.
func HashToken(value string) []byte {
	h := sha256.Sum256([]byte(value))
	return h[:]
}

// Equal compares two secrets in constant time (for equal lengths; the
// length itself is not secret).
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// EqualBytes is Equal for byte slices (hashes).
func EqualBytes(a, b []byte) bool {
	return subtle.ConstantTimeCompare(a, b) == 1
}
