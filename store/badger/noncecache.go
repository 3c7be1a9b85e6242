package badger

import (
	"sync"
)

// nonceCache remembers the OAuth 1 nonce keys this process used recently,
// so that a replay, or a duplicate racing the original, is refused with a
// map lookup instead of a disk read and a wait for a commit.
//
// It is a cache, not the authority: UseNonce's durable check-and-set in
// Badger decides (see nonces.go), so the cache may forget any entry at any
// time without letting a replay through. That is what keeps it bounded:
// at 10,000 requests a second and the default 10-minute nonce TTL, six
// million nonces are live, far too many to hold for their whole TTL, so
// each shard keeps at most its share of the cache size, evicting the
// oldest entry when full and dropping expired ones from the front as it
// goes (entries of one TTL expire in insertion order).
//
// Every entry is a true statement: the key was used (or is being written
// by its first user) and the use has not expired. A claim whose write
// fails is released.
type nonceCache struct {
	shards [nonceShards]nonceShard
}

// nonceShards spreads the callers over independent locks.
const nonceShards = 64

// defaultNonceCacheSize is how many nonces the cache holds at most: about
// 13 s of nonces at 10,000 requests a second, in about 10 MiB when full (a
// map entry and a ring slot per nonce; measured).
const defaultNonceCacheSize = 1 << 17

// nonceID identifies a nonce key in the cache: the first half of its
// SHA-256. A collision (about 2^-64 for 2^32 live keys) would only refuse
// a fresh nonce, never accept a replay.
type nonceID [16]byte

// nonceSlot is one cache entry in insertion order.
type nonceSlot struct {
	id  nonceID
	exp int64 // Unix nanoseconds
}

// nonceShard is one lock's part of the cache.
type nonceShard struct {
	mu sync.Mutex
	// m maps every cached key to its expiry (Unix nanoseconds). Each key
	// in m has a slot in ring with the same expiry; ring may also hold
	// stale slots of released or re-claimed keys, which pop without
	// touching m.
	m    map[nonceID]int64
	ring []nonceSlot // circular, oldest first from head; grows up to max
	head int
	n    int // slots in use
	max  int // most slots (and so entries) this shard may hold; 0: caching off
}

// init empties the cache and sets its size (0 turns caching off). It must
// not run concurrently with other methods (Open and tests only).
func (c *nonceCache) init(size int) {
	per := 0
	if size > 0 {
		per = max(1, size/nonceShards)
	}
	for i := range c.shards {
		s := &c.shards[i]
		s.m = make(map[nonceID]int64)
		s.ring, s.head, s.n, s.max = nil, 0, 0, per
	}
}

// shard returns the shard of the key whose SHA-256 is sum; it picks by a
// byte nonceID does not contain.
func (c *nonceCache) shard(sum *[32]byte) *nonceShard {
	return &c.shards[int(sum[31])%nonceShards]
}

// claim reports whether id is cached as used at now. If not, it caches id
// as used until exp, evicting the oldest entry if the shard is full, and
// reports claimed (false only when caching is off).
func (s *nonceShard) claim(id nonceID, now, exp int64) (used, claimed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[id]; ok && now < e {
		return true, false
	}
	if s.max == 0 {
		return false, false
	}
	for s.n > 0 && s.ring[s.head].exp <= now {
		s.pop() // expired: lazy cleanup at the front
	}
	if s.n == s.max {
		s.pop() // full: forget the oldest, Badger still knows it
	}
	s.push(nonceSlot{id: id, exp: exp})
	s.m[id] = exp
	return false, true
}

// release forgets the claim of id that expires at exp, if it is still
// cached (a later claim of the same key, after this one expired, stays).
func (s *nonceShard) release(id nonceID, exp int64) {
	s.mu.Lock()
	if e, ok := s.m[id]; ok && e == exp {
		delete(s.m, id)
	}
	s.mu.Unlock()
}

// pop removes the oldest slot and its map entry if the slot is current.
func (s *nonceShard) pop() {
	old := s.ring[s.head]
	if e, ok := s.m[old.id]; ok && e == old.exp {
		delete(s.m, old.id)
	}
	s.ring[s.head] = nonceSlot{}
	s.head = (s.head + 1) % len(s.ring)
	s.n--
}

// push appends a slot, growing the ring (doubling, up to max) when full;
// the caller made room if the shard is at max.
func (s *nonceShard) push(sl nonceSlot) {
	if s.n == len(s.ring) {
		grown := make([]nonceSlot, min(max(16, 2*len(s.ring)), s.max))
		for i := range s.n {
			grown[i] = s.ring[(s.head+i)%len(s.ring)]
		}
		s.ring, s.head = grown, 0
	}
	s.ring[(s.head+s.n)%len(s.ring)] = sl
	s.n++
}

// size returns how many keys and ring slots the cache holds (tests).
func (c *nonceCache) size() (entries, slots int) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		entries += len(s.m)
		slots += s.n
		s.mu.Unlock()
	}
	return entries, slots
}
