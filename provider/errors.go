package provider

import (
	"errors"
	"net/http"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// Error is an OAuth protocol error. Engines return it as a value and render
// it in one place per protocol (RFC 6749 §5.2 JSON, RFC 6750 §3
// WWW-Authenticate, RFC 5849 oauth_problem).
type Error struct {
	// Code is the RFC error code (invalid_request, invalid_grant, ...) or,
	// for OAuth 1, the oauth_problem value.
	Code string
	// Description is human-readable; it must only contain the characters
	// RFC 6749 §5.2 allows (%x20-21 / %x23-5B / %x5D-7E), see SafeText.
	Description string
	// Status is the HTTP status to answer with.
	Status int
	// Basic is set for invalid_client after HTTP Basic authentication, which
	// must be answered 401 with WWW-Authenticate (RFC 6749 §5.2).
	Basic bool
	// Scope is, for insufficient_scope, the scope the resource needs
	// (RFC 6750 §3).
	Scope string
}

func (e *Error) Error() string {
	if e.Description == "" {
		return e.Code
	}
	return e.Code + ": " + e.Description
}

// NewError returns an Error with a sanitized description.
func NewError(status int, code, description string) *Error {
	return &Error{Code: code, Description: SafeText(description), Status: status}
}

// Common OAuth 2 errors (RFC 6749 §5.2, RFC 7009, RFC 6750).
func ErrInvalidRequest(desc string) *Error {
	return NewError(http.StatusBadRequest, "invalid_request", desc)
}

// ErrInvalidToken is RFC 6750 §3.1's refusal of a bearer token, 401, with
// one description for unknown, expired, revoked and forged tokens alike.
func ErrInvalidToken() *Error {
	return NewError(http.StatusUnauthorized, "invalid_token", "the access token is invalid, expired or revoked")
}

// ErrInvalidClient is answered 401 (RFC 6749 §5.2).
func ErrInvalidClient(desc string) *Error {
	return NewError(http.StatusUnauthorized, "invalid_client", desc)
}

// ErrInvalidGrant covers bad, expired, replayed or mismatched grants.
func ErrInvalidGrant(desc string) *Error {
	return NewError(http.StatusBadRequest, "invalid_grant", desc)
}

// ErrUnauthorizedClient: the client may not use this grant.
func ErrUnauthorizedClient(desc string) *Error {
	return NewError(http.StatusBadRequest, "unauthorized_client", desc)
}

// ErrUnsupportedGrantType: grant unknown or disabled on this server.
func ErrUnsupportedGrantType(desc string) *Error {
	return NewError(http.StatusBadRequest, "unsupported_grant_type", desc)
}

// ErrInvalidScope: requested scope unknown or beyond what the client may ask.
func ErrInvalidScope(desc string) *Error {
	return NewError(http.StatusBadRequest, "invalid_scope", desc)
}

// ErrServer is an internal failure (a store error); answered 500 without
// detail, the cause goes to the log only.
func ErrServer() *Error {
	return NewError(http.StatusInternalServerError, "server_error", "")
}

// RetryAfter is the Retry-After value (seconds) of every 503 answer: a
// storage that is down, slow or restarting, or a remote issuer that cannot
// be reached.
const RetryAfter = "5"

// ErrTemporarilyUnavailable is 503 temporarily_unavailable (RFC 6749
// §4.1.2.1, used by every endpoint here): the storage could not answer.
// Renderers add Retry-After to every 503.
func ErrTemporarilyUnavailable() *Error {
	return NewError(http.StatusServiceUnavailable, "temporarily_unavailable", "the authorization server cannot answer right now; try again later")
}

// ErrStore maps a store failure onto what the client sees: a storage that
// could not be reached (store.ErrUnavailable) is 503, anything else 500.
// Neither lets a request through.
func ErrStore(err error) *Error {
	if Unavailable(err) {
		return ErrTemporarilyUnavailable()
	}
	return ErrServer()
}

// Unavailable reports whether err means the storage could not answer.
func Unavailable(err error) bool { return errors.Is(err, store.ErrUnavailable) }

// SafeText drops characters RFC 6749 §5.2 forbids in error_description
// (anything outside %x20-21 / %x23-5B / %x5D-7E: quotes, backslashes,
// control and non-ASCII characters), so a description can go into a
// WWW-Authenticate quoted string or a redirect unescaped.
func SafeText(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if !safeByte(s[i]) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if safeByte(s[i]) {
			b = append(b, s[i])
		}
	}
	return string(b)
}

func safeByte(c byte) bool {
	return c == 0x20 || c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E)
}
