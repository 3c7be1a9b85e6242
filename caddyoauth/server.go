package caddyoauth

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/jwt"
	"github.com/caddy-oauth/caddy-oauth/provider/login"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth1"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/badger"
)

// serverKeyName is the KeyStore entry of a generated server key.
const serverKeyName = "server_key"

// Server is a provisioned authorization server: its open storage, client
// registry, keys and protocol engines. Handlers and admin routes get it from
// App.Server.
type Server struct {
	name   string
	cfg    *ServerConfig
	dir    string
	logger *zap.Logger

	store     store.Store
	clients   *provider.Clients
	sealer    *provider.Sealer
	pagesKey  []byte
	passwords *passwordChecker
	audit     provider.Auditor

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
}

// engines are a server's protocol engines, its login pages and the Pages
// they all render with; o1 is nil when OAuth 1 is off.
type engines struct {
	o2    *oauth2.Server
	o1    *oauth1.Server
	login *login.Manager
	pages *provider.Pages
}

// mountPoint is where the oauth_server handler serves the endpoints.
type mountPoint struct{ prefix, templates string }

// newServer opens the storage of one server and builds its engines; Badger
// logs to badgerLog. On error nothing stays open.
func newServer(ctx context.Context, name string, cfg *ServerConfig, logger *zap.Logger, badgerLog *slog.Logger) (_ *Server, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if insecureIssuer(cfg.Issuer) {
		logger.Warn("issuer uses plain http on a non-loopback host: tokens, codes and secrets travel in clear text; use https outside local development",
			zap.String("issuer", cfg.Issuer))
	}
	dir, err := cfg.storageDir(name)
	if err != nil {
		return nil, err
	}
	nonces, _ := nonceDurability(cfg.StorageNonceDurability) // checked by validate
	db, err := openDatabase(badger.Options{Dir: dir, Memory: cfg.StorageMemory, Nonces: nonces, Logger: badgerLog}, logger)
	if err != nil {
		return nil, err
	}
	s := &Server{name: name, cfg: cfg, dir: dir, logger: logger, store: db, audit: countEvents(name, auditLogger(logger))}
	defer func() {
		if err != nil {
			_ = s.close()
		}
	}()

	key, err := s.serverKey(ctx)
	if err != nil {
		return nil, err
	}
	if s.sealer, err = provider.NewSealer(key); err != nil {
		return nil, err
	}
	// The CSRF key of the consent and login forms is derived, not stored: one secret
	// to keep, and forms stay valid across reloads and restarts.
	if s.pagesKey, err = hkdf.Key(sha256.New, key, nil, "caddy-oauth pages v1", 32); err != nil {
		return nil, err
	}
	static, err := staticClients(cfg, s.sealer)
	if err != nil {
		return nil, err
	}
	s.clients = provider.NewClients(db, static...)
	if s.passwords, err = newPasswordChecker(cfg.Users, db); err != nil {
		return nil, err
	}
	e, err := s.newEngines("", nil)
	if err != nil {
		return nil, err
	}
	s.eng.Store(e)
	return s, nil
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
	if want != (mountPoint{}) {
		fsys, err := templatesFS(templates)
		if err != nil {
			return fmt.Errorf("templates: %v", err)
		}
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
	}, s.store, s.clients)
	if err != nil {
		return nil, err
	}
	e := &engines{o2: o2, login: lm, pages: pages}
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

// engines returns the current engines.
func (s *Server) engines() *engines { return s.eng.Load() }

// close releases the storage reference once.
func (s *Server) close() error {
	if s.released || s.store == nil {
		return nil
	}
	s.released = true
	return releaseDatabase(s.dir, s.logger)
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

// OAuth2 returns the OAuth 2 engine. Revoke through it (RevokeUser,
// RevokeClient), not on the store, so its verification cache forgets the
// tokens at once.
func (s *Server) OAuth2() *oauth2.Server { return s.engines().o2 }

// OAuth1 returns the OAuth 1.0a engine, or nil when OAuth 1 is disabled.
func (s *Server) OAuth1() *oauth1.Server { return s.engines().o1 }
