package caddyoauth

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/dcr"
	"github.com/caddy-oauth/caddy-oauth/provider/jwt"
	"github.com/caddy-oauth/caddy-oauth/provider/login"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth1"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
	"github.com/caddy-oauth/caddy-oauth/provider/oidc"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// serverKeyName is the KeyStore entry of a generated server key.
const serverKeyName = "server_key"

// Server is a provisioned authorization server: its open storage, client
// registry, keys and protocol engines. Handlers and admin routes get it from
// App.Server.
type Server struct {
	name    string
	cfg     *ServerConfig
	release func() error // the storage reference
	logger  *zap.Logger

	store     store.Store
	clients   *provider.Clients
	sealer    *provider.Sealer
	pagesKey  []byte
	dcrKey    []byte // derives RFC 7592 registration access tokens
	passwords *passwordChecker
	audit     provider.Auditor
	// users are the config's users with their claims and subjects.
	users map[string]*store.User

	// eng are the server's only engines. There is one set per server: the
	// OAuth 2 engine caches verified tokens and invalidates that cache on
	// every revocation it makes, so the engine that verifies for
	// require_oauth must be the one that revokes for oauth_server; and the
	// login pages count failed sign-ins per server. The oauth_server
	// handler mounts them under its prefix and templates.
	eng     atomic.Pointer[engines]
	mountMu sync.Mutex
	mounted *mountPoint

	released bool
	stop     chan struct{} // closed by close
	initDone chan struct{} // closed when initLater returns; nil without it
}

// engines are a server's protocol engines, its login pages and the Pages
// they all render with; o1 is nil when OAuth 1 is off.
type engines struct {
	o2    *oauth2.Server
	o1    *oauth1.Server
	login *login.Manager
	pages *provider.Pages
	dcr   *dcr.Server // nil unless registration is configured
	// oidc signs ID tokens, oidcEps are its endpoints; nil when off.
	oidc    *oidc.Provider
	oidcEps []provider.Endpoint
}

// mountPoint is where the oauth_server handler serves the endpoints.
type mountPoint struct{ prefix, templates string }

// newServer opens the storage of one server and builds its engines. On
// error nothing stays open. A storage that cannot be reached is not an
// error (Caddy must start while Redis is down): the server then answers
// 503 until a background retry has read its keys and built the engines.
func newServer(ctx caddy.Context, name string, cfg *ServerConfig, logger *zap.Logger) (_ *Server, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if insecureIssuer(cfg.Issuer) {
		logger.Warn("issuer uses plain http on a non-loopback host: tokens, codes and secrets travel in clear text; use https outside local development",
			zap.String("issuer", cfg.Issuer))
	}
	storage, err := cfg.loadStorage(ctx)
	if err != nil {
		return nil, err
	}
	db, release, err := storage.OpenStore(name)
	if err != nil {
		return nil, err
	}
	s := &Server{name: name, cfg: cfg, release: release, logger: logger, store: db, audit: countEvents(name, auditLogger(logger)),
		stop: make(chan struct{})}
	defer func() {
		if err != nil {
			_ = s.close()
		}
	}()
	// Config errors in static clients show now, not when the storage is
	// back: resolve them once with a throwaway key.
	if _, err := staticClients(cfg, throwawaySealer()); err != nil {
		return nil, err
	}
	// And in static users (hashes, claims), which need no storage.
	if _, err := newPasswordChecker(cfg.Users, nil); err != nil {
		return nil, err
	}
	err = s.init(ctx)
	if provider.Unavailable(err) {
		logger.Warn("storage unavailable: answering 503 until it can be reached", zap.Error(err))
		s.initDone = make(chan struct{})
		go s.initLater()
		return s, nil
	}
	return s, err
}

// init reads the server key and builds everything that depends on it,
// publishing the engines last: whoever sees them sees the rest.
func (s *Server) init(ctx context.Context) error {
	key, err := s.serverKey(ctx)
	if err != nil {
		return err
	}
	sealer, err := provider.NewSealer(key)
	if err != nil {
		return err
	}
	// The CSRF key of the consent and login forms is derived, not stored: one secret
	// to keep, and forms stay valid across reloads and restarts.
	pagesKey, err := hkdf.Key(sha256.New, key, nil, "caddy-oauth pages v1", 32)
	if err != nil {
		return err
	}
	dcrKey, err := hkdf.Key(sha256.New, key, nil, "caddy-oauth registration v1", 32)
	if err != nil {
		return err
	}
	static, err := staticClients(s.cfg, sealer)
	if err != nil {
		return err
	}
	passwords, err := newPasswordChecker(s.cfg.Users, s.store)
	if err != nil {
		return err
	}
	users, err := s.staticUserRecords(ctx)
	if err != nil {
		return err
	}
	s.mountMu.Lock()
	defer s.mountMu.Unlock()
	s.sealer, s.pagesKey, s.dcrKey, s.clients, s.passwords = sealer, pagesKey, dcrKey, provider.NewClients(s.store, static...), passwords
	s.users = users
	mp := mountPoint{}
	if s.mounted != nil {
		mp = *s.mounted
	}
	fsys, err := templatesFS(mp.templates)
	if err != nil {
		return fmt.Errorf("templates: %v", err)
	}
	e, err := s.newEngines(mp.prefix, fsys)
	if err != nil {
		return err
	}
	s.eng.Store(e)
	return nil
}

// initLater retries init until the storage answers or the server is
// closed, backing off up to maxInitRetry.
func (s *Server) initLater() {
	defer close(s.initDone)
	wait := 100 * time.Millisecond
	for {
		select {
		case <-s.stop:
			return
		case <-time.After(wait):
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := s.init(ctx)
		cancel()
		if err == nil {
			s.logger.Info("storage reachable: server ready")
			return
		}
		if !provider.Unavailable(err) {
			s.logger.Error("server cannot start although its storage answers; still answering 503", zap.Error(err))
		}
		wait = min(2*wait, maxInitRetry)
	}
}

// maxInitRetry bounds the wait between two attempts to reach the storage
// at startup.
const maxInitRetry = 2 * time.Second

// throwawaySealer seals with a random key, to check what sealing needs.
func throwawaySealer() *provider.Sealer {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	s, _ := provider.NewSealer(key)
	return s
}

// serverKey resolves the configured key or loads (first time: generates)
// the one kept in the storage.
func (s *Server) serverKey(ctx context.Context) ([]byte, error) {
	if s.cfg.ServerKey != "" {
		k, err := caddy.NewReplacer().ReplaceOrErr(s.cfg.ServerKey, true, true)
		if err != nil {
			return nil, fmt.Errorf("server_key: %v", err)
		}
		if len(k) < 32 {
			return nil, errors.New("server_key must be at least 32 bytes (e.g. the output of `openssl rand -base64 32`)")
		}
		return []byte(k), nil
	}
	return s.store.LoadOrCreateKey(ctx, serverKeyName, func() ([]byte, error) {
		k := make([]byte, 32)
		_, err := rand.Read(k)
		return k, err
	})
}

// mount sets where the endpoints are served: under prefix, with the page
// templates of the directory templates ("": the embedded ones). Every
// oauth_server handler of a server must agree, since the metadata
// advertises one set of endpoint URLs for the issuer. It is called while
// the config is provisioned, before any request is served.
func (s *Server) mount(prefix, templates string) error {
	s.mountMu.Lock()
	defer s.mountMu.Unlock()
	want := mountPoint{prefix, templates}
	if s.mounted != nil {
		if *s.mounted != want {
			return fmt.Errorf("every oauth_server handler of server %q must use the same prefix and templates (have prefix %q, templates %q)",
				s.name, s.mounted.prefix, s.mounted.templates)
		}
		return nil
	}
	fsys, err := templatesFS(templates)
	if err != nil {
		return fmt.Errorf("templates: %v", err)
	}
	// Not ready yet (storage unreachable): init builds the engines for
	// this mount point when it succeeds.
	if want != (mountPoint{}) && s.eng.Load() != nil {
		e, err := s.newEngines(prefix, fsys)
		if err != nil {
			return err
		}
		s.eng.Store(e)
	}
	s.mounted = &want
	return nil
}

// templatesFS opens the template override directory; nil for none.
func templatesFS(dir string) (fs.FS, error) {
	if dir == "" {
		return nil, nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	return os.DirFS(dir), nil
}

// newEngines builds the protocol engines and the login pages for
// endpoints mounted under prefix, rendering pages from templates (nil: the
// embedded ones).
func (s *Server) newEngines(prefix string, templates fs.FS) (*engines, error) {
	pages := &provider.Pages{Key: s.pagesKey}
	if templates != nil {
		if err := pages.LoadTemplates(templates); err != nil {
			return nil, fmt.Errorf("loading templates: %v", err)
		}
	}
	lm, err := s.newLogin(prefix, pages)
	if err != nil {
		return nil, err
	}
	accessTTL := time.Duration(s.cfg.AccessTokenTTL)
	op, err := s.newOIDC(accessTTL, lm, pages)
	if err != nil {
		return nil, err
	}
	o2, err := oauth2.New(oauth2.Config{
		Issuer:          s.cfg.Issuer,
		Prefix:          prefix,
		AccessTokenTTL:  accessTTL,
		RefreshTokenTTL: s.cfg.refreshTTL(),
		CodeTTL:         time.Duration(s.cfg.CodeTTL),
		DeviceCodeTTL:   time.Duration(s.cfg.DeviceCodeTTL),
		DeviceInterval:  time.Duration(s.cfg.DeviceInterval),
		// The device page's throttle counts the address the login's
		// lockout counts.
		ClientIP:      clientIP,
		Scopes:        s.cfg.Scopes,
		DefaultScopes: s.cfg.DefaultScopes,
		Grants:        s.cfg.Grants,
		Audit:         s.audit,
		// The password grant shares the login form's lockout.
		Passwords:      lm,
		Pages:          pages,
		TokenFormat:    s.cfg.TokenFormat,
		JWTAlgorithm:   jwt.Algorithm(s.cfg.JWTAlgorithm),
		JWTKeyRotation: time.Duration(s.cfg.JWTKeyRotation),
		Audience:       s.cfg.Audience,
		CacheSize:      s.cfg.VerifyCacheSize,
		// RFC 8414 §2 advertises the RFC 7591 endpoint when it is on.
		RegistrationEndpoint: s.registrationEndpoint(prefix),
		OpenID:               openID(op),
	}, s.store, s.clients)
	if err != nil {
		return nil, err
	}
	e := &engines{o2: o2, login: lm, pages: pages, oidc: op}
	if e.oidcEps, err = oidcEndpoints(op, o2); err != nil {
		return nil, err
	}
	if e.dcr, err = s.newRegistration(prefix, o2); err != nil {
		return nil, err
	}
	if !s.cfg.oauth1Enabled() {
		return e, nil
	}
	if accessTTL == 0 {
		accessTTL = oauth2.DefaultAccessTokenTTL
	}
	o1, err := oauth1.New(oauth1.Config{
		Scopes:                 s.cfg.Scopes,
		DefaultScopes:          s.cfg.DefaultScopes,
		AccessTokenTTL:         accessTTL,
		TimestampWindow:        time.Duration(s.cfg.TimestampWindow),
		Realm:                  s.cfg.Issuer,
		AllowInsecurePlaintext: s.cfg.AllowInsecurePlaintext,
		Sealer:                 s.sealer,
		Audit:                  s.audit,
		Pages:                  pages,
		TokenCacheSize:         s.cfg.OAuth1CacheSize,
	}, s.store, s.clients)
	if err != nil {
		return nil, err
	}
	e.o1 = o1
	return e, nil
}

// engines returns the current engines; nil while the storage has not
// been reachable since the server was provisioned.
func (s *Server) engines() *engines { return s.eng.Load() }

// close stops a pending init and releases the storage reference once.
func (s *Server) close() error {
	if s.released || s.store == nil {
		return nil
	}
	s.released = true
	close(s.stop)
	if s.initDone != nil {
		<-s.initDone
	}
	return s.release()
}

// Name returns the server's name in the oauth app.
func (s *Server) Name() string { return s.name }

// Issuer returns the configured issuer identifier.
func (s *Server) Issuer() string { return s.cfg.Issuer }

// Store returns the server's storage.
func (s *Server) Store() store.Store { return s.store }

// Clients returns the client registry (static clients, then the storage).
func (s *Server) Clients() *provider.Clients { return s.clients }

// Sealer returns the sealer of OAuth 1 secrets; registering a client with a
// secret seals it with oauth1.PurposeClientSecret.
func (s *Server) Sealer() *provider.Sealer { return s.sealer }

// Passwords returns the resource owner password checker.
func (s *Server) Passwords() provider.PasswordChecker { return s.passwords }

// OAuth2 returns the OAuth 2 engine, nil while the server is not ready
// (see Ready). Revoke through it (RevokeUser, RevokeClient), not on the
// store, so its verification cache forgets the tokens at once.
func (s *Server) OAuth2() *oauth2.Server {
	if e := s.engines(); e != nil {
		return e.o2
	}
	return nil
}

// OAuth1 returns the OAuth 1.0a engine, or nil when OAuth 1 is disabled or
// the server is not ready.
func (s *Server) OAuth1() *oauth1.Server {
	if e := s.engines(); e != nil {
		return e.o1
	}
	return nil
}

// Ready reports whether the server has read its keys from the storage and
// serves requests; until then every endpoint answers 503.
func (s *Server) Ready() bool { return s.engines() != nil }
