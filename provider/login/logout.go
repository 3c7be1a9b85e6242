package login

import (
	"errors"
	"net/http"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

const msgLogoutCSRF = "This sign-out form has expired or did not come from this site. Confirm again to sign out."

// ServeLogout serves the logout page: GET asks for confirmation, POST with
// the session's CSRF token ends the session and clears the cookie. Without
// a session both show the signed-out page.
func (m *Manager) ServeLogout(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		m.cfg.Pages.RenderError(w, http.StatusMethodNotAllowed, "Method not allowed", "Use the sign-out form.")
		return
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			status := http.StatusBadRequest
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				status = http.StatusRequestEntityTooLarge
			}
			m.cfg.Pages.RenderError(w, status, "Invalid sign-out form", "The form could not be read. Go back and try again.")
			return
		}
	}
	s, err := m.session(r)
	if err != nil {
		m.cfg.Pages.RenderError(w, http.StatusServiceUnavailable, "Sign-out unavailable", "Signing out is not possible right now. Please try again later.")
		return
	}
	if s == nil {
		if cookieValue(r, m.cfg.CookieName) != "" {
			m.setCookie(w, r, m.cfg.CookieName, "", "/", -1)
		}
		m.cfg.Pages.RenderLogout(w, http.StatusOK, provider.LogoutPage{SignedOut: true})
		return
	}
	form := provider.LogoutPage{Action: m.cfg.LogoutPath, User: s.User, CSRF: s.CSRF}
	if r.Method != http.MethodPost {
		m.cfg.Pages.RenderLogout(w, http.StatusOK, form)
		return
	}
	if tok := r.PostForm["csrf_token"]; len(tok) != 1 || !provider.Equal(tok[0], s.CSRF) {
		m.audit(provider.Event{Name: "login_refused", User: s.User, Reason: "invalid logout csrf token"})
		form.Error = msgLogoutCSRF
		m.cfg.Pages.RenderLogout(w, http.StatusForbidden, form)
		return
	}
	if err := m.endSession(w, r, s, ""); err != nil {
		m.cfg.Pages.RenderError(w, http.StatusServiceUnavailable, "Sign-out unavailable", "Signing out is not possible right now. Please try again later.")
		return
	}
	m.cfg.Pages.RenderLogout(w, http.StatusOK, provider.LogoutPage{SignedOut: true})
}

// SessionOf returns the user of r's live session and the session's CSRF
// value, which a sign-out form elsewhere (OpenID Connect RP-initiated
// logout) carries; ok is false without a session.
func (m *Manager) SessionOf(r *http.Request) (user, csrf string, ok bool, err error) {
	s, err := m.session(r)
	if err != nil || s == nil {
		return "", "", false, err
	}
	return s.User, s.CSRF, true, nil
}

// EndSession ends r's session, if it has one: deleted in the store, so
// that every server sharing it sees it gone at once, and its cookie
// cleared. clientID names the relying party that asked (audited).
func (m *Manager) EndSession(w http.ResponseWriter, r *http.Request, clientID string) error {
	s, err := m.session(r)
	if err != nil || s == nil {
		return err
	}
	return m.endSession(w, r, s, clientID)
}

func (m *Manager) endSession(w http.ResponseWriter, r *http.Request, s *store.Session, clientID string) error {
	if err := m.cfg.Sessions.DeleteSession(r.Context(), s.Hash); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	m.setCookie(w, r, m.cfg.CookieName, "", "/", -1)
	m.audit(provider.Event{Name: "logout", User: s.User, ClientID: clientID})
	return nil
}
