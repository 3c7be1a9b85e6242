package badger_test

import (
	"crypto/rand"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// newToken builds a token of kind with a random hash, as issuance would.
func newToken(kind store.TokenKind) *store.Token {
	h := make([]byte, 32)
	rand.Read(h)
	now := time.Now()
	return &store.Token{
		Hash:      h,
		Kind:      kind,
		ClientID:  "client-1",
		User:      "alice",
		Scopes:    []string{"read", "write"},
		Family:    rand.Text(),
		IssuedAt:  now,
		ExpiresAt: now.Add(time.Hour),
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
