package oidc

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// scopeClaims are the claims each scope requests (Core §5.4), in the
// order Core lists them. Only what the server's scopes include is ever
// granted, so only those claims are served (and listed in discovery).
var scopeClaims = []struct {
	scope  string
	claims []string
}{
	{ScopeProfile, []string{"name", "family_name", "given_name", "middle_name", "nickname", "preferred_username",
		"profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at"}},
	{ScopeEmail, []string{"email", "email_verified"}},
	{ScopeAddress, []string{"address"}},
	{ScopePhone, []string{"phone_number", "phone_number_verified"}},
}

// userInfo serves the UserInfo endpoint (Core §5.3), GET or POST, with
// the access token as an RFC 6750 bearer token (header, or form body for
// POST). It needs an access token of an OpenID grant (scope openid:
// insufficient_scope otherwise, §5.3.3) for a user, and answers sub and
// the claims of the token's scopes (§5.4) that the user has.
func (p *Provider) userInfo(srv *oauth2.Server) http.HandlerFunc {
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
			p.cfg.Audit.Emit(provider.Event{Name: "userinfo_refused", Protocol: "openid", Reason: e.Code})
			v.Challenge(w, realm, e)
			return
		}
		u, err := p.user(r.Context(), id.User)
		if err != nil {
			p.cfg.Audit.Emit(provider.Event{Name: "store_error", Protocol: "openid", Reason: "userinfo: " + err.Error()})
			v.Challenge(w, realm, provider.ErrStore(err))
			return
		}
		p.cfg.Audit.Emit(provider.Event{Name: "userinfo_served", Protocol: "openid", ClientID: id.ClientID, User: id.User, Scopes: id.Scopes})
		b, _ := json.Marshal(userClaims(id.User, u, id.Scopes))
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b)
	}
}

// userClaims are the UserInfo claims of username (whose record is u, nil
// if none) for the granted scopes: sub always, and each scope's claims
// the user has; absent ones are left out (§5.3.2). Claims go here and
// not into the ID token: in the code flow the client can always ask
// UserInfo, and the ID token stays small (§5.4 puts them in the ID token
// only when no access token is issued).
func userClaims(username string, u *store.User, scopes []string) map[string]any {
	out := map[string]any{"sub": subject(username, u)}
	var c store.Claims
	if u != nil {
		c = u.Claims
	}
	put := func(k, v string) {
		if v != "" {
			out[k] = v
		}
	}
	if slices.Contains(scopes, ScopeProfile) {
		out["preferred_username"] = username
		put("name", c.Name)
		put("family_name", c.FamilyName)
		put("given_name", c.GivenName)
		put("middle_name", c.MiddleName)
		put("nickname", c.Nickname)
		put("profile", c.Profile)
		put("picture", c.Picture)
		put("website", c.Website)
		put("gender", c.Gender)
		put("birthdate", c.Birthdate)
		put("zoneinfo", c.Zoneinfo)
		put("locale", c.Locale)
		if u != nil && !u.UpdatedAt.IsZero() {
			out["updated_at"] = u.UpdatedAt.Unix()
		}
	}
	// The verified flags mean something only with the value they verify.
	if slices.Contains(scopes, ScopeEmail) && c.Email != "" {
		out["email"], out["email_verified"] = c.Email, c.EmailVerified
	}
	if slices.Contains(scopes, ScopeAddress) && c.Address != (store.Address{}) {
		out["address"] = c.Address
	}
	if slices.Contains(scopes, ScopePhone) && c.PhoneNumber != "" {
		out["phone_number"], out["phone_number_verified"] = c.PhoneNumber, c.PhoneNumberVerified
	}
	return out
}
