// Package dump writes and reads a versioned JSON-lines dump of a store:
// its server keys, clients, users, consents and, optionally, its live
// tokens, so that a deployment can be backed up and moved between
// backends (Badger to Redis and back). It knows nothing of Caddy.
//
// Format version 1 is UTF-8 JSON, one object per line, each line ending in
// "\n". The first line is the header, the last the end line; in between,
// one record per line, in this order (importers accept any order):
//
//	{"format":"caddy-oauth-dump","version":1,"created_at":"2025-01-02T03:04:05Z","server":"default"}
//	{"type":"key","record":{"name":"server_key","value":"<base64>"}}
//	{"type":"client","record":{<store.Client>}}
//	{"type":"user","record":{<store.User>}}
//	{"type":"consent","record":{<store.Consent>}}
//	{"type":"token","record":{<store.Token>}}
//	{"type":"end","counts":{"keys":1,"clients":1,"users":1,"consents":1,"tokens":1}}
//
// A record is the store's own JSON of the item, exactly as the store holds
// it: client secrets and token values as their SHA-256 hashes, passwords
// as bcrypt/argon2id hashes, OAuth 1 secrets sealed (AES-GCM) with the
// server key. Nothing is decrypted or re-hashed, so sealed secrets open on
// the target only with the same server key: the one in the dump's key
// records when the server keeps its key in the storage, or else the
// config's server_key, which the target must then be given too.
//
// The dump therefore holds the server key and the JWT signing (private)
// keys: it is as secret as the storage itself. Writers create it 0600.
//
// The end line counts the records of each type, so a truncated dump (an
// export that failed half-way, a file cut short) is noticed on import.
// A new format gets a new version number; an importer refuses versions it
// does not know.
package dump

import (
	"errors"
	"time"
)

// Format is the header's "format" value.
const Format = "caddy-oauth-dump"

// Version is the format version this package writes and reads.
const Version = 1

// MaxLine bounds one line of a dump (a record is at most a few kilobytes;
// an RSA JWT key about two), so reading takes bounded memory.
const MaxLine = 1 << 20

// Record types, the "type" of a line.
const (
	TypeKey     = "key"
	TypeClient  = "client"
	TypeUser    = "user"
	TypeConsent = "consent"
	TypeToken   = "token"
	TypeEnd     = "end"
)

// Errors of Import, tested with errors.Is.
var (
	// ErrFormat: the input is not a dump of a format and version this
	// package reads. Nothing was imported.
	ErrFormat = errors.New("dump: not a caddy-oauth dump this version reads")
	// ErrIncomplete: some lines were not imported (malformed, conflicting
	// with stored records, missing end line); the Summary lists them.
	ErrIncomplete = errors.New("dump: some lines were not imported")
	// ErrConflict: a record exists in the target with other content.
	ErrConflict = errors.New("exists with other content")
)

// Header is the first line of a dump.
type Header struct {
	Format    string    `json:"format"`
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	// Server is the name of the oauth server the dump was taken from;
	// informational (a dump may be imported into another server).
	Server string `json:"server,omitempty"`
}

// Counts counts records per type.
type Counts struct {
	Keys     int `json:"keys"`
	Clients  int `json:"clients"`
	Users    int `json:"users"`
	Consents int `json:"consents"`
	Tokens   int `json:"tokens"`
}

// add counts one record of type typ.
func (c *Counts) add(typ string) {
	switch typ {
	case TypeKey:
		c.Keys++
	case TypeClient:
		c.Clients++
	case TypeUser:
		c.Users++
	case TypeConsent:
		c.Consents++
	case TypeToken:
		c.Tokens++
	}
}

// Total is the number of records counted.
func (c Counts) Total() int { return c.Keys + c.Clients + c.Users + c.Consents + c.Tokens }

// line is every line but the header.
type line struct {
	Type   string  `json:"type"`
	Record any     `json:"record,omitempty"`
	Counts *Counts `json:"counts,omitempty"`
}
