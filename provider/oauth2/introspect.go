package oauth2

import (
	"errors"
	"net/http"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/jwt"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// introspection is the RFC 7662 §2.2 response.
type introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Username  string `json:"username,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	Iat       int64  `json:"iat,omitempty"`
	Sub       string `json:"sub,omitempty"`
	Iss       string `json:"iss,omitempty"`
	// Aud and Jti are those of a JWT access token.
	Aud []string `json:"aud,omitempty"`
	Jti string   `json:"jti,omitempty"`
}

// Introspect serves token introspection (RFC 7662). Only authenticated
// confidential clients may ask (§2.1, §4: otherwise it is a token-scanning
// oracle). A client marked Introspect (a resource server) sees every
// token; any other client only tokens issued to itself. Everything else
// is {"active": false}, indistinguishable from an unknown token (§2.2).
func (s *Server) Introspect(w http.ResponseWriter, r *http.Request) {
	client, value, ok := s.tokenRequest(w, r, false)
	if !ok {
		return
	}
	// A JWT is active only if VerifyBearer would accept it: its signature
	// and claims first, then the store.
	var claims *jwt.Claims
	if s.keys != nil && jwtShaped(value) {
		var err error
		if claims, err = s.keys.Verify(value, s.now()); err != nil {
			if !errors.Is(err, jwt.ErrInvalidToken) {
				s.writeError(w, s.storeFailed("jwt keys", err))
				return
			}
			writeJSON(w, http.StatusOK, introspection{})
			return
		}
	}
	t, err := s.st.GetToken(r.Context(), provider.HashToken(value))
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeJSON(w, http.StatusOK, introspection{})
		return
	case err != nil:
		s.writeError(w, s.storeFailed("get token", err))
		return
	}
	var tokenType string
	switch t.Kind {
	case store.KindAccess:
		tokenType = "Bearer"
	case store.KindRefresh:
		tokenType = "refresh_token"
	}
	if tokenType == "" || (t.Kind == store.KindRefresh && t.Rotated) || s.expired(t.ExpiresAt) ||
		(!client.Introspect && t.ClientID != client.ID) {
		writeJSON(w, http.StatusOK, introspection{})
		return
	}
	sub := t.User
	if sub == "" {
		sub = t.ClientID
	}
	resp := introspection{
		Active:    true,
		Scope:     provider.FormatScope(t.Scopes),
		ClientID:  t.ClientID,
		Username:  t.User,
		TokenType: tokenType,
		Iat:       t.IssuedAt.Unix(),
		Sub:       sub,
		Iss:       s.cfg.Issuer,
	}
	if !t.ExpiresAt.IsZero() {
		resp.Exp = t.ExpiresAt.Unix()
	}
	if claims != nil && t.Kind == store.KindAccess {
		resp.Aud, resp.Jti = claims.Audience, claims.JTI
	}
	writeJSON(w, http.StatusOK, resp)
}
