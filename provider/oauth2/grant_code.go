package oauth2

import (
	"context"
	"errors"
	"net/url"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// authorizationCodeGrant is open to public clients, which PKCE protects.
var authorizationCodeGrant = grantType{name: GrantAuthorizationCode, public: true, byDefault: true, handle: (*Server).grantCode}

// grantCode exchanges an authorization code (RFC 6749 §4.1.3). The code is
// consumed atomically before anything else, so of two concurrent
// redemptions one wins; a second redemption revokes every token issued
// from the code (§4.1.2, RFC 9700 §4.2.4).
func (s *Server) grantCode(ctx context.Context, client *store.Client, form url.Values) (*tokenResponse, *provider.Error) {
	value := form.Get("code")
	if value == "" {
		return nil, provider.ErrInvalidRequest("code is required")
	}
	code, err := s.st.ConsumeCode(ctx, provider.HashToken(value))
	switch {
	case errors.Is(err, store.ErrConsumed) && code != nil:
		n, rerr := s.st.RevokeFamily(ctx, code.Family)
		s.forgetBearers()
		if rerr != nil {
			return nil, s.storeFailed("revoke family", rerr)
		}
		s.emit(provider.Event{Name: "code_replayed", ClientID: code.ClientID, User: code.User, Grant: GrantAuthorizationCode,
			Reason: "authorization code used twice; revoked " + itoa(int64(n)) + " tokens"})
		return nil, provider.ErrInvalidGrant("authorization code already used")
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConsumed):
		return nil, provider.ErrInvalidGrant("unknown or expired authorization code")
	case err != nil:
		return nil, s.storeFailed("consume code", err)
	}
	if s.expired(code.ExpiresAt) {
		return nil, provider.ErrInvalidGrant("unknown or expired authorization code")
	}
	// §4.1.3: the code must have been issued to the authenticated client.
	if code.ClientID != client.ID {
		return nil, provider.ErrInvalidGrant("authorization code was issued to another client")
	}
	if e := checkRedirectURI(code, client, form); e != nil {
		return nil, e
	}
	if client.Public && code.CodeChallenge == "" {
		return nil, provider.ErrInvalidGrant("public clients must use PKCE")
	}
	if e := checkPKCE(code.CodeChallenge, code.CodeChallengeMethod, form.Get("code_verifier")); e != nil {
		return nil, e
	}
	return s.issue(ctx, grantOut{
		client: client, user: code.User, scopes: code.Scopes, family: code.Family,
		grant: GrantAuthorizationCode, refresh: true,
	})
}

// checkRedirectURI applies RFC 6749 §4.1.3: if the authorization request
// had a redirect_uri, the token request must repeat it identically. If it
// was omitted (one registered URI), a redirect_uri sent now must be that URI.
func checkRedirectURI(code *store.Code, client *store.Client, form url.Values) *provider.Error {
	got := form.Get("redirect_uri")
	if code.RedirectURI != "" {
		if got != code.RedirectURI {
			return provider.ErrInvalidGrant("redirect_uri does not match the authorization request")
		}
		return nil
	}
	if got != "" && (len(client.RedirectURIs) != 1 || got != client.RedirectURIs[0]) {
		return provider.ErrInvalidGrant("redirect_uri does not match the authorization request")
	}
	return nil
}
