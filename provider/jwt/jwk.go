package jwt

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"net/http"
	"strconv"
)

// b64 is base64url without padding, the encoding of every JWS segment and
// JWK member (RFC 7515 §2). Decoding is strict, so that no token has two
// encodings (stray bits in the last character are refused).
var (
	b64       = base64.RawURLEncoding
	b64Strict = base64.RawURLEncoding.Strict()
)

// describe computes what a key publishes: its JWK, its kid and the JOSE
// header of the tokens it signs. The JWK members carry only base64url
// text, so no JSON escaping is needed.
func (k *signingKey) describe() error {
	var thumb, members []byte
	switch k.alg {
	case EdDSA:
		x := b64.EncodeToString(k.edPub)
		// RFC 8037 §2 and §A.3: required members crv, kty, x.
		thumb = []byte(`{"crv":"Ed25519","kty":"OKP","x":"` + x + `"}`)
		members = []byte(`"kty":"OKP","crv":"Ed25519","x":"` + x + `"`)
	case ES256:
		// Uncompressed point 0x04 || X || Y; coordinates are full-size
		// (RFC 7518 §6.2.1.2).
		p, err := k.ecPub.Bytes()
		if err != nil {
			return err
		}
		x, y := b64.EncodeToString(p[1:33]), b64.EncodeToString(p[33:65])
		thumb = []byte(`{"crv":"P-256","kty":"EC","x":"` + x + `","y":"` + y + `"}`)
		members = []byte(`"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + y + `"`)
	case RS256:
		n := b64.EncodeToString(k.rsaPub.N.Bytes())
		e := b64.EncodeToString(big.NewInt(int64(k.rsaPub.E)).Bytes())
		thumb = []byte(`{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`)
		members = []byte(`"kty":"RSA","n":"` + n + `","e":"` + e + `"`)
	}
	// RFC 7638 §3: the SHA-256 of the required members, sorted, without
	// whitespace; stable across restarts and unique per key.
	sum := sha256.Sum256(thumb)
	k.kid = b64.EncodeToString(sum[:])

	jwk := append([]byte{'{'}, members...)
	jwk = append(jwk, `,"kid":"`+k.kid+`","use":"sig","alg":"`+string(k.alg)+`"}`...)
	k.jwk = jwk

	// RFC 9068 §2.1: typ at+jwt; kid lets a verifier pick the key.
	k.header = b64.EncodeToString([]byte(`{"typ":"at+jwt","alg":"` + string(k.alg) + `","kid":"` + k.kid + `"}`))
	return nil
}

// encodeJWKS renders a JWK Set (RFC 7517 §5).
func encodeJWKS(keys []*signingKey) []byte {
	b := []byte(`{"keys":[`)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, k.jwk...)
	}
	return append(b, "]}"...)
}

// JWKS returns the JWK Set of the keys tokens verify with: the current
// key, the previous period's (while it exists) and the next one. If the key
// store fails at a period change, it returns the last set it knew.
func (k *Keys) JWKS() []byte {
	return bytes.Clone(k.publicSet(nil).jwks)
}

// ServeJWKS answers GET and HEAD with the JWK Set (the jwks_uri of
// RFC 8414 §2). Caches may keep it for the max-age it sends, which is
// shorter than a rotation period, and the next key is published one period
// before it signs, so a cached set always knows the signing key.
func (k *Keys) ServeJWKS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	body := k.publicSet(r).jwks
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(k.maxAge))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
