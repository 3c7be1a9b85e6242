package provider

import "time"

// Protocol names, as {oauth.protocol} shows them.
const (
	ProtocolOAuth1 = "oauth1"
	ProtocolOAuth2 = "oauth2"
)

// Identity is what a verified protected-resource request carries: who the
// resource owner is, which client acts for them, and with which scopes.
type Identity struct {
	// User is the resource owner; empty for client_credentials tokens.
	User     string
	ClientID string
	Scopes   []string
	Protocol string
	// ExpiresAt is when the credential stops being valid (zero: never).
	ExpiresAt time.Time
	// Claims are the token's claims as a remote issuer stated them (a
	// JWT payload or an introspection answer), for require_oauth's
	// claim_header; nil for local credentials. Read only.
	Claims map[string]any
}
