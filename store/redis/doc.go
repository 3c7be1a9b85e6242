// Package redis is a store.Store on Redis 7 (or Valkey) for several Caddy
// nodes sharing one state: standalone, Sentinel or Cluster, through one
// go-redis UniversalClient. It passes store/storetest against a standalone
// server and a three-master cluster.
//
// # Layout and atomic steps
//
// keys.go lists the keys. Every step the engine needs to be atomic is one
// Lua script or command on ONE key, hence one cluster slot: ConsumeCode
// (a code hash: d + consumed flag), RotateRefresh's mark (the old token's
// hash: d + rotated flag), ConsumeToken, RevokeToken, UseNonce (SET NX
// PX), LoadOrCreateKey (SET NX, then GET), CreateClient and CreateUser
// (HSETNX on the one hash holding all clients, resp. users), and each
// BeginAttempt and EndAttempt (one script on the key's login attempt
// counter, so every node counts one login's guesses together). Scripts are
// sent as EVALSHA with EVAL as fallback. Commands are never retried by
// the client: a script that ran but whose reply was lost must not run
// twice (the winner of ConsumeCode would see its own code as replayed).
//
// Expiry is Redis': tokens, codes, sessions and nonces carry PEXPIREAT
// (PX for nonces), and a consumed code or rotated refresh token keeps its
// original expiry. Reads also compare ExpiresAt with the local clock, so
// a node never answers a token it considers expired.
//
// # Cross-slot operations: orderings that fail closed
//
// A token and the index zsets of its family, user and client (score: the
// token's expiry) are in different slots. GetToken reads the token's
// hash only (one HMGET, one round trip); it never consults an index, so
// revocation state must be in the token's own key. The rules:
//
//  1. Index first, token second. SaveTokens, UpdateToken and
//     RotateRefresh's successors are listed in their indexes before they
//     are written. A crash in between leaves an index entry without a
//     token (harmless; pruned after expiry), never a live token that a
//     revocation cannot find.
//  2. A revocation by family, user or client reads the index in rounds
//     of 500 entries and, per entry, runs one script on the token's key:
//     a token that still belongs to that owner is deleted; a missing
//     token gets a tombstone (field x) until the token's expiry, because
//     its write may still be in flight (rule 1); the write script refuses
//     to write over a tombstone. Only after that are the entries removed
//     from the index, and rounds repeat until the index is empty, so a
//     failure leaves the rest for a retry rather than forgetting them.
//  3. RotateRefresh: list the successors (1), mark the old token rotated
//     (one script: of concurrent rotations exactly one wins; the losers
//     get the stored token and store.ErrRotated, unlist their entries and
//     write nothing), then write the successors. A crash after the mark
//     leaves the old token rotated and no successor: the client's retry
//     is reuse, and the family is revoked.
//
// Rotation racing RevokeFamily of the same family: if the revocation's
// final (empty) index read came after the successors were listed, rule 2
// deleted or tombstoned them. Otherwise the successors were listed after
// that read, which followed the deletion of every listed family member,
// the old token included; so the rotation's mark, which comes after the
// listing, found the old token gone and the rotation failed with
// ErrNotFound. Either way no successor survives a rotation that
// succeeded (TestRotationRacingFamilyRevocationLeavesNoSurvivor). The
// same argument covers chains of rotations and a save into a family
// concurrent with its revocation: a token listed before the final round
// is revoked; a token listed after it was saved after the revocation (it
// is live, as it would be had the save come a moment later). A token
// saved (returned) before a revocation began is always revoked.
//
// Tombstones of tokens without expiry live forever; they arise only for
// a revocation meeting an index entry without a token (an in-flight
// write, a write that crashed), since every path that deletes a token
// also removes its index entries. Index zsets are pruned of entries
// expired for more than a minute (by the Redis clock: a node's clock
// cannot make an index forget a live token) and expire a minute after
// their longest-lived entry.
//
// Durability is Redis': with appendfsync always a token that SaveTokens
// returned for survives a crash (TestTokensSurviveASigkill). With
// asynchronous replication a failover can lose acknowledged writes, a
// revocation included; run Redis with persistence and without a failover
// that promotes lagging replicas if that matters.
//
// # Change counters across nodes
//
// Every Store keeps store/badger's counters (per-hash stripes, one
// "any token" and one "any client" counter) and bumps them after its own
// changes return. Each Store is also a node: it has a random id, a lease
// in the zset <prefix>v1:{inval}:lease and a read position in the hash
// <prefix>v1:{inval}:ack, next to the stream <prefix>v1:{inval} (one
// slot). One goroutine per Store, on connections of its own named
// caddy-oauth-inval-<id>, loops: renew (one script: lease = Redis time +
// lease, ack = read position, forget expired nodes, trim the stream to
// what every live node has read), then XREAD BLOCK (lease/3) from its
// position, bumping its counters for every entry another node wrote.
//
// A change that store.ChangeCounter counts (a token saved over, updated,
// revoked, rotated, consumed; RevokeFamily/User/Client; a client updated
// or deleted, which includes a secret rotation) is written, counted
// locally, then announced: one script appends an entry naming the token
// hashes (or "any token", "any client") and returns the live nodes; the
// changing Store polls their acks (0.2 ms, doubling to 20 ms) until each
// has read past the entry or its lease has expired, and only then
// returns. A stream entry is never lost to a dropped connection: the
// reader resumes from its position.
//
// A node's counters are answered as stable only while its last
// successful renewal was SENT less than (lease - margin) ago on its
// monotonic clock; otherwise TokenVersion and ClientVersion return a new
// number on every call (top bit set, never a counter value), so caches
// re-read. When a lapsed node renews again, it bumps every counter
// before answering stable numbers, so nothing cached before or during
// the lapse is trusted again. Redis expires the lease at (time the
// renewal was processed + lease), which is later than the node's own
// deadline, so by the time another node stops waiting for it, it already
// distrusts its counters.
//
// Guarantee: once a counted change has returned successfully on node A,
// every other node B that shares the Redis and KeyPrefix answers, from
// then on, a TokenVersion (ClientVersion) different from any it answered
// before that change's write, so a cache on B that read the counter
// before its copy refuses that copy on its next request, while B's
// unchanged entries still hit without a Redis round trip. Counted changes
// that return an error (Redis unreachable, the caller's context ended)
// carry no guarantee; the Store owes them and appends an "anything
// changed" entry as soon as Redis answers, and the caller reports the
// change as failed (503), not done.
//
// Cost: each counted change adds one script call and, when other nodes
// are live, the time until they ack (typically two or three round trips
// on a healthy network). A partitioned or stalled node delays every
// counted change on the others by up to the lease (3 s; Options has no
// knob yet), and its own caches stop hitting until it can read the
// stream again; it never serves a stale copy. Changes that need no
// counting (new tokens, codes, nonces, sessions, consents, users, login
// attempt counters) wait for nobody.
//
// Errors: an unreachable Redis is ErrUnavailable (never
// store.ErrNotFound), within about DialTimeout + Timeout. Open never
// contacts Redis, so Caddy starts while Redis is down and the Store
// recovers by itself.
package redis
