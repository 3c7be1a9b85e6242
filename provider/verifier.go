package provider

import "net/http"

// Verifier checks the credentials of requests to a protected resource for
// one protocol. The require_oauth handler asks the verifiers it accepts in
// turn, as Caddy's authentication handler asks its providers, and each
// verifier answers its own refusals: a token's way through require_oauth
// stays inside one engine. The OAuth 2 (bearer) and OAuth 1 engines
// implement it; a remote verifier (JWKS, introspection) is a third.
type Verifier interface {
	// Protocol names the protocol, as {oauth.protocol} shows it.
	Protocol() string
	// Scheme is the Authorization scheme that claims a request for this
	// protocol ("Bearer", "OAuth"): a request sent with it is this
	// verifier's or nobody's.
	Scheme() string
	// Detect finds the verifier's credential in r. found is false when r
	// carries none; a malformed attempt is an error, answered through
	// Challenge. A body it reads is put back (package formbody).
	Detect(r *http.Request) (c Credential, found bool, e *Error)
	// Verify checks the credential and that it carries every one of
	// scopes. A valid credential lacking a scope returns the Identity
	// together with the error, for the audit trail.
	Verify(r *http.Request, c Credential, scopes []string) (*Identity, *Error)
	// Strip removes the credential from r, so the next handler never
	// sees it.
	Strip(r *http.Request, c Credential)
	// Challenge answers a refusal under realm: status, WWW-Authenticate
	// and body. With e nil (no credential at all) it only adds its
	// WWW-Authenticate challenge, since the caller answers once with a
	// challenge per accepted protocol (RFC 9110 §11.6.1).
	Challenge(w http.ResponseWriter, realm string, e *Error)
}

// Credential is what a Verifier found in a request, meaningful to that
// verifier only: a value (a bearer token) and where it was, so that Strip
// removes exactly that.
type Credential struct {
	Value string
	Where uint8
}
