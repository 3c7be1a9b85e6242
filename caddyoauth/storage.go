package caddyoauth

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-oauth/caddy-oauth/store/badger"
)

// databases holds the open Badger databases, keyed by absolute directory and
// reference-counted. A reload provisions the new config before the old one
// is cleaned up, and Badger locks its directory, so both configs must share
// one open DB instead of opening it twice (as acmeserver does with its CA
// database).
var databases = caddy.NewUsagePool()

// databaseCloser lets the pool close a DB when its last user is gone.
type databaseCloser struct{ db *badger.DB }

// Destruct implements caddy.Destructor.
func (c databaseCloser) Destruct() error { return c.db.Close() }

// openDatabase returns the shared database in opts.Dir, opening it on first
// use with opts (memory budget, nonce durability); a database already open
// keeps its options. Every successful call must be matched by one
// releaseDatabase(dir).
func openDatabase(opts badger.Options, logger *zap.Logger) (*badger.DB, error) {
	dir := opts.Dir
	val, loaded, err := databases.LoadOrNew(dir, func() (caddy.Destructor, error) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("making storage directory: %v", err)
		}
		db, err := badger.Open(opts)
		if err != nil {
			return nil, fmt.Errorf("opening storage in %s: %w (if another Caddy instance uses this directory, use 'caddy reload' to apply config changes to it)", dir, err)
		}
		return databaseCloser{db}, nil
	})
	if err != nil {
		// LoadOrNew dropped the failed entry; there is no reference to release.
		return nil, err
	}
	if ce := logger.Check(zapcore.DebugLevel, "storage opened"); ce != nil {
		ce.Write(zap.String("dir", dir), zap.Bool("shared_with_previous_config", loaded))
	}
	return val.(databaseCloser).db, nil
}

// releaseDatabase drops one reference to the database in dir; the last one
// closes it.
func releaseDatabase(dir string, logger *zap.Logger) error {
	deleted, err := databases.Delete(dir)
	if deleted {
		if ce := logger.Check(zapcore.DebugLevel, "storage closed"); ce != nil {
			ce.Write(zap.String("dir", dir))
		}
	}
	if err != nil {
		return fmt.Errorf("closing storage in %s: %v", dir, err)
	}
	return nil
}

// defaultStorageDir is where a server keeps its data unless configured.
func defaultStorageDir(name string) string {
	return filepath.Join(caddy.AppDataDir(), "oauth", name)
}
