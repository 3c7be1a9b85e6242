package dcr

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/registry"
)

// Token endpoint authentication methods (RFC 7591 §2).
const (
	authBasic = "client_secret_basic"
	authPost  = "client_secret_post"
	authNone  = "none"
)

// clientMetadata is the RFC 7591 §2 metadata this server understands.
// Other fields are ignored, as §2 requires, and not echoed back.
type clientMetadata struct {
	RedirectURIs            []string `json:"redirect_uris,omitempty"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method,omitempty"`
	// OpenID Connect RP-Initiated Logout 1.0 §3.1.
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	GrantTypes             []string `json:"grant_types,omitempty"`
	ResponseTypes          []string `json:"response_types,omitempty"`
	ClientName             string   `json:"client_name,omitempty"`
	Scope                  string   `json:"scope,omitempty"`
	// OpenID Connect Registration §2; the registry checks it is served.
	IDTokenSignedResponseAlg string `json:"id_token_signed_response_alg,omitempty"`
	// RFC 7592 §2.2: an update names the client, and may repeat its
	// secret (which must then be the current one).
	ClientID     string `json:"client_id,omitempty"`
	ClientSecret string `json:"client_secret,omitempty"`
}

// registrationError is an RFC 7591 §3.2.2 error.
type registrationError struct {
	Code, Description string
}

func (e *registrationError) Error() string { return e.Code + ": " + e.Description }

func invalidMetadata(format string, args ...any) *registrationError {
	return &registrationError{"invalid_client_metadata", fmt.Sprintf(format, args...)}
}

// decodeMetadata reads a JSON object of client metadata.
func decodeMetadata(body []byte) (*clientMetadata, *registrationError) {
	var md clientMetadata
	if err := json.Unmarshal(body, &md); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, invalidMetadata("%s has the wrong type", te.Field)
		}
		return nil, invalidMetadata("the request body must be a JSON object of client metadata")
	}
	return &md, nil
}

// registryMetadata maps md onto what the registry holds, filling RFC
// 7591's defaults: authentication client_secret_basic, grant
// authorization_code, response type code (§2).
func (md *clientMetadata) registryMetadata() (registry.ClientMetadata, *registrationError) {
	out := registry.ClientMetadata{Name: md.ClientName, RedirectURIs: md.RedirectURIs, PostLogoutRedirectURIs: md.PostLogoutRedirectURIs,
		IDTokenSignedResponseAlg: md.IDTokenSignedResponseAlg}
	switch md.TokenEndpointAuthMethod {
	case "", authBasic, authPost:
	case authNone:
		out.Public = true
	default:
		return out, invalidMetadata("token_endpoint_auth_method %q is not supported (client_secret_basic, client_secret_post, none)", provider.SafeText(md.TokenEndpointAuthMethod))
	}
	grants := md.GrantTypes
	if len(grants) == 0 {
		grants = []string{"authorization_code"}
	}
	code := slices.Contains(grants, "authorization_code")
	responses := md.ResponseTypes
	if len(responses) == 0 && code {
		responses = []string{"code"}
	}
	for _, rt := range responses {
		if rt != "code" {
			return out, invalidMetadata("response_type %q is not supported (code)", provider.SafeText(rt))
		}
	}
	// §2.1: the code grant goes with the code response type, and only
	// with it.
	if code != (len(responses) > 0) {
		return out, invalidMetadata("grant_types and response_types disagree: authorization_code goes with response type code")
	}
	if code && len(md.RedirectURIs) == 0 {
		return out, &registrationError{"invalid_redirect_uri", "redirect_uris is required for the authorization_code grant"}
	}
	out.Grants = grants
	if md.Scope != "" {
		out.Scopes = strings.Fields(md.Scope)
	}
	return out, nil
}

// registryError maps a refusal of the registry (invalid metadata, a
// conflict) onto RFC 7591's codes.
func registryError(re *registry.Error) *registrationError {
	code := "invalid_client_metadata"
	// invalid_redirect_uri is about redirect_uris (RFC 7591 §3.2.2); a bad
	// post_logout_redirect_uris entry is invalid metadata.
	if strings.Contains(re.Msg, "redirect_uri") && !strings.HasPrefix(re.Msg, "post_logout_redirect_uris") {
		code = "invalid_redirect_uri"
	}
	return &registrationError{code, re.Msg}
}

// response is the client information response (RFC 7591 §3.2.1, RFC 7592
// §3): what the client is registered with, as this server holds it.
type response struct {
	ClientID                string   `json:"client_id"`
	ClientSecret            string   `json:"client_secret,omitempty"`
	ClientIDIssuedAt        int64    `json:"client_id_issued_at,omitempty"`
	ClientSecretExpiresAt   *int64   `json:"client_secret_expires_at,omitempty"`
	RegistrationAccessToken string   `json:"registration_access_token"`
	RegistrationClientURI   string   `json:"registration_client_uri"`
	ClientName              string   `json:"client_name,omitempty"`
	RedirectURIs            []string `json:"redirect_uris,omitempty"`
	PostLogoutRedirectURIs  []string `json:"post_logout_redirect_uris,omitempty"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	Scope                   string   `json:"scope,omitempty"`

	IDTokenSignedResponseAlg string `json:"id_token_signed_response_alg,omitempty"`
}

// responseOf describes v; auth is the authentication method to report for
// a confidential client (the token endpoint takes both; the one the
// client asked for, if known).
func (s *Server) responseOf(v *registry.ClientView, auth string) response {
	r := response{
		ClientID:                v.ClientID,
		ClientSecret:            v.ClientSecret,
		RegistrationClientURI:   s.clientURI(v.ClientID),
		ClientName:              v.Name,
		RedirectURIs:            v.RedirectURIs,
		PostLogoutRedirectURIs:  v.PostLogoutRedirectURIs,
		GrantTypes:              v.Grants,
		ResponseTypes:           []string{},
		TokenEndpointAuthMethod: authBasic,
		Scope:                   strings.Join(v.Scopes, " "),

		IDTokenSignedResponseAlg: v.IDTokenSignedResponseAlg,
	}
	if v.CreatedAt != nil {
		r.ClientIDIssuedAt = v.CreatedAt.Unix()
		r.RegistrationAccessToken = s.registrationToken(v.ClientID, *v.CreatedAt)
	}
	if slices.Contains(v.Grants, "authorization_code") {
		r.ResponseTypes = []string{"code"}
	}
	switch {
	case v.Public:
		r.TokenEndpointAuthMethod = authNone
	case auth == authPost:
		r.TokenEndpointAuthMethod = authPost
	}
	if v.ClientSecret != "" {
		never := int64(0) // §3.2.1: 0, the secret does not expire
		r.ClientSecretExpiresAt = &never
	}
	return r
}
