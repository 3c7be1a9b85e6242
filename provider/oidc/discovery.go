package oidc

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
)

// idTokenClaims are the claims of ID tokens (Discovery §3 lists them
// with UserInfo's in claims_supported).
var idTokenClaims = []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp", "amr"}

// claimsSupported are the claims this server can state: the ID token's,
// and UserInfo's for the scopes the server grants (scopes_supported of
// its metadata).
func claimsSupported(scopes []string) []string {
	out := slices.Clone(idTokenClaims)
	for _, sc := range scopeClaims {
		if slices.Contains(scopes, sc.scope) {
			out = append(out, sc.claims...)
		}
	}
	return out
}

// discovery renders the OpenID Provider metadata (Discovery §3): the RFC
// 8414 document of srv (same issuer and endpoints) plus the OpenID
// members.
func (p *Provider) discovery(srv *oauth2.Server) ([]byte, error) {
	m, err := srv.MetadataFields()
	if err != nil {
		return nil, err
	}
	m["userinfo_endpoint"] = srv.EndpointURL(PathUserInfo)
	m["jwks_uri"] = srv.EndpointURL(oauth2.PathJWKS)
	m["response_types_supported"] = []string{"code"}
	m["subject_types_supported"] = []string{"public"}
	m["id_token_signing_alg_values_supported"] = p.Algorithms()
	var scopes []string
	if l, ok := m["scopes_supported"].([]any); ok {
		for _, v := range l {
			if s, ok := v.(string); ok {
				scopes = append(scopes, s)
			}
		}
	}
	m["claims_supported"] = claimsSupported(scopes)
	if p.cfg.Logout != nil {
		// RP-Initiated Logout §2.1.
		m["end_session_endpoint"] = srv.EndpointURL(PathEndSession)
	}
	// Request objects and the claims parameter are not implemented (a
	// claims parameter is ignored, Core §5.5).
	m["claims_parameter_supported"] = false
	m["request_parameter_supported"] = false
	m["request_uri_parameter_supported"] = false
	return json.Marshal(m)
}

// serveDocument answers GET and HEAD with body, JSON that changes only
// with the configuration.
func serveDocument(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(body)
		}
	}
}
