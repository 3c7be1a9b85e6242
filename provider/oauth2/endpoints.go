package oauth2

import (
	"strings"

	"github.com/caddy-oauth/caddy-oauth/provider"
)

// Endpoints are the paths the server serves: authorize, token, revoke,
// introspect, the metadata, with the device grant enabled its device
// authorization endpoint and verification page, and with JWT access
// tokens the JWK Set.
func (s *Server) Endpoints() []provider.Endpoint {
	eps := []provider.Endpoint{
		{Path: PathAuthorize, Methods: provider.MethodsGetPost, ServeOwner: s.Authorize},
		{Path: PathToken, Methods: provider.MethodsPost, Serve: s.Token},
		{Path: PathRevoke, Methods: provider.MethodsPost, Serve: s.Revoke},
		{Path: PathIntrospect, Methods: provider.MethodsPost, Serve: s.Introspect},
		// RFC 8414 §3: the metadata lives at the root; an issuer with a
		// path component puts that path after the well-known suffix.
		{Path: PathMetadata, Absolute: true, Methods: provider.MethodsGet, Serve: s.Metadata},
	}
	if p := issuerPath(s.cfg.Issuer); p != "" {
		eps = append(eps, provider.Endpoint{Path: PathMetadata + p, Absolute: true, Methods: provider.MethodsGet, Serve: s.Metadata})
	}
	if s.grantEnabled(GrantDeviceCode) {
		eps = append(eps,
			provider.Endpoint{Path: PathDeviceAuthorization, Methods: provider.MethodsPost, Serve: s.DeviceAuthorization},
			provider.Endpoint{Path: PathDevice, Methods: provider.MethodsGetPost, ServeOwner: s.DevicePage})
	}
	if s.publishesKeys() {
		// token_format jwt or OpenID: the JWK Set of the metadata's jwks_uri.
		eps = append(eps, provider.Endpoint{Path: PathJWKS, Methods: provider.MethodsGet, Serve: s.JWKS})
	}
	return eps
}

// issuerPath is the path component of the issuer, without a trailing slash.
func issuerPath(issuer string) string {
	rest, ok := strings.CutPrefix(issuer, "https://")
	if !ok {
		rest, _ = strings.CutPrefix(issuer, "http://")
	}
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return ""
	}
	return strings.TrimSuffix(rest[i:], "/")
}
