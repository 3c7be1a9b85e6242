package oauth2

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/cache"
	"github.com/caddy-oauth/caddy-oauth/provider/jwt"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// Endpoint paths, relative to Config.Prefix (the metadata document stays at
// the root whatever the prefix, RFC 8414 §3).
const (
	PathAuthorize  = "/oauth2/authorize"
	PathToken      = "/oauth2/token"
	PathRevoke     = "/oauth2/revoke"
	PathIntrospect = "/oauth2/introspect"
	PathJWKS       = "/oauth2/jwks"
	// PathDeviceAuthorization and PathDevice (the verification URI, a
	// page for the resource owner) serve RFC 8628.
	PathDeviceAuthorization = "/oauth2/device_authorization"
	PathDevice              = "/oauth2/device"
	PathMetadata            = "/.well-known/oauth-authorization-server"
)

// Access token formats (Config.TokenFormat).
const (
	// TokenFormatOpaque: random 256-bit values, meaningful only to the
	// store. The default.
	TokenFormatOpaque = "opaque"
	// TokenFormatJWT: RFC 9068 JWT access tokens signed with keys from the
	// store and published at PathJWKS; still recorded in the store, so
	// they are revoked like opaque ones.
	TokenFormatJWT = "jwt"
)

// Grant type names (RFC 6749 §4), as Config.Grants and store.Client.Grants
// list them.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	GrantPassword          = "password"
	// GrantDeviceCode is RFC 8628's device authorization grant.
	GrantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"
)

// Defaults for a zero Config.
const (
	DefaultAccessTokenTTL  = time.Hour
	DefaultRefreshTokenTTL = 720 * time.Hour
	DefaultCodeTTL         = 60 * time.Second
	// DefaultDeviceCodeTTL is how long a device code and its user code
	// live (RFC 8628 §3.2 expires_in): time enough to find a browser and
	// sign in, short enough to leave a guesser few attempts (§5.1).
	DefaultDeviceCodeTTL = 10 * time.Minute
	// DefaultDeviceInterval is RFC 8628 §3.2's default polling interval.
	DefaultDeviceInterval = 5 * time.Second
	// DefaultCacheSize is the bearer verification cache's entry count
	// (about 7 MiB when full).
	DefaultCacheSize = cache.DefaultSize
)

// Config configures a Server.
type Config struct {
	// Issuer identifies the server: the metadata "issuer" and the RFC 9207
	// "iss" authorization response parameter. An absolute http(s) URL
	// without query or fragment (RFC 8414 §2).
	Issuer string
	// Prefix is the path the endpoints are mounted under ("" for the root),
	// used to build the endpoint URLs in the metadata.
	Prefix string
	// AccessTokenTTL, RefreshTokenTTL and CodeTTL default to 1h, 720h and
	// 60s when zero. A negative RefreshTokenTTL disables refresh tokens.
	// RefreshTokenTTL is an idle timeout: every rotation extends it.
	AccessTokenTTL, RefreshTokenTTL, CodeTTL time.Duration
	// DeviceCodeTTL and DeviceInterval are the device code lifetime and
	// the polling interval of the device grant (RFC 8628); zero means
	// DefaultDeviceCodeTTL and DefaultDeviceInterval. Whole seconds.
	DeviceCodeTTL, DeviceInterval time.Duration
	// ClientIP returns the client's address, which the device flow's
	// user-code throttle counts by; nil means the host of r.RemoteAddr,
	// "" skips the address count.
	ClientIP func(*http.Request) string
	// Scopes are the scopes this server knows (empty: any scope-token);
	// DefaultScopes are granted when a request names none.
	Scopes, DefaultScopes []string
	// Grants are the enabled grant types; empty means DefaultGrants.
	Grants []string
	// Clock, Entropy and Audit default to real time, crypto/rand and
	// discarding events.
	Clock   provider.Clock
	Entropy io.Reader
	Audit   provider.Auditor
	// Passwords checks resource owner credentials for the password grant;
	// required when that grant is enabled. A checker that rate-limits
	// (login.Manager) refuses with provider.ErrTooManyAttempts, answered
	// as invalid_grant.
	Passwords provider.PasswordChecker
	// Pages renders consent and error pages; nil means defaults with a
	// per-process CSRF key.
	Pages *provider.Pages
	// CacheSize bounds the in-memory cache of verified access tokens that
	// VerifyBearer consults before the store (see VerifyBearer for what
	// it guarantees): 0 means DefaultCacheSize entries, a negative value
	// disables the cache.
	CacheSize int

	// TokenFormat is TokenFormatOpaque ("" means it) or TokenFormatJWT.
	// Refresh tokens are opaque either way. Switching formats keeps the
	// tokens already issued valid: both kinds are looked up by hash.
	TokenFormat string
	// JWTAlgorithm signs JWT access tokens: jwt.EdDSA ("" means it),
	// jwt.ES256 or jwt.RS256. Changing it starts new keys, and the JWTs
	// signed with the old ones are refused.
	JWTAlgorithm jwt.Algorithm
	// JWTKeyRotation is how long one signing key signs (0 means
	// jwt.DefaultRotation, 30 days); it must be at least AccessTokenTTL.
	// Changing it, like the algorithm, starts new keys.
	JWTKeyRotation time.Duration
	// Audience is the aud claim of JWT access tokens (RFC 9068 §3): the
	// resource servers they are meant for. Empty means the issuer.
	Audience []string

	// RegistrationEndpoint, if set, is the absolute URL of the RFC 7591
	// client registration endpoint, advertised in the metadata.
	RegistrationEndpoint string

	// OpenID, when set, makes a code flow with scope openid an OpenID
	// Connect one (package oidc): its token responses carry an ID token.
	OpenID OpenID
}

// Store is the part of store.Store the OAuth 2 engine uses: codes, tokens,
// consents, the keys JWT access tokens are signed with, and the change
// counters that keep the verification cache current when the tokens are
// revoked elsewhere (another node, the store directly).
type Store interface {
	store.CodeStore
	store.TokenStore
	store.ConsentStore
	store.KeyStore
	store.ChangeCounter
	store.DeviceStore
	// AttemptStore counts wrong user codes on the device page.
	store.AttemptStore
}

// A whole store.Store will do.
var _ Store = store.Store(nil)

// Server is an OAuth 2 authorization server over a store.
type Server struct {
	cfg     Config
	st      Store
	clients *provider.Clients
	pages   *provider.Pages
	grants  []string
	// issuer is Config.Issuer without a trailing slash, base for endpoint URLs.
	issuer string
	// bearers caches verified access tokens; nil when disabled.
	bearers *cache.Cache[bearerEntry]
	// keys sign and verify JWT access tokens; nil for opaque tokens.
	keys *jwt.Keys
}

// New validates cfg, fills in defaults and returns a Server.
func New(cfg Config, st Store, clients *provider.Clients) (*Server, error) {
	if st == nil || clients == nil {
		return nil, errors.New("oauth2: store and clients are required")
	}
	u, err := url.Parse(cfg.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("oauth2: issuer %q must be an absolute http(s) URL without query or fragment", cfg.Issuer)
	}
	if cfg.Prefix != "" && (!strings.HasPrefix(cfg.Prefix, "/") || strings.HasSuffix(cfg.Prefix, "/")) {
		return nil, fmt.Errorf("oauth2: prefix %q must start with / and not end with /", cfg.Prefix)
	}
	if cfg.AccessTokenTTL == 0 {
		cfg.AccessTokenTTL = DefaultAccessTokenTTL
	}
	if cfg.RefreshTokenTTL == 0 {
		cfg.RefreshTokenTTL = DefaultRefreshTokenTTL
	}
	if cfg.CodeTTL == 0 {
		cfg.CodeTTL = DefaultCodeTTL
	}
	if cfg.DeviceCodeTTL == 0 {
		cfg.DeviceCodeTTL = DefaultDeviceCodeTTL
	}
	if cfg.DeviceInterval == 0 {
		cfg.DeviceInterval = DefaultDeviceInterval
	}
	if cfg.AccessTokenTTL < 0 || cfg.CodeTTL < 0 {
		return nil, errors.New("oauth2: access token and code TTLs must be positive")
	}
	// RFC 8628 §3.2 counts both in seconds.
	if cfg.DeviceCodeTTL < time.Second || cfg.DeviceCodeTTL%time.Second != 0 ||
		cfg.DeviceInterval < time.Second || cfg.DeviceInterval%time.Second != 0 {
		return nil, errors.New("oauth2: the device code lifetime and interval must be whole seconds, at least 1s")
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = remoteHost
	}
	for _, s := range append(slices.Clone(cfg.Scopes), cfg.DefaultScopes...) {
		if !provider.ValidScopeToken(s) {
			return nil, fmt.Errorf("oauth2: invalid scope %q", s)
		}
	}
	if len(cfg.Scopes) > 0 && !provider.ContainsAll(cfg.Scopes, cfg.DefaultScopes) {
		return nil, errors.New("oauth2: default scopes must be among the server's scopes")
	}
	grants := cfg.Grants
	if len(grants) == 0 {
		grants = DefaultGrants
	}
	if err := checkGrants(&cfg, grants); err != nil {
		return nil, err
	}
	keys, err := newJWTKeys(&cfg, st)
	if err != nil {
		return nil, err
	}
	pages := cfg.Pages
	if pages == nil {
		pages = &provider.Pages{Clock: cfg.Clock}
	}
	return &Server{
		cfg:     cfg,
		st:      st,
		clients: clients,
		pages:   pages,
		grants:  slices.Clone(grants),
		issuer:  strings.TrimSuffix(cfg.Issuer, "/"),
		bearers: cache.New[bearerEntry](cfg.CacheSize),
		keys:    keys,
	}, nil
}

// grantEnabled reports whether the server enables grant; refresh_token
// also needs a non-negative RefreshTokenTTL.
func (s *Server) grantEnabled(grant string) bool {
	if grant == GrantRefreshToken && s.cfg.RefreshTokenTTL < 0 {
		return false
	}
	return slices.Contains(s.grants, grant)
}

// clientMay reports whether the server enables grant and the client may use it.
func (s *Server) clientMay(c *store.Client, grant string) bool {
	return s.grantEnabled(grant) && provider.HasGrant(c, grant)
}

func (s *Server) now() time.Time { return s.cfg.Clock.Now() }

func (s *Server) endpoint(path string) string { return s.issuer + s.cfg.Prefix + path }

func (s *Server) emit(e provider.Event) {
	e.Protocol = provider.ProtocolOAuth2
	s.cfg.Audit.Emit(e)
}

// storeFailed reports an internal store error as an event (the only log
// channel the engine has) and returns server_error for the client, or
// temporarily_unavailable when the storage could not be reached.
func (s *Server) storeFailed(op string, err error) *provider.Error {
	s.emit(provider.Event{Name: "store_error", Reason: op + ": " + err.Error()})
	return provider.ErrStore(err)
}

// expired reports whether t has passed by the server's clock; the store
// also expires items, but the engine's clock is authoritative (and
// injectable).
func (s *Server) expired(t time.Time) bool {
	return !t.IsZero() && !s.now().Before(t)
}

func (s *Server) newValue() (string, error) { return provider.NewToken(s.cfg.Entropy) }

// entropy is Config.Entropy or crypto/rand.
func (s *Server) entropy() io.Reader {
	if s.cfg.Entropy != nil {
		return s.cfg.Entropy
	}
	return rand.Reader
}

// remoteHost is the host part of r.RemoteAddr.
func remoteHost(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

func (s *Server) getClient(ctx context.Context, id string) (*store.Client, error) {
	return s.clients.Get(ctx, id)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
