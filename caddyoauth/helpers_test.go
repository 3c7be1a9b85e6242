package caddyoauth

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth1"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// newTestServer provisions a server over real Badger in a temp dir,
// without a running Caddy, for handler tests and benchmarks.
func newTestServer(tb testing.TB, cfg *ServerConfig) *Server {
	tb.Helper()
	if cfg.Issuer == "" {
		cfg.Issuer = "https://auth.example.com"
	}
	if cfg.StorageDir == "" && len(cfg.StorageRaw) == 0 {
		cfg.StorageDir = tb.TempDir()
	}
	srv, err := provisionTestServer(cfg)
	if err != nil {
		tb.Fatalf("provisioning server: %v", err)
	}
	tb.Cleanup(func() {
		if err := srv.close(); err != nil {
			tb.Error(err)
		}
	})
	return srv
}

// provisionTestServer is newServer outside a running Caddy: the storage
// in cfg.StorageDir (legacy fields) logs nowhere.
func provisionTestServer(cfg *ServerConfig) (*Server, error) {
	if cfg.storage == nil && len(cfg.StorageRaw) == 0 {
		b := &BadgerStorage{Dir: cfg.StorageDir, Memory: cfg.StorageMemory, NonceDurability: cfg.StorageNonceDurability,
			logger: zap.NewNop(), dbLog: slog.New(slog.DiscardHandler)}
		if err := b.Validate(); err != nil {
			return nil, err
		}
		cfg.storage = b
	}
	return newServer(caddy.Context{Context: context.Background()}, "default", cfg, zap.NewNop())
}

// newTestRequire provisions a require_oauth handler over srv.
func newTestRequire(tb testing.TB, srv *Server, h *RequireOAuth) *RequireOAuth {
	tb.Helper()
	h.logger = zap.NewNop()
	if err := h.provision(srv); err != nil {
		tb.Fatalf("provisioning require_oauth: %v", err)
	}
	return h
}

// issueAccess stores an OAuth 2 access token as the token endpoint would
// and returns its value.
func issueAccess(tb testing.TB, srv *Server, clientID, user string, scopes ...string) string {
	tb.Helper()
	value, err := provider.NewToken(nil)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now()
	err = srv.Store().SaveToken(context.Background(), &store.Token{
		Hash: provider.HashToken(value), Kind: store.KindAccess, ClientID: clientID, User: user,
		Scopes: scopes, Family: "fam-" + value[:8], IssuedAt: now, ExpiresAt: now.Add(time.Hour),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return value
}

// issueOAuth1 stores OAuth 1 token credentials and returns the token and
// its secret.
func issueOAuth1(tb testing.TB, srv *Server, clientID, user string, scopes ...string) (token, secret string) {
	tb.Helper()
	token, _ = provider.NewToken(nil)
	secret, _ = provider.NewToken(nil)
	sealed, err := srv.Sealer().Seal(oauth1.PurposeTokenSecret, []byte(secret))
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now()
	err = srv.Store().SaveToken(context.Background(), &store.Token{
		Hash: provider.HashToken(token), Kind: store.KindOAuth1Access, ClientID: clientID, User: user,
		Scopes: scopes, Family: "fam-" + token[:8], IssuedAt: now, ExpiresAt: now.Add(time.Hour),
		SealedSecret: sealed,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return token, secret
}

// withReplacer prepares r as Caddy's server would for a handler: a
// replacer and the variables map in its context.
func withReplacer(r *http.Request) (*http.Request, *caddy.Replacer) {
	repl := caddy.NewReplacer()
	return caddyhttp.PrepareRequest(r, repl, nil, nil), repl
}

// nextRecorder is a next handler that records the request it got.
type nextRecorder struct {
	called bool
	req    *http.Request
	body   string
}

func (n *nextRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) error {
	n.called = true
	n.req = r
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		n.body = string(b)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// serve runs h on r and returns the response and what next saw.
func serve(t *testing.T, h caddyhttp.MiddlewareHandler, r *http.Request) (*httptest.ResponseRecorder, *nextRecorder, *caddy.Replacer) {
	t.Helper()
	r, repl := withReplacer(r)
	w := httptest.NewRecorder()
	next := &nextRecorder{}
	if err := h.ServeHTTP(w, r, next); err != nil {
		t.Fatalf("ServeHTTP: %v", err)
	}
	return w, next, repl
}

// generatedIDSize is the length of a generated client_id: crypto/rand.Text,
// 128 bits in base32.
const generatedIDSize = 26
