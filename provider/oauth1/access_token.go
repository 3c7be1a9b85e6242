package oauth1

import (
	"errors"
	"net/http"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// AccessToken serves the token credential request of RFC 5849 §2.3
// (POST /oauth1/access_token): signed with the client credentials and the
// authorized temporary credentials, carrying oauth_verifier. The verifier
// is compared (constant time, on hashes) before anything is consumed, so a
// wrong one does not burn the temporary credentials; a right one consumes
// them atomically, so a second exchange fails. It answers oauth_token and
// oauth_token_secret, form-encoded.
func (s *Server) AccessToken(w http.ResponseWriter, r *http.Request, u RequestURL) {
	v, ok := s.signedPost(w, r, u, "access_token", store.KindOAuth1Request, paramVerifier)
	if !ok {
		return
	}
	ctx := r.Context()
	tok := v.token
	if tok.User == "" || len(tok.VerifierHash) == 0 {
		s.refuse(w, unauthorized(ProblemTokenRejected, "temporary credentials not authorized yet"), v, "access_token")
		return
	}
	if !provider.EqualBytes(provider.HashToken(v.params.oauth[paramVerifier]), tok.VerifierHash) {
		s.refuse(w, unauthorized(ProblemVerifierInvalid, "verifier does not match"), v, "access_token")
		return
	}
	consumed, err := s.st.ConsumeToken(ctx, tok.Hash, store.KindOAuth1Request)
	if errors.Is(err, store.ErrNotFound) {
		// Someone else exchanged it between our read and now.
		s.refuse(w, unauthorized(ProblemTokenRejected, "temporary credentials already used"), v, "access_token")
		return
	}
	if err != nil {
		s.WriteError(w, provider.ErrStore(err))
		return
	}
	if consumed.ClientID != v.client.ID || !provider.EqualBytes(consumed.VerifierHash, tok.VerifierHash) {
		s.refuse(w, unauthorized(ProblemTokenRejected, "temporary credentials changed"), v, "access_token")
		return
	}

	access, value, secret, err := s.mintCredentials(store.KindOAuth1Access, v.client.ID, s.cfg.AccessTokenTTL)
	if err != nil {
		s.WriteError(w, provider.ErrStore(err))
		return
	}
	// The token credentials stand for what the resource owner approved.
	access.User, access.Scopes, access.Family = consumed.User, consumed.Scopes, consumed.Family
	if err := s.st.SaveToken(ctx, access); err != nil {
		s.WriteError(w, provider.ErrStore(err))
		return
	}
	s.cfg.Audit.Emit(provider.Event{
		Name: "token_issued", Protocol: provider.ProtocolOAuth1, ClientID: v.client.ID,
		User: access.User, Grant: "access_token", Scopes: access.Scopes,
	})
	writeForm(w, []Param{{paramToken, value}, {"oauth_token_secret", secret}})
}
