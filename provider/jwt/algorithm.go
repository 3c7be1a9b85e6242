package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Algorithm is the JWS "alg" (RFC 7515 §4.1.1) tokens are signed with.
type Algorithm string

// The algorithms Keys can sign and verify with.
const (
	// EdDSA is Ed25519 (RFC 8037 §3.1): small keys, fast, deterministic.
	// The default.
	EdDSA Algorithm = "EdDSA"
	// ES256 is ECDSA on P-256 with SHA-256 (RFC 7518 §3.4).
	ES256 Algorithm = "ES256"
	// RS256 is RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3), with 2048-bit
	// keys, for verifiers that know nothing else.
	RS256 Algorithm = "RS256"
)

// rsaBits is the size of generated RSA keys, the minimum RFC 7518 §3.3
// allows; loaded keys may be larger, up to rsaMaxBits.
const (
	rsaBits    = 2048
	rsaMaxBits = 4096
)

// es256Size is the length of an ES256 signature: R and S as 32-byte
// big-endian integers, concatenated (RFC 7518 §3.4), not ASN.1.
const es256Size = 64

func (a Algorithm) valid() bool {
	return a == EdDSA || a == ES256 || a == RS256
}

// generate makes a new private key and returns it as PKCS#8 DER, the form
// it is stored in.
func (a Algorithm) generate() ([]byte, error) {
	var priv any
	var err error
	switch a {
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	default:
		return nil, fmt.Errorf("jwt: unsupported algorithm %q", a)
	}
	if err != nil {
		return nil, err
	}
	return x509.MarshalPKCS8PrivateKey(priv)
}

// signingKey is one key of a key set: its private half signs, its public
// half verifies and is published. Immutable once made.
type signingKey struct {
	alg    Algorithm
	period int64  // the rotation period it signs in
	kid    string // RFC 7638 thumbprint
	header string // base64url JOSE header of tokens it signs
	jwk    []byte // public JWK, RFC 7517 §4

	ed  ed25519.PrivateKey
	ec  *ecdsa.PrivateKey
	rsa *rsa.PrivateKey

	edPub  ed25519.PublicKey
	ecPub  *ecdsa.PublicKey
	rsaPub *rsa.PublicKey
}

// parseKey reads a stored PKCS#8 key and checks it is a key for alg, so a
// key stored under the wrong name can never sign with another algorithm.
func parseKey(alg Algorithm, period int64, der []byte) (*signingKey, error) {
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("jwt: stored %s key: %w", alg, err)
	}
	k := &signingKey{alg: alg, period: period}
	wrong := fmt.Errorf("jwt: stored key is a %T, not a %s key", priv, alg)
	switch alg {
	case EdDSA:
		p, ok := priv.(ed25519.PrivateKey)
		if !ok {
			return nil, wrong
		}
		k.ed, k.edPub = p, p.Public().(ed25519.PublicKey)
	case ES256:
		p, ok := priv.(*ecdsa.PrivateKey)
		if !ok || p.Curve != elliptic.P256() {
			return nil, wrong
		}
		k.ec, k.ecPub = p, &p.PublicKey
	case RS256:
		p, ok := priv.(*rsa.PrivateKey)
		if !ok {
			return nil, wrong
		}
		if bits := p.N.BitLen(); bits < rsaBits || bits > rsaMaxBits {
			return nil, fmt.Errorf("jwt: stored RSA key has %d bits, want %d to %d", bits, rsaBits, rsaMaxBits)
		}
		k.rsa, k.rsaPub = p, &p.PublicKey
	default:
		return nil, fmt.Errorf("jwt: unsupported algorithm %q", alg)
	}
	if err := k.describe(); err != nil {
		return nil, err
	}
	return k, nil
}

// sign returns the JWS signature of the signing input (RFC 7515 §5.1).
func (k *signingKey) sign(input []byte) ([]byte, error) {
	switch k.alg {
	case EdDSA:
		return ed25519.Sign(k.ed, input), nil
	case ES256:
		h := sha256.Sum256(input)
		der, err := ecdsa.SignASN1(rand.Reader, k.ec, h[:])
		if err != nil {
			return nil, err
		}
		return ecdsaRaw(der)
	case RS256:
		h := sha256.Sum256(input)
		return rsa.SignPKCS1v15(rand.Reader, k.rsa, crypto.SHA256, h[:])
	}
	return nil, errors.New("jwt: no signing key")
}

// verify checks sig over input. It never panics: every length is checked
// before the primitives see it.
func (k *signingKey) verify(input, sig []byte) bool {
	switch k.alg {
	case EdDSA:
		return len(sig) == ed25519.SignatureSize && ed25519.Verify(k.edPub, input, sig)
	case ES256:
		if len(sig) != es256Size {
			return false
		}
		var buf [2 + 2*(2+33)]byte
		der := ecdsaDER(buf[:0], sig)
		if der == nil {
			return false
		}
		h := sha256.Sum256(input)
		return ecdsa.VerifyASN1(k.ecPub, h[:], der)
	case RS256:
		if len(sig) != k.rsaPub.Size() {
			return false
		}
		h := sha256.Sum256(input)
		return rsa.VerifyPKCS1v15(k.rsaPub, crypto.SHA256, h[:], sig) == nil
	}
	return false
}

// ecdsaRaw turns an ASN.1 ECDSA-Sig-Value into R || S, each left-padded to
// 32 bytes (RFC 7518 §3.4).
func ecdsaRaw(der []byte) ([]byte, error) {
	var r, s []byte
	in, seq := cryptobyte.String(der), cryptobyte.String(nil)
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Integer(&r) || !seq.ReadASN1Integer(&s) || !seq.Empty() ||
		len(r) > es256Size/2 || len(s) > es256Size/2 {
		return nil, errors.New("jwt: malformed ECDSA signature")
	}
	out := make([]byte, es256Size)
	copy(out[es256Size/2-len(r):es256Size/2], r)
	copy(out[es256Size-len(s):], s)
	return out, nil
}

// ecdsaDER appends the ASN.1 ECDSA-Sig-Value of a raw R || S signature to b,
// or returns nil if R or S is zero (never a valid signature).
func ecdsaDER(b, raw []byte) []byte {
	r, s := trimZeros(raw[:len(raw)/2]), trimZeros(raw[len(raw)/2:])
	if len(r) == 0 || len(s) == 0 {
		return nil
	}
	// Each INTEGER is at most 2+33 bytes, so every length fits one octet.
	b = append(b, 0x30, byte(intLen(r)+intLen(s)))
	b = appendInt(b, r)
	return appendInt(b, s)
}

func trimZeros(v []byte) []byte {
	for len(v) > 0 && v[0] == 0 {
		v = v[1:]
	}
	return v
}

// intLen is the DER length of a positive INTEGER with magnitude v.
func intLen(v []byte) int {
	if v[0]&0x80 != 0 {
		return 2 + 1 + len(v)
	}
	return 2 + len(v)
}

func appendInt(b, v []byte) []byte {
	if v[0]&0x80 != 0 {
		b = append(b, 0x02, byte(len(v)+1), 0)
	} else {
		b = append(b, 0x02, byte(len(v)))
	}
	return append(b, v...)
}
