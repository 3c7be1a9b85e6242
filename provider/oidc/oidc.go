package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
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
	ScopeEmail   = "email"
	ScopeAddress = "address"
	ScopePhone   = "phone"
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
	// Algorithms are the JWS algorithms ID tokens may be signed with, each
	// with its own rotating keys; a client picks one with
	// id_token_signed_response_alg. RS256 is always among them (Core
	// §15.1), and the default.
	Algorithms []string
	// Audit receives userinfo_served and userinfo_refused.
	Audit provider.Auditor
	// Logout, when set, serves RP-initiated logout at PathEndSession
	// (advertised as end_session_endpoint).
	Logout *Logout
	// Users finds the users whose sub and claims are stated; default:
	// the store given to New.
	Users Users
}

// Users finds users by username.
type Users interface {
	GetUser(ctx context.Context, username string) (*store.User, error)
}

// Store is what a Provider keeps in the storage: its signing keys, and
// the users it speaks of.
type Store interface {
	store.KeyStore
	Users
}

// Provider signs ID tokens and serves discovery and UserInfo. It
// implements oauth2.OpenID.
type Provider struct {
	cfg Config
	// keys are the RS256 keys, byAlg every algorithm's, sets all of them
	// in the order Config.Algorithms names them (RS256 first).
	keys  *jwt.Keys
	byAlg map[string]*jwt.Keys
	sets  []*jwt.Keys
	users Users
}

// New loads (creating when missing) the RS256 ID token keys from ks.
func New(cfg Config, ks Store) (*Provider, error) {
	if ks == nil {
		return nil, errors.New("oidc: a store is required")
	}
	users := cfg.Users
	if users == nil {
		users = ks
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
	algs := []string{string(jwt.RS256)}
	for _, a := range cfg.Algorithms {
		if !slices.Contains(algs, a) {
			algs = append(algs, a)
		}
	}
	cfg.Algorithms = algs
	p := &Provider{cfg: cfg, byAlg: make(map[string]*jwt.Keys, len(algs)), users: users}
	for _, a := range algs {
		// Key names carry the algorithm (oidc/<alg>/...), so the series
		// never mix.
		keys, err := jwt.NewKeys(context.Background(), ks, jwt.Algorithm(a), rotation, cfg.Clock,
			jwt.WithIssuer(cfg.Issuer), jwt.WithKeyPrefix(keyPrefix))
		if err != nil {
			return nil, fmt.Errorf("oidc: %w", err)
		}
		p.byAlg[a] = keys
		p.sets = append(p.sets, keys)
	}
	p.keys = p.byAlg[string(jwt.RS256)]
	return p, nil
}

// Keys are the ID token signing keys, of every algorithm.
func (p *Provider) Keys() []*jwt.Keys { return p.sets }

// Algorithms are the algorithms ID tokens are signed with, RS256 first.
func (p *Provider) Algorithms() []string { return slices.Clone(p.cfg.Algorithms) }

var _ oauth2.OpenID = (*Provider)(nil)
