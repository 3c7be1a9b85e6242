package login

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// Defaults for the zero values of Config.
const (
	DefaultSessionTTL      = 12 * time.Hour
	DefaultCookieName      = "caddy_oauth_session"
	DefaultLoginPath       = "/oauth/login"
	DefaultLogoutPath      = "/oauth/logout"
	DefaultFormTTL         = time.Hour
	DefaultMaxFailures     = 5
	DefaultFailureWindow   = 15 * time.Minute
	DefaultLockoutDuration = 15 * time.Minute
)

// Config sets up a Manager. Pages, Sessions, Attempts and Passwords are required;
// every other zero value means the documented default.
type Config struct {
	// Pages renders the login and logout pages and makes the login form's
	// CSRF token with its Key.
	Pages *provider.Pages
	// Sessions keeps login sessions (by the SHA-256 of the cookie value).
	Sessions store.SessionStore
	// Attempts keeps the brute-force counters, per username and per
	// address. Managers sharing one (several servers on one Redis) share
	// the counts, so guesses spread over servers still lock an account.
	Attempts store.AttemptStore
	// Passwords verifies a username and password.
	Passwords provider.PasswordChecker

	// SessionTTL is how long a session lasts after login (default 12h).
	SessionTTL time.Duration
	// CookieName names the session cookie (default "caddy_oauth_session");
	// the pre-login cookie is CookieName + "_login".
	CookieName string
	// LoginPath and LogoutPath are where ServeLogin and ServeLogout are
	// mounted, prefix included (defaults "/oauth/login", "/oauth/logout").
	LoginPath, LogoutPath string
	// FormTTL is how long a login page may wait before it is submitted
	// (default 1h).
	FormTTL time.Duration

	// SecureCookies reports whether a request reached the server over TLS,
	// so its cookies get the Secure attribute. Default: r.TLS != nil (the
	// glue passes one that trusts X-Forwarded-Proto only from trusted
	// proxies).
	SecureCookies func(*http.Request) bool
	// ForceSecureCookies sets Secure on every cookie regardless.
	ForceSecureCookies bool
	// ClientIP returns the client's address for the per-address lockout.
	// Default: the host part of r.RemoteAddr. "" skips the address count.
	ClientIP func(*http.Request) string
	// ContextClientIP is ClientIP for CheckPassword, which has only the
	// request's context. Nil or "" skips the address count there.
	ContextClientIP func(context.Context) string
	// ReturnURI returns the path and query a login started by
	// RedirectToLogin returns to. Default: r.URL.RequestURI() (the glue
	// passes the original URI when a prefix was stripped).
	ReturnURI func(*http.Request) string

	// Clock gives the time sessions, forms and lockouts expire by.
	Clock provider.Clock
	// Entropy is the source of session values (nil: crypto/rand).
	Entropy io.Reader
	// Audit receives login events; it never sees a password or cookie.
	Audit provider.Auditor

	// MaxFailures failed attempts for one username or from one address
	// within FailureWindow lock it for LockoutDuration (defaults 5, 15m,
	// 15m). See the package documentation.
	MaxFailures     int
	FailureWindow   time.Duration
	LockoutDuration time.Duration
}

// Manager serves the login and logout pages and tells who is signed in.
// It is safe for concurrent use.
type Manager struct {
	cfg   Config
	limit store.AttemptLimit
}

// New checks cfg, fills in defaults and returns a Manager.
func New(cfg Config) (*Manager, error) {
	if cfg.Pages == nil || cfg.Sessions == nil || cfg.Attempts == nil || cfg.Passwords == nil {
		return nil, errors.New("login: Pages, Sessions, Attempts and Passwords are required")
	}
	if cfg.SessionTTL < 0 || cfg.FormTTL < 0 || cfg.FailureWindow < 0 || cfg.LockoutDuration < 0 ||
		cfg.MaxFailures < 0 {
		return nil, errors.New("login: durations and limits must not be negative")
	}
	setDefault(&cfg.SessionTTL, DefaultSessionTTL)
	setDefault(&cfg.FormTTL, DefaultFormTTL)
	setDefault(&cfg.FailureWindow, DefaultFailureWindow)
	setDefault(&cfg.LockoutDuration, DefaultLockoutDuration)
	setDefault(&cfg.MaxFailures, DefaultMaxFailures)
	setDefault(&cfg.CookieName, DefaultCookieName)
	setDefault(&cfg.LoginPath, DefaultLoginPath)
	setDefault(&cfg.LogoutPath, DefaultLogoutPath)
	if !validCookieName(cfg.CookieName) {
		return nil, fmt.Errorf("login: invalid cookie name %q", cfg.CookieName)
	}
	for _, p := range []string{cfg.LoginPath, cfg.LogoutPath} {
		if safeLocalPath(p) != p || strings.ContainsAny(p, "?#") {
			return nil, fmt.Errorf("login: path %q must be a local path without query", p)
		}
	}
	if cfg.LoginPath == cfg.LogoutPath {
		return nil, errors.New("login: LoginPath and LogoutPath must differ")
	}
	if cfg.SecureCookies == nil {
		cfg.SecureCookies = func(r *http.Request) bool { return r.TLS != nil }
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = remoteHost
	}
	if cfg.ReturnURI == nil {
		cfg.ReturnURI = func(r *http.Request) string { return r.URL.RequestURI() }
	}
	return &Manager{
		cfg:   cfg,
		limit: store.AttemptLimit{Max: cfg.MaxFailures, Window: cfg.FailureWindow, Lockout: cfg.LockoutDuration},
	}, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

func (m *Manager) now() time.Time { return m.cfg.Clock.Now() }

func (m *Manager) secure(r *http.Request) bool {
	return m.cfg.ForceSecureCookies || m.cfg.SecureCookies(r)
}

// remoteHost is the host part of r.RemoteAddr.
func remoteHost(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// addressKey groups an address for counting: an IPv4 address alone, an
// IPv6 address by its /64, since one subscriber commonly holds a whole /64
// and could otherwise rotate through it.
func addressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		if len(ip) > 64 {
			ip = ip[:64]
		}
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// validCookieName: an RFC 6265 token.
func validCookieName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}
