package jwt

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"time"
)

// Size limits: a token of ours is a few hundred bytes; anything much larger
// is refused before any decoding.
const (
	maxTokenLen  = 8 << 10
	maxHeaderLen = 1 << 10 // base64url characters
)

// Verify checks an access token and returns its claims: Check, then
// VerifySignature. Refusals wrap ErrInvalidToken; it never panics.
func (k *Keys) Verify(token string, now time.Time) (*Claims, error) {
	u, err := k.Check(token, now)
	if err != nil {
		return nil, err
	}
	return u.VerifySignature()
}

// Unverified is a token that passed every check but the signature. Its
// claims must not be trusted before VerifySignature succeeds.
type Unverified struct {
	key    *signingKey
	signed []byte // header.payload, the signing input
	sig    []byte
	claims *Claims
	keys   *Keys
}

// Check applies every check that costs no signature verification, so that
// well-formed garbage is refused cheaply (RFC 9068 §4, RFC 8725 §3):
// exactly three base64url segments; header typ at+jwt (or
// application/at+jwt, any case), alg exactly the configured algorithm, kid
// one of the published keys, no crit; then exp after now (minus the
// leeway), nbf if present not after now (plus the leeway), iss equal to
// the configured issuer, an audience that includes one of the configured
// ones, and sub, client_id, jti and iat present. Parsing the payload
// before its signature is checked is safe: it is size-bounded, strictly
// decoded, and nothing it says is used unless the signature verifies.
func (k *Keys) Check(token string, now time.Time) (*Unverified, error) {
	if k.issuer == "" {
		return nil, errors.New("jwt: no issuer configured (WithIssuer)")
	}
	if len(token) > maxTokenLen {
		return nil, errMalformed
	}
	// Only base64url and the two dots: the decoder would otherwise skip
	// CR and LF, and anything else has no business in a token.
	dots := 0
	for i := 0; i < len(token); i++ {
		c := token[i]
		if c == '.' {
			dots++
		} else if !isBase64URL(c) {
			return nil, errMalformed
		}
	}
	if dots != 2 {
		return nil, errMalformed
	}
	d1 := strings.IndexByte(token, '.')
	d2 := d1 + 1 + strings.IndexByte(token[d1+1:], '.')
	header, body, sig := token[:d1], token[d1+1:d2], token[d2+1:]

	set, err := k.keys(context.Background())
	if err != nil {
		return nil, err
	}
	key, err := set.keyFor(header, k.alg, isAccessTokenType)
	if err != nil {
		return nil, err
	}
	if b64.DecodedLen(len(sig)) > rsaMaxBits/8 {
		return nil, errSignature
	}

	// One allocation holds the token as bytes (the signing input), then
	// the decoded payload, then the decoded signature.
	b := make([]byte, len(token), len(token)+b64.DecodedLen(len(body))+b64.DecodedLen(len(sig)))
	copy(b, token)
	raw := b[len(token) : len(token)+b64.DecodedLen(len(body))]
	n, err := b64Strict.Decode(raw, b[d1+1:d2])
	if err != nil {
		return nil, errMalformed
	}
	p := payload{Iat: math.NaN(), Exp: math.NaN(), Nbf: math.NaN()}
	if err := json.Unmarshal(raw[:n], &p); err != nil {
		return nil, errMalformed
	}
	claims, err := k.checkClaims(&p, now)
	if err != nil {
		return nil, err
	}
	sigBuf := b[len(token)+len(raw) : cap(b)]
	m, err := b64Strict.Decode(sigBuf, b[d2+1:])
	if err != nil {
		return nil, errMalformed
	}
	return &Unverified{key: key, signed: b[:d2], sig: sigBuf[:m], claims: claims, keys: k}, nil
}

// Claims are the token's claims, not yet authenticated: good for cheap
// look-ups (is this jti ours?), never for a decision on their own.
func (u *Unverified) Claims() *Claims { return u.claims }

// VerifySignature checks the signature with the key the header named and
// returns the claims.
func (u *Unverified) VerifySignature() (*Claims, error) {
	u.keys.signatureChecks.Add(1)
	if !u.key.verify(u.signed, u.sig) {
		return nil, errSignature
	}
	return u.claims, nil
}

// SignatureChecks counts the signature verifications so far: the costly
// step that Check lets garbage avoid.
func (k *Keys) SignatureChecks() uint64 { return k.signatureChecks.Load() }

// checkClaims applies the claim checks of RFC 9068 §4 to a payload.
func (k *Keys) checkClaims(p *payload, now time.Time) (*Claims, error) {
	t := float64(now.Unix()) + float64(now.Nanosecond())/1e9
	if math.IsNaN(p.Exp) || math.IsNaN(p.Iat) || p.Sub == "" || p.ClientID == "" || p.Jti == "" {
		return nil, errClaims
	}
	// RFC 7519 §4.1.4: not accepted on or after exp.
	if !(p.Exp > t-k.leeway) {
		return nil, ErrExpired
	}
	if !math.IsNaN(p.Nbf) && p.Nbf > t+k.leeway {
		return nil, errNotYetValid
	}
	if p.Iss != k.issuer {
		return nil, errIssuer
	}
	if !slices.ContainsFunc(k.audience, func(a string) bool { return slices.Contains(p.Aud, a) }) {
		return nil, errAudience
	}
	return &Claims{
		Issuer:    p.Iss,
		Subject:   p.Sub,
		Audience:  p.Aud,
		ClientID:  p.ClientID,
		Scope:     p.Scope,
		JTI:       p.Jti,
		IssuedAt:  numericTime(p.Iat),
		ExpiresAt: numericTime(p.Exp),
		Username:  p.Username,
	}, nil
}

func isBase64URL(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// keyFor returns the key a token header names, if its typ passes typOK.
// Access tokens of ours carry the exact header their key made, found
// without decoding; any other header is decoded and checked member by
// member, so the refusal says why.
func (s *keySet) keyFor(header string, alg Algorithm, typOK func(string) bool) (*signingKey, error) {
	for _, sk := range s.keys {
		if header == sk.header && typOK("at+jwt") {
			return sk, nil
		}
	}
	if len(header) > maxHeaderLen {
		return nil, errMalformed
	}
	var buf [maxHeaderLen * 3 / 4]byte
	n, err := b64Strict.Decode(buf[:], []byte(header))
	if err != nil {
		return nil, errMalformed
	}
	// A map, not a struct: header parameter names are case-sensitive
	// (RFC 7515 §4), encoding/json's struct fields are not.
	var h map[string]json.RawMessage
	if err := json.Unmarshal(buf[:n], &h); err != nil || h == nil {
		return nil, errMalformed
	}
	hAlg, err1 := headerString(h, "alg")
	typ, err2 := headerString(h, "typ")
	kid, err3 := headerString(h, "kid")
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, errMalformed
	}
	// RFC 8725 §3.1: the algorithm is the one configured, never what the
	// token asks for; this also refuses "none" and every HMAC.
	if hAlg != string(alg) {
		return nil, errAlgorithm
	}
	if !typOK(typ) {
		return nil, errType
	}
	// RFC 7515 §4.1.11: extensions we do not understand must be refused.
	if _, ok := h["crit"]; ok {
		return nil, errCritical
	}
	for _, sk := range s.keys {
		if kid == sk.kid {
			return sk, nil
		}
	}
	return nil, errUnknownKey
}

// headerString reads a string header parameter; absent or null is "".
func headerString(h map[string]json.RawMessage, name string) (string, error) {
	raw, ok := h[name]
	if !ok {
		return "", nil
	}
	var v string
	err := json.Unmarshal(raw, &v)
	return v, err
}

// isAccessTokenType reports whether typ is at+jwt (RFC 9068 §2.1, §4): a
// media type, compared case-insensitively, "application/" optional
// (RFC 7515 §4.1.9).
func isAccessTokenType(typ string) bool {
	return strings.EqualFold(typ, "at+jwt") || strings.EqualFold(typ, "application/at+jwt")
}
