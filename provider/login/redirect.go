package login

import (
	"net/http"
	"net/url"

	"github.com/caddy-oauth/caddy-oauth/provider"
)

// RedirectToLogin answers an authorization request that has no signed-in
// user. A GET (or HEAD) is sent to the login page with return_to set to
// the request's path and query, so the request resumes after login. Any
// other method (a consent form posted after the session expired) cannot be
// replayed through a redirect: it gets an error page asking to start again.
func (m *Manager) RedirectToLogin(w http.ResponseWriter, r *http.Request) {
	m.RedirectToLoginReturning(w, r, m.cfg.ReturnURI(r))
}

// RedirectToLoginReturning is RedirectToLogin with the URI (a path on
// this site) to come back to after signing in.
func (m *Manager) RedirectToLoginReturning(w http.ResponseWriter, r *http.Request, returnTo string) {
	provider.HeaderSecurity(w.Header())
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		q := url.Values{"return_to": {m.returnTo(returnTo)}}
		seeOther(w, m.cfg.LoginPath+"?"+q.Encode())
		return
	}
	m.cfg.Pages.RenderError(w, http.StatusUnauthorized, "Session expired",
		"You are not signed in, or your session has ended. Go back to the application and start again.")
}
