package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/caddy-oauth/caddy-oauth/provider/jwt"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
)

// idClaims are the claims of an ID token (Core §2, §3.1.3.6).
type idClaims struct {
	Iss      string `json:"iss"`
	Sub      string `json:"sub"`
	Aud      string `json:"aud"`
	Exp      int64  `json:"exp"`
	Iat      int64  `json:"iat"`
	AuthTime int64  `json:"auth_time"`
	Nonce    string `json:"nonce,omitempty"`
	AtHash   string `json:"at_hash"`
	Azp      string `json:"azp"`
	// AMR is how the user authenticated (Core §2, RFC 8176), when known.
	AMR []string `json:"amr,omitempty"`
}

// IDToken signs the ID token of t: sub the user's subject (subjectOf), aud and azp the client
// (azp names the one party it was issued to, Core §2), exp that of the
// access token, nonce exactly as the authorization request sent it, and
// at_hash binding it to the access token issued with it (§3.1.3.6).
func (p *Provider) IDToken(ctx context.Context, t oauth2.IDTokenRequest) (string, error) {
	if t.User == "" || t.ClientID == "" {
		return "", errors.New("oidc: an ID token needs a user and a client")
	}
	alg := t.Algorithm
	if alg == "" {
		alg = string(jwt.RS256)
	}
	keys := p.byAlg[alg]
	if keys == nil {
		return "", fmt.Errorf("%w: %q", oauth2.ErrIDTokenAlgorithm, alg)
	}
	iat, exp := t.IssuedAt.Unix(), t.ExpiresAt.Unix()
	if exp <= iat || t.ExpiresAt.Sub(t.IssuedAt) > keys.Rotation() {
		return "", errors.New("oidc: ID token lifetime outside (0, key rotation]")
	}
	// The one mapping from user to sub, shared with the id_token_hint
	// checks (hint.go).
	sub, err := p.subjectOf(ctx, t.User)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(idClaims{
		Iss: p.cfg.Issuer, Sub: sub, Aud: t.ClientID,
		Exp: exp, Iat: iat, AuthTime: t.AuthTime.Unix(),
		Nonce: t.Nonce, AtHash: atHash(t.AccessToken), Azp: t.ClientID, AMR: t.AMR,
	})
	if err != nil {
		return "", err
	}
	return keys.SignJSON(ctx, b)
}

// atHash is the base64url of the left half of the SHA-256 of the access
// token's ASCII octets: SHA-256 for RS256's hash (Core §3.1.3.6).
func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}
