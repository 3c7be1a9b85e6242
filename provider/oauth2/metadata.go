package oauth2

import (
	"net/http"
	"slices"
)

// metadata is the RFC 8414 §2 authorization server metadata.
type metadata struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint"`
	JWKSURI                                    string   `json:"jwks_uri,omitempty"`
	RegistrationEndpoint                       string   `json:"registration_endpoint,omitempty"`
	DeviceAuthorizationEndpoint                string   `json:"device_authorization_endpoint,omitempty"`
	ScopesSupported                            []string `json:"scopes_supported,omitempty"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	AuthorizationResponseIssParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
}

// Metadata serves the authorization server metadata (RFC 8414 §3), which
// lives at /.well-known/oauth-authorization-server whatever the prefix.
func (s *Server) Metadata(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: "invalid_request", ErrorDescription: "use GET"})
		return
	}
	var grants []string
	for _, g := range grantTypes {
		if s.grantEnabled(g.name) {
			grants = append(grants, g.name)
		}
	}
	m := metadata{
		Issuer:                                     s.cfg.Issuer,
		AuthorizationEndpoint:                      s.endpoint(PathAuthorize),
		TokenEndpoint:                              s.endpoint(PathToken),
		RevocationEndpoint:                         s.endpoint(PathRevoke),
		IntrospectionEndpoint:                      s.endpoint(PathIntrospect),
		ScopesSupported:                            slices.Clone(s.cfg.Scopes),
		ResponseTypesSupported:                     []string{"code"},
		ResponseModesSupported:                     []string{"query"},
		GrantTypesSupported:                        grants,
		TokenEndpointAuthMethodsSupported:          []string{AuthSecretBasic, AuthSecretPost, AuthNone},
		RevocationEndpointAuthMethodsSupported:     []string{AuthSecretBasic, AuthSecretPost, AuthNone},
		IntrospectionEndpointAuthMethodsSupported:  []string{AuthSecretBasic, AuthSecretPost},
		CodeChallengeMethodsSupported:              []string{MethodS256, MethodPlain},
		AuthorizationResponseIssParameterSupported: true,
	}
	m.RegistrationEndpoint = s.cfg.RegistrationEndpoint
	if s.grantEnabled(GrantDeviceCode) {
		// RFC 8628 §4.
		m.DeviceAuthorizationEndpoint = s.endpoint(PathDeviceAuthorization)
	}
	if s.publishesKeys() {
		// RFC 8414 §2: where the keys verifying the server's signatures
		// are, here those of the JWT access tokens and ID tokens.
		m.JWKSURI = s.endpoint(PathJWKS)
	}
	writeJSON(w, http.StatusOK, m)
}
