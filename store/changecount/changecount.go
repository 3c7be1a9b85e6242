// Package changecount holds the striped change counters with which a
// backend implements store.ChangeCounter: a backend bumps them after each
// change is visible to reads (or failed), and answers TokenVersion and
// ClientVersion from them.
//
// Single-token changes bump one of Shards counters, chosen by the token
// hash, so revoking one token costs the other cached tokens nothing but
// the 1/Shards that share its counter; changes that may touch any token
// (revocations by family, user or client) bump a counter every token
// sees. Counters only ever grow, so a number never comes back.
package changecount

import (
	"encoding/binary"
	"sync/atomic"
)

// Shards is how many per-hash counters there are (8 KiB).
const Shards = 1024

// Counters are one store's change counters; the zero value is ready.
type Counters struct {
	tokens  atomic.Uint64 // bumped by a change that may touch any token
	clients atomic.Uint64 // bumped by any client update or deletion
	shards  [Shards]atomic.Uint64
}

func (c *Counters) shard(hash []byte) *atomic.Uint64 {
	if len(hash) < 2 {
		return &c.shards[0]
	}
	return &c.shards[binary.LittleEndian.Uint16(hash)%Shards]
}

// TokenChanged records a change of the token stored under hash.
func (c *Counters) TokenChanged(hash []byte) { c.shard(hash).Add(1) }

// AllTokensChanged records a change that may have touched any token.
func (c *Counters) AllTokensChanged() { c.tokens.Add(1) }

// ClientsChanged records a client update or deletion.
func (c *Counters) ClientsChanged() { c.clients.Add(1) }

// Token is the number of the token stored under hash: it changes with
// every TokenChanged(hash) and AllTokensChanged.
func (c *Counters) Token(hash []byte) uint64 {
	// Two counters that only grow: their sum changes whenever either does.
	return c.tokens.Load() + c.shard(hash).Load()
}

// Client is the number of every client: it changes with ClientsChanged.
func (c *Counters) Client() uint64 { return c.clients.Load() }
