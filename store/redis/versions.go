package redis

import (
	"encoding/binary"
	"sync/atomic"
)

// Change counters (store.ChangeCounter), as store/badger keeps them, fed
// by this Store's own changes and by every other Store's changes read
// from the invalidation stream (invalidation.go).
//
// While this Store cannot vouch that it has read every invalidation (its
// lease has lapsed: see doc.go), TokenVersion and ClientVersion return a
// fresh number on every call, with the top bit set so it is never one of
// the counters' values; a cache then never finds its copy current. When
// the lease is healthy again after a lapse, every counter is bumped once
// before the counters are answered again, so no number answered before
// the lapse comes back.

// versionShards is how many per-hash counters there are.
const versionShards = 1024

// freshBit marks the never-repeating numbers answered while unhealthy.
const freshBit = 1 << 63

type counters struct {
	tokens  atomic.Uint64 // bumped by a change that may touch any token
	clients atomic.Uint64 // bumped by any client update or deletion
	shards  [versionShards]atomic.Uint64
	fresh   atomic.Uint64 // source of the numbers answered while unhealthy
}

func (c *counters) shard(hash []byte) *atomic.Uint64 {
	if len(hash) < 2 {
		return &c.shards[0]
	}
	return &c.shards[binary.LittleEndian.Uint16(hash)%versionShards]
}

func (c *counters) tokenChanged(hash []byte) { c.shard(hash).Add(1) }
func (c *counters) allTokensChanged()        { c.tokens.Add(1) }
func (c *counters) clientsChanged()          { c.clients.Add(1) }

// TokenVersion (store.ChangeCounter) returns a number that changes whenever
// the token stored under hash may have been revoked, deleted, consumed,
// rotated or replaced, through this Store or through any other Store on
// the same Redis and KeyPrefix whose change has returned (doc.go).
func (s *Store) TokenVersion(hash []byte) uint64 {
	if !s.inval.healthy() {
		return freshBit | s.counts.fresh.Add(1)
	}
	// Two counters that only grow: their sum changes whenever either does.
	return s.counts.tokens.Load() + s.counts.shard(hash).Load()
}

// ClientVersion is TokenVersion for clients: it changes whenever the client
// id may have been updated or deleted (for now, whenever any client is).
func (s *Store) ClientVersion(id string) uint64 {
	if !s.inval.healthy() {
		return freshBit | s.counts.fresh.Add(1)
	}
	return s.counts.clients.Load()
}
