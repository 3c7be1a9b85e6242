package caddyoauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/login"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// Paths of the built-in login pages, relative to the prefix (DESIGN §3).
const (
	pathLogin  = login.DefaultLoginPath
	pathLogout = login.DefaultLogoutPath
)

// newLogin builds the server's login pages for endpoints mounted under
// prefix: sessions in the server's storage, passwords of its static and
// stored users, forms bound with the same Pages (and so the same
// storage-derived key) as the consent forms.
func (s *Server) newLogin(prefix string, pages *provider.Pages) (*login.Manager, error) {
	return login.New(login.Config{
		Pages:      pages,
		Sessions:   s.store,
		Attempts:   s.store,
		Passwords:  s.passwords,
		SessionTTL: time.Duration(s.cfg.SessionTTL),
		CookieName: sessionCookieName(s.name),
		LoginPath:  prefix + pathLogin,
		LogoutPath: prefix + pathLogout,
		// Secure on TLS, or behind a trusted proxy that says https.
		SecureCookies: func(r *http.Request) bool { return requestURL(r).Secure },
		ClientIP:      clientIP,
		ContextClientIP: func(ctx context.Context) string {
			ip, _ := caddyhttp.GetVar(ctx, caddyhttp.ClientIPVarKey).(string)
			return ip
		},
		ReturnURI: originalRequestURI,
		Audit:     s.audit,
	})
}

// oidcPrompt is the OpenID Connect prompt of a request to the
// authorization endpoint.
func (h *OAuthServer) oidcPrompt(r *http.Request, en *engines) (oauth2.Prompt, bool) {
	if en.oidc == nil || r.URL.Path != h.Prefix+oauth2.PathAuthorize {
		return oauth2.Prompt{}, false
	}
	return en.o2.AuthorizationPrompt(r)
}

// sessionCookieName is the default cookie name for the default server, and
// one per other server, so two servers on one host (under different
// prefixes) do not overwrite each other's sessions.
func sessionCookieName(server string) string {
	if server == DefaultServerName {
		return login.DefaultCookieName
	}
	for i := 0; i < len(server); i++ {
		c := server[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			// Not a cookie-name token as is: name it by a hash instead.
			sum := sha256.Sum256([]byte(server))
			return login.DefaultCookieName + "_" + hex.EncodeToString(sum[:6])
		}
	}
	return login.DefaultCookieName + "_" + server
}

// clientIP is the client address Caddy determined (the real client behind
// one of the server's trusted_proxies), which the login lockout counts by.
func clientIP(r *http.Request) string {
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok && ip != "" {
		return ip
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// originalRequestURI is the path and query the browser asked for, before
// any rewrite or strip_prefix: where a login must return to.
func originalRequestURI(r *http.Request) string {
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.URL != nil {
		return orig.URL.RequestURI()
	}
	return r.URL.RequestURI()
}

// exists reports whether a user is still configured or stored, so that the
// session of a deleted user no longer authorizes anything.
func (pc *passwordChecker) exists(ctx context.Context, username string) (bool, error) {
	if _, ok := pc.static[username]; ok {
		return true, nil
	}
	if pc.users == nil || username == "" {
		return false, nil
	}
	_, err := pc.users.GetUser(ctx, username)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	}
	return false, err
}

// resourceOwner is the resource owner of an authorization request: the
// identity an earlier handler established (user_from), else the user
// signed in with the built-in login, if that user still exists. Without
// one it answers the request itself, sending a GET to the login page
// (which returns here afterwards), and reports false.
func (h *OAuthServer) resourceOwner(w http.ResponseWriter, r *http.Request, en *engines) (string, bool) {
	if user := h.user(r); user != "" {
		return user, true
	}
	// OpenID Connect prompt and max_age decide whether the session is
	// good enough (Core §3.1.2.1): prompt=login and a session older than
	// max_age sign in again; with prompt=none the engine answers
	// login_required instead of any page.
	if p, ok := h.oidcPrompt(r, en); ok {
		signedIn, _ := en.login.SignedInAt(r)
		if p.MustReauthenticate(signedIn, time.Now()) {
			if p.None {
				return "", true
			}
			en.login.RedirectToLoginReturning(w, r, oauth2.WithoutLoginPrompt(originalRequestURI(r)))
			return "", false
		}
	}
	if user, ok := en.login.User(r); ok {
		exists, err := h.srv.passwords.exists(r.Context(), user)
		if err != nil {
			h.logger.Error("looking up the signed-in user", zap.String("user", user), zap.Error(err))
			en.pages.RenderError(w, http.StatusServiceUnavailable, "Sign-in unavailable",
				"Signing in is not possible right now. Please try again later.")
			return "", false
		}
		if exists {
			// Core §3.1.2.1: an id_token_hint naming someone else asks
			// for that user; the login page lets them sign in (and then
			// no longer insists). prompt=none gets login_required from
			// the engine instead.
			if p, ok := h.oidcPrompt(r, en); ok && !p.None && en.o2.OtherUserHinted(r, user) {
				en.login.RedirectToLoginReturning(w, r, oauth2.WithoutIDTokenHint(oauth2.WithoutLoginPrompt(originalRequestURI(r))))
				return "", false
			}
			return user, true
		}
	}
	en.login.RedirectToLogin(w, r)
	return "", false
}
