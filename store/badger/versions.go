package badger

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
// The counters are store/changecount's: one per token-hash stripe, plus
// one for revocations by family, user or client that every token sees.
// New tokens bump nothing: no cache holds what was never stored.

// TokenVersion (store.ChangeCounter) returns a number that changes whenever the token stored
// under hash may have been revoked, deleted, consumed or replaced through
// this DB (RevokeToken, ConsumeToken, UpdateToken, RotateRefresh, a
// SaveToken(s) overwriting it, RevokeFamily, RevokeUser, RevokeClient).
// A cache reads it before GetToken and keeps its copy of the token only
// while it returns the same number; see versions.go. Changes made by
// another process are not counted, but Badger lets only one process open
// a database.
func (d *DB) TokenVersion(hash []byte) uint64 {
	return d.versions.Token(hash)
}

// ClientVersion is TokenVersion for clients: it changes whenever the client
// id may have been updated or deleted through this DB (for now, whenever
// any client is).
func (d *DB) ClientVersion(id string) uint64 {
	return d.versions.Client()
}
