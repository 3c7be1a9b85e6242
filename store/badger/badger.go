// Package badger is the embedded default backend of caddy-oauth: every
// store interface on one Badger v4 database in a directory (or in memory,
// for tests).
//
// Every write is durable before its method returns (SyncWrites). Badger v4
// syncs its WAL once per transaction, so the issuing writes (tokens, codes,
// sessions) and the OAuth 1 nonce records of concurrent callers are merged
// into one transaction and one fsync by a group committer (groupcommit.go).
// Atomic operations are single optimistic transactions, retried on
// conflict, so of two racing redemptions exactly one wins. Expiring items
// carry a native Badger TTL, so the database stays bounded without a
// sweeper. Caches in front of the store learn of every revocation through
// TokenVersion and ClientVersion (versions.go).
package badger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// Options configures Open.
type Options struct {
	// Dir is the directory holding the database; required unless InMemory.
	Dir string
	// InMemory keeps everything in RAM and nothing survives Close (tests).
	InMemory bool
	// Logger receives Badger's warnings and errors; its chatter goes to
	// Debug. Nil means slog.Default().
	Logger *slog.Logger
	// GCInterval is how often the value log is garbage-collected; zero
	// means 5 minutes. Unused in memory mode.
	GCInterval time.Duration
}

// DefaultGCInterval is the value-log GC period when Options.GCInterval is 0.
const DefaultGCInterval = 5 * time.Minute

// maxTxnAttempts bounds the retries of an optimistic transaction that lost a
// conflict; the loser of a race normally succeeds (with the "already used"
// answer) on its second attempt.
const maxTxnAttempts = 10

// defaultRevokeBatch is how many tokens one revocation transaction deletes;
// each token is up to four deletes, far below Badger's transaction limit.
const defaultRevokeBatch = 256

// DB is a store.Store on a Badger database. It is safe for concurrent use
// and must not be used after Close.
type DB struct {
	db  *badgerdb.DB
	log *slog.Logger

	stop      chan struct{}
	gcDone    chan struct{} // closed when the GC goroutine returned; nil in memory mode
	closeOnce sync.Once
	closeErr  error

	revokeBatch int

	group    committer  // group commit of the issuing writes and nonces
	nonces   nonceCache // recently used OAuth 1 nonces (noncecache.go)
	versions versions   // change counters for caches (versions.go)
}

// Open opens (creating if needed) the database described by opts and starts
// its value-log GC.
func Open(opts Options) (*DB, error) {
	return open(opts, nil)
}

// open is Open with a hook that lets tests shrink Badger's limits.
func open(opts Options, tune func(*badgerdb.Options)) (*DB, error) {
	if !opts.InMemory && opts.Dir == "" {
		return nil, errors.New("store/badger: Dir is required unless InMemory")
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "badger")

	var bo badgerdb.Options
	if opts.InMemory {
		bo = badgerdb.DefaultOptions("").WithInMemory(true).
			WithMemTableSize(8 << 20)
	} else {
		bo = badgerdb.DefaultOptions(opts.Dir).
			WithMemTableSize(16 << 20)
	}
	// Sized for a small server: the defaults (64 MiB memtables ×5, 256 MiB
	// block cache, 1 GiB value-log files) suit a database server, not an
	// authorization server holding a few hundred MiB of short-lived tokens.
	bo = bo.WithSyncWrites(true).
		WithNumMemtables(3).
		WithNumCompactors(2).
		WithBlockCacheSize(8 << 20).
		WithValueLogFileSize(64 << 20).
		// Keys and values are mostly hashes, which do not compress.
		WithCompression(options.None).
		WithMetricsEnabled(false).
		WithLogger(slogLogger{log})
	if tune != nil {
		tune(&bo)
	}

	bdb, err := badgerdb.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("store/badger: open: %w", err)
	}
	d := &DB{db: bdb, log: log, stop: make(chan struct{}), revokeBatch: defaultRevokeBatch}
	d.nonces.init(defaultNonceCacheSize)
	d.startCommitter()
	if !opts.InMemory {
		interval := opts.GCInterval
		if interval <= 0 {
			interval = DefaultGCInterval
		}
		d.gcDone = make(chan struct{})
		go d.runGC(interval)
	}
	return d, nil
}

// Close commits the writes already queued, refuses later ones with
// ErrClosed, stops the value-log GC and closes the database. Calling it
// again returns the first call's result.
func (d *DB) Close() error {
	d.closeOnce.Do(func() {
		d.stopCommitter()
		close(d.stop)
		if d.gcDone != nil {
			<-d.gcDone
		}
		d.closeErr = d.db.Close()
	})
	return d.closeErr
}

// runGC rewrites value-log files that are at least half garbage, as the
// Badger docs recommend: on each tick, repeat while a rewrite happened.
func (d *DB) runGC(interval time.Duration) {
	defer close(d.gcDone)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-ticker.C:
		}
		for {
			err := d.db.RunValueLogGC(0.5)
			if err != nil {
				if !errors.Is(err, badgerdb.ErrNoRewrite) && !errors.Is(err, badgerdb.ErrRejected) {
					d.log.Warn("value log GC failed", "error", err)
				}
				break
			}
			select {
			case <-d.stop:
				return
			default:
			}
		}
	}
}

// update runs fn in a read-write transaction, retrying the whole
// transaction when Badger reports a conflict with a concurrent commit. fn
// must therefore reset whatever it reports through its closure.
func (d *DB) update(ctx context.Context, fn func(txn *badgerdb.Txn) error) error {
	var err error
	for range maxTxnAttempts {
		if err = ctx.Err(); err != nil {
			return err
		}
		err = d.db.Update(fn)
		if !errors.Is(err, badgerdb.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("store/badger: gave up after %d conflicting attempts: %w", maxTxnAttempts, err)
}

// view runs fn in a read-only transaction.
func (d *DB) view(ctx context.Context, fn func(txn *badgerdb.Txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return d.db.View(fn)
}

var _ store.Store = (*DB)(nil)
