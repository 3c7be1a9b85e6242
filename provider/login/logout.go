package login

import (
	"errors"
	"net/http"

	"github.com/caddy-oauth/caddy-oauth/provider"
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
	if err := m.cfg.Sessions.DeleteSession(r.Context(), s.Hash); err != nil {
		m.cfg.Pages.RenderError(w, http.StatusServiceUnavailable, "Sign-out unavailable", "Signing out is not possible right now. Please try again later.")
		return
	}
	m.setCookie(w, r, m.cfg.CookieName, "", "/", -1)
	m.audit(provider.Event{Name: "logout", User: s.User})
	m.cfg.Pages.RenderLogout(w, http.StatusOK, provider.LogoutPage{SignedOut: true})
}
