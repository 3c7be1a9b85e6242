package oidc

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
)

// userInfo serves the UserInfo endpoint (Core §5.3), GET or POST, with
// the access token as an RFC 6750 bearer token (header, or form body for
// POST). It needs an access token of an OpenID grant (scope openid:
// insufficient_scope otherwise, §5.3.3) for a user, and answers sub and,
// with scope profile, preferred_username.
func userInfo(srv *oauth2.Server) http.HandlerFunc {
	v := srv.Verifier(false)
	realm := srv.Issuer()
	return func(w http.ResponseWriter, r *http.Request) {
		c, found, e := v.Detect(r)
		if e != nil {
			v.Challenge(w, realm, e)
			return
		}
		if !found {
			// RFC 6750 §3.1: no credentials, no error code.
			v.Challenge(w, realm, nil)
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		id, e := v.Verify(r, c, []string{ScopeOpenID})
		if e == nil && id.User == "" {
			// A client_credentials token names no end user.
			e = provider.NewError(http.StatusForbidden, "insufficient_scope", "the access token names no end user")
			e.Scope = ScopeOpenID
		}
		if e != nil {
			v.Challenge(w, realm, e)
			return
		}
		claims := map[string]string{"sub": id.User}
		if slices.Contains(id.Scopes, ScopeProfile) {
			claims["preferred_username"] = id.User
		}
		b, _ := json.Marshal(claims)
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b)
	}
}
