package cache

import (
	"sync"
	"sync/atomic"
)

// clockScan bounds how far the CLOCK hand walks for one eviction, so an
// eviction is O(1) even when every entry was hit since the last pass; the
// entry under the hand after the walk goes then.
const clockScan = 8

// slot is one entry. Slots live in a slice so eviction can replace one in
// place and nothing is allocated per entry beyond what V holds.
type slot[V any] struct {
	key Key
	val V
	exp int64 // expiry in Unix nanoseconds; 0: none
	t   Ticket
	// ref is set when the entry is hit (atomically, since hits hold only
	// the read lock) and cleared by the passing clock hand.
	ref uint32
}

// shard is an independently locked part of the cache. Readers take the
// read lock only; writers (fills, evictions, invalidations) the write lock.
type shard[V any] struct {
	mu sync.RWMutex
	// gen is bumped by Invalidate of any key of this shard.
	gen   atomic.Uint64
	index map[Key]int
	slots []slot[V]
	limit int
	hand  int
	// The padding keeps neighbouring shards' locks off one cache line, so
	// readers of different shards do not slow each other down.
	_ [64]byte
}

func (s *shard[V]) init(limit int) {
	s.limit = limit
	s.index = make(map[Key]int)
}

func (s *shard[V]) get(k *Key) (v V, exp int64, t Ticket, ok bool) {
	s.mu.RLock()
	var i int
	if i, ok = s.index[*k]; ok {
		sl := &s.slots[i]
		v, exp, t = sl.val, sl.exp, sl.t
		// Load first: a hot entry is then only read, and its cache line
		// is not bounced between CPUs on every hit.
		if atomic.LoadUint32(&sl.ref) == 0 {
			atomic.StoreUint32(&sl.ref, 1)
		}
	}
	s.mu.RUnlock()
	return v, exp, t, ok
}

// put stores the entry, replacing k's own entry, filling a free slot or
// evicting a victim, in that order of preference.
func (s *shard[V]) put(k *Key, v V, exp int64, t Ticket, c *Cache[V]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index[*k]
	switch {
	case ok:
	case len(s.slots) < s.limit:
		if len(s.slots) == cap(s.slots) {
			// Grow as append would, but never past the limit: the
			// slots of a full cache are exactly its entries.
			grown := make([]slot[V], len(s.slots), min(max(2*len(s.slots), 16), s.limit))
			copy(grown, s.slots)
			s.slots = grown
		}
		s.slots = append(s.slots, slot[V]{})
		i = len(s.slots) - 1
		s.index[*k] = i
	default:
		i = s.victim(c)
		delete(s.index, s.slots[i].key)
		s.index[*k] = i
	}
	s.slots[i] = slot[V]{key: *k, val: v, exp: exp, t: t}
}

// victim runs the CLOCK hand over at most clockScan slots of a full shard:
// the first entry that is stale or was not hit since the hand last passed
// is the victim; hit entries get a second chance (their mark is cleared).
// Called with the write lock held.
func (s *shard[V]) victim(c *Cache[V]) int {
	epoch, gen := c.epoch.Load(), s.gen.Load()
	for range clockScan {
		i := s.advance()
		sl := &s.slots[i]
		if sl.ref == 0 || sl.t.epoch != epoch || sl.t.gen != gen {
			return i
		}
		sl.ref = 0
	}
	return s.advance()
}

// advance returns the slot under the hand and moves the hand on.
func (s *shard[V]) advance() int {
	i := s.hand
	s.hand++
	if s.hand >= len(s.slots) {
		s.hand = 0
	}
	return i
}

// remove drops k's entry, moving the last slot into its place.
func (s *shard[V]) remove(k *Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index[*k]
	if !ok {
		return
	}
	delete(s.index, *k)
	last := len(s.slots) - 1
	if i != last {
		s.slots[i] = s.slots[last]
		s.index[s.slots[i].key] = i
	}
	s.slots[last] = slot[V]{} // let go of what V references
	s.slots = s.slots[:last]
	if s.hand >= len(s.slots) {
		s.hand = 0
	}
}

func (s *shard[V]) len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.slots)
}
