package jwt

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
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
