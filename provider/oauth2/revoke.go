package oauth2

import (
	"errors"
	"net/http"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// tokenRequest reads what revocation and introspection requests share: the
// form, the authenticated client (public ones only if allowPublic) and the
// token parameter. It answers the error itself (ok false).
func (s *Server) tokenRequest(w http.ResponseWriter, r *http.Request, allowPublic bool) (client *store.Client, token string, ok bool) {
	form, e := readForm(w, r)
	if e == nil {
		client, e = s.authenticateClient(r, form, allowPublic)
	}
	if e == nil {
		if token = form.Get("token"); token == "" {
			e = provider.ErrInvalidRequest("token is required")
		}
	}
	if e != nil {
		s.writeError(w, e)
		return nil, "", false
	}
	return client, token, true
}

// Revoke serves token revocation (RFC 7009 §2). The client authenticates
// (public clients by client_id); the answer is 200 whether or not the
// token existed, so it reveals nothing (§2.2). A token of another client is
// left alone (§2.1: the server verifies the token was issued to the
// requester). Revoking a refresh token revokes its whole family, since the
// access tokens it produced derive from the same grant (§2.1).
// token_type_hint is accepted but not needed: hashes identify any kind.
func (s *Server) Revoke(w http.ResponseWriter, r *http.Request) {
	client, value, ok := s.tokenRequest(w, r, true)
	if !ok {
		return
	}
	ctx := r.Context()
	hash := provider.HashToken(value)
	t, err := s.st.GetToken(ctx, hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.revoked(w)
		return
	case err != nil:
		s.writeError(w, s.storeFailed("get token", err))
		return
	}
	if t.Kind != store.KindAccess && t.Kind != store.KindRefresh {
		// OAuth 1 credentials are not OAuth 2 tokens: unknown here.
		s.revoked(w)
		return
	}
	if t.ClientID != client.ID {
		s.emit(provider.Event{Name: "revocation_refused", ClientID: client.ID, Reason: "token belongs to another client"})
		s.revoked(w)
		return
	}
	n := 1
	if t.Kind == store.KindRefresh {
		n, err = s.st.RevokeFamily(ctx, t.Family)
		s.forgetBearers()
	} else {
		err = s.st.RevokeToken(ctx, hash)
		s.forgetBearer(hash)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.writeError(w, s.storeFailed("revoke", err))
		return
	}
	s.emit(provider.Event{Name: "token_revoked", ClientID: client.ID, User: t.User, Scopes: t.Scopes,
		Reason: "revoked by client; " + itoa(int64(n)) + " tokens"})
	s.revoked(w)
}

func (s *Server) revoked(w http.ResponseWriter) {
	noStore(w.Header())
	w.WriteHeader(http.StatusOK)
}
