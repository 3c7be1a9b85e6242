package jwt

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SignJSON signs a claims set the caller rendered (a JSON object) with the
// current key. The header is {"typ":"JWT","alg","kid"}, not at+jwt, so
// such a token (an OpenID Connect ID token) is never taken for an access
// token by Verify (RFC 9068 §4, RFC 8725 §3.11). The caller keeps exp
// within one rotation period of iat, so that the key is still published
// when the token is checked.
func (k *Keys) SignJSON(ctx context.Context, claims []byte) (string, error) {
	if len(claims) < 2 || claims[0] != '{' || claims[len(claims)-1] != '}' {
		return "", errors.New("jwt: claims must be a JSON object")
	}
	set, err := k.keys(ctx)
	if err != nil {
		return "", err
	}
	key := set.current
	header := `{"typ":"JWT","alg":"` + string(key.alg) + `","kid":"` + key.kid + `"}`
	out := make([]byte, 0, b64.EncodedLen(len(header))+1+b64.EncodedLen(len(claims))+1+b64.EncodedLen(maxSigLen(key)))
	out = b64.AppendEncode(out, []byte(header))
	out = append(out, '.')
	out = b64.AppendEncode(out, claims)
	sig, err := key.sign(out)
	if err != nil {
		return "", fmt.Errorf("jwt: signing: %w", err)
	}
	out = append(out, '.')
	out = b64.AppendEncode(out, sig)
	return string(out), nil
}

// VerifyJSON checks a token SignJSON made and returns its claims set, the
// JSON object it signed: three base64url segments, header typ JWT, alg
// the configured one, kid one of the published keys (the current and the
// previous period's), no crit, and a valid signature. The claims are the
// caller's to check (iss, aud, exp): VerifyJSON knows nothing of them.
// Refusals wrap ErrInvalidToken; other errors are the key store's.
func (k *Keys) VerifyJSON(ctx context.Context, token string) ([]byte, error) {
	if len(token) > maxTokenLen {
		return nil, errMalformed
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errMalformed
	}
	for _, p := range parts {
		for i := 0; i < len(p); i++ {
			if !isBase64URL(p[i]) {
				return nil, errMalformed
			}
		}
	}
	set, err := k.keys(ctx)
	if err != nil {
		return nil, err
	}
	key, err := set.keyFor(parts[0], k.alg, isPlainJWTType)
	if err != nil {
		return nil, err
	}
	if b64.DecodedLen(len(parts[2])) > rsaMaxBits/8 {
		return nil, errSignature
	}
	claims, err1 := b64Strict.DecodeString(parts[1])
	sig, err2 := b64Strict.DecodeString(parts[2])
	if err1 != nil || err2 != nil || len(claims) < 2 || claims[0] != '{' {
		return nil, errMalformed
	}
	k.signatureChecks.Add(1)
	if !key.verify([]byte(token[:len(parts[0])+1+len(parts[1])]), sig) {
		return nil, errSignature
	}
	return claims, nil
}

// isPlainJWTType: the typ SignJSON writes, JWT (any case, "application/"
// optional, RFC 7515 §4.1.9), so an access token (at+jwt) is never taken
// for an ID token either.
func isPlainJWTType(typ string) bool {
	return strings.EqualFold(typ, "JWT") || strings.EqualFold(typ, "application/jwt")
}

// Rotation returns how long one key signs.
func (k *Keys) Rotation() time.Duration { return time.Duration(k.rotation) * time.Second }

// ServeKeySets answers GET and HEAD with one JWK Set holding the keys of
// every non-nil sets (access token and ID token keys share one jwks_uri,
// RFC 8414 §2 and OpenID Connect Discovery §3), cacheable for the shortest
// max-age among them.
func ServeKeySets(w http.ResponseWriter, r *http.Request, sets ...*Keys) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	body := []byte(`{"keys":[`)
	maxAge, n := -1, 0
	for _, k := range sets {
		if k == nil {
			continue
		}
		if maxAge < 0 || k.maxAge < maxAge {
			maxAge = k.maxAge
		}
		for _, sk := range k.publicSet(r).keys {
			if n > 0 {
				body = append(body, ',')
			}
			body = append(body, sk.jwk...)
			n++
		}
	}
	body = append(body, "]}"...)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(max(maxAge, 0)))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
