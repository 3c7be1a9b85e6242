package caddyoauth

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/jwt"
	"github.com/caddy-oauth/caddy-oauth/provider/login"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
	"github.com/caddy-oauth/caddy-oauth/provider/oidc"
)

// oidcEnabled reports whether the server speaks OpenID Connect: its
// scopes include openid (with no scopes configured any scope is granted,
// and OpenID Connect stays off).
func (c *ServerConfig) oidcEnabled() bool { return slices.Contains(c.Scopes, oauth2.ScopeOpenID) }

// idTokenAlgorithms are the algorithms ID tokens are signed with, RS256
// first (Core §15.1: every relying party has it), then the jwt_algorithm
// of a server issuing JWT access tokens, for clients that ask for it
// (id_token_signed_response_alg). None when OpenID Connect is off.
func (c *ServerConfig) idTokenAlgorithms() []string {
	if !c.oidcEnabled() {
		return nil
	}
	algs := []string{string(jwt.RS256)}
	if c.TokenFormat == tokenFormatJWT {
		a := jwt.Algorithm(c.JWTAlgorithm)
		if a == "" {
			a = jwt.EdDSA
		}
		if a != jwt.RS256 {
			algs = append(algs, string(a))
		}
	}
	return algs
}

// newOIDC makes the ID token signer of the server, nil when OpenID
// Connect is off. Its keys rotate like the JWT access token keys; its
// RP-initiated logout ends the sessions of lm.
func (s *Server) newOIDC(accessTTL time.Duration, lm *login.Manager, pages *provider.Pages) (*oidc.Provider, error) {
	if !s.cfg.oidcEnabled() {
		return nil, nil
	}
	if accessTTL == 0 {
		accessTTL = oauth2.DefaultAccessTokenTTL
	}
	return oidc.New(oidc.Config{
		Issuer:      s.cfg.Issuer,
		TokenTTL:    accessTTL,
		KeyRotation: time.Duration(s.cfg.JWTKeyRotation),
		Algorithms:  s.cfg.idTokenAlgorithms(),
		Audit:       s.audit,
		// The config's users shadow stored ones of the same name, as
		// they do for passwords.
		Users:  userDirectory{static: s.users, st: s.store},
		Logout: &oidc.Logout{Sessions: lm, Clients: s.clients, Pages: pages, Audit: s.audit},
	}, s.store)
}

// oidcEndpoints are the discovery document, UserInfo and RP-initiated
// logout over o2.
func oidcEndpoints(op *oidc.Provider, o2 *oauth2.Server) ([]provider.Endpoint, error) {
	if op == nil {
		return nil, nil
	}
	return op.Endpoints(o2)
}

// withAuthTime records on r when the resource owner signed in, for the
// auth_time of ID tokens: the login session's start. A user an earlier
// handler authenticated (user_from) has no session here; the engine then
// takes the request time.
func (h *OAuthServer) withAuthTime(r *http.Request, en *engines) *http.Request {
	if en.oidc == nil || h.user(r) != "" {
		return r
	}
	if t, ok := en.login.SignedInAt(r); ok {
		// The built-in login takes a password (RFC 8176 "pwd").
		return r.WithContext(oauth2.WithAuthMethods(oauth2.WithAuthTime(r.Context(), t), "pwd"))
	}
	return r
}

// ownsOIDCPath reports whether path is the discovery document.
func ownsOIDCPath(path string) bool {
	return strings.HasPrefix(path, oidc.PathDiscovery) || strings.HasSuffix(path, oidc.PathDiscovery)
}

// openID is op as the engine's hook; a nil *oidc.Provider must become a
// nil interface, or the engine would take OpenID Connect for on.
func openID(op *oidc.Provider) oauth2.OpenID {
	if op == nil {
		return nil
	}
	return op
}
