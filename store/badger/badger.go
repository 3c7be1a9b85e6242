// Package badger is the embedded default backend of caddy-oauth: every
// store interface on one Badger v4 database in a directory (or in memory,
// for tests).
//
// Every write is durable before its method returns (SyncWrites). Badger v4
// syncs its WAL once per transaction, so the issuing writes (tokens, codes,
// sessions), the OAuth 1 nonce records and the login attempt counters of
// concurrent callers are merged into one transaction and one fsync by a
// group committer (groupcommit.go).
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
	"path/filepath"
	"sync"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/changecount"
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
	// Memory is the budget, in bytes, from which Badger's memtables and
	// table sizes are derived (see memorySizes); zero means
	// DefaultMemory, less than MinMemory is refused. It bounds Badger's
	// own buffers, not the process: the pages of the tables it maps
	// count towards RSS as well, and the Go heap may hold up to twice
	// the live memory between collections.
	Memory int64
	// MappedMemory is the budget, in bytes, for the pages of the
	// database's mapped tables and value log that stay resident in the
	// process (counted in its RSS) besides the tables' indexes; over it
	// they are unmapped, left to the kernel's page cache, and mapped
	// again on the next access (see trimmer).
	// Zero means DefaultMappedMemory, a negative value disables the
	// trimming. Linux only; unused in memory mode.
	MappedMemory int64
	// Nonces says how far an OAuth 1 nonce's record is written before
	// UseNonce answers "fresh"; the zero value is NoncesDurable.
	Nonces NonceDurability
}

// NonceDurability is how far UseNonce writes a nonce before answering.
type NonceDurability uint8

const (
	// NoncesDurable syncs every nonce's journal record to disk before
	// UseNonce answers (concurrent callers share one sync), like a token:
	// a replay is refused after a crash of the process, of the kernel, or
	// a power loss.
	NoncesDurable NonceDurability = iota
	// NoncesPageCache answers once the journal record is written, in the
	// operating system's page cache: a replay is still refused after
	// Caddy crashes or is killed (kill -9), but nonces of the last moments
	// before a power loss or kernel crash may be forgotten, and a request
	// replayed within the timestamp window after one may be accepted. It
	// saves the sync each new nonce otherwise waits for. Both modes use
	// the same journal, so switching keeps the nonces.
	NoncesPageCache
)

// Directories inside Dir: the nonce journal (noncejournal.go), and the
// unsynced nonce database older versions kept in page-cache mode, whose
// records are carried over into the journal at Open.
const (
	journalDirName   = "nonce-journal"
	legacyNonceDBDir = "nonces"
)

// DefaultMemory is the Badger memory budget when Options.Memory is 0: small
// enough that an authorization server with a million live tokens stays
// within a few hundred MiB of RSS, large enough that issuance is not
// stalled by memtable flushes (see the README's Storage section).
const DefaultMemory = 64 << 20

// MinMemory is the smallest Options.Memory: below it the tables and
// memtables could not be sized from it (a memtable is at least 2 MiB, so
// that the largest transaction Badger accepts, 15 % of a memtable, holds
// a revocation batch comfortably).
const MinMemory = 16 << 20

// badgerSizes are the Badger options derived from Options.Memory.
type badgerSizes struct {
	memTable, baseTable, valueThreshold int64
}

// memorySizes splits a memory budget into Badger's sizes. Memtables are
// 1/32 of it and at least 2 MiB (three of them: one filling, up to two
// flushing, so writes rarely wait for a flush). They are kept small
// because a flush builds the whole memtable into one table with a builder
// whose buffers double as they fill (to about 4× the memtable), and Badger
// pools those builders with their buffers for later flushes and
// compactions: with 8 MiB memtables the builders held up to 60 MiB of the
// heap in a soak run, and the Go heap grows to twice what is live before a
// collection. The rest is for the compactions' table builders. There is
// no block or index cache: this store neither compresses nor encrypts its
// tables, so Badger reads blocks and indexes in place from the mapped
// files, and a block cache only adds overhead (as Badger's
// WithBlockCacheSize says; an 8 MiB one had a 2 % hit ratio under random
// lookups of a million tokens). Badger's defaults (64 MiB memtables ×5,
// 256 MiB block cache) suit a database server, not an authorization
// server.
func memorySizes(memory int64) badgerSizes {
	memTable := max(memory/32, 2<<20)
	return badgerSizes{
		memTable: memTable,
		// Every table builder allocates twice its table size, and each
		// of the two compactors runs up to 8+5 of them at once (on the Go
		// heap), so tables stay small: 1 MiB at the default budget
		// (Badger's own is 2 MiB).
		baseTable: min(max(memory/64, 1<<20), 4<<20),
		// Badger refuses a value threshold above its largest batch (15 %
		// of a memtable); tokens, codes and sessions are a few hundred
		// bytes, far below either.
		valueThreshold: min(memTable/8, 1<<20),
	}
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
	db     *badgerdb.DB
	nonces *nonceJournal // every live OAuth 1 nonce (noncejournal.go)
	log    *slog.Logger

	stop      chan struct{}
	gcDone    chan struct{} // closed when the GC goroutine returned; nil in memory mode
	trim      *trimmer      // nil in memory mode or when disabled
	closeOnce sync.Once
	closeErr  error

	revokeBatch int

	group    committer            // group commit of the issuing writes
	versions changecount.Counters // change counters for caches (versions.go)
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
	memory := opts.Memory
	switch {
	case memory == 0:
		memory = DefaultMemory
	case memory < MinMemory:
		return nil, fmt.Errorf("store/badger: Memory %d is below the minimum of %d bytes (16 MiB)", memory, MinMemory)
	}
	if opts.MappedMemory > 0 && opts.MappedMemory < MinMappedMemory {
		return nil, fmt.Errorf("store/badger: MappedMemory %d is below the minimum of %d bytes (4 MiB)", opts.MappedMemory, MinMappedMemory)
	}
	sz := memorySizes(memory)

	var bo badgerdb.Options
	if opts.InMemory {
		bo = badgerdb.DefaultOptions("").WithInMemory(true)
	} else {
		bo = badgerdb.DefaultOptions(opts.Dir)
	}
	bo = tuned(bo, sz, log).WithSyncWrites(true)
	if tune != nil {
		tune(&bo)
	}

	bdb, err := badgerdb.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("store/badger: open: %w", err)
	}
	d := &DB{db: bdb, log: log, stop: make(chan struct{}), revokeBatch: defaultRevokeBatch}
	journalDir := ""
	if !opts.InMemory {
		journalDir = filepath.Join(opts.Dir, journalDirName)
	}
	if d.nonces, err = openNonceJournal(journalDir, opts.Nonces == NoncesDurable, time.Now()); err == nil {
		err = d.carryOverNonces(opts, log)
	}
	if err != nil {
		if d.nonces != nil {
			d.nonces.close()
		}
		bdb.Close()
		return nil, err
	}
	d.startCommitter()
	if !opts.InMemory {
		interval := opts.GCInterval
		if interval <= 0 {
			interval = DefaultGCInterval
		}
		d.gcDone = make(chan struct{})
		go d.runGC(interval)
		if budget := opts.MappedMemory; budget >= 0 {
			if budget == 0 {
				budget = DefaultMappedMemory
			}
			d.trim = newTrimmer(bdb, opts.Dir, budget, log)
			go d.trim.run()
		}
	}
	return d, nil
}

// tuned applies the sizes and settings both databases share to bo.
func tuned(bo badgerdb.Options, sz badgerSizes, log *slog.Logger) badgerdb.Options {
	bo = bo.WithMemTableSize(sz.memTable).
		WithNumMemtables(3).
		// No block cache: tables are neither compressed nor encrypted, so
		// Badger reads them in place (memorySizes).
		WithBlockCacheSize(0).
		WithBaseTableSize(sz.baseTable).
		WithValueThreshold(sz.valueThreshold).
		// Badger's minimum; each compactor runs its own builders.
		WithNumCompactors(2).
		// Each level 4 times the one above, not 10: tokens are random
		// keys, so every table moved down overlaps that many tables of
		// the next level, which its compaction reads and rewrites. Over
		// a million tokens this writes less in all (4 per level over
		// more levels against 10 over fewer) and each compaction is
		// smaller, with fewer builders at once.
		WithLevelSizeMultiplier(4).
		// Token values are far below the value threshold and live in the
		// tables, so the value log only sees the rare large value; its
		// files are mapped whole, so they are kept small.
		WithValueLogFileSize(64 << 20).
		// 16 KiB blocks, not 4: a table's index holds a key and an
		// offset per block, and every lookup reads it, so the indexes
		// stay mapped in (trimmer); with 4 KiB blocks they were about
		// 4.5 % of the store (~50 MiB at two million tokens), with 16
		// KiB about 2 %.
		WithBlockSize(16 << 10).
		// Keys and values are mostly hashes, which do not compress.
		WithCompression(options.None).
		WithMetricsEnabled(false).
		WithLogger(slogLogger{log})
	// Same-size tables at every level (there is no With method): with the
	// default the tables, and so each compaction builder, double with
	// every level below the base level.
	bo.TableSizeMultiplier = 1
	return bo
}

// openLegacyNonceDB opens the page-cache nonce database of an older
// version, to carry its records over.
func openLegacyNonceDB(dir string, log *slog.Logger) (*badgerdb.DB, error) {
	bo := tuned(badgerdb.DefaultOptions(dir), memorySizes(MinMemory), log.With("database", legacyNonceDBDir)).
		WithSyncWrites(false).
		WithNumMemtables(2).
		WithValueLogFileSize(16 << 20)
	ndb, err := badgerdb.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("store/badger: open old nonce database: %w", err)
	}
	return ndb, nil
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
		if d.trim != nil {
			d.trim.close()
		}
		d.nonces.close()
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
	return retryUpdate(ctx, d.db, fn)
}

// retryUpdate is update on any of the store's databases.
func retryUpdate(ctx context.Context, db *badgerdb.DB, fn func(txn *badgerdb.Txn) error) error {
	var err error
	for range maxTxnAttempts {
		if err = ctx.Err(); err != nil {
			return err
		}
		err = db.Update(fn)
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
