package oauth2

import (
	"context"
	"errors"
	"net/url"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

var passwordGrant = grantType{name: GrantPassword, handle: (*Server).grantPassword, check: func(cfg *Config) error {
	if cfg.Passwords == nil {
		return errors.New("oauth2: the password grant needs a password checker")
	}
	return nil
}}

// grantPassword is the resource owner password credentials grant (RFC 6749
// §4.3). RFC 9700 §2.4 says it MUST NOT be used; it exists for migrations
// and is only reachable when the operator lists it in Config.Grants.
func (s *Server) grantPassword(ctx context.Context, client *store.Client, form url.Values) (*tokenResponse, *provider.Error) {
	username, password := form.Get("username"), form.Get("password")
	if username == "" || !form.Has("password") {
		return nil, provider.ErrInvalidRequest("username and password are required")
	}
	scopes, e := s.grantScopes(client, form)
	if e != nil {
		return nil, e
	}
	ok, err := s.cfg.Passwords.CheckPassword(ctx, username, password)
	if errors.Is(err, provider.ErrTooManyAttempts) {
		return nil, provider.ErrInvalidGrant(err.Error())
	}
	if err != nil {
		return nil, s.storeFailed("check password", err)
	}
	if !ok {
		return nil, provider.ErrInvalidGrant("invalid resource owner credentials")
	}
	return s.issue(ctx, grantOut{client: client, user: username, scopes: scopes, grant: GrantPassword, refresh: true})
}
