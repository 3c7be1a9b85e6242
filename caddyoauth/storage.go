package caddyoauth

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// Storage is implemented by the modules of the oauth.storage namespace: a
// backend that keeps one oauth server's state (oauth.storage.badger, the
// embedded default, and oauth.storage.redis, shared by several Caddy
// nodes). A third-party backend registers a module there and implements
// the store interfaces, passing store/storetest.
type Storage interface {
	// StorageKey names the state the module opens for the named server.
	// Two servers of one config with the same key are refused: their
	// data would mix.
	StorageKey(server string) (string, error)
	// OpenStore opens the server's store, or shares the one an earlier
	// config opened with the same options (a reload provisions the new
	// config before the old one is cleaned up). release must be called
	// once when the server is done with it. The module has been
	// provisioned.
	OpenStore(server string) (st store.Store, release func() error, err error)
}

// stores holds the open stores, keyed by backend and options and
// reference-counted, so that a reload shares them instead of opening them
// twice: Badger locks its directory, and a Redis store keeps connections
// and an invalidation reader that must not pile up over reloads (as
// acmeserver shares its CA database).
var stores = caddy.NewUsagePool()

// storeCloser lets the pool close a store when its last user is gone.
type storeCloser struct{ st store.Store }

// Destruct implements caddy.Destructor.
func (c storeCloser) Destruct() error { return c.st.Close() }

// openShared returns the store pooled under key, opening it with open on
// first use; a store already open keeps its options.
func openShared(key string, logger *zap.Logger, open func() (store.Store, error)) (store.Store, func() error, error) {
	val, loaded, err := stores.LoadOrNew(key, func() (caddy.Destructor, error) {
		st, err := open()
		if err != nil {
			return nil, err
		}
		return storeCloser{st}, nil
	})
	if err != nil {
		// LoadOrNew dropped the failed entry; there is no reference to release.
		return nil, nil, err
	}
	if ce := logger.Check(zapcore.DebugLevel, "storage opened"); ce != nil {
		ce.Write(zap.Bool("shared_with_previous_config", loaded))
	}
	release := func() error {
		deleted, err := stores.Delete(key)
		if deleted {
			if ce := logger.Check(zapcore.DebugLevel, "storage closed"); ce != nil {
				ce.Write()
			}
		}
		if err != nil {
			return fmt.Errorf("closing storage: %v", err)
		}
		return nil
	}
	return val.(storeCloser).st, release, nil
}

// loadStorage provisions the server's storage module; without one, the
// server keeps its state in Badger, configured by the older storage_*
// fields if they are set.
func (c *ServerConfig) loadStorage(ctx caddy.Context) (Storage, error) {
	if c.storage != nil {
		return c.storage, nil
	}
	if len(c.StorageRaw) == 0 {
		b := &BadgerStorage{Dir: c.StorageDir, Memory: c.StorageMemory, NonceDurability: c.StorageNonceDurability}
		if err := b.Provision(ctx); err != nil {
			return nil, err
		}
		if err := b.Validate(); err != nil {
			return nil, err
		}
		c.storage = b
		return b, nil
	}
	if c.StorageDir != "" || c.StorageMemory != 0 || c.StorageNonceDurability != "" {
		return nil, fmt.Errorf("storage: set storage_dir, storage_memory and storage_nonce_durability inside the badger storage module (dir, memory, nonce_durability), not next to it")
	}
	mod, err := ctx.LoadModule(c, "StorageRaw")
	if err != nil {
		return nil, fmt.Errorf("loading storage module: %v", err)
	}
	s, ok := mod.(Storage)
	if !ok {
		return nil, fmt.Errorf("storage module %T is not an oauth storage backend", mod)
	}
	c.storage = s
	return s, nil
}

// storageModuleJSON is the `storage` value of a module configured in a
// Caddyfile: its fields plus "module": <name>.
func storageModuleJSON(name string, mod any) json.RawMessage {
	return caddyconfig.JSONModuleObject(mod, "module", name, nil)
}

// storageModuleNames lists the registered storage backends for errors.
func storageModuleNames() string {
	var names []string
	for _, m := range caddy.GetModules("oauth.storage") {
		names = append(names, m.ID.Name())
	}
	return strings.Join(names, ", ")
}
