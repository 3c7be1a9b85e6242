package login

import (
	"context"
	"errors"
	"net/http"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// User returns the resource owner signed in by r's session cookie, if the
// session exists and has not expired. A store failure counts as not signed
// in (the caller then shows the login page, which reports the failure).
func (m *Manager) User(r *http.Request) (username string, ok bool) {
	s, err := m.session(r)
	if err != nil || s == nil {
		return "", false
	}
	return s.User, true
}

// session looks up r's session: nil without a cookie, for an unknown or
// expired session, or for a cookie that is not one of ours.
func (m *Manager) session(r *http.Request) (*store.Session, error) {
	value := cookieValue(r, m.cfg.CookieName)
	if value == "" {
		return nil, nil
	}
	s, err := m.cfg.Sessions.GetSession(r.Context(), provider.HashToken(value))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// The store expires by its own clock; the injected one decides here.
	if s.User == "" || !m.now().Before(s.ExpiresAt) {
		return nil, nil
	}
	return s, nil
}

// newSession stores a fresh session for user and returns the cookie
// value. Only its SHA-256 reaches the store.
func (m *Manager) newSession(ctx context.Context, user string) (string, error) {
	value, err := provider.NewToken(m.cfg.Entropy)
	if err != nil {
		return "", err
	}
	csrf, err := provider.NewToken(m.cfg.Entropy)
	if err != nil {
		return "", err
	}
	now := m.now()
	err = m.cfg.Sessions.SaveSession(ctx, &store.Session{
		Hash:      provider.HashToken(value),
		User:      user,
		CSRF:      csrf,
		IssuedAt:  now,
		ExpiresAt: now.Add(m.cfg.SessionTTL),
	})
	if err != nil {
		return "", err
	}
	return value, nil
}

// cookieValue returns the named cookie if it looks like a value we issue
// (provider.NewToken: 43 base64url characters); anything else is ignored
// rather than looked up.
func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil || !wellFormed(c.Value) {
		return ""
	}
	return c.Value
}

func wellFormed(v string) bool {
	if len(v) != 43 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// setCookie sets a cookie as every cookie here is set: HttpOnly,
// SameSite=Lax (sent on the top-level navigation back from a client, not
// on cross-site subrequests or POSTs), Secure on TLS. maxAge < 0 clears it.
func (m *Manager) setCookie(w http.ResponseWriter, r *http.Request, name, value, path string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     path,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   m.secure(r),
		SameSite: http.SameSiteLaxMode,
	})
}
