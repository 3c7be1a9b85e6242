package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/jwt"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// PathUserInfo is the UserInfo endpoint, relative to the server's prefix;
// PathDiscovery the discovery document, at the root (Discovery §4).
const (
	PathUserInfo  = "/oauth2/userinfo"
	PathDiscovery = "/.well-known/openid-configuration"
)

// Scopes with a meaning here (Core §5.4).
const (
	ScopeOpenID  = oauth2.ScopeOpenID
	ScopeProfile = "profile"
)

// keyPrefix names the ID token keys in the store, apart from the access
// token keys (jwt/...), so the two never share a key.
const keyPrefix = "oidc"

// Config configures a Provider.
type Config struct {
	// Issuer is the OAuth 2 server's issuer, the iss of ID tokens.
	Issuer string
	// TokenTTL is how long an ID token is valid: the access token
	// lifetime (required).
	TokenTTL time.Duration
	// KeyRotation is how long one ID token key signs (0 means
	// jwt.DefaultRotation); at least TokenTTL.
	KeyRotation time.Duration
	// Clock defaults to the real time.
	Clock provider.Clock
	// Logout, when set, serves RP-initiated logout at PathEndSession
	// (advertised as end_session_endpoint).
	Logout *Logout
}

// Provider signs ID tokens and serves discovery and UserInfo. It
// implements oauth2.OpenID.
type Provider struct {
	cfg  Config
	keys *jwt.Keys
}

// New loads (creating when missing) the RS256 ID token keys from ks.
func New(cfg Config, ks store.KeyStore) (*Provider, error) {
	if ks == nil {
		return nil, errors.New("oidc: a key store is required")
	}
	if u, err := url.Parse(cfg.Issuer); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("oidc: issuer %q must be an absolute http(s) URL", cfg.Issuer)
	}
	if l := cfg.Logout; l != nil && (l.Sessions == nil || l.Clients == nil || l.Pages == nil) {
		return nil, errors.New("oidc: logout needs Sessions, Clients and Pages")
	}
	if cfg.TokenTTL <= 0 {
		return nil, errors.New("oidc: the ID token lifetime must be positive")
	}
	rotation := cfg.KeyRotation
	if rotation == 0 {
		rotation = jwt.DefaultRotation
	}
	// An ID token must expire while its key is published (the current and
	// the previous period's).
	if cfg.TokenTTL > rotation {
		return nil, fmt.Errorf("oidc: the token lifetime %v exceeds the key rotation period %v", cfg.TokenTTL, rotation)
	}
	// Core §15.1: RS256 is the algorithm every relying party supports.
	keys, err := jwt.NewKeys(context.Background(), ks, jwt.RS256, rotation, cfg.Clock,
		jwt.WithIssuer(cfg.Issuer), jwt.WithKeyPrefix(keyPrefix))
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	return &Provider{cfg: cfg, keys: keys}, nil
}

// Keys are the ID token signing keys.
func (p *Provider) Keys() *jwt.Keys { return p.keys }

var _ oauth2.OpenID = (*Provider)(nil)
