package redis

import (
	"sync/atomic"

	"github.com/caddy-oauth/caddy-oauth/store/changecount"
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

// freshBit marks the never-repeating numbers answered while unhealthy.
const freshBit = 1 << 63

// counters are store/changecount's, plus the source of the numbers
// answered while unhealthy.
type counters struct {
	changecount.Counters
	fresh atomic.Uint64
}

// TokenVersion (store.ChangeCounter) returns a number that changes whenever
// the token stored under hash may have been revoked, deleted, consumed,
// rotated or replaced, through this Store or through any other Store on
// the same Redis and KeyPrefix whose change has returned (doc.go).
func (s *Store) TokenVersion(hash []byte) uint64 {
	if !s.inval.healthy() {
		return freshBit | s.counts.fresh.Add(1)
	}
	return s.counts.Token(hash)
}

// ClientVersion is TokenVersion for clients: it changes whenever the client
// id may have been updated or deleted (for now, whenever any client is).
func (s *Store) ClientVersion(id string) uint64 {
	if !s.inval.healthy() {
		return freshBit | s.counts.fresh.Add(1)
	}
	return s.counts.Client()
}
