package badger

import (
	"encoding/binary"
	"sync/atomic"
)

// Change counters for caches in front of the store (store.ChangeCounter).
// A cache of verified credentials (the OAuth 1 engine's) must forget an
// entry as soon as the token behind it is revoked or changed, by whichever
// path: the OAuth 2 engine revoking a user's or client's tokens, the admin
// API deleting a client, a refresh token replay revoking a family, a
// direct store call. Rather than have every such path call every cache,
// the store counts its own changes and the cache compares: it reads
// TokenVersion (and ClientVersion) before it reads the store, keeps the
// numbers with its entry, and uses the entry only while they are
// unchanged.
//
// That is exact because a counter is bumped only after the change is
// committed: a reader that saw the old number may have read the old value,
// but its entry is stale from the bump on; a reader that sees the new
// number reads after the commit, so it reads the new state. A failed
// change bumps too (it may have landed partly). Counters only ever grow.
//
// Single-token changes bump one of versionShards counters, chosen by the
// token hash, so a client revoking its OAuth 2 token (RFC 7009) costs the
// other cached tokens nothing but the 1/versionShards that share its
// counter; revocations by family, user or client bump a counter every
// token sees. New tokens bump nothing: no cache holds what was never
// stored.

// versionShards is how many per-hash counters there are (8 KiB).
const versionShards = 1024

// versions are the counters of one DB.
type versions struct {
	// tokens is bumped by a change that may touch any token.
	tokens atomic.Uint64
	// clients is bumped by any client update or deletion.
	clients atomic.Uint64
	// shards are bumped by a change of one token, by its hash.
	shards [versionShards]atomic.Uint64
}

func (v *versions) shard(hash []byte) *atomic.Uint64 {
	if len(hash) < 2 {
		return &v.shards[0]
	}
	return &v.shards[binary.LittleEndian.Uint16(hash)%versionShards]
}

// tokenChanged records a committed (or failed) change of the token hash.
func (v *versions) tokenChanged(hash []byte) { v.shard(hash).Add(1) }

// allTokensChanged records a change that may have touched any token.
func (v *versions) allTokensChanged() { v.tokens.Add(1) }

// clientsChanged records a client update or deletion.
func (v *versions) clientsChanged() { v.clients.Add(1) }

// TokenVersion (store.ChangeCounter) returns a number that changes whenever the token stored
// under hash may have been revoked, deleted, consumed or replaced through
// this DB (RevokeToken, ConsumeToken, UpdateToken, RotateRefresh, a
// SaveToken(s) overwriting it, RevokeFamily, RevokeUser, RevokeClient).
// A cache reads it before GetToken and keeps its copy of the token only
// while it returns the same number; see versions.go. Changes made by
// another process are not counted, but Badger lets only one process open
// a database.
func (d *DB) TokenVersion(hash []byte) uint64 {
	// Two counters that only grow: their sum changes whenever either does.
	return d.versions.tokens.Load() + d.versions.shard(hash).Load()
}

// ClientVersion is TokenVersion for clients: it changes whenever the client
// id may have been updated or deleted through this DB (for now, whenever
// any client is).
func (d *DB) ClientVersion(id string) uint64 {
	return d.versions.clients.Load()
}
