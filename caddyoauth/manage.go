package caddyoauth

import (
	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
	"github.com/caddy-oauth/caddy-oauth/provider/registry"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// Client and user management lives in provider/registry; the admin API
// (admin.go) and the offline CLI (command.go) reach it through a
// registry.Manager set up here from a server's config.

// passwordCost is the bcrypt cost new password hashes get. A variable only
// so that tests can make hashing fast.
var passwordCost = registry.DefaultPasswordCost

// policy is what the server allows its clients, for registry.CheckClient.
func (c *ServerConfig) policy() registry.Policy {
	enabled := c.Grants
	if len(enabled) == 0 {
		enabled = oauth2.DefaultGrants
	}
	return registry.Policy{
		Scopes:             c.Scopes,
		KnownGrants:        knownGrants,
		EnabledGrants:      enabled,
		ConfidentialGrants: oauth2.ConfidentialGrants(),
		IDTokenAlgorithms:  c.idTokenAlgorithms(),
	}
}

// managerFor returns the manager of a provisioned server. Revocations go
// through its OAuth 2 engine, so require_oauth refuses the tokens at once.
func managerFor(s *Server) *registry.Manager {
	m := newManager(s.store, s.sealer, s.OAuth2(), s.audit, s.cfg, s.clients.Static())
	for _, u := range s.users {
		m.AddStaticUserRecord(u) // with its subject
	}
	return m
}

// newManager builds a manager over st for the server configured by cfg,
// whose static clients (already resolved, or nil to derive them from cfg
// without reading their secrets) are shown as static.
func newManager(st store.Store, sealer *provider.Sealer, rev registry.Revoker, audit provider.Auditor, cfg *ServerConfig, static []*store.Client) *registry.Manager {
	m := registry.NewManager(st, sealer, rev, cfg.policy(), audit)
	m.PasswordCost = passwordCost
	if static != nil {
		for _, c := range static {
			m.AddStaticClientRecord(c)
		}
	} else {
		for _, cc := range cfg.Clients {
			m.AddStaticClient(registry.ClientView{ClientMetadata: cc.ClientMetadata, ClientStatus: registry.ClientStatus{
				HasSecret: cc.Secret != "", HasRSAPublicKey: cc.RSAPublicKey != "",
			}})
		}
	}
	for _, u := range cfg.Users {
		m.AddStaticUserRecord(&store.User{Username: u.Username, Claims: u.Claims})
	}
	return m
}
