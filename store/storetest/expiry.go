package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// testExpiry is the one test that waits for real time to pass: a backend
// may leave expiry to its database's TTLs, which read the wall clock.
// Everything else uses items whose ExpiresAt is already past.
func (h harness) testExpiry(t *testing.T) {
	t.Run("items expire once their time has passed", func(t *testing.T) {
		if testing.Short() {
			t.Skip("waits about two seconds")
		}
		s := h.store(t)
		ctx := t.Context()
		const life = time.Second

		fresh, err := s.UseNonce(ctx, "n", life)
		mustErr(t, "UseNonce", err, nil)
		if !fresh {
			t.Fatal("UseNonce is not fresh")
		}
		expires := time.Now().Add(life)
		token := tok{user: "alice", family: "F"}.build()
		token.ExpiresAt = expires
		forever := tok{user: "alice", family: "F"}.build()
		forever.ExpiresAt = time.Time{}
		code := sampleCode(0)
		code.ExpiresAt = expires
		session := sampleSession(0)
		session.ExpiresAt = expires
		mustErr(t, "SaveTokens", s.SaveTokens(ctx, token, forever), nil)
		mustErr(t, "SaveCode", s.SaveCode(ctx, code), nil)
		mustErr(t, "SaveSession", s.SaveSession(ctx, session), nil)

		// All live before their time.
		if time.Now().Before(expires) {
			expectLive(t, s, token.Hash, "token before expiry")
			_, err = s.GetSession(ctx, session.Hash)
			mustErr(t, "GetSession before expiry", err, nil)
		}

		deadline := time.Now().Add(5 * time.Second)
		for {
			_, errT := s.GetToken(ctx, token.Hash)
			_, errS := s.GetSession(ctx, session.Hash)
			if errors.Is(errT, store.ErrNotFound) && errors.Is(errS, store.ErrNotFound) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("5s after expiry: GetToken %v, GetSession %v; want ErrNotFound", errT, errS)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if time.Now().Before(expires) {
			t.Fatalf("items vanished before they expired")
		}
		_, err = s.ConsumeCode(ctx, code.Hash)
		mustErr(t, "ConsumeCode after expiry", err, store.ErrNotFound)
		fresh, err = s.UseNonce(ctx, "n", life)
		mustErr(t, "UseNonce after expiry", err, nil)
		if !fresh {
			t.Fatal("a nonce is still remembered after its ttl")
		}
		expectLive(t, s, forever.Hash, "token without expiry")
		// The expired token's index entries went with it.
		mustRevoke(t, "RevokeFamily(F)", 1, func() (int, error) { return s.RevokeFamily(ctx, "F") })
	})
}
