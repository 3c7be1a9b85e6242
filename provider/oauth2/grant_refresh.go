package oauth2

import (
	"context"
	"errors"
	"net/url"
	"slices"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// refreshTokenGrant is open to public clients, which rotation protects.
var refreshTokenGrant = grantType{name: GrantRefreshToken, public: true, byDefault: true, handle: (*Server).grantRefresh}

// grantRefresh exchanges a refresh token (RFC 6749 §6) and rotates it
// (RFC 9700 §4.14.2): the old one is marked used and a new one issued in
// the same transaction; presenting a rotated token again means it leaked,
// so the whole family is revoked.
func (s *Server) grantRefresh(ctx context.Context, client *store.Client, form url.Values) (*tokenResponse, *provider.Error) {
	value := form.Get("refresh_token")
	if value == "" {
		return nil, provider.ErrInvalidRequest("refresh_token is required")
	}
	hash := provider.HashToken(value)
	old, err := s.st.GetToken(ctx, hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, provider.ErrInvalidGrant("unknown, expired or revoked refresh token")
	case err != nil:
		return nil, s.storeFailed("get token", err)
	}
	if old.Kind != store.KindRefresh || s.expired(old.ExpiresAt) {
		return nil, provider.ErrInvalidGrant("unknown, expired or revoked refresh token")
	}
	// §6: the refresh token is bound to the client it was issued to.
	// Checked before rotating, so another client cannot burn it.
	if old.ClientID != client.ID {
		return nil, provider.ErrInvalidGrant("refresh token was issued to another client")
	}
	if old.Rotated {
		return nil, s.refreshReused(ctx, old)
	}

	// §6: the new access token's scope must not exceed the original; the
	// new refresh token keeps the original scope. Scopes the client or
	// server no longer allows are dropped.
	requested, e := requestedScopes(form)
	if e != nil {
		return nil, e
	}
	if !provider.ContainsAll(old.Scopes, requested) {
		return nil, provider.ErrInvalidScope("requested scope exceeds the original grant")
	}
	keep := func(scopes []string) []string {
		return slices.DeleteFunc(slices.Clone(scopes), func(sc string) bool {
			return (len(s.cfg.Scopes) > 0 && !slices.Contains(s.cfg.Scopes, sc)) ||
				(len(client.Scopes) > 0 && !slices.Contains(client.Scopes, sc))
		})
	}
	refreshScopes := keep(old.Scopes)
	accessScopes := refreshScopes
	if len(requested) > 0 {
		accessScopes = keep(requested)
		if len(accessScopes) != len(requested) {
			return nil, provider.ErrInvalidScope("requested scope is no longer allowed for this client")
		}
	}

	resp, at, rt, e := s.mint(ctx, grantOut{
		client: client, user: old.User, scopes: accessScopes, family: old.Family,
		grant: GrantRefreshToken, refresh: true, authTime: old.AuthTime, amr: old.AMR,
	})
	if e != nil {
		return nil, e
	}
	next := []*store.Token{at}
	if rt != nil {
		rt.Scopes = refreshScopes
		next = append(next, rt)
	}
	stored, err := s.st.RotateRefresh(ctx, hash, next...)
	switch {
	case errors.Is(err, store.ErrRotated):
		if stored == nil {
			stored = old
		}
		return nil, s.refreshReused(ctx, stored)
	case errors.Is(err, store.ErrNotFound):
		return nil, provider.ErrInvalidGrant("unknown, expired or revoked refresh token")
	case err != nil:
		return nil, s.storeFailed("rotate refresh token", err)
	}
	s.issued(grantOut{client: client, user: old.User, scopes: accessScopes, grant: GrantRefreshToken}, rt != nil)
	return resp, nil
}

// refreshReused revokes the family of a replayed refresh token: either the
// legitimate client or an attacker holds a stolen copy, and the server
// cannot tell which (RFC 9700 §4.14.2).
func (s *Server) refreshReused(ctx context.Context, t *store.Token) *provider.Error {
	n, err := s.st.RevokeFamily(ctx, t.Family)
	s.forgetBearers()
	if err != nil {
		return s.storeFailed("revoke family", err)
	}
	s.emit(provider.Event{Name: "refresh_reused", ClientID: t.ClientID, User: t.User, Grant: GrantRefreshToken,
		Reason: "rotated refresh token presented again; revoked " + itoa(int64(n)) + " tokens"})
	return provider.ErrInvalidGrant("refresh token already used")
}
