package cache

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// key returns a distinct key for n, spread over shards as hashes are.
func key(n int) Key { return KeyOf(fmt.Sprint("token-", n)) }

func put[V any](c *Cache[V], k Key, v V, exp time.Time) { c.Put(c.Ticket(k), k, v, exp) }

func TestGetReturnsWhatPutStored(t *testing.T) {
	c := New[string](100)
	put(c, key(1), "one", t0.Add(time.Hour))
	put(c, key(2), "two", time.Time{})
	if v, ok := c.Get(key(1), t0); !ok || v != "one" {
		t.Fatalf("key 1: %q %v", v, ok)
	}
	if v, ok := c.Get(key(2), t0); !ok || v != "two" {
		t.Fatalf("key 2: %q %v", v, ok)
	}
	if _, ok := c.Get(key(3), t0); ok {
		t.Fatal("a key never put was found")
	}
	put(c, key(1), "uno", t0.Add(time.Hour))
	if v, _ := c.Get(key(1), t0); v != "uno" || c.Len() != 2 {
		t.Fatalf("replacing: %q, %d entries", v, c.Len())
	}
}

func TestEntriesExpireAtTheirExpiry(t *testing.T) {
	c := New[int](100)
	exp := t0.Add(time.Minute)
	put(c, key(1), 1, exp)
	put(c, key(2), 2, time.Time{})
	if _, ok := c.Get(key(1), exp.Add(-time.Nanosecond)); !ok {
		t.Fatal("expired before its expiry")
	}
	if _, ok := c.Get(key(1), exp); ok {
		t.Fatal("still valid at its expiry")
	}
	if _, ok := c.Get(key(1), exp.Add(time.Hour)); ok {
		t.Fatal("still valid after its expiry")
	}
	if _, ok := c.Get(key(2), t0.AddDate(100, 0, 0)); !ok {
		t.Fatal("an entry without expiry expired")
	}
}

func TestInvalidateMakesTheKeyMissAndRefusesEarlierFills(t *testing.T) {
	c := New[int](1000)
	put(c, key(1), 1, time.Time{})
	before := c.Ticket(key(1)) // a store read that began before the revocation
	c.Invalidate(key(1))
	if _, ok := c.Get(key(1), t0); ok {
		t.Fatal("invalidated key still found")
	}
	c.Put(before, key(1), 1, time.Time{})
	if _, ok := c.Get(key(1), t0); ok {
		t.Fatal("a fill that read the store before the invalidation was cached")
	}
	if c.Len() != 0 {
		t.Fatal("a stale fill took a slot")
	}
	put(c, key(1), 2, time.Time{})
	if v, ok := c.Get(key(1), t0); !ok || v != 2 {
		t.Fatal("a fill after the invalidation was not cached")
	}
}

func TestAnEntryStoredWithAStaleTicketIsIgnored(t *testing.T) {
	// A Put that passed its ticket check just before Invalidate bumped the
	// generation stores an entry Get must ignore.
	c := New[int](1000)
	k := key(1)
	stale := c.Ticket(k)
	c.Invalidate(k)
	c.shard(&k).put(&k, 1, 0, stale, c)
	if _, ok := c.Get(k, t0); ok {
		t.Fatal("entry with a stale ticket returned")
	}
	stale = c.Ticket(k)
	c.InvalidateAll()
	c.shard(&k).put(&k, 1, 0, stale, c)
	if _, ok := c.Get(k, t0); ok {
		t.Fatal("entry with a stale epoch returned")
	}
}

func TestInvalidateAllMakesEveryEntryMiss(t *testing.T) {
	c := New[int](1000)
	for i := range 500 {
		put(c, key(i), i, time.Time{})
	}
	before := c.Ticket(key(1))
	c.InvalidateAll()
	for i := range 500 {
		if _, ok := c.Get(key(i), t0); ok {
			t.Fatalf("key %d survived InvalidateAll", i)
		}
	}
	l := c.Len()
	c.Put(before, key(1000), 1, time.Time{})
	if _, ok := c.Get(key(1000), t0); ok || c.Len() != l {
		t.Fatal("a fill that read the store before InvalidateAll was cached")
	}
	put(c, key(1), 1, time.Time{})
	if _, ok := c.Get(key(1), t0); !ok {
		t.Fatal("a fill after InvalidateAll was not cached")
	}
}

func TestInvalidateSparesOtherShards(t *testing.T) {
	c := New[int](10_000)
	if len(c.shards) < 2 {
		t.Fatalf("%d shards", len(c.shards))
	}
	victim := key(0)
	for i := range 200 {
		put(c, key(i), i, time.Time{})
	}
	c.Invalidate(victim)
	spared, lost := 0, 0
	for i := 1; i < 200; i++ {
		k := key(i)
		_, ok := c.Get(k, t0)
		sameShard := c.shard(&k) == c.shard(&victim)
		switch {
		case ok && sameShard:
			t.Fatalf("key %d of the invalidated shard survived", i)
		case !ok && !sameShard:
			t.Fatalf("key %d of another shard was lost", i)
		case ok:
			spared++
		default:
			lost++
		}
	}
	if spared == 0 {
		t.Fatal("nothing spared")
	}
	t.Logf("%d spared, %d invalidated with the shard", spared, lost)
}

func TestTheBoundIsNeverExceeded(t *testing.T) {
	for _, size := range []int{1, 7, 16, 17, 100, 1000, 12_345} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			c := New[int](size)
			if c.Cap() != size {
				t.Fatalf("Cap() = %d", c.Cap())
			}
			n := 20 * size
			for i := range n {
				put(c, key(i), i, time.Time{})
				if i%97 == 0 && c.Len() > size {
					t.Fatalf("%d entries after %d puts, bound %d", c.Len(), i+1, size)
				}
			}
			if c.Len() != size {
				t.Fatalf("%d entries after %d puts, want the bound %d", c.Len(), n, size)
			}
			for i := n - 1; i >= 0; i-- {
				if v, ok := c.Get(key(i), t0); ok && v != i {
					t.Fatalf("key %d returned %d", i, v)
				}
			}
		})
	}
	if c := New[int](0); c.Cap() != DefaultSize {
		t.Fatalf("default Cap() = %d", c.Cap())
	}
}

func TestEvictionSparesEntriesHitSinceTheHandPassed(t *testing.T) {
	c := New[int](16) // one shard
	if len(c.shards) != 1 {
		t.Fatalf("%d shards", len(c.shards))
	}
	for i := range 16 {
		put(c, key(i), i, time.Time{})
	}
	for i := range 8 {
		c.Get(key(i), t0)
	}
	for i := 100; i < 108; i++ {
		put(c, key(i), i, time.Time{})
	}
	for i := range 16 {
		_, ok := c.Get(key(i), t0)
		if hot := i < 8; ok != hot {
			t.Errorf("key %d (hit: %v) present: %v", i, hot, ok)
		}
	}
}

func TestEvictionTakesStaleEntriesFirst(t *testing.T) {
	c := New[int](16)
	for i := range 16 {
		put(c, key(i), i, time.Time{})
		c.Get(key(i), t0) // every entry hit: only staleness can choose
	}
	c.InvalidateAll()
	put(c, key(100), 100, time.Time{})
	s := &c.shards[0]
	if s.hand != 1 {
		t.Fatalf("hand moved %d slots; a stale entry should be taken at once", s.hand)
	}
}

func TestRemoveKeepsTheIndexConsistent(t *testing.T) {
	c := New[int](64)
	for i := range 64 {
		put(c, key(i), i, time.Time{})
	}
	for i := 0; i < 64; i += 3 {
		c.Invalidate(key(i))
	}
	for si := range c.shards {
		s := &c.shards[si]
		if len(s.index) != len(s.slots) {
			t.Fatalf("shard %d: %d index entries for %d slots", si, len(s.index), len(s.slots))
		}
		for i, sl := range s.slots {
			if s.index[sl.key] != i {
				t.Fatalf("shard %d: slot %d indexed at %d", si, i, s.index[sl.key])
			}
			if sl.key != key(sl.val) {
				t.Fatalf("shard %d: slot %d holds the value of another key", si, i)
			}
		}
	}
	for i := 0; i < 64; i += 3 {
		k := key(i)
		if _, ok := c.shard(&k).index[k]; ok {
			t.Fatalf("key %d still indexed", i)
		}
	}
}

func TestNilCacheIsDisabled(t *testing.T) {
	c := New[int](-1)
	if c != nil {
		t.Fatal("negative size should disable the cache")
	}
	put(c, key(1), 1, time.Time{})
	c.Invalidate(key(1))
	c.InvalidateAll()
	if _, ok := c.Get(key(1), t0); ok || c.Len() != 0 || c.Cap() != 0 {
		t.Fatal("nil cache returned something")
	}
}

func TestShardCount(t *testing.T) {
	for _, tc := range []struct{ size, procs, want int }{
		{100_000, 1, 16}, {100_000, 2, 16}, {100_000, 8, 32}, {100_000, 64, 256},
		{100_000, 1000, 1024}, {1, 8, 1}, {16, 8, 1}, {40, 8, 2}, {1000, 8, 32},
	} {
		if got := shardCount(tc.size, tc.procs); got != tc.want {
			t.Errorf("shardCount(%d, %d) = %d, want %d", tc.size, tc.procs, got, tc.want)
		}
	}
}

// TestConcurrentRevocationIsNeverUndone races fillers that take a ticket,
// consult a "store" (a revoked flag) and Put, against a revoker that
// revokes in the store, invalidates and then requires a miss: the
// invariant callers rely on.
func TestConcurrentRevocationIsNeverUndone(t *testing.T) {
	c := New[int](256)
	const keys = 8
	var wg sync.WaitGroup
	var stop atomic.Bool
	var revoked [keys]atomic.Bool
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				n := (i + g) % keys
				k := key(n)
				tk := c.Ticket(k)
				if revoked[n].Load() {
					continue // the store says it is gone: nothing to cache
				}
				c.Put(tk, k, n, time.Time{})
				if v, ok := c.Get(k, t0); ok && v != n {
					t.Errorf("key %d returned %d", n, v)
					return
				}
				// Unrelated churn in the same shards, evictions included.
				put(c, key(1000+i%5000), -1, time.Time{})
			}
		}()
	}
	for round := range 2000 {
		n := round % keys
		k := key(n)
		revoked[n].Store(true)
		if round%5 == 0 {
			c.InvalidateAll()
		} else {
			c.Invalidate(k)
		}
		if _, ok := c.Get(k, t0); ok {
			t.Fatalf("round %d: key %d found after its revocation", round, n)
		}
		revoked[n].Store(false) // re-issued: fillers may cache it again
		if l := c.Len(); l > c.Cap() {
			t.Fatalf("%d entries, bound %d", l, c.Cap())
		}
	}
	stop.Store(true)
	wg.Wait()
}

// BenchmarkGet measures hits from parallel readers, keys hashed in
// advance, over working sets that fit a CPU cache and ones that do not.
func BenchmarkGet(b *testing.B) {
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprint("entries=", n), func(b *testing.B) {
			c := New[[4]string](2 * n)
			keys := make([]Key, n)
			for i := range keys {
				keys[i] = key(i)
				put(c, keys[i], [4]string{"user", "client"}, t0)
			}
			now := t0.Add(-time.Hour)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				r := rand.New(rand.NewPCG(uint64(n), 2))
				for pb.Next() {
					if _, ok := c.Get(keys[r.IntN(len(keys))], now); !ok {
						b.Error("miss")
						return
					}
				}
			})
		})
	}
}

func TestKeyOfIsSHA256(t *testing.T) {
	for _, v := range []string{"", "a", strings.Repeat("x", keyBuf), strings.Repeat("y", keyBuf+1), strings.Repeat("z", 5000)} {
		if got, want := KeyOf(v), sha256.Sum256([]byte(v)); got != want {
			t.Errorf("KeyOf of %d bytes differs from SHA-256", len(v))
		}
	}
	tok := strings.Repeat("t", 43)
	if n := testing.AllocsPerRun(100, func() { KeyOf(tok) }); n != 0 {
		t.Errorf("KeyOf of a minted token's length allocates %v times", n)
	}
}

// KeyOfToken is the same hash as KeyOf at every length, across both
// buffers' limits.
func TestKeyOfTokenAgreesWithKeyOf(t *testing.T) {
	for _, n := range []int{0, 43, keyBuf, keyBuf + 1, longKeyBuf, longKeyBuf + 1} {
		v := strings.Repeat("x", n)
		if KeyOfToken(v) != KeyOf(v) || KeyOf(v) != sha256.Sum256([]byte(v)) {
			t.Errorf("length %d: the keys differ", n)
		}
	}
}
