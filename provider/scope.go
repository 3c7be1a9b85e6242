package provider

import (
	"slices"
	"strings"
)

// ParseScope splits a space-delimited scope parameter (RFC 6749 §3.3),
// dropping empty items and duplicates, keeping order.
func ParseScope(s string) []string {
	var out []string
	for _, f := range strings.Fields(s) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// FormatScope joins scopes for a response or header.
func FormatScope(scopes []string) string { return strings.Join(scopes, " ") }

// ContainsAll reports whether have includes every scope in want.
func ContainsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// ValidScopeToken reports whether s is a scope-token per RFC 6749 §3.3
// (%x21 / %x23-5B / %x5D-7E).
func ValidScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E)) {
			return false
		}
	}
	return true
}

// GrantScopes decides the scopes of a new grant (least privilege, RFC 9700
// §2.3): without a request, the server's defaults the client may have; with
// one, every requested scope must be known to the server and allowed to the
// client, else invalid_scope. An empty server list knows every scope; an
// empty client list allows all server scopes.
func GrantScopes(requested, client, server, defaults []string) ([]string, *Error) {
	known := func(s string) bool { return len(server) == 0 || slices.Contains(server, s) }
	allowed := func(s string) bool {
		return known(s) && (len(client) == 0 || slices.Contains(client, s))
	}
	if len(requested) == 0 {
		var out []string
		for _, s := range defaults {
			if allowed(s) {
				out = append(out, s)
			}
		}
		return out, nil
	}
	for _, s := range requested {
		if !ValidScopeToken(s) || !known(s) {
			return nil, ErrInvalidScope("unknown scope " + s)
		}
		if !allowed(s) {
			return nil, ErrInvalidScope("scope " + s + " not allowed for this client")
		}
	}
	return slices.Clone(requested), nil
}
