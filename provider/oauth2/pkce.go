package oauth2

import (
	"crypto/sha256"
	"encoding/base64"

	"github.com/caddy-oauth/caddy-oauth/provider"
)

// PKCE code challenge methods (RFC 7636 §4.2).
const (
	MethodS256  = "S256"
	MethodPlain = "plain"
)

// validPKCEValue checks the code_verifier / code_challenge syntax of RFC
// 7636 §4.1 and §4.2: 43 to 128 unreserved characters.
func validPKCEValue(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// S256Challenge is BASE64URL(SHA256(verifier)) (RFC 7636 §4.2).
func S256Challenge(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// checkPKCE verifies the token request's code_verifier against what the
// authorization request sent (RFC 7636 §4.6), and refuses a verifier for a
// code issued without a challenge: that is a downgrade attempt (RFC 9700
// §4.8.2), an attacker injecting a code obtained without PKCE.
func checkPKCE(challenge, method, verifier string) *provider.Error {
	switch {
	case challenge == "" && verifier == "":
		return nil
	case challenge == "":
		return provider.ErrInvalidGrant("code_verifier sent but the authorization request had no code_challenge")
	case verifier == "":
		return provider.ErrInvalidGrant("code_verifier required")
	case !validPKCEValue(verifier):
		return provider.ErrInvalidGrant("malformed code_verifier")
	}
	var computed string
	switch method {
	case MethodS256:
		computed = S256Challenge(verifier)
	case MethodPlain, "":
		computed = verifier
	default:
		return provider.ErrInvalidGrant("unknown code_challenge_method")
	}
	if !provider.Equal(computed, challenge) {
		return provider.ErrInvalidGrant("code_verifier does not match the code_challenge")
	}
	return nil
}
