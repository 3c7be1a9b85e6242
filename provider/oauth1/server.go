package oauth1

import (
	"crypto/rsa"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/cache"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// Purposes the Sealer binds OAuth 1 secrets to. The glue seals a static or
// registered client's secret with PurposeClientSecret so this package can
// open it as the HMAC key; token secrets use PurposeTokenSecret, so one can
// never be passed off as the other.
const (
	PurposeClientSecret = "oauth1-client-secret"
	PurposeTokenSecret  = "oauth1-token-secret"
)

// Defaults for a zero Config.
const (
	DefaultRequestTokenTTL = 10 * time.Minute
	DefaultTimestampWindow = 300 * time.Second
)

// Config configures a Server.
type Config struct {
	// Scopes the server knows (empty: any); DefaultScopes are granted when
	// a client asks for none (DESIGN §3).
	Scopes, DefaultScopes []string
	// AccessTokenTTL is the lifetime of token credentials. Zero means they
	// never expire, which is traditional for OAuth 1 (RFC 5849 has no
	// expiry or refresh); the glue passes the server's access_token_ttl.
	AccessTokenTTL time.Duration
	// RequestTokenTTL bounds temporary credentials and their verifier
	// (default 10 minutes).
	RequestTokenTTL time.Duration
	// TimestampWindow is how far oauth_timestamp may be from the server's
	// clock either way (default 300 s). Nonces are remembered for twice
	// the window, the longest a timestamp stays acceptable.
	TimestampWindow time.Duration
	// Realm goes into `WWW-Authenticate: OAuth realm="..."`.
	Realm string
	// AllowInsecurePlaintext allows PLAINTEXT on a plain-HTTP request from
	// a loopback address (local development). Otherwise PLAINTEXT, which
	// sends the secrets as the signature, is refused unless the client's
	// connection was TLS (RFC 5849 §3.4.4, §4.2).
	AllowInsecurePlaintext bool
	// MaxBodyBytes bounds a form body read for parameters (default 1 MiB);
	// a larger urlencoded body is answered 413.
	MaxBodyBytes int64
	// Sealer opens client secrets and seals/opens token secrets. Required.
	Sealer *provider.Sealer
	// Clock and Entropy default to the real time and crypto/rand.
	Clock   provider.Clock
	Entropy io.Reader
	// Audit receives issued/refused events; nil discards them.
	Audit provider.Auditor
	// Pages renders the consent, error and out-of-band verifier pages of
	// the authorization step. Required.
	Pages *provider.Pages
	// TokenCacheSize bounds the in-memory cache of token credentials
	// that Verify consults before the store (see accessCredentials for
	// what it guarantees): 0 means DefaultTokenCacheSize entries, a
	// negative value disables it, so every request reads the store.
	TokenCacheSize int
}

// RequestURL is how the client saw the request, which the base string URI
// (§3.4.1.2) must be rebuilt from: the glue passes Caddy's view, honoring
// trusted_proxies.
type RequestURL struct {
	// Scheme is "http" or "https"; Host includes a non-default port.
	Scheme, Host string
	// Path is the escaped path the client sent, if a rewrite changed
	// r.URL (e.g. a stripped prefix); empty means r.URL.EscapedPath().
	Path string
	// Secure: the client's connection was TLS (to us or to a trusted
	// proxy in front of us).
	Secure bool
	// Loopback: the client connected from a loopback address.
	Loopback bool
}

// Store is the part of a store.Store the engine uses: temporary and token
// credentials, nonces, remembered consents, and the change counters its
// token credentials cache checks. Clients come from the provider.Clients
// registry, not from here.
type Store interface {
	store.TokenStore
	store.NonceStore
	store.ConsentStore
	store.ChangeCounter
}

// Every full store is one, so callers can pass a store.Store.
var _ Store = store.Store(nil)

// Server is the OAuth 1.0a engine for one authorization server.
type Server struct {
	cfg     Config
	st      Store
	clients *provider.Clients
	clock   provider.Clock
	window  time.Duration
	realm   string
	maxBody int64

	keysMu sync.Mutex
	keys   map[string]*rsa.PublicKey

	// access caches token credentials for Verify, current while the
	// store's change counters say so; nil if disabled.
	access *cache.Cache[*accessEntry]
}

// New returns a Server over st and the client registry.
func New(cfg Config, st Store, clients *provider.Clients) (*Server, error) {
	if st == nil {
		return nil, errors.New("oauth1: nil store")
	}
	if clients == nil {
		return nil, errors.New("oauth1: nil client registry")
	}
	if cfg.Sealer == nil {
		return nil, errors.New("oauth1: a Sealer is required for client and token secrets")
	}
	if cfg.Pages == nil {
		return nil, errors.New("oauth1: Pages are required for the authorization step")
	}
	if cfg.RequestTokenTTL < 0 || cfg.TimestampWindow < 0 || cfg.AccessTokenTTL < 0 || cfg.MaxBodyBytes < 0 {
		return nil, errors.New("oauth1: negative duration or size")
	}
	if cfg.RequestTokenTTL == 0 {
		cfg.RequestTokenTTL = DefaultRequestTokenTTL
	}
	if cfg.TimestampWindow == 0 {
		cfg.TimestampWindow = DefaultTimestampWindow
	}
	if cfg.TimestampWindow < time.Second {
		return nil, errors.New("oauth1: timestamp window below one second")
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	s := &Server{
		cfg:     cfg,
		st:      st,
		clients: clients,
		clock:   cfg.Clock,
		window:  cfg.TimestampWindow,
		realm:   provider.SafeText(cfg.Realm),
		maxBody: cfg.MaxBodyBytes,
		keys:    make(map[string]*rsa.PublicKey),
	}
	if cfg.TokenCacheSize == 0 {
		cfg.TokenCacheSize = DefaultTokenCacheSize
	}
	s.access = cache.New[*accessEntry](cfg.TokenCacheSize)
	return s, nil
}

// maxCachedKeys bounds the parsed RSA key cache.
const maxCachedKeys = 256

// rsaKey parses (and caches) a client's RSA public key.
func (s *Server) rsaKey(pemText string) (*rsa.PublicKey, error) {
	s.keysMu.Lock()
	k, ok := s.keys[pemText]
	s.keysMu.Unlock()
	if ok {
		return k, nil
	}
	k, err := ParseRSAPublicKey(pemText)
	if err != nil {
		return nil, err
	}
	s.keysMu.Lock()
	if len(s.keys) >= maxCachedKeys {
		clear(s.keys)
	}
	s.keys[pemText] = k
	s.keysMu.Unlock()
	return k, nil
}
