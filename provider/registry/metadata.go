package registry

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// ClientMetadata is what a client is registered with, whoever registers it:
// the config's `client` entries embed it, the admin API and CLI send it.
// Its JSON names are the config's and the admin API's.
type ClientMetadata struct {
	// The client identifier (OAuth 1: the consumer key): letters, digits
	// and - . _ ~ (RFC 3986 unreserved), at most 128. Required in the
	// config; generated when a registration leaves it out.
	ClientID string `json:"client_id"`

	// A human-readable name, shown on the consent page.
	Name string `json:"name,omitempty"`

	// The OAuth 2 redirect URIs; the one in a request must match one of
	// them exactly (a public client on a loopback IP literal: any port,
	// RFC 8252 §7.3).
	RedirectURIs []string `json:"redirect_uris,omitempty"`

	// The OAuth 1 callback URIs; oauth_callback must match one of them
	// exactly (or be "oob"). Empty allows only "oob".
	CallbackURIs []string `json:"callback_uris,omitempty"`

	// Where OpenID Connect RP-initiated logout may return the browser
	// (post_logout_redirect_uri, matched exactly). Checked like the
	// redirect URIs: absolute, no fragment, https or loopback http.
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`

	// The scopes this client may ask for. Empty means all of the server's.
	Scopes []string `json:"scopes,omitempty"`

	// The OAuth 2 grant types this client may use. Empty means all the
	// server enables.
	Grants []string `json:"grants,omitempty"`

	// A public client has no secret (a native or browser app); PKCE with
	// S256 is required for it.
	Public bool `json:"public,omitempty"`

	// A trusted (first-party) client skips the consent page.
	Trusted bool `json:"trusted,omitempty"`

	// The client may introspect any token (RFC 7662), as a resource server
	// or gateway does; other clients only their own.
	Introspect bool `json:"introspect,omitempty"`

	// The JWS algorithm of the client's OpenID Connect ID tokens
	// (OpenID Connect Registration §2): RS256 (the default, which every
	// relying party supports) or the server's jwt_algorithm when it issues
	// JWT access tokens.
	IDTokenSignedResponseAlg string `json:"id_token_signed_response_alg,omitempty"`
}

// Limits on what a registration may hold.
const (
	MaxClientIDLen = 128
	maxNameLen     = 200
	maxURIs        = 32
	maxURILen      = 2048
	maxScopes      = 64
	maxScopeLen    = 128
)

// Policy is what a server allows its clients: the rules CheckClient holds
// every registration to, static or not.
type Policy struct {
	// Scopes are the server's known scopes; empty means any valid scope.
	Scopes []string
	// KnownGrants are the grant types that exist, EnabledGrants those the
	// server turns on, and ConfidentialGrants those a public client may
	// not have (it cannot authenticate).
	KnownGrants, EnabledGrants, ConfidentialGrants []string
	// IDTokenAlgorithms are the algorithms the server signs ID tokens
	// with; empty when OpenID Connect is off.
	IDTokenAlgorithms []string
}

// CheckClient validates md and normalizes its lists (repeated entries
// dropped). Errors are Invalid and name the field.
func (p Policy) CheckClient(md *ClientMetadata) error {
	if err := CheckClientID(md.ClientID); err != nil {
		return err
	}
	if len(md.Name) > maxNameLen || !utf8.ValidString(md.Name) || strings.IndexFunc(md.Name, unicode.IsControl) >= 0 {
		return invalid("name must be at most %d bytes of text without control characters", maxNameLen)
	}
	var err error
	if md.RedirectURIs, err = checkURIs("redirect_uris", md.RedirectURIs, oauth2.ValidateRedirectURI); err != nil {
		return err
	}
	if md.CallbackURIs, err = checkURIs("callback_uris", md.CallbackURIs, checkCallbackURI); err != nil {
		return err
	}
	if md.PostLogoutRedirectURIs, err = checkURIs("post_logout_redirect_uris", md.PostLogoutRedirectURIs, oauth2.ValidateRedirectURI); err != nil {
		return err
	}
	md.Scopes = dedupe(md.Scopes)
	if len(md.Scopes) > maxScopes {
		return invalid("scopes: at most %d", maxScopes)
	}
	for _, s := range md.Scopes {
		if len(s) > maxScopeLen || !provider.ValidScopeToken(s) {
			return invalid("scopes: %q is not a valid scope (RFC 6749 §3.3: printable ASCII without spaces, quotes or backslashes)", s)
		}
	}
	if err := p.CheckScopesKnown("scopes", md.Scopes); err != nil {
		return err
	}
	md.Grants = dedupe(md.Grants)
	if err := p.CheckGrants(md.Grants); err != nil {
		return err
	}
	if a := md.IDTokenSignedResponseAlg; a != "" && !slices.Contains(p.IDTokenAlgorithms, a) {
		if len(p.IDTokenAlgorithms) == 0 {
			return invalid("id_token_signed_response_alg: OpenID Connect is off on this server (no openid among its scopes)")
		}
		return invalid("id_token_signed_response_alg: %q is not served here (served: %s)", provider.SafeText(a), strings.Join(p.IDTokenAlgorithms, ", "))
	}
	if md.Public {
		for _, g := range md.Grants {
			if slices.Contains(p.ConfidentialGrants, g) {
				return invalid("grants: a public client cannot use %s (it has no secret to authenticate with)", g)
			}
		}
	}
	return nil
}

// CheckGrants refuses grant types that do not exist or that the server
// does not enable.
func (p Policy) CheckGrants(grants []string) error {
	for _, g := range grants {
		if !slices.Contains(p.KnownGrants, g) {
			return invalid("grants: unknown grant type %q (known: %s)", g, strings.Join(p.KnownGrants, ", "))
		}
		if !slices.Contains(p.EnabledGrants, g) {
			return invalid("grants: %s is not enabled on this server (enabled: %s)", g, strings.Join(p.EnabledGrants, ", "))
		}
	}
	return nil
}

// CheckScopesKnown refuses scopes (a client's, or the server's defaults)
// the server does not know, when it restricts its scopes.
func (p Policy) CheckScopesKnown(field string, scopes []string) error {
	if len(p.Scopes) == 0 {
		return nil
	}
	for _, s := range scopes {
		if !slices.Contains(p.Scopes, s) {
			return invalid("%s: scope %q is not among the server's scopes (known: %s)", field, s, strings.Join(p.Scopes, " "))
		}
	}
	return nil
}

// CheckClientID accepts 1 to 128 RFC 3986 unreserved characters, so an ID
// works unescaped in admin URLs, forms, headers and OAuth 1 signatures.
func CheckClientID(id string) error {
	if id == "" {
		return invalid("client_id is required")
	}
	if len(id) > MaxClientIDLen {
		return invalid("client_id must be at most %d characters", MaxClientIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return invalid("client_id %q: only letters, digits and - . _ ~ are allowed", id)
		}
	}
	return nil
}

// checkCallbackURI: OAuth 1 callbacks are absolute http(s) URIs without a
// fragment (RFC 5849 §2.1); an empty fragment ("...#") is one too.
func checkCallbackURI(u string) error {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || strings.Contains(u, "#") {
		return errors.New("must be an absolute http(s) URI without fragment")
	}
	return nil
}

// checkURIs validates and deduplicates a list of URIs.
func checkURIs(field string, uris []string, check func(string) error) ([]string, error) {
	uris = dedupe(uris)
	if len(uris) > maxURIs {
		return nil, invalid("%s: at most %d URIs", field, maxURIs)
	}
	for _, u := range uris {
		if len(u) > maxURILen {
			return nil, invalid("%s: URI longer than %d bytes", field, maxURILen)
		}
		if err := check(u); err != nil {
			return nil, invalid("%s: %q: %v", field, u, err)
		}
	}
	return uris, nil
}

// dedupe drops repeated items, keeping order; nil stays nil.
func dedupe(s []string) []string {
	var out []string
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// record is the stored form of md, without credentials.
func (md *ClientMetadata) record() *store.Client {
	return &store.Client{
		ID:           md.ClientID,
		Name:         md.Name,
		RedirectURIs: slices.Clone(md.RedirectURIs),
		CallbackURIs: slices.Clone(md.CallbackURIs),
		Scopes:       slices.Clone(md.Scopes),
		Grants:       slices.Clone(md.Grants),
		Public:       md.Public,
		Trusted:      md.Trusted,
		Introspect:   md.Introspect,

		PostLogoutRedirectURIs:   slices.Clone(md.PostLogoutRedirectURIs),
		IDTokenSignedResponseAlg: md.IDTokenSignedResponseAlg,
	}
}

// MetadataOf returns the registration metadata of a stored client.
func MetadataOf(c *store.Client) ClientMetadata {
	return ClientMetadata{
		ClientID:     c.ID,
		Name:         c.Name,
		RedirectURIs: slices.Clone(c.RedirectURIs),
		CallbackURIs: slices.Clone(c.CallbackURIs),
		Scopes:       slices.Clone(c.Scopes),
		Grants:       slices.Clone(c.Grants),
		Public:       c.Public,
		Trusted:      c.Trusted,
		Introspect:   c.Introspect,

		PostLogoutRedirectURIs:   slices.Clone(c.PostLogoutRedirectURIs),
		IDTokenSignedResponseAlg: c.IDTokenSignedResponseAlg,
	}
}

// setMetadata copies md's fields onto a stored client, keeping its
// credentials and creation time.
func setMetadata(c *store.Client, md *ClientMetadata) {
	r := md.record()
	r.SecretHash, r.SealedSecret, r.RSAPublicKeyPEM, r.CreatedAt = c.SecretHash, c.SealedSecret, c.RSAPublicKeyPEM, c.CreatedAt
	*c = *r
}
