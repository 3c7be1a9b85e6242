package oauth2

import (
	"context"
	"errors"
	"net/url"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// grantType is one grant the token endpoint serves. The token endpoint
// dispatches through grantTypes, and the metadata document, the config
// validation (New, and the glue through KnownGrants and
// ConfidentialGrants) read the same list, so a new grant is one file
// declaring its grantType plus one line below.
type grantType struct {
	name string
	// public: a public client may use it (it authenticates no client
	// secret; PKCE or rotation protect it instead).
	public bool
	// byDefault: enabled when Config.Grants is empty.
	byDefault bool
	// check refuses a config the grant cannot work with, when enabled.
	check func(*Config) error
	// handle answers a token request of an authenticated client that may
	// use the grant.
	handle func(s *Server, ctx context.Context, client *store.Client, form url.Values) (*tokenResponse, *provider.Error)
}

// grantTypes are the grants, in the order the metadata lists them.
var grantTypes = []*grantType{
	&authorizationCodeGrant,
	&refreshTokenGrant,
	&clientCredentialsGrant,
	&passwordGrant,
	&deviceCodeGrant,
}

// DefaultGrants are enabled when Config.Grants is empty; the password grant
// is never on by default (RFC 9700 §2.4).
var DefaultGrants = grantNames(func(g *grantType) bool { return g.byDefault })

// KnownGrants returns the names of every grant type the server implements.
func KnownGrants() []string { return grantNames(func(*grantType) bool { return true }) }

// ConfidentialGrants returns the grant types a public client cannot use:
// they need an authenticated client.
func ConfidentialGrants() []string { return grantNames(func(g *grantType) bool { return !g.public }) }

func grantNames(keep func(*grantType) bool) []string {
	var out []string
	for _, g := range grantTypes {
		if keep(g) {
			out = append(out, g.name)
		}
	}
	return out
}

func lookupGrant(name string) *grantType {
	for _, g := range grantTypes {
		if g.name == name {
			return g
		}
	}
	return nil
}

// checkGrants validates the enabled grants of cfg.
func checkGrants(cfg *Config, enabled []string) error {
	for _, name := range enabled {
		g := lookupGrant(name)
		if g == nil {
			return errors.New("oauth2: unknown grant " + `"` + name + `"`)
		}
		if g.check != nil {
			if err := g.check(cfg); err != nil {
				return err
			}
		}
	}
	return nil
}

// grantScopes decides the scopes of a grant that no earlier approval
// limits (client_credentials, password): what the request names, within
// the client's and the server's, or the defaults.
func (s *Server) grantScopes(client *store.Client, form url.Values) ([]string, *provider.Error) {
	requested, e := requestedScopes(form)
	if e != nil {
		return nil, e
	}
	return provider.GrantScopes(requested, client.Scopes, s.cfg.Scopes, s.cfg.DefaultScopes)
}
