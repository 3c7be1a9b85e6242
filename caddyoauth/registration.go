package caddyoauth

import (
	"errors"
	"fmt"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-oauth/caddy-oauth/provider/dcr"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
)

// RegistrationConfig turns on dynamic client registration (RFC 7591) at
// <prefix>/oauth2/register and its management (RFC 7592). Clients it
// registers are ordinary clients (the admin API, CLI and revocation see
// them), never trusted (they always get the consent page) and never
// allowed to introspect other clients' tokens.
type RegistrationConfig struct {
	// The initial access token a client must present as a bearer token
	// to register (placeholders such as {env.DCR_TOKEN} are replaced).
	// Exactly one of initial_access_token and open.
	InitialAccessToken string `json:"initial_access_token,omitempty"`

	// Anyone may register a client, without a token. Only for servers
	// whose users know that any application can ask for their consent.
	Open bool `json:"open,omitempty"`
}

// validate checks that exactly one way of allowing registrations is set.
func (rc *RegistrationConfig) validate() error {
	if rc.Open == (rc.InitialAccessToken != "") {
		return errors.New("registration: set exactly one of initial_access_token and open")
	}
	return nil
}

// registrationEndpoint is the absolute RFC 7591 endpoint, "" when
// registration is off.
func (s *Server) registrationEndpoint(prefix string) string {
	if s.cfg.Registration == nil {
		return ""
	}
	return s.cfg.Issuer + prefix + dcr.Path
}

// newRegistration builds the registration endpoint over the server's
// registry, revoking through o2 so its cache forgets deleted clients'
// tokens at once; nil when registration is off.
func (s *Server) newRegistration(prefix string, o2 *oauth2.Server) (*dcr.Server, error) {
	rc := s.cfg.Registration
	if rc == nil {
		return nil, nil
	}
	tok := ""
	if rc.InitialAccessToken != "" {
		var err error
		if tok, err = caddy.NewReplacer().ReplaceOrErr(rc.InitialAccessToken, true, true); err != nil || tok == "" {
			return nil, fmt.Errorf("registration: initial_access_token: %v", err)
		}
		if len(tok) < 16 {
			return nil, errors.New("registration: initial_access_token must be at least 16 characters (e.g. openssl rand -base64 32)")
		}
	}
	return dcr.New(dcr.Config{
		Issuer: s.cfg.Issuer, Prefix: prefix,
		InitialAccessToken: tok, Open: rc.Open,
		Key:     s.dcrKey,
		Manager: newManager(s.store, s.sealer, o2, s.audit, s.cfg, s.clients.Static()),
		Clients: s.clients,
		Audit:   s.audit,
	})
}
