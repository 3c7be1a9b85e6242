package oidc

import (
	"net/url"
	"strings"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
)

// Endpoints are the paths OpenID Connect adds to srv (whose Config.OpenID
// is p): the discovery document (at the root, and after the issuer's path
// when it has one, Discovery §4.1), UserInfo and, with Config.Logout,
// RP-initiated logout. The JWK Set is srv's, which
// publishes the ID token keys too.
func (p *Provider) Endpoints(srv *oauth2.Server) ([]provider.Endpoint, error) {
	doc, err := p.discovery(srv)
	if err != nil {
		return nil, err
	}
	serve := serveDocument(doc)
	eps := []provider.Endpoint{
		{Path: PathDiscovery, Absolute: true, Methods: provider.MethodsGet, Serve: serve},
		{Path: PathUserInfo, Methods: provider.MethodsGetPost, Serve: p.userInfo(srv)},
	}
	if p.cfg.Logout != nil {
		eps = append(eps, provider.Endpoint{Path: PathEndSession, Methods: provider.MethodsGetPost, Serve: p.endSession(srv)})
	}
	if ip := issuerPath(p.cfg.Issuer); ip != "" {
		// Discovery §4: the issuer's path, then the well-known suffix.
		eps = append(eps, provider.Endpoint{Path: ip + PathDiscovery, Absolute: true, Methods: provider.MethodsGet, Serve: serve})
	}
	return eps, nil
}

// issuerPath is the path component of the issuer, without a trailing slash.
func issuerPath(issuer string) string {
	u, err := url.Parse(issuer)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(u.Path, "/")
}
