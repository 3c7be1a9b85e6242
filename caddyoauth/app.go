package caddyoauth

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

func init() {
	caddy.RegisterModule(App{})
}

// DefaultServerName is the server a handler uses when it names none.
const DefaultServerName = "default"

// App is the `oauth` app: one or more OAuth authorization servers, each with
// its own issuer, storage, clients and users. The `oauth_server` handler
// serves a server's endpoints; `require_oauth` checks tokens it issued.
type App struct {
	// Servers maps a server name to its configuration. Handlers pick one
	// by name; the name "default" is used when they do not say.
	Servers map[string]*ServerConfig `json:"servers,omitempty"`

	servers map[string]*Server
	logger  *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "oauth",
		New: func() caddy.Module { return new(App) },
	}
}

// Provision opens every server's storage and builds its engines. Servers
// sharing a storage (one Badger directory, one Redis key prefix) are
// refused: two servers' data must not mix.
func (a *App) Provision(ctx caddy.Context) error {
	a.logger = ctx.Logger()
	if err := registerMetrics(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("registering metrics: %v", err)
	}
	a.servers = make(map[string]*Server, len(a.Servers))
	keys := make(map[string]string, len(a.Servers))
	names := make([]string, 0, len(a.Servers))
	for name := range a.Servers {
		names = append(names, name)
	}
	slices.Sort(names) // deterministic errors and logs
	for _, name := range names {
		cfg := a.Servers[name]
		if cfg == nil {
			return fmt.Errorf("oauth server %q: empty configuration", name)
		}
		if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
			return fmt.Errorf("oauth server name %q: must be non-empty and contain no slashes", name)
		}
		storage, err := cfg.loadStorage(ctx)
		if err != nil {
			return fmt.Errorf("oauth server %q: %v", name, err)
		}
		key, err := storage.StorageKey(name)
		if err != nil {
			return fmt.Errorf("oauth server %q: %v", name, err)
		}
		if other, ok := keys[key]; ok {
			return fmt.Errorf("oauth servers %q and %q use the same storage (%s)", other, name, key)
		}
		keys[key] = name
		srv, err := newServer(ctx, name, cfg, a.logger.With(zap.String("server", name)))
		if err != nil {
			return fmt.Errorf("oauth server %q: %v", name, err)
		}
		a.servers[name] = srv
	}
	return nil
}

// Start implements caddy.App; the servers need no background work of their
// own (Badger runs its GC from Open).
func (a *App) Start() error { return nil }

// Stop implements caddy.App. Storage is released in Cleanup, which runs after
// a reload's new config started, so the two configs share one open database.
func (a *App) Stop() error { return nil }

// Cleanup releases each server's reference to its database; the last
// reference closes it.
func (a *App) Cleanup() error {
	var errs []error
	for _, srv := range a.servers {
		if err := srv.close(); err != nil {
			errs = append(errs, err)
		}
	}
	a.servers = nil
	return errors.Join(errs...)
}

// Server returns the provisioned server with the given name ("" means
// "default"), for handlers and admin routes.
func (a *App) Server(name string) (*Server, error) {
	if name == "" {
		name = DefaultServerName
	}
	srv, ok := a.servers[name]
	if !ok {
		if len(a.servers) == 0 {
			return nil, fmt.Errorf("oauth server %q is not configured: add it to the oauth app (Caddyfile: the global option `oauth { server %s { issuer ... } }`)", name, name)
		}
		known := make([]string, 0, len(a.servers))
		for n := range a.servers {
			known = append(known, n)
		}
		slices.Sort(known)
		return nil, fmt.Errorf("oauth server %q is not configured (configured: %s)", name, strings.Join(known, ", "))
	}
	return srv, nil
}

// serverFor returns the named server of the oauth app that ctx loads,
// for the handlers' Provision.
func serverFor(ctx caddy.Context, name string) (*Server, error) {
	appIface, err := ctx.App("oauth")
	if err != nil {
		return nil, fmt.Errorf("getting oauth app: %v", err)
	}
	return appIface.(*App).Server(name)
}

// Interface guards
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)
