package oauth2

import (
	"context"
	"net/url"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

var clientCredentialsGrant = grantType{name: GrantClientCredentials, byDefault: true, handle: (*Server).grantClientCredentials}

// grantClientCredentials issues a token to a confidential client acting
// for itself (RFC 6749 §4.4): no resource owner, and no refresh token
// (§4.4.3: "A refresh token SHOULD NOT be included").
func (s *Server) grantClientCredentials(ctx context.Context, client *store.Client, form url.Values) (*tokenResponse, *provider.Error) {
	if client.Public {
		return nil, provider.ErrUnauthorizedClient("public clients may not use client_credentials")
	}
	scopes, e := s.grantScopes(client, form)
	if e != nil {
		return nil, e
	}
	return s.issue(ctx, grantOut{client: client, scopes: scopes, grant: GrantClientCredentials})
}
