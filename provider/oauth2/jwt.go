package oauth2

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/jwt"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// newJWTKeys builds the signing keys of TokenFormatJWT from the store (nil
// for opaque tokens). cfg.AccessTokenTTL is already defaulted. The keys
// live in the store, so every Server over one store (a reload, a second
// engine) signs and verifies with the same ones.
func newJWTKeys(cfg *Config, ks store.KeyStore) (*jwt.Keys, error) {
	switch cfg.TokenFormat {
	case "", TokenFormatOpaque:
		return nil, nil
	case TokenFormatJWT:
	default:
		return nil, fmt.Errorf("oauth2: unknown token format %q (want %s or %s)", cfg.TokenFormat, TokenFormatOpaque, TokenFormatJWT)
	}
	rotation := cfg.JWTKeyRotation
	if rotation == 0 {
		rotation = jwt.DefaultRotation
	}
	// A token must expire while the key that signed it is still published
	// (the current and the previous period's), which jwt.Keys.Sign enforces
	// per token; refuse the configuration instead of every token request.
	if cfg.AccessTokenTTL > rotation {
		return nil, fmt.Errorf("oauth2: the access token lifetime %v exceeds the JWT key rotation period %v", cfg.AccessTokenTTL, rotation)
	}
	keys, err := jwt.NewKeys(context.Background(), ks, cfg.JWTAlgorithm, rotation, cfg.Clock,
		jwt.WithIssuer(cfg.Issuer), jwt.WithAudience(cfg.Audience...))
	if err != nil {
		return nil, fmt.Errorf("oauth2: %w", err)
	}
	return keys, nil
}

// JWTKeys returns the keys JWT access tokens are signed with, or nil when
// the server issues opaque tokens.
func (s *Server) JWTKeys() *jwt.Keys { return s.keys }

// signAccess makes an RFC 9068 access token (§2.2): sub is the resource
// owner, or the client itself for a client_credentials token, aud the
// configured audience, and jti a fresh random value, so every token (and
// its hash in the store) is unique.
func (s *Server) signAccess(ctx context.Context, g grantOut, now time.Time) (string, error) {
	return s.keys.Sign(ctx, jwt.Claims{
		Subject:   g.user,
		ClientID:  g.client.ID,
		Scope:     provider.FormatScope(g.scopes),
		IssuedAt:  now,
		ExpiresAt: now.Add(s.cfg.AccessTokenTTL),
		Username:  g.user,
	})
}

// jwtShaped reports whether a bearer token can be a JWS compact
// serialization: opaque tokens are base64url and never contain a dot.
func jwtShaped(token string) bool { return strings.IndexByte(token, '.') >= 0 }

// JWKS serves the JWK Set of the JWT signing keys (RFC 7517 §5), the
// jwks_uri of the metadata (RFC 8414 §2), at PathJWKS. A resource server
// or gateway that only has this set can verify the access tokens offline
// (RFC 9068 §4); it will not see revocations, which only this server and
// introspection know of, so to it a revoked token stays valid until its
// exp. When the server issues opaque tokens there is no set: 404.
func (s *Server) JWKS(w http.ResponseWriter, r *http.Request) {
	if !s.publishesKeys() {
		writeJSON(w, http.StatusNotFound, errorBody{Error: "not_found", ErrorDescription: "this server issues opaque access tokens and publishes no keys"})
		return
	}
	s.serveKeys(w, r)
}
