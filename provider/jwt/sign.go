package jwt

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"
)

// jtiBytes is the entropy of a generated jti: 128 bits, so two tokens
// never share one (RFC 7519 §4.1.7).
const jtiBytes = 16

// Sign issues an access token for c with the current key: JWS compact
// serialization (RFC 7515 §7.1) of a header {"typ":"at+jwt","alg","kid"}
// (RFC 9068 §2.1) and the claims of RFC 9068 §2.2 (iss, sub, aud,
// client_id, scope, jti, iat, exp, and username when set). Empty fields get
// the defaults Claims describes. The token must expire within one rotation
// period of its issue, so that a key it was signed with is still published
// when it is presented.
func (k *Keys) Sign(ctx context.Context, c Claims) (string, error) {
	set, err := k.keys(ctx)
	if err != nil {
		return "", err
	}
	key := set.current

	iss := c.Issuer
	if iss == "" {
		iss = k.issuer
	}
	if iss == "" {
		return "", errors.New("jwt: token has no issuer")
	}
	if c.ClientID == "" {
		return "", errors.New("jwt: token has no client_id")
	}
	sub := c.Subject
	if sub == "" {
		sub = c.ClientID
	}
	aud := c.Audience
	if len(aud) == 0 {
		aud = k.audience
	}
	if len(aud) == 0 {
		aud = []string{iss}
	}
	for _, a := range aud {
		if a == "" {
			return "", errors.New("jwt: empty audience")
		}
	}
	issued := c.IssuedAt
	if issued.IsZero() {
		issued = k.clock.Now()
	}
	iat, exp := issued.Unix(), c.ExpiresAt.Unix()
	if c.ExpiresAt.IsZero() || exp <= iat {
		return "", errors.New("jwt: token must expire after it is issued")
	}
	if exp-iat > k.rotation {
		return "", fmt.Errorf("jwt: token lifetime %v exceeds the key rotation period %v",
			time.Duration(exp-iat)*time.Second, time.Duration(k.rotation)*time.Second)
	}
	jti := c.JTI
	if jti == "" {
		var r [jtiBytes]byte
		_, _ = rand.Read(r[:]) // never fails (crypto/rand, Go 1.24+)
		jti = b64.EncodeToString(r[:])
	}

	var pbuf [512]byte
	p := appendPayload(pbuf[:0], iss, sub, aud, &c, jti, iat, exp)

	sigLen := b64.EncodedLen(maxSigLen(key))
	out := make([]byte, 0, len(key.header)+1+b64.EncodedLen(len(p))+1+sigLen)
	out = append(out, key.header...)
	out = append(out, '.')
	out = b64.AppendEncode(out, p)
	sig, err := key.sign(out)
	if err != nil {
		return "", fmt.Errorf("jwt: signing: %w", err)
	}
	out = append(out, '.')
	out = b64.AppendEncode(out, sig)
	return string(out), nil
}

func maxSigLen(k *signingKey) int {
	switch k.alg {
	case RS256:
		return k.rsaPub.Size()
	default:
		return 64
	}
}
