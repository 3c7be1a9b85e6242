package badger

import (
	"log/slog"
	"path/filepath"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"
)

// DefaultMappedMemory is the budget for the store's resident mapped table
// pages when Options.MappedMemory is 0 (see trimmer). With the indexes
// kept mapped, what the budget holds is data blocks, which a lookup reads
// once; a larger budget mostly lets a compaction's pages pile up for
// longer before a trim.
const DefaultMappedMemory = 16 << 20

// MinMappedMemory is the smallest positive Options.MappedMemory: below it
// a compaction (which reads and writes several MiB through the mappings
// each second) would have the trimmer run all the time.
const MinMappedMemory = 4 << 20

// trimInterval is how often the trimmer checks the process's file-backed
// resident memory (one small read of /proc/self/statm, a few µs): often
// enough that a compaction, which reads its input tables and writes its
// output through the mappings at memory speed, cannot add much before it
// runs (at 250 ms, soak runs saw 100 MiB more table pages than the budget
// at times).
const trimInterval = 25 * time.Millisecond

// trimmer keeps the pages of the store's mapped files (tables and value
// log) that are resident in the process under a budget. Badger v4 has no
// way to read its tables other than mapping them, and every page a lookup
// or a compaction touched stays resident (counted in RSS as file-backed
// memory) until the kernel needs the memory; with a million live tokens
// that is more than the rest of the process together. When the
// process's file-backed memory has grown by more than the budget since
// its last run, the trimmer unmaps them from the process, all but the
// tables' indexes (trim_linux.go); they stay in the kernel's page cache,
// which reclaims them when it needs the memory, and the next access maps
// them again (a minor fault, or a disk read if the kernel dropped them).
// Elsewhere than Linux it does nothing.
type trimmer struct {
	db     *badgerdb.DB
	dir    string // the database directory, symlinks resolved
	budget int64
	log    *slog.Logger
	state  trimState // per-platform reusable buffers
	stop   chan struct{}
	done   chan struct{}
}

// newTrimmer returns a trimmer for the database in dir.
func newTrimmer(db *badgerdb.DB, dir string, budget int64, log *slog.Logger) *trimmer {
	// /proc/self/maps names the files by their absolute, resolved path.
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	return &trimmer{db: db, dir: filepath.Clean(dir), budget: budget, log: log, stop: make(chan struct{}), done: make(chan struct{})}
}

// run trims every trimInterval until close.
func (t *trimmer) run() {
	defer close(t.done)
	ticker := time.NewTicker(trimInterval)
	defer ticker.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-ticker.C:
		}
		if t.state.quiet(t.budget) {
			continue
		}
		if err := t.trim(); err != nil {
			// Without /proc there is nothing to trim; say so once.
			t.log.Warn("mapped memory trimmer stopped", "error", err)
			<-t.stop
			return
		}
	}
}

// close stops run and waits for it.
func (t *trimmer) close() {
	close(t.stop)
	<-t.done
}
