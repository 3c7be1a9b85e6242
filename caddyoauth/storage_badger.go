package caddyoauth

import (
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/dustin/go-humanize"
	"go.uber.org/zap"

	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/badger"
)

func init() {
	caddy.RegisterModule(BadgerStorage{})
}

// BadgerStorage keeps a server's state in an embedded Badger database in
// one directory, which one Caddy process locks: the zero-setup default for
// a single node.
type BadgerStorage struct {
	// The database directory. Default: `<Caddy data directory>/oauth/<server
	// name>`. Each server needs its own directory.
	Dir string `json:"dir,omitempty"`

	// The memory budget of the Badger database, in bytes: its three
	// memtables get 1/32 each (at least 2 MiB), the rest is for the table
	// builders of flushes and compactions, which also keep tables small
	// (at most 4 MiB). Less memory means more frequent memtable flushes and
	// compactions (more write amplification, a lower issuance rate, and
	// bursts of writes that wait for a flush); more memory buys little for
	// lookups, which read the mapped tables in place. It bounds Badger's
	// buffers, not the process: mapped table pages count towards RSS too.
	// Applies when the database is opened (a reload keeps an open database
	// as it is). At least 16 MiB. Default: 64 MiB.
	Memory int64 `json:"memory,omitempty"`

	// The budget, in bytes, for the pages of the database's tables and
	// value log that stay resident in Caddy's memory (its RSS). Badger
	// reads its tables through memory mappings, and every page a lookup
	// or a compaction touched would otherwise stay resident until the
	// kernel runs short of memory: about 1.05 times the size of the
	// store, over 500 MiB with a million live tokens. Within 25 ms of
	// Caddy's file-backed memory growing by more than the budget, Caddy
	// unmaps them (Linux only), all but the tables' indexes (block
	// offsets and Bloom filters, which every lookup reads: about 2 % of
	// the store, not counted in the budget). They stay in the
	// kernel's page cache, which reclaims them when it needs the memory,
	// and a lookup that needs one again maps it back (a minor page fault,
	// or a disk read if the kernel dropped it); the verification cache in
	// front of the store absorbs the tokens in active use. A larger budget
	// keeps more of the store mapped; "off" (JSON -1) leaves the pages to
	// the kernel, and RSS grows with the store. At least 4 MiB. Default:
	// 16 MiB.
	MappedMemory int64 `json:"mapped_memory,omitempty"`

	// How far an OAuth 1 nonce is written before the request it came with
	// is let through. Nonces are kept in memory and in an append-only
	// journal in <dir>/nonce-journal. "durable" (the default) syncs the
	// journal first (concurrent requests share one sync), so a replay is
	// refused after any crash or power loss; "page_cache" leaves the record
	// in the operating system's page cache, so a replay is still refused
	// after Caddy crashes or is killed, but not necessarily after a power
	// loss or kernel crash (a request captured in the last moments before
	// one could be replayed within the timestamp window). page_cache saves
	// the sync each OAuth 1 request otherwise waits for. Both modes share
	// the journal, so switching keeps the nonces.
	NonceDurability string `json:"nonce_durability,omitempty"`

	logger *zap.Logger
	dbLog  *slog.Logger // Badger's own messages
}

// CaddyModule returns the Caddy module information.
func (BadgerStorage) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "oauth.storage.badger",
		New: func() caddy.Module { return new(BadgerStorage) },
	}
}

// Provision takes the loggers.
func (b *BadgerStorage) Provision(ctx caddy.Context) error {
	b.logger, b.dbLog = ctx.Logger(), ctx.Slogger()
	return nil
}

// Validate checks the memory budgets and the nonce durability.
func (b *BadgerStorage) Validate() error {
	if b.Memory != 0 && b.Memory < badger.MinMemory {
		return fmt.Errorf("storage badger: memory %d: must be at least %d (16 MiB)", b.Memory, badger.MinMemory)
	}
	if b.MappedMemory != 0 && b.MappedMemory != -1 && b.MappedMemory < badger.MinMappedMemory {
		return fmt.Errorf("storage badger: mapped_memory %d: must be at least %d (4 MiB), or -1 (off)", b.MappedMemory, badger.MinMappedMemory)
	}
	_, err := nonceDurability(b.NonceDurability)
	return err
}

// nonceDurability maps nonce_durability to the Badger option.
func nonceDurability(s string) (badger.NonceDurability, error) {
	switch s {
	case "", "durable":
		return badger.NoncesDurable, nil
	case "page_cache":
		return badger.NoncesPageCache, nil
	}
	return 0, fmt.Errorf("nonce_durability %q: must be durable or page_cache", s)
}

// dir is the absolute database directory, so that the same directory
// written two ways is still one database.
func (b *BadgerStorage) dir(server string) (string, error) {
	dir := b.Dir
	if dir == "" {
		dir = defaultStorageDir(server)
	}
	abs, err := caddy.FastAbs(dir)
	if err != nil {
		return "", fmt.Errorf("storage directory %q: %v", dir, err)
	}
	return filepath.Clean(abs), nil
}

// StorageKey implements Storage: the directory.
func (b *BadgerStorage) StorageKey(server string) (string, error) {
	dir, err := b.dir(server)
	if err != nil {
		return "", err
	}
	return "badger:" + dir, nil
}

// OpenStore implements Storage. The database in a directory is opened once
// per process and shared; the options of the first opening stay.
func (b *BadgerStorage) OpenStore(server string) (store.Store, func() error, error) {
	dir, err := b.dir(server)
	if err != nil {
		return nil, nil, err
	}
	nonces, err := nonceDurability(b.NonceDurability)
	if err != nil {
		return nil, nil, err
	}
	opts := badger.Options{Dir: dir, Memory: b.Memory, MappedMemory: b.MappedMemory, Nonces: nonces, Logger: b.dbLog}
	return openShared("badger:"+dir, b.logger.With(zap.String("dir", dir)), func() (store.Store, error) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("making storage directory: %v", err)
		}
		db, err := badger.Open(opts)
		if err != nil {
			return nil, fmt.Errorf("opening storage in %s: %w (if another Caddy instance uses this directory, use 'caddy reload' to apply config changes to it)", dir, err)
		}
		return db, nil
	})
}

// UnmarshalCaddyfile reads, after `storage`:
//
//	badger [<dir>] {
//		memory <size>
//		mapped_memory <size>|off
//		nonce_durability durable|page_cache
//	}
func (b *BadgerStorage) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the module name
	if d.NextArg() {
		b.Dir = d.Val()
	}
	if d.NextArg() {
		return d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch opt := d.Val(); opt {
		case "dir":
			if err := oneArg(d, &b.Dir); err != nil {
				return err
			}
		case "memory", "mapped_memory":
			var s string
			if err := oneArg(d, &s); err != nil {
				return err
			}
			if opt == "mapped_memory" && s == "off" {
				b.MappedMemory = -1
				continue
			}
			n, err := humanize.ParseBytes(s)
			if err != nil || n > math.MaxInt64 {
				return d.Errf("%s: invalid size %q (e.g. 64MiB)", opt, s)
			}
			if opt == "memory" {
				b.Memory = int64(n)
			} else {
				b.MappedMemory = int64(n)
			}
		case "nonce_durability":
			if err := oneArg(d, &b.NonceDurability); err != nil {
				return err
			}
		default:
			return d.Errf("unrecognized badger storage option: %s", opt)
		}
	}
	if err := b.Validate(); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

// defaultStorageDir is where a server keeps its data unless configured.
func defaultStorageDir(name string) string {
	return filepath.Join(caddy.AppDataDir(), "oauth", name)
}

// Interface guards.
var (
	_ Storage               = (*BadgerStorage)(nil)
	_ caddy.Provisioner     = (*BadgerStorage)(nil)
	_ caddy.Validator       = (*BadgerStorage)(nil)
	_ caddyfile.Unmarshaler = (*BadgerStorage)(nil)
)
