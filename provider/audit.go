package provider

// Event is something worth a log line: a token issued, revoked or refused.
// It never carries a secret, token, code, verifier or password; the Caddy
// glue turns it into a zap entry.
type Event struct {
	// Name: "token_issued", "token_refused", "token_revoked",
	// "code_replayed", "refresh_reused", "authorization_refused", ...
	Name     string
	Protocol string
	ClientID string
	User     string
	Grant    string
	Scopes   []string
	// Reason is why something was refused (an error code or description).
	Reason string
	// Revoked is how many tokens a removal revoked.
	Revoked int
}

// Auditor receives events; nil means discard.
type Auditor func(Event)

// Emit calls a if it is set.
func (a Auditor) Emit(e Event) {
	if a != nil {
		a(e)
	}
}
