package login

import "github.com/caddy-oauth/caddy-oauth/provider"

// Endpoints are the login and logout pages, at the configured paths
// (which include the server's prefix).
func (m *Manager) Endpoints() []provider.Endpoint {
	return []provider.Endpoint{
		{Path: m.cfg.LoginPath, Absolute: true, Methods: provider.MethodsAll, Serve: m.ServeLogin},
		{Path: m.cfg.LogoutPath, Absolute: true, Methods: provider.MethodsAll, Serve: m.ServeLogout},
	}
}
