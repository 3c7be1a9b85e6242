package remote

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
)

// maxTokenLen bounds what is parsed: access tokens of the big issuers are
// a few kilobytes at most.
const maxTokenLen = 16 << 10

// errInvalid is every refusal of a token as such (401 invalid_token).
var errInvalid = errors.New("invalid token")

// jwtParts splits a compact JWS into its three segments, or reports that
// token is not one (then it may be an opaque token for introspection).
func jwtParts(token string) (header, payload, sig string, ok bool) {
	if len(token) > maxTokenLen || strings.Count(token, ".") != 2 {
		return "", "", "", false
	}
	header, rest, _ := strings.Cut(token, ".")
	payload, sig, _ = strings.Cut(rest, ".")
	return header, payload, sig, header != "" && payload != ""
}

type jwsHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Typ  string          `json:"typ"`
	Crit json.RawMessage `json:"crit"`
}

// claims is what an access token (a JWT's payload or an introspection
// answer) says of itself.
type claims map[string]any

func (c claims) str(name string) string {
	s, _ := c[name].(string)
	return s
}

// num reads a NumericDate; NaN when absent or not a number.
func (c claims) num(name string) float64 {
	if f, ok := c[name].(float64); ok {
		return f
	}
	return math.NaN()
}

// strs reads a string or an array of strings.
func (c claims) strs(name string) []string {
	switch v := c[name].(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// identity maps claims onto who the token stands for. The user is the
// RFC 7662 username if there is one, else sub, unless sub is the client
// itself (RFC 9068 §2.2: client_credentials tokens); the client is
// client_id (RFC 9068, RFC 7662), else azp (OpenID), else cid (Okta);
// scopes come from scope (space-separated) or scp (array or string).
func (c claims) identity() *provider.Identity {
	client := c.str("client_id")
	for _, alt := range []string{"azp", "cid"} {
		if client == "" {
			client = c.str(alt)
		}
	}
	user := c.str("username")
	if sub := c.str("sub"); user == "" && sub != client {
		user = sub
	}
	var scopes []string
	if s, ok := c["scope"].(string); ok {
		scopes = provider.ParseScope(s)
	} else if _, ok := c["scp"].([]any); ok {
		scopes = c.strs("scp")
	} else if s, ok := c["scp"].(string); ok {
		scopes = provider.ParseScope(s)
	}
	id := &provider.Identity{User: user, ClientID: client, Scopes: scopes, Protocol: provider.ProtocolOAuth2, Claims: map[string]any(c)}
	if exp := c.num("exp"); !math.IsNaN(exp) {
		id.ExpiresAt = time.Unix(int64(exp), 0)
	}
	return id
}

// checkTimes applies exp (required), nbf and iat with leeway.
func (c claims) checkTimes(now time.Time, leeway time.Duration) error {
	t := float64(now.UnixNano()) / 1e9
	l := leeway.Seconds()
	exp := c.num("exp")
	if math.IsNaN(exp) || !(exp > t-l) {
		return errInvalid
	}
	if nbf := c.num("nbf"); !math.IsNaN(nbf) && nbf > t+l {
		return errInvalid
	}
	if iat := c.num("iat"); !math.IsNaN(iat) && iat > t+l {
		return errInvalid
	}
	return nil
}

// checkAudience: with audiences configured, aud must name one of them.
func (c claims) checkAudience(want []string) error {
	if len(want) == 0 {
		return nil
	}
	aud := c.strs("aud")
	if slices.ContainsFunc(want, func(a string) bool { return slices.Contains(aud, a) }) {
		return nil
	}
	return errInvalid
}

// typeMatches compares a JWS typ with the required one as media types:
// case-insensitively, "application/" optional (RFC 7515 §4.1.9).
func typeMatches(typ, want string) bool {
	norm := func(s string) string { return strings.TrimPrefix(strings.ToLower(s), "application/") }
	return norm(typ) == norm(want)
}

var b64 = base64.RawURLEncoding.Strict()

// decodeJSON decodes a base64url segment holding a JSON object, numbers
// as float64.
func decodeJSON(seg string, v any) error {
	b, err := b64.DecodeString(seg)
	if err != nil {
		return errInvalid
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return errInvalid
	}
	return nil
}
