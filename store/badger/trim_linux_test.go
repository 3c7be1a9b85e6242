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
// lookups leave them), and checks that one trim brings the resident pages
// of its mapped files under the budget, in mincore's count and in the
// process's RssFile.
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

	const budget = 1 << 20
	tr := newTrimmer(d.db, dir, budget, d.log)
	defer tr.state.close()
	rssBefore := rssFile(t)
	found, left, err := tr.trim()
	if err != nil {
		t.Fatal(err)
	}
	rssAfter := rssFile(t)
	t.Logf("resident mapped store pages: %d KiB found, %d KiB left; RssFile %d -> %d KiB", found>>10, left>>10, rssBefore>>10, rssAfter>>10)
	if found < 4*budget {
		t.Fatalf("only %d bytes of the store's files were resident before trimming; the test needs more", found)
	}
	if left > budget/2 {
		t.Errorf("trim left %d bytes, want at most %d", left, budget/2)
	}
	measure := newTrimmer(d.db, dir, 1<<62, d.log) // never trims
	defer measure.state.close()
	again, _, err := measure.trim()
	if err != nil {
		t.Fatal(err)
	}
	if again > budget {
		t.Errorf("after the trim, %d bytes of the store's files are resident (pagemap), want at most %d", again, budget)
	}
	if rssBefore-rssAfter < (found-budget)/2 {
		t.Errorf("RssFile fell by %d bytes, want at least %d", rssBefore-rssAfter, (found-budget)/2)
	}
	// The data is intact and readable again after its pages were dropped.
	for _, h := range hashes[:1000] {
		if _, err := d.GetToken(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
}
