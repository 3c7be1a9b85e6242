package oauth2

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/formbody"
)

// Scheme is the RFC 6750 §2.1 Authorization scheme.
const Scheme = "Bearer"

// maxFormBody bounds the urlencoded body read for an RFC 6750 §2.2 token.
// A larger body is passed on unread (and cannot carry the token).
const maxFormBody = 1 << 20

// paramAccessToken is the RFC 6750 §2.2/§2.3 parameter name.
const paramAccessToken = "access_token"

// Where a bearer token was found (provider.Credential.Where).
const (
	fromHeader uint8 = iota + 1
	fromBody
	fromQuery
)

// BearerVerifier is the OAuth 2 provider.Verifier: RFC 6750 bearer tokens
// in the Authorization header, a form body or (when allowed) the query,
// checked by a token checker: this server's VerifyBearer, or a remote
// issuer's (package remote).
type BearerVerifier struct {
	check      TokenChecker
	allowQuery bool
}

// TokenChecker verifies a bearer token's value and says whose it is.
type TokenChecker func(ctx context.Context, token string) (*provider.Identity, *provider.Error)

// NewBearerVerifier returns a verifier of the bearer tokens check accepts.
// allowQuery accepts a token in the access_token query parameter (RFC 6750
// §2.3), which ends up in logs and Referer headers; otherwise such a
// request is refused.
func NewBearerVerifier(check TokenChecker, allowQuery bool) *BearerVerifier {
	return &BearerVerifier{check: check, allowQuery: allowQuery}
}

// Verifier returns the verifier of this server's access tokens.
func (s *Server) Verifier(allowQuery bool) *BearerVerifier {
	return NewBearerVerifier(s.VerifyBearer, allowQuery)
}

// Protocol is provider.ProtocolOAuth2.
func (*BearerVerifier) Protocol() string { return provider.ProtocolOAuth2 }

// Scheme is "Bearer".
func (*BearerVerifier) Scheme() string { return Scheme }

// Detect finds the request's one bearer token. RFC 6750 §2: a client must
// not send a token in more than one way (400 invalid_request).
func (v *BearerVerifier) Detect(r *http.Request) (provider.Credential, bool, *provider.Error) {
	var c provider.Credential
	found := false
	if auth := r.Header["Authorization"]; len(auth) == 1 {
		if scheme, rest, _ := strings.Cut(auth[0], " "); strings.EqualFold(scheme, Scheme) {
			tok := strings.TrimSpace(rest)
			if tok == "" {
				return c, false, provider.ErrInvalidRequest("empty bearer token")
			}
			c, found = provider.Credential{Value: tok, Where: fromHeader}, true
		}
	}
	if bodyMethod(r) && formbody.IsForm(r) {
		body, tooBig, err := formbody.Read(r, maxFormBody)
		if err != nil {
			return c, false, provider.ErrInvalidRequest("the request body could not be read")
		}
		if !tooBig {
			tok, n := findParam(string(body), paramAccessToken)
			switch {
			case n > 1:
				return c, false, provider.ErrInvalidRequest("access_token repeated")
			case n == 1 && found:
				return c, false, provider.ErrInvalidRequest("the access token was sent in more than one way")
			case n == 1:
				c, found = provider.Credential{Value: tok, Where: fromBody}, true
			}
		}
	}
	if q := r.URL.RawQuery; q != "" && (strings.Contains(q, "access") || strings.IndexByte(q, '%') >= 0) {
		tok, n := findParam(q, paramAccessToken)
		switch {
		case n == 0:
		case !v.allowQuery && !found:
			return c, false, provider.ErrInvalidRequest("an access_token in the query is not accepted; send it in the Authorization header")
		case n > 1:
			return c, false, provider.ErrInvalidRequest("access_token repeated")
		case found:
			return c, false, provider.ErrInvalidRequest("the access token was sent in more than one way")
		default:
			c, found = provider.Credential{Value: tok, Where: fromQuery}, true
		}
	}
	return c, found, nil
}

// bodyMethod: RFC 6750 §2.2 takes a body token only with a method whose
// body has defined semantics, never GET.
func bodyMethod(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		return true
	}
	return false
}

// Verify checks the token (VerifyBearer) and the scopes.
func (v *BearerVerifier) Verify(r *http.Request, c provider.Credential, scopes []string) (*provider.Identity, *provider.Error) {
	id, e := v.check(r.Context(), c.Value)
	if e != nil {
		return nil, e
	}
	if !provider.ContainsAll(id.Scopes, scopes) {
		e := provider.NewError(http.StatusForbidden, "insufficient_scope", "the access token lacks a required scope")
		e.Scope = provider.FormatScope(scopes)
		return id, e
	}
	return id, nil
}

// Strip removes the token from where it was found.
func (*BearerVerifier) Strip(r *http.Request, c provider.Credential) {
	switch c.Where {
	case fromHeader:
		delete(r.Header, "Authorization")
	case fromQuery:
		r.URL.RawQuery = removeParam(r.URL.RawQuery, paramAccessToken)
		if r.RequestURI != "" {
			r.RequestURI = r.URL.RequestURI()
		}
	case fromBody:
		if body, ok := formbody.Kept(r); ok {
			formbody.Replace(r, []byte(removeParam(string(body), paramAccessToken)))
		}
	}
}

// Challenge answers an RFC 6750 §3 error: the challenge with the error
// code (and scope for insufficient_scope), and the same as a JSON body.
// Without an error it adds the bare challenge (§3.1: no error code when
// the request had no credentials).
func (*BearerVerifier) Challenge(w http.ResponseWriter, realm string, e *provider.Error) {
	hdr := w.Header()
	if e == nil {
		hdr.Add("WWW-Authenticate", Scheme+` realm="`+realm+`"`)
		return
	}
	var b strings.Builder
	b.WriteString(Scheme + ` realm="`)
	b.WriteString(realm)
	b.WriteString(`", error="`)
	b.WriteString(provider.SafeText(e.Code))
	b.WriteByte('"')
	if e.Description != "" {
		b.WriteString(`, error_description="`)
		b.WriteString(provider.SafeText(e.Description))
		b.WriteByte('"')
	}
	if e.Scope != "" {
		b.WriteString(`, scope="`)
		b.WriteString(e.Scope)
		b.WriteByte('"')
	}
	if e.Status == http.StatusServiceUnavailable {
		// The authorization server could not be asked: not the
		// credential's fault, so no challenge, and a hint when to retry.
		hdr.Set("Retry-After", provider.RetryAfter)
	} else {
		hdr.Set("WWW-Authenticate", b.String())
	}
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Content-Type", "application/json")
	status := e.Status
	if status == 0 {
		status = http.StatusUnauthorized
	}
	w.WriteHeader(status)
	body := map[string]string{"error": e.Code}
	if e.Description != "" {
		body["error_description"] = e.Description
	}
	if e.Scope != "" {
		body["scope"] = e.Scope
	}
	_ = json.NewEncoder(w).Encode(body)
}

// findParam returns the decoded value of name in a urlencoded string and
// how many times name occurs.
func findParam(s, name string) (value string, n int) {
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		k, v, _ := strings.Cut(pair, "=")
		if !paramNameIs(k, name) {
			continue
		}
		n++
		if n == 1 {
			if dv, err := url.QueryUnescape(v); err == nil {
				value = dv
			} else {
				value = v
			}
		}
	}
	return value, n
}

// paramNameIs compares a raw (possibly percent-encoded) name.
func paramNameIs(raw, name string) bool {
	if raw == name {
		return true
	}
	if !strings.ContainsAny(raw, "%+") {
		return false
	}
	d, err := url.QueryUnescape(raw)
	return err == nil && d == name
}

// removeParam drops every name=... pair, keeping the others byte for byte.
func removeParam(s, name string) string {
	var kept []string
	for _, pair := range strings.Split(s, "&") {
		k, _, _ := strings.Cut(pair, "=")
		if !paramNameIs(k, name) {
			kept = append(kept, pair)
		}
	}
	return strings.Join(kept, "&")
}

// Interface guard
var _ provider.Verifier = (*BearerVerifier)(nil)
