package badger

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"
)

func reopen(t *testing.T, dir string, mode NonceDurability) *DB {
	t.Helper()
	d, err := Open(Options{Dir: dir, Nonces: mode})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func mustUse(t *testing.T, d *DB, key string, wantFresh bool) {
	t.Helper()
	fresh, err := d.UseNonce(t.Context(), key, 10*time.Minute)
	if err != nil || fresh != wantFresh {
		t.Fatalf("UseNonce(%q) = %v, %v; want fresh %v", key, fresh, err, wantFresh)
	}
}

// A crash in the middle of a record leaves part of it at the end of a
// file; the journal still reads every whole record before it.
func TestNonceJournalDropsAPartialLastRecord(t *testing.T) {
	dir := t.TempDir()
	d := reopen(t, dir, NoncesDurable)
	for i := range 10 {
		mustUse(t, d, "n"+strconv.Itoa(i), true)
	}
	d.Close()
	files, _ := filepath.Glob(filepath.Join(dir, journalDirName, "nonce-*.log"))
	if len(files) == 0 {
		t.Fatal("no journal file")
	}
	f, err := os.OpenFile(files[len(files)-1], os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{1, 2, 3, 4, 5})
	f.Close()

	d = reopen(t, dir, NoncesDurable)
	for i := range 10 {
		mustUse(t, d, "n"+strconv.Itoa(i), false)
	}
	mustUse(t, d, "new", true)
}

// The file of a bucket whose nonces have all expired is removed at Open.
func TestNonceJournalRemovesEndedBuckets(t *testing.T) {
	dir := t.TempDir()
	jdir := filepath.Join(dir, journalDirName)
	if err := os.MkdirAll(jdir, 0o700); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(jdir, journalName(time.Now().Add(-time.Minute).Unix()))
	if err := os.WriteFile(old, make([]byte, recordSize), 0o600); err != nil {
		t.Fatal(err)
	}
	reopen(t, dir, NoncesPageCache)
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatalf("ended bucket's file still there: %v", err)
	}
}

// Switching modes keeps the nonces: both use one journal.
func TestNonceModesShareTheJournal(t *testing.T) {
	dir := t.TempDir()
	d := reopen(t, dir, NoncesPageCache)
	mustUse(t, d, "k", true)
	d.Close()
	d = reopen(t, dir, NoncesDurable)
	mustUse(t, d, "k", false)
	// Records written after a reopen go after the old ones (not over
	// them, nor after the zero-filled rest, where they would be lost).
	mustUse(t, d, "k2", true)
	d.Close()
	d = reopen(t, dir, NoncesDurable)
	mustUse(t, d, "k", false)
	mustUse(t, d, "k2", false)
}

// Nonce records of older versions (Badger records in the database, or in
// the unsynced nonce database of page-cache mode) are carried over at
// Open: a request answered before an upgrade is not replayable after it.
func TestNonceRecordsOfOlderVersionsAreCarriedOver(t *testing.T) {
	dir := t.TempDir()
	exp := time.Now().Add(10 * time.Minute)
	val, err := encode(nonceRecord{ExpiresAt: exp})
	if err != nil {
		t.Fatal(err)
	}
	write := func(db *badgerdb.DB, key string) {
		t.Helper()
		if err := db.Update(func(txn *badgerdb.Txn) error { return set(txn, nonceKey(key), val, exp) }); err != nil {
			t.Fatal(err)
		}
	}
	bo := badgerdb.DefaultOptions(dir).WithLogger(nil)
	db, err := badgerdb.Open(bo)
	if err != nil {
		t.Fatal(err)
	}
	write(db, "durable-era")
	db.Close()
	legacy := filepath.Join(dir, legacyNonceDBDir)
	ndb, err := badgerdb.Open(badgerdb.DefaultOptions(legacy).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	write(ndb, "page-cache-era")
	ndb.Close()

	d := reopen(t, dir, NoncesDurable)
	mustUse(t, d, "durable-era", false)
	mustUse(t, d, "page-cache-era", false)
	if hasKey(t, d.db, nonceKey("durable-era")) {
		t.Error("carried-over record still in the database")
	}
	if _, err := os.Stat(legacy); !os.IsNotExist(err) {
		t.Errorf("old nonce database still there: %v", err)
	}
	d.Close()
	// Carried over into the journal itself: still refused after another
	// restart, with the old records gone.
	mustUse(t, reopen(t, dir, NoncesDurable), "durable-era", false)
}

// Past the first chunk of a journal file, with many callers at once: each
// answered nonce's record is in the file (read through the page cache,
// before Close) once UseNonce returns, exactly once, and after reopening
// every nonce is refused. In durable mode the records reach the file in
// the syncer's batches, written at offsets reserved while the file grew.
func TestNonceJournalGrowsPastAChunk(t *testing.T) {
	for _, mode := range []NonceDurability{NoncesDurable, NoncesPageCache} {
		dir := t.TempDir()
		d := reopen(t, dir, mode)
		n := journalChunk/recordSize + 1000
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 32 {
			wg.Go(func() {
				for i := next.Add(1); i <= int64(n); i = next.Add(1) {
					fresh, err := d.UseNonce(t.Context(), "n"+strconv.FormatInt(i, 10), 10*time.Minute)
					if err != nil || !fresh {
						t.Errorf("mode %d: UseNonce(n%d) = %v, %v; want fresh", mode, i, fresh, err)
						return
					}
				}
			})
		}
		wg.Wait()
		files, _ := filepath.Glob(filepath.Join(dir, journalDirName, "nonce-*.log"))
		ids := map[uint64]int{}
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			for off := 0; off+recordSize <= len(b); off += recordSize {
				if id := binary.LittleEndian.Uint64(b[off:]); id != 0 {
					ids[id]++
				}
			}
		}
		if len(ids) != n {
			t.Errorf("mode %d: %d distinct records in the journal before Close, want %d", mode, len(ids), n)
		}
		for id, c := range ids {
			if c != 1 {
				t.Fatalf("mode %d: id %x recorded %d times", mode, id, c)
			}
		}
		d.Close()
		d = reopen(t, dir, mode)
		for i := 1; i <= n; i += 97 {
			mustUse(t, d, "n"+strconv.Itoa(i), false)
		}
		mustUse(t, d, "n"+strconv.Itoa(n), false)
		d.Close()
	}
}
