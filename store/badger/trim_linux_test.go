package badger

import (
	"bufio"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// rssFile is the process's file-backed resident memory, from /proc.
func rssFile(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "RssFile:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// TestTrimmerReleasesMappedTables fills a real database on disk until it
// has tables, reads every token back (so their pages are resident, as
// lookups leave them), and checks that one trim takes the pages of its
// mapped files out of the process but for the tables' indexes, in the
// pagemap's count and in the process's RssFile, and that the data reads
// back after.
func TestTrimmerReleasesMappedTables(t *testing.T) {
	dir := t.TempDir()
	// Small memtables, so that a few MiB of tokens make many tables; the
	// background trimmer is off so the test drives it.
	d, err := open(Options{Dir: dir, MappedMemory: -1}, func(o *badgerdb.Options) {
		o.MemTableSize = 1 << 20
		o.ValueThreshold = 1 << 10
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	var hashes [][]byte
	for range 400 {
		batch := make([]*store.Token, 100)
		for i := range batch {
			batch[i] = &store.Token{Hash: randomHash(), Kind: store.KindAccess, ClientID: "client-1", Scopes: []string{"read"}}
			hashes = append(hashes, batch[i].Hash)
		}
		if err := d.SaveTokens(ctx, batch...); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.db.Flatten(1); err != nil {
		t.Fatal(err)
	}
	for _, h := range hashes {
		if _, err := d.GetToken(ctx, h); err != nil {
			t.Fatal(err)
		}
	}

	tr := newTrimmer(d.db, dir, 1<<20, d.log)
	before := storeResident(t, tr.dir)
	rssBefore := rssFile(t)
	if err := tr.trim(); err != nil {
		t.Fatal(err)
	}
	rssAfter := rssFile(t)
	after := storeResident(t, tr.dir)
	t.Logf("resident mapped store pages: %d KiB before, %d KiB after; RssFile %d -> %d KiB", before>>10, after>>10, rssBefore>>10, rssAfter>>10)
	if before < 4<<20 {
		t.Fatalf("only %d bytes of the store's files were resident before trimming; the test needs more", before)
	}
	// Every table was pinned (nothing was written since the lookups), so
	// only their indexes may be left mapped in, each with its footer and
	// at most two pages of the blocks before it.
	var indexes int64
	for _, ti := range d.db.Tables() {
		indexes += int64(ti.IndexSz + tableFooter + 2*os.Getpagesize())
	}
	if after > indexes {
		t.Errorf("after the trim, %d bytes of the store's files are resident (pagemap), want at most %d (the indexes)", after, indexes)
	}
	if after == 0 {
		t.Error("the trim took the tables' indexes out too")
	}
	if rssBefore-rssAfter < (before-after)/2 {
		t.Errorf("RssFile fell by %d bytes, want at least %d", rssBefore-rssAfter, (before-after)/2)
	}
	// The budget counts growth from there: quiet until it is exceeded.
	if !tr.state.quiet(tr.budget) {
		t.Error("quiet is false right after a trim")
	}
	// The data is intact and readable again after its pages were dropped.
	for _, h := range hashes[:1000] {
		if _, err := d.GetToken(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
}

// storeResident is how many bytes of the mappings of the store in dir are
// mapped into the process (in its RSS), from /proc/self/pagemap: 8 bytes
// a page, bit 63 set when the page is present. (mincore would answer for
// the page cache instead, which keeps the pages a trim unmapped.)
func storeResident(t *testing.T, dir string) int64 {
	t.Helper()
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	pagemap, err := os.Open("/proc/self/pagemap")
	if err != nil {
		t.Fatal(err)
	}
	defer pagemap.Close()
	page := uintptr(os.Getpagesize())
	var n int64
	for m := range storeMappings(maps, dir) {
		vec := make([]byte, (m.end-m.start)/page*8)
		got, err := pagemap.ReadAt(vec, int64(m.start/page*8))
		if err != nil && got < len(vec) {
			t.Fatal(err)
		}
		for i := 0; i+8 <= got; i += 8 {
			n += int64(vec[i+7] >> 7) // bit 63, little-endian
		}
	}
	return n * int64(page)
}
