package login

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/caddy-oauth/caddy-oauth/provider"
)

// Limits on the login form. bcrypt reads 72 bytes and argon2id any number;
// 1 KiB is more than any password manager makes and keeps a hash cheap.
const (
	maxFormBytes = 64 << 10
	maxUsername  = 256
	maxPassword  = 1024
)

// Messages shown on the login page. One message for an unknown user and a
// wrong password, so the page does not tell which usernames exist.
const (
	msgInvalid  = "Invalid username or password."
	msgMissing  = "Enter your username and password."
	msgTooLong  = "The username or password is too long."
	msgCSRF     = "This sign-in form has expired or did not come from this site. Please sign in again."
	msgTooMany  = "Too many attempts, try again later."
	msgStoreErr = "Signing in is not possible right now. Please try again later."
)

// ServeLogin serves the login page: GET shows the form, POST checks it and
// on success starts a session and redirects (303) to return_to.
func (m *Manager) ServeLogin(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		rt := m.returnTo(r.URL.Query().Get("return_to"))
		m.showLogin(w, r, http.StatusOK, provider.LoginPage{ReturnTo: rt, Username: loginHint(rt)})
	case http.MethodPost:
		m.postLogin(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		m.cfg.Pages.RenderError(w, http.StatusMethodNotAllowed, "Method not allowed", "Use the sign-in form.")
	}
}

// loginHint is the login_hint of the request the login returns to
// (OpenID Connect Core §3.1.2.1: the identifier the user is expected to
// sign in with), to prefill the username; "" if none or implausible.
func loginHint(returnTo string) string {
	u, err := url.Parse(returnTo)
	if err != nil {
		return ""
	}
	hint := u.Query().Get("login_hint")
	if len(hint) > 256 || strings.ContainsAny(hint, "\x00\r\n") {
		return ""
	}
	return hint
}

// preLoginCookie names the double-submit cookie of the login form.
func (m *Manager) preLoginCookie() string { return m.cfg.CookieName + "_login" }

// showLogin renders the form with a CSRF token bound to the browser's
// pre-login cookie, setting that cookie first if it has none. An existing
// one is kept so that several open login tabs all stay valid.
func (m *Manager) showLogin(w http.ResponseWriter, r *http.Request, status int, page provider.LoginPage) {
	pre := cookieValue(r, m.preLoginCookie())
	if pre == "" {
		var err error
		if pre, err = provider.NewToken(m.cfg.Entropy); err != nil {
			m.cfg.Pages.RenderError(w, http.StatusServiceUnavailable, "Sign-in unavailable", msgStoreErr)
			return
		}
	}
	m.setCookie(w, r, m.preLoginCookie(), pre, m.cfg.LoginPath, int(m.cfg.FormTTL/time.Second))
	page.Action = m.cfg.LoginPath
	page.CSRF = m.cfg.Pages.LoginToken(pre, m.now().Add(m.cfg.FormTTL))
	if s, err := m.session(r); err == nil && s != nil {
		page.SignedInAs = s.User
	}
	m.cfg.Pages.RenderLogin(w, status, page)
}

func (m *Manager) postLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		status := http.StatusBadRequest
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			status = http.StatusRequestEntityTooLarge
		}
		m.cfg.Pages.RenderError(w, status, "Invalid sign-in form", "The form could not be read. Go back and try again.")
		return
	}
	form := r.PostForm
	username, password := form.Get("username"), form.Get("password")
	page := provider.LoginPage{ReturnTo: m.returnTo(form.Get("return_to"))}
	if len(username) <= maxUsername && utf8.ValidString(username) {
		page.Username = username
	}

	// CSRF before anything else: a cross-site POST neither checks a
	// password nor counts towards a lockout.
	if !m.checkLoginCSRF(r, form) {
		m.audit(provider.Event{Name: "login_refused", Reason: "invalid csrf token"})
		page.Error = msgCSRF
		m.showLogin(w, r, http.StatusForbidden, page)
		return
	}
	if len(form["username"]) != 1 || len(form["password"]) != 1 || username == "" || password == "" {
		page.Error = msgMissing
		m.showLogin(w, r, http.StatusBadRequest, page)
		return
	}
	if len(username) > maxUsername || len(password) > maxPassword || !utf8.ValidString(username) {
		page.Error = msgTooLong
		m.showLogin(w, r, http.StatusBadRequest, page)
		return
	}

	keys := attemptKeys(username, m.cfg.ClientIP(r))
	ok, retry, err := m.begin(r.Context(), keys)
	if err != nil {
		// Fail closed: no password is checked without its count.
		page.Error = msgStoreErr
		m.showLogin(w, r, http.StatusServiceUnavailable, page)
		return
	}
	if !ok {
		m.audit(provider.Event{Name: "login_refused", User: username, Reason: "too many attempts"})
		w.Header().Set("Retry-After", strconv.FormatInt(int64((retry+time.Second-1)/time.Second), 10))
		page.Error = msgTooMany
		m.showLogin(w, r, http.StatusTooManyRequests, page)
		return
	}
	result := aborted
	defer func() { m.end(r.Context(), result, keys) }()

	good, err := m.cfg.Passwords.CheckPassword(r.Context(), username, password)
	if err != nil {
		page.Error = msgStoreErr
		m.showLogin(w, r, http.StatusServiceUnavailable, page)
		return
	}
	if !good {
		result = failed
		m.audit(provider.Event{Name: "login_failed", User: username, Reason: "invalid username or password"})
		page.Error = msgInvalid
		m.showLogin(w, r, http.StatusUnauthorized, page)
		return
	}
	result = succeeded

	// Session fixation: whatever session the browser presented is ended
	// and a new value issued, never the presented one reused.
	if old := cookieValue(r, m.cfg.CookieName); old != "" {
		if err := m.cfg.Sessions.DeleteSession(r.Context(), provider.HashToken(old)); err != nil {
			page.Error = msgStoreErr
			m.showLogin(w, r, http.StatusServiceUnavailable, page)
			return
		}
	}
	value, err := m.newSession(r.Context(), username)
	if err != nil {
		page.Error = msgStoreErr
		m.showLogin(w, r, http.StatusServiceUnavailable, page)
		return
	}
	m.setCookie(w, r, m.cfg.CookieName, value, "/", int(m.cfg.SessionTTL/time.Second))
	m.audit(provider.Event{Name: "login_succeeded", User: username})
	provider.HeaderSecurity(w.Header())
	seeOther(w, page.ReturnTo)
}

// checkLoginCSRF checks the double submit: exactly one csrf_token field,
// an HMAC (Pages.Key) of this browser's pre-login cookie, not expired.
func (m *Manager) checkLoginCSRF(r *http.Request, form url.Values) bool {
	pre := cookieValue(r, m.preLoginCookie())
	if pre == "" || len(form["csrf_token"]) != 1 {
		return false
	}
	return m.cfg.Pages.CheckLoginToken(form.Get("csrf_token"), pre, m.now())
}

func (m *Manager) audit(e provider.Event) { m.cfg.Audit.Emit(e) }
