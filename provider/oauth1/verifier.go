package oauth1

import (
	"net/http"

	"github.com/caddy-oauth/caddy-oauth/provider"
)

// Scheme is the RFC 5849 §3.5.1 Authorization scheme.
const Scheme = "OAuth"

// Verifier is the OAuth 1 provider.Verifier: signed requests with token
// credentials, checked with Verify.
type Verifier struct {
	s          *Server
	requestURL func(*http.Request) RequestURL
}

// Verifier returns the server's protected-resource verifier. requestURL
// gives the request as the client signed it (see Endpoints).
func (s *Server) Verifier(requestURL func(*http.Request) RequestURL) *Verifier {
	return &Verifier{s: s, requestURL: requestURL}
}

// Protocol is provider.ProtocolOAuth1.
func (*Verifier) Protocol() string { return provider.ProtocolOAuth1 }

// Scheme is "OAuth".
func (*Verifier) Scheme() string { return Scheme }

// Detect recognizes an OAuth 1 request by its Authorization scheme or its
// oauth_* parameters (RFC 5849 §3.5); what they hold is Verify's to check.
func (v *Verifier) Detect(r *http.Request) (provider.Credential, bool, *provider.Error) {
	return provider.Credential{}, v.s.HasCredentials(r), nil
}

// Verify checks the signed request and the scopes of its token.
func (v *Verifier) Verify(r *http.Request, _ provider.Credential, scopes []string) (*provider.Identity, *provider.Error) {
	id, e := v.s.Verify(r, v.requestURL(r))
	if e != nil {
		return nil, e
	}
	if !provider.ContainsAll(id.Scopes, scopes) {
		return id, provider.NewError(http.StatusForbidden, ProblemPermissionDenied, "the token lacks a required scope: "+provider.FormatScope(scopes))
	}
	return id, nil
}

// Strip removes the protocol parameters (StripParams).
func (*Verifier) Strip(r *http.Request, _ provider.Credential) { StripParams(r) }

// Challenge answers an error as WriteError does, under realm; without an
// error it adds the bare `OAuth realm` challenge.
func (v *Verifier) Challenge(w http.ResponseWriter, realm string, e *provider.Error) {
	if e == nil {
		w.Header().Add("WWW-Authenticate", Scheme+` realm="`+realm+`"`)
		return
	}
	v.s.writeError(w, realm, e)
}

// Interface guard
var _ provider.Verifier = (*Verifier)(nil)
