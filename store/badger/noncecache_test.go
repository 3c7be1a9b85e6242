package badger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The cache tests pass the time explicitly: no sleeps, no wall clock.

func testShard(t *testing.T, perShard int) *nonceShard {
	t.Helper()
	var c nonceCache
	c.init(perShard * nonceShards)
	return &c.shards[0]
}

func idOf(i int) nonceID {
	var id nonceID
	copy(id[:], fmt.Sprintf("%016d", i))
	return id
}

func mustClaim(t *testing.T, s *nonceShard, id nonceID, now, exp int64, wantUsed, wantClaimed bool) {
	t.Helper()
	used, claimed := s.claim(id, now, exp)
	if used != wantUsed || claimed != wantClaimed {
		t.Fatalf("claim(%q, now=%d, exp=%d) = used %v, claimed %v; want %v, %v", id, now, exp, used, claimed, wantUsed, wantClaimed)
	}
}

func TestNonceCacheRemembersUntilExpiry(t *testing.T) {
	s := testShard(t, 8)
	id := idOf(1)
	mustClaim(t, s, id, 100, 200, false, true)
	mustClaim(t, s, id, 150, 250, true, false)
	mustClaim(t, s, id, 199, 300, true, false)
	// Expired exactly at its expiry, as expired() says for stored records.
	mustClaim(t, s, id, 200, 300, false, true)
	if len(s.m) != 1 || s.n != 1 {
		t.Fatalf("after the re-claim: %d entries, %d slots; want the expired slot dropped", len(s.m), s.n)
	}
	if s.m[id] != 300 {
		t.Fatalf("entry expires at %d, want 300", s.m[id])
	}
}

func TestNonceCacheDropsExpiredEntriesAsItGoes(t *testing.T) {
	s := testShard(t, 100)
	for i := range 50 {
		mustClaim(t, s, idOf(i), int64(i), int64(i)+10, false, true)
	}
	// At 1000 all of them have expired; the next claim clears them.
	mustClaim(t, s, idOf(1000), 1000, 1010, false, true)
	if len(s.m) != 1 || s.n != 1 {
		t.Fatalf("%d entries, %d slots after everything expired; want 1, 1", len(s.m), s.n)
	}
}

func TestNonceCacheEvictsTheOldestWhenFull(t *testing.T) {
	s := testShard(t, 4)
	for i := range 10 {
		mustClaim(t, s, idOf(i), 0, 1000, false, true)
		if len(s.m) > 4 || s.n > 4 || len(s.ring) > 4 {
			t.Fatalf("after %d claims: %d entries, %d slots, ring of %d; want at most 4", i+1, len(s.m), s.n, len(s.ring))
		}
	}
	for i := 6; i < 10; i++ {
		mustClaim(t, s, idOf(i), 1, 1000, true, false)
	}
	// The evicted ones are forgotten (Badger still knows them).
	mustClaim(t, s, idOf(0), 1, 1000, false, true)
}

func TestNonceCacheReleaseLeavesALaterClaim(t *testing.T) {
	s := testShard(t, 8)
	id := idOf(7)
	mustClaim(t, s, id, 0, 10, false, true)
	mustClaim(t, s, id, 10, 20, false, true) // the first claim expired
	s.release(id, 10)                        // the first claimant's write failed late
	mustClaim(t, s, id, 15, 30, true, false)
	s.release(id, 20)
	mustClaim(t, s, id, 15, 30, false, true)
	// The released claims' stale slots pop without touching the live entry.
	mustClaim(t, s, idOf(8), 25, 40, false, true)
	mustClaim(t, s, id, 26, 40, true, false)
}

func TestNonceCacheOff(t *testing.T) {
	var c nonceCache
	c.init(0)
	s := &c.shards[3]
	mustClaim(t, s, idOf(1), 0, 10, false, false)
	mustClaim(t, s, idOf(1), 0, 10, false, false)
	if e, n := c.size(); e != 0 || n != 0 {
		t.Fatalf("cache off holds %d entries, %d slots", e, n)
	}
}

// Many more nonces than the cache holds: it stays at its size, and every
// replay is still refused, the forgotten ones by Badger.
func TestNonceCacheStaysBoundedAndReplaysStillFail(t *testing.T) {
	d := openMem(t, nil)
	const size, keys = 4 * nonceShards, 3000
	d.nonces.init(size)
	ctx := t.Context()
	for i := range keys {
		fresh, err := d.UseNonce(ctx, fmt.Sprint("k", i), time.Hour)
		if err != nil || !fresh {
			t.Fatalf("UseNonce(k%d) = %v, %v; want fresh", i, fresh, err)
		}
	}
	entries, slots := d.nonces.size()
	if entries == 0 || entries > size || slots > size {
		t.Fatalf("cache holds %d entries in %d slots after %d nonces; want 1..%d", entries, slots, keys, size)
	}
	for i := range d.nonces.shards {
		if s := &d.nonces.shards[i]; len(s.ring) > s.max {
			t.Fatalf("shard %d ring grew to %d, max %d", i, len(s.ring), s.max)
		}
	}
	for i := range keys {
		fresh, err := d.UseNonce(ctx, fmt.Sprint("k", i), time.Hour)
		if err != nil || fresh {
			t.Fatalf("replay of k%d = %v, %v; want refused", i, fresh, err)
		}
	}
}

// A replay the cache remembers is answered without a transaction; one it
// forgot (a restart empties it) is refused by the stored record.
func TestUseNonceCacheHitAndMiss(t *testing.T) {
	d := openMem(t, nil)
	ctx := t.Context()
	if fresh, err := d.UseNonce(ctx, "k", time.Hour); err != nil || !fresh {
		t.Fatalf("UseNonce = %v, %v; want fresh", fresh, err)
	}
	before := d.group.commits.Load()
	if fresh, err := d.UseNonce(ctx, "k", time.Hour); err != nil || fresh {
		t.Fatalf("cached replay = %v, %v; want refused", fresh, err)
	}
	if n := d.group.commits.Load() - before; n != 0 {
		t.Fatalf("a cached replay made %d commits, want 0", n)
	}

	d.nonces.init(defaultNonceCacheSize) // forget, as a restart would
	if fresh, err := d.UseNonce(ctx, "k", time.Hour); err != nil || fresh {
		t.Fatalf("replay the cache forgot = %v, %v; want refused", fresh, err)
	}
	if e, _ := d.nonces.size(); e != 0 {
		t.Fatalf("a refused replay left %d cache entries; want none (the record decides)", e)
	}
	if fresh, err := d.UseNonce(ctx, "other", time.Hour); err != nil || !fresh {
		t.Fatalf("UseNonce(other) = %v, %v; want fresh", fresh, err)
	}
}

func TestUseNonceReleasesItsClaimWhenTheWriteFails(t *testing.T) {
	d := openMem(t, nil)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	fresh, err := d.UseNonce(t.Context(), "k", time.Hour)
	if !errors.Is(err, ErrClosed) || fresh {
		t.Fatalf("UseNonce after Close = %v, %v; want ErrClosed", fresh, err)
	}
	if e, _ := d.nonces.size(); e != 0 {
		t.Fatalf("the failed use left %d cache entries; want its claim released", e)
	}

	d2 := openMem(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if fresh, err := d2.UseNonce(ctx, "k", time.Hour); !errors.Is(err, context.Canceled) || fresh {
		t.Fatalf("UseNonce with a canceled context = %v, %v; want context.Canceled", fresh, err)
	}
	if fresh, err := d2.UseNonce(t.Context(), "k", time.Hour); err != nil || !fresh {
		t.Fatalf("UseNonce after the canceled one = %v, %v; want fresh", fresh, err)
	}
}

// With the cache off, duplicates queued into one batch are decided by the
// batch transaction alone: it reads its own pending writes.
func TestUseNonceDuplicatesInOneBatchWithoutCache(t *testing.T) {
	d := openMem(t, nil)
	d.nonces.init(0)
	release := holdCommitter(t, d)
	const perKey = 8
	keys := []string{"a", "b", "c"}
	var fresh [3]atomic.Int32
	var wg sync.WaitGroup
	for i := range perKey * len(keys) {
		wg.Go(func() {
			ok, err := d.UseNonce(context.Background(), keys[i%len(keys)], time.Hour)
			if err != nil {
				t.Errorf("UseNonce: %v", err)
			}
			if ok {
				fresh[i%len(keys)].Add(1)
			}
		})
	}
	waitQueued(t, d, perKey*len(keys))
	before := d.group.commits.Load()
	release()
	wg.Wait()
	for i, k := range keys {
		if n := fresh[i].Load(); n != 1 {
			t.Errorf("key %q: %d fresh uses in one batch, want 1", k, n)
		}
	}
	if n := d.group.commits.Load() - before - 1; n != 1 { // -1: the holding write
		t.Errorf("%d commits for one queued batch, want 1", n)
	}
}

// With the cache off, the group-committed check-and-set and the old
// one-transaction path race on the same keys: Badger's conflict detection
// alone must leave exactly one fresh use per key.
func TestUseNonceRacesAcrossTransactionsWithoutCache(t *testing.T) {
	d, err := open(Options{Dir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	d.nonces.init(0)
	const keys, racers = 40, 16
	var fresh [keys]atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for r := range racers {
		wg.Go(func() {
			<-start
			for i := range keys {
				k := (i + r*7) % keys // each racer its own order
				use := d.UseNonce
				if r%2 == 1 {
					use = d.useNonceAlone
				}
				ok, err := use(context.Background(), fmt.Sprint("key", k), time.Hour)
				if err != nil {
					t.Errorf("racer %d key %d: %v", r, k, err)
				}
				if ok {
					fresh[k].Add(1)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	for k := range keys {
		if n := fresh[k].Load(); n != 1 {
			t.Errorf("key%d: %d fresh uses, want 1", k, n)
		}
	}
}
