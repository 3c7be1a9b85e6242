// Package cache is a bounded, sharded, in-memory map from credential hashes
// to what verifying the credential established, put in front of the store
// so a protected-resource request costs a map lookup instead of a database
// read.
//
// A cached answer must not outlive what it was derived from:
//   - Keys are SHA-256 hashes of credentials, never the credentials.
//   - Every entry carries its expiry and is checked against the caller's
//     clock on every hit.
//   - Revocation is immediate once the caller invalidates: Invalidate drops
//     one key (and every entry of its shard filled before it),
//     InvalidateAll every entry, both in O(1) by bumping a generation
//     counter that entries remember. A Ticket taken before the store read
//     and checked on Put and Get defeats a fill whose store read happened
//     before the revocation but whose Put comes after it. A revocation the
//     cache is not told about is invisible to it until the entry expires.
//   - Only positive results belong here: callers must not cache unknown
//     credentials, or garbage could flood out live entries.
//
// It holds at most the configured number of entries, each shard its share;
// as keys spread over shards a little unevenly, a shard may evict while the
// cache as a whole holds slightly fewer (under 1% at the default size, more
// for small caches). A full shard picks its victim in O(1) by a bounded
// CLOCK scan (second chance): entries hit since the hand last passed are
// spared, stale ones go first. There is no goroutine, no timer and no
// allocation per hit.
package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"runtime"
	"sync/atomic"
	"time"
)

// Key is the SHA-256 of a credential, as provider.HashToken computes it.
type Key [sha256.Size]byte

// KeyOf hashes a credential value into its Key, for values up to
// keyBuf bytes without allocating (the hot path of bearer verification).
func KeyOf(value string) Key {
	// []byte(value) would allocate for anything over 32 bytes, and every
	// minted token is 43.
	var buf [keyBuf]byte
	if len(value) <= len(buf) {
		return sha256.Sum256(buf[:copy(buf[:], value)])
	}
	return sha256.Sum256([]byte(value))
}

// keyBuf is the longest value KeyOf hashes from a stack buffer.
const keyBuf = 128

// longKeyBuf is the longest value KeyOfToken hashes from a stack buffer:
// JWT access tokens, ours and other issuers' (a few hundred bytes to a
// few kilobytes).
const longKeyBuf = 4096

// KeyOfToken is KeyOf for values that may be JWTs: without allocating up
// to longKeyBuf bytes. Short values take KeyOf's small buffer, so opaque
// tokens do not pay for clearing the large one.
func KeyOfToken(value string) Key {
	if len(value) <= keyBuf || len(value) > longKeyBuf {
		return KeyOf(value)
	}
	var buf [longKeyBuf]byte
	return sha256.Sum256(buf[:copy(buf[:], value)])
}

// DefaultSize is the entry count New uses for a size of 0. An entry costs
// about 100 bytes plus the size of V (key, bookkeeping, map slot) and
// whatever V references; with an OAuth identity as V (about 290 bytes an
// entry in all, in a heap profile of a full cache) the full default cache
// is about 7 MiB, small enough that the whole server stays within 256 MiB
// with millions of live tokens (the README's "Memory and store size";
// 50,000 entries took 14 MiB of the live heap there, twice that between
// collections), and more than the tokens most servers see in a few
// minutes.
const DefaultSize = 25_000

// minPerShard keeps small caches in few shards, so the bound is spread over
// shards that each hold a useful number of entries.
const minPerShard = 16

// Ticket is the invalidation state of a key's shard before a store read.
// Put refuses, and Get ignores, an entry whose ticket a later Invalidate or
// InvalidateAll made stale.
type Ticket struct {
	epoch, gen uint64
}

// Cache maps Keys to values of type V. It is safe for concurrent use. A nil
// *Cache is a valid, disabled cache: Get always misses and the other
// methods do nothing.
type Cache[V any] struct {
	// epoch is bumped by InvalidateAll; every entry remembers the epoch of
	// its ticket.
	epoch  atomic.Uint64
	shards []shard[V]
	mask   uint64
}

// New returns a cache holding at most size entries; 0 means DefaultSize.
// A negative size returns nil, the disabled cache.
func New[V any](size int) *Cache[V] {
	if size < 0 {
		return nil
	}
	if size == 0 {
		size = DefaultSize
	}
	n := shardCount(size, runtime.GOMAXPROCS(0))
	c := &Cache[V]{shards: make([]shard[V], n), mask: uint64(n - 1)}
	for i := range c.shards {
		// Spread the remainder so the capacities add up to size exactly.
		limit := size / n
		if i < size%n {
			limit++
		}
		c.shards[i].init(limit)
	}
	return c
}

// shardCount is a power of two, several times the number of CPUs so that
// concurrent readers rarely share a lock, at most 1024, and small enough
// that each shard holds at least minPerShard entries.
func shardCount(size, procs int) int {
	n := 16
	for n < 4*procs && n < 1024 {
		n *= 2
	}
	for n > 1 && size/n < minPerShard {
		n /= 2
	}
	return n
}

// shard picks k's shard from its first bytes; SHA-256 output is uniform,
// so no further mixing is needed.
func (c *Cache[V]) shard(k *Key) *shard[V] {
	return &c.shards[binary.LittleEndian.Uint64(k[:8])&c.mask]
}

// Ticket records the state Put will compare against. Take it before the
// store read whose result will be cached.
func (c *Cache[V]) Ticket(k Key) Ticket {
	if c == nil {
		return Ticket{}
	}
	return Ticket{epoch: c.epoch.Load(), gen: c.shard(&k).gen.Load()}
}

// Get returns the value cached for k if there is one, it was filled after
// the last invalidation that covers it, and it has not expired at now
// (an entry expires at its expiresAt, as the store's expiry does).
func (c *Cache[V]) Get(k Key, now time.Time) (V, bool) {
	var zero V
	if c == nil {
		return zero, false
	}
	s := c.shard(&k)
	v, exp, t, ok := s.get(&k)
	if !ok {
		return zero, false
	}
	// The counters are read after the entry: an invalidation that finished
	// before this Get began is seen here.
	if t.epoch != c.epoch.Load() || t.gen != s.gen.Load() {
		return zero, false
	}
	if exp != 0 && now.UnixNano() >= exp {
		return zero, false
	}
	return v, true
}

// Put caches v under k until expiresAt (zero: no expiry of its own) unless
// an invalidation happened since t was taken, evicting another entry if
// k's shard is full.
func (c *Cache[V]) Put(t Ticket, k Key, v V, expiresAt time.Time) {
	if c == nil || !c.current(t, &k) {
		return
	}
	var exp int64
	if !expiresAt.IsZero() {
		exp = expiresAt.UnixNano()
	}
	c.shard(&k).put(&k, v, exp, t, c)
}

// current reports whether nothing invalidated k's shard since t.
func (c *Cache[V]) current(t Ticket, k *Key) bool {
	return t.epoch == c.epoch.Load() && t.gen == c.shard(k).gen.Load()
}

// Invalidate makes k miss from now on, and with it every entry of k's
// shard (1/shards of the cache): bumping the shard's generation also
// defeats a concurrent fill of k that read the store before the caller
// revoked it. Call it after the store revocation returned.
func (c *Cache[V]) Invalidate(k Key) {
	if c == nil {
		return
	}
	s := c.shard(&k)
	s.gen.Add(1)
	s.remove(&k)
}

// InvalidateAll makes every current entry miss from now on, in O(1); the
// stale entries are reused as eviction victims first. Call it after a
// store revocation that may cover any key (a family, user or client).
func (c *Cache[V]) InvalidateAll() {
	if c == nil {
		return
	}
	c.epoch.Add(1)
}

// Len returns the number of entries held, stale and expired ones included
// (they count against the bound until replaced).
func (c *Cache[V]) Len() int {
	if c == nil {
		return 0
	}
	n := 0
	for i := range c.shards {
		n += c.shards[i].len()
	}
	return n
}

// Cap returns the most entries the cache holds (0 for a disabled cache).
func (c *Cache[V]) Cap() int {
	if c == nil {
		return 0
	}
	n := 0
	for i := range c.shards {
		n += c.shards[i].limit
	}
	return n
}
