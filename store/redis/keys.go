package redis

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// Key layout, version 1: every key is <KeyPrefix>v1:<kind>:<rest>, so that
// servers sharing a Redis are apart and a later format can live beside
// this one. Hashes are hex (binary-safe, and never a '{' or '}'). Names
// (families, users, client ids) are the whole rest of their key, so any
// byte is fine in them and no two names share a key.
//
// Cluster slots: every atomic step below is ONE key (a token with its
// rotated flag, kind, owner fields and revocation tombstone is one hash;
// all clients are one hash; all users one hash), so a Lua script on it is
// atomic in a cluster without hash tags. A name containing "{...}" only
// moves its single key to another slot, which is harmless. The only keys
// that one script touches together are the invalidation stream and its
// lease and ack records; they share the hash tag {inval}. KeyPrefix must
// contain no brace, or it would choose the slot of every key.
//
//	t:<hex>        hash  token: d=JSON, k=kind, f/u/c=family/user/client,
//	                     r=rotated, x=revoked tombstone (no d)
//	if:<family>    zset  index of a family's token hashes, score=expiry ms
//	iu:<user>      zset  index of a user's tokens
//	ic:<client>    zset  index of a client's tokens
//	code:<hex>     hash  code: d=JSON, c=consumed
//	dev:<hex>      hash  device authorization: d=JSON (fixed fields),
//	                     uc=user code hash hex, s=status, u=user,
//	                     iv=interval ms, lp=last poll ms, o=client id
//	duc:<hex>      string  user code hash → "<device code hash hex>:<expiry ms>"
//	n:<hex sha256> string  a used OAuth 1 nonce
//	s:<hex>        string  session JSON
//	a:<hex sha256> string  login attempt counter (attempts.go)
//	consent:<len(user)>:<user><client>  string  consent JSON
//	key:<name>     string  server key bytes
//	clients, users hash  id/username → JSON
//	{inval}, {inval}:lease, {inval}:ack  stream, zset, hash (invalidation.go)
type keys struct{ p string }

func newKeys(prefix string) keys { return keys{p: prefix + "v1:"} }

func (k keys) hashKey(kind string, hash []byte) string {
	return k.p + kind + hex.EncodeToString(hash)
}

func (k keys) token(hash []byte) string   { return k.hashKey("t:", hash) }
func (k keys) code(hash []byte) string    { return k.hashKey("code:", hash) }
func (k keys) session(hash []byte) string { return k.hashKey("s:", hash) }
func (k keys) device(hash []byte) string  { return k.hashKey("dev:", hash) }
func (k keys) deviceUser(hash []byte) string {
	return k.hashKey("duc:", hash)
}

// nonce hashes the nonce record's key: it embeds a client-chosen nonce, and
// a hash keeps the key short whatever the client sent.
func (k keys) nonce(key string) string {
	sum := sha256.Sum256([]byte(key))
	return k.hashKey("n:", sum[:])
}

// attempt hashes the attempt counter's key: it embeds a username as typed,
// which may be long, or be a password typed into the wrong field. One
// script touches only this key, so it needs no hash tag to stay in one
// slot, and the hex hash never contains a brace.
func (k keys) attempt(key string) string {
	sum := sha256.Sum256([]byte(key))
	return k.hashKey("a:", sum[:])
}

func (k keys) family(name string) string { return k.p + "if:" + name }
func (k keys) user(name string) string   { return k.p + "iu:" + name }
func (k keys) client(id string) string   { return k.p + "ic:" + id }

// consent length-prefixes the user so ("a\x00b","c") and ("a","b\x00c")
// are different keys.
func (k keys) consent(user, clientID string) string {
	return k.p + "consent:" + strconv.Itoa(len(user)) + ":" + user + clientID
}

func (k keys) secret(name string) string { return k.p + "key:" + name }
func (k keys) clients() string           { return k.p + "clients" }
func (k keys) users() string             { return k.p + "users" }

// The invalidation keys share the hash tag {inval}: one slot.
func (k keys) stream() string { return k.p + "{inval}" }
func (k keys) lease() string  { return k.p + "{inval}:lease" }
func (k keys) acks() string   { return k.p + "{inval}:ack" }
