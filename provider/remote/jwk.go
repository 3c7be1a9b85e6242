package remote

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash"
	"math/big"
	"slices"
)

// key is one verification key of an issuer's JWK Set.
type key struct {
	kid string
	// algs are the JWS algorithms this key may verify: its "alg" member
	// if it has one, else what its type and curve allow. Never "none" or
	// an HMAC: a public key is not a shared secret (RFC 8725 §3.1).
	algs []string
	pub  crypto.PublicKey
}

// jwk is the subset of RFC 7517/7518/8037 members read.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// parseJWKS reads a JWK Set; keys that are not for signatures, of a type
// or curve not supported, or malformed are skipped (an issuer may publish
// encryption keys or algorithms we do not verify next to usable ones).
func parseJWKS(b []byte) ([]*key, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, errors.New("the JWK Set is not valid JSON")
	}
	var out []*key
	for _, raw := range set.Keys {
		var j jwk
		if json.Unmarshal(raw, &j) != nil || (j.Use != "" && j.Use != "sig") {
			continue
		}
		if k, err := j.key(); err == nil {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("the JWK Set has no usable signature key")
	}
	return out, nil
}

func (j *jwk) key() (*key, error) {
	k := &key{kid: j.Kid}
	switch j.Kty {
	case "RSA":
		n, err1 := b64int(j.N)
		e, err2 := b64int(j.E)
		if err1 != nil || err2 != nil || !e.IsInt64() || e.Int64() < 3 || n.BitLen() < 2048 {
			return nil, errors.New("bad RSA key (at least 2048 bits)")
		}
		k.pub = &rsa.PublicKey{N: n, E: int(e.Int64())}
		k.algs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	case "EC":
		var curve elliptic.Curve
		var alg string
		switch j.Crv {
		case "P-256":
			curve, alg = elliptic.P256(), "ES256"
		case "P-384":
			curve, alg = elliptic.P384(), "ES384"
		case "P-521":
			curve, alg = elliptic.P521(), "ES512"
		default:
			return nil, errors.New("unsupported curve")
		}
		x, err1 := b64int(j.X)
		y, err2 := b64int(j.Y)
		if err1 != nil || err2 != nil || !curve.IsOnCurve(x, y) {
			return nil, errors.New("bad EC key")
		}
		k.pub = &ecdsa.PublicKey{Curve: curve, X: x, Y: y}
		k.algs = []string{alg}
	case "OKP":
		x, err := base64.RawURLEncoding.DecodeString(j.X)
		if j.Crv != "Ed25519" || err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("bad OKP key")
		}
		k.pub = ed25519.PublicKey(x)
		k.algs = []string{"EdDSA", "Ed25519"}
	default:
		return nil, errors.New("unsupported key type")
	}
	if j.Alg != "" {
		if !slices.Contains(k.algs, j.Alg) {
			return nil, errors.New("alg does not fit the key")
		}
		k.algs = []string{j.Alg}
	}
	return k, nil
}

func b64int(s string) (*big.Int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, errors.New("bad base64url integer")
	}
	return new(big.Int).SetBytes(b), nil
}

// verify checks sig over input with alg, which the caller has matched
// against k.algs.
func (k *key) verify(alg string, input, sig []byte) bool {
	switch pub := k.pub.(type) {
	case *rsa.PublicKey:
		h, ch := hashFor(alg[2:])
		if h == nil {
			return false
		}
		h.Write(input)
		if alg[0] == 'P' {
			return rsa.VerifyPSS(pub, ch, h.Sum(nil), sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}
		return rsa.VerifyPKCS1v15(pub, ch, h.Sum(nil), sig) == nil
	case *ecdsa.PublicKey:
		size := (pub.Curve.Params().BitSize + 7) / 8
		h, _ := hashFor(alg[2:])
		if h == nil || len(sig) != 2*size {
			return false
		}
		h.Write(input)
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(pub, h.Sum(nil), r, s)
	case ed25519.PublicKey:
		return ed25519.Verify(pub, input, sig)
	}
	return false
}

func hashFor(bits string) (hash.Hash, crypto.Hash) {
	switch bits {
	case "256":
		return sha256.New(), crypto.SHA256
	case "384":
		return sha512.New384(), crypto.SHA384
	case "512":
		return sha512.New(), crypto.SHA512
	}
	return nil, 0
}
