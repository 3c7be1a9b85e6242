package oauth2

import (
	"context"

	"github.com/caddy-oauth/caddy-oauth/provider"
)

// RevokeUser revokes every token of a resource owner (the admin API's
// revocation by user) and returns how many the store deleted. Their access
// tokens are refused by VerifyBearer as soon as it returns. Revoking on
// the store directly would bypass this Server's verification cache; call
// this instead.
func (s *Server) RevokeUser(ctx context.Context, user string) (int, error) {
	n, err := s.st.RevokeUser(ctx, user)
	// Even after an error: the store may have deleted some batches.
	s.forgetBearers()
	if err != nil {
		return n, err
	}
	s.emit(provider.Event{Name: "token_revoked", User: user,
		Reason: "revoked by administrator for the user; " + itoa(int64(n)) + " tokens"})
	return n, nil
}

// RevokeClient revokes every token issued to a client (the admin API's
// revocation by client, and what to do before deleting one) and returns
// how many the store deleted. Like RevokeUser, it takes effect on
// VerifyBearer before it returns.
func (s *Server) RevokeClient(ctx context.Context, clientID string) (int, error) {
	n, err := s.st.RevokeClient(ctx, clientID)
	s.forgetBearers()
	if err != nil {
		return n, err
	}
	s.emit(provider.Event{Name: "token_revoked", ClientID: clientID,
		Reason: "revoked by administrator for the client; " + itoa(int64(n)) + " tokens"})
	return n, nil
}
