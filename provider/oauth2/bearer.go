package oauth2

import (
	"context"
	"errors"
	"net/http"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// maxTokenLen bounds what is hashed and looked up; minted tokens are 43
// characters, anything much longer is not ours.
const maxTokenLen = 4096

// VerifyBearer checks an access token presented to a protected resource
// (RFC 6750) and returns who it stands for. Only OAuth 2 access tokens
// count: a refresh token or OAuth 1 credential is invalid_token, as are
// unknown, expired and revoked ones (§3.1, 401). Scope checks are the
// caller's (insufficient_scope, 403).
func (s *Server) VerifyBearer(ctx context.Context, token string) (*provider.Identity, *provider.Error) {
	if token == "" || len(token) > maxTokenLen {
		return nil, invalidToken()
	}
	t, err := s.st.GetToken(ctx, provider.HashToken(token))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, invalidToken()
	case err != nil:
		return nil, s.storeFailed("get token", err)
	}
	if t.Kind != store.KindAccess || s.expired(t.ExpiresAt) {
		return nil, invalidToken()
	}
	return &provider.Identity{
		User:      t.User,
		ClientID:  t.ClientID,
		Scopes:    t.Scopes,
		Protocol:  provider.ProtocolOAuth2,
		ExpiresAt: t.ExpiresAt,
	}, nil
}

func invalidToken() *provider.Error {
	return provider.NewError(http.StatusUnauthorized, "invalid_token", "the access token is invalid, expired or revoked")
}
