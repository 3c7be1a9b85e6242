package badger

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Key layout, version 1. Every key starts with "v1/" so a later format can
// live beside this one during a migration. Hashes are hex. Names that are
// followed by another component inside a key (index keys, consents) are
// escaped so that "/" only ever separates components: the user "a/b" becomes
// "a%2Fb" and cannot fall under the prefix of user "a".
const (
	prefixClient      = "v1/client/"  // + id                  → Client
	prefixUser        = "v1/user/"    // + username            → User
	prefixCode        = "v1/code/"    // + hex(hash)           → Code
	prefixToken       = "v1/token/"   // + hex(hash)           → Token
	prefixFamily      = "v1/fam/"     // + esc(family)/hex     → (empty)
	prefixTokenUser   = "v1/tuser/"   // + esc(user)/hex       → (empty)
	prefixTokenClient = "v1/tclient/" // + esc(client)/hex     → (empty)
	prefixNonce       = "v1/nonce/"   // + hex(sha256(key))    → nonceRecord
	prefixSession     = "v1/session/" // + hex(hash)           → Session
	prefixConsent     = "v1/consent/" // + esc(user)/esc(client) → Consent
	prefixKey         = "v1/key/"     // + name                → raw bytes
	prefixAttempt     = "v1/attempt/" // + hex(sha256(key))    → attemptRecord
	prefixDevice      = "v1/device/"  // + hex(device hash)    → DeviceAuthorization
	prefixDeviceUser  = "v1/devuser/" // + hex(user code hash) → device hash (raw)
)

var escaper = strings.NewReplacer("%", "%25", "/", "%2F")

// escape makes s safe as a key component followed by "/".
func escape(s string) string { return escaper.Replace(s) }

func nameKey(prefix, name string) []byte { return []byte(prefix + name) }

func hashKey(prefix string, hash []byte) []byte {
	k := make([]byte, len(prefix)+hex.EncodedLen(len(hash)))
	copy(k, prefix)
	hex.Encode(k[len(prefix):], hash)
	return k
}

func clientKey(id string) []byte    { return nameKey(prefixClient, id) }
func userKey(name string) []byte    { return nameKey(prefixUser, name) }
func secretKey(name string) []byte  { return nameKey(prefixKey, name) }
func codeKey(hash []byte) []byte    { return hashKey(prefixCode, hash) }
func tokenKey(hash []byte) []byte   { return hashKey(prefixToken, hash) }
func sessionKey(hash []byte) []byte { return hashKey(prefixSession, hash) }
func deviceKey(hash []byte) []byte  { return hashKey(prefixDevice, hash) }
func deviceUserKey(hash []byte) []byte {
	return hashKey(prefixDeviceUser, hash)
}
func indexPrefix(kind, name string) []byte {
	return []byte(kind + escape(name) + "/")
}

// nonceKey hashes the nonce record's key: it embeds a client-chosen nonce,
// and a hash keeps the key short whatever the client sent.
func nonceKey(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return hashKey(prefixNonce, sum[:])
}

// attemptKey hashes the attempt counter's key: it embeds a username as
// typed, which may be long, or be a password typed into the wrong field.
func attemptKey(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return hashKey(prefixAttempt, sum[:])
}

func consentKey(user, clientID string) []byte {
	return []byte(prefixConsent + escape(user) + "/" + escape(clientID))
}

// indexKey is the entry under an index prefix that points at a token.
func indexKey(prefix []byte, hash []byte) []byte {
	return hashKey(string(prefix), hash)
}

// hashFromIndexKey recovers the token hash from an index entry's key.
func hashFromIndexKey(prefix, key []byte) ([]byte, error) {
	return hex.DecodeString(string(key[len(prefix):]))
}
