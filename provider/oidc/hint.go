package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider/jwt"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
)

// hintClaims are what an id_token_hint is checked by. aud is a string in
// the ID tokens of this server, but RFC 7519 §4.1.3 allows an array.
type hintClaims struct {
	Iss string          `json:"iss"`
	Sub string          `json:"sub"`
	Aud json.RawMessage `json:"aud"`
	Azp string          `json:"azp"`
	Exp float64         `json:"exp"`
}

// invalidHint is the refusal of an id_token_hint; it matches
// jwt.ErrInvalidToken like every refusal of the signature check.
func invalidHint(reason string) error {
	return fmt.Errorf("%w: %s", jwt.ErrInvalidToken, reason)
}

// IDTokenHint verifies an id_token_hint (Core §3.1.2.1, RP-Initiated
// Logout §2): an ID token this server issued, signed with one of its
// published ID token keys, with iss its issuer. The client is its aud (or,
// with several audiences, its azp, which must be one of them). Expiry is
// not checked: the spec lets a relying party send an expired ID token as a
// hint, and the key it verifies with is only published for two rotation
// periods anyway, which bounds how old a hint can be. Refusals match
// jwt.ErrInvalidToken; any other error is the key store's.
func (p *Provider) IDTokenHint(ctx context.Context, raw string) (oauth2.IDTokenHint, error) {
	var h oauth2.IDTokenHint
	b, err := p.verifyOwn(ctx, raw)
	if err != nil {
		return h, err
	}
	var c hintClaims
	if err := json.Unmarshal(b, &c); err != nil {
		return h, invalidHint("malformed claims")
	}
	if c.Iss != p.cfg.Issuer {
		return h, invalidHint("wrong issuer")
	}
	if c.Sub == "" {
		return h, invalidHint("no subject")
	}
	var aud []string
	var one string
	if json.Unmarshal(c.Aud, &one) == nil {
		aud = []string{one}
	} else if json.Unmarshal(c.Aud, &aud) != nil {
		return h, invalidHint("malformed audience")
	}
	switch {
	case len(aud) == 1 && aud[0] != "" && (c.Azp == "" || c.Azp == aud[0]):
		h.ClientID = aud[0]
	case len(aud) > 1 && c.Azp != "" && slices.Contains(aud, c.Azp):
		h.ClientID = c.Azp
	default:
		return h, invalidHint("no single client in the audience")
	}
	h.Subject = c.Sub
	if c.Exp > 0 && c.Exp < 1<<40 {
		h.ExpiresAt = time.Unix(int64(c.Exp), 0)
	}
	return h, nil
}

// verifyOwn checks raw's signature with the ID token keys of each
// algorithm (a client may have its ID tokens in the second one) and
// returns its payload. A store error ends the search.
func (p *Provider) verifyOwn(ctx context.Context, raw string) ([]byte, error) {
	var err error
	for _, k := range p.sets {
		var b []byte
		if b, err = k.VerifyJSON(ctx, raw); err == nil || !errors.Is(err, jwt.ErrInvalidToken) {
			return b, err
		}
	}
	return nil, err
}

// Subject is the sub the ID tokens of username carry, for comparing a
// signed-in user with an id_token_hint.
func (p *Provider) Subject(ctx context.Context, username string) (string, error) {
	return p.subjectOf(ctx, username)
}
