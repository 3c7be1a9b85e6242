package storetest

import (
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// mustRevoke runs a revocation and fails t unless it deleted want tokens.
func mustRevoke(t *testing.T, what string, want int, revoke func() (int, error)) {
	t.Helper()
	n, err := revoke()
	mustErr(t, what, err, nil)
	if n != want {
		t.Fatalf("%s = %d, want %d", what, n, want)
	}
}

func (h harness) testRevocation(t *testing.T) {
	t.Run("revoking a family deletes exactly its live tokens", func(t *testing.T) {
		s := h.store(t)
		ctx := t.Context()
		in := []*store.Token{
			tok{user: "alice", family: "F"}.build(),
			tok{kind: store.KindRefresh, user: "alice", family: "F"}.build(),
			tok{user: "alice", client: "client-2", family: "F"}.build(),
		}
		dead := tok{user: "alice", family: "F", ttl: -time.Second}.build()
		out := []*store.Token{
			tok{user: "alice", family: "G"}.build(),
			tok{user: "alice", family: "F/x"}.build(),
		}
		mustErr(t, "SaveTokens", s.SaveTokens(ctx, append(append(in, dead), out...)...), nil)

		mustRevoke(t, "RevokeFamily(F)", len(in), func() (int, error) { return s.RevokeFamily(ctx, "F") })
		for _, tk := range in {
			expectGone(t, s, tk.Hash, "family member")
		}
		for _, tk := range out {
			expectLive(t, s, tk.Hash, "other family")
		}
		mustRevoke(t, "RevokeFamily(F) again", 0, func() (int, error) { return s.RevokeFamily(ctx, "F") })
		mustRevoke(t, "RevokeFamily(unknown)", 0, func() (int, error) { return s.RevokeFamily(ctx, "unknown") })
		// The revoked tokens left no index entries behind under their user.
		mustRevoke(t, "RevokeUser(alice)", len(out), func() (int, error) { return s.RevokeUser(ctx, "alice") })
	})

	t.Run("revoking a user deletes exactly that user's tokens", func(t *testing.T) {
		s := h.store(t)
		ctx := t.Context()
		alice := []*store.Token{
			tok{user: "alice", client: "c1", family: "F1"}.build(),
			tok{kind: store.KindRefresh, user: "alice", client: "c1", family: "F1"}.build(),
			tok{kind: store.KindOAuth1Access, user: "alice", client: "c2", family: "F2"}.build(),
		}
		others := []*store.Token{
			tok{user: "bob", client: "c1", family: "F3"}.build(),
			tok{user: "alice2", client: "c1", family: "F4"}.build(),
			tok{client: "c1", family: "F5"}.build(), // client_credentials: no user
		}
		mustErr(t, "SaveTokens", s.SaveTokens(ctx, append(alice, others...)...), nil)

		mustRevoke(t, "RevokeUser(alice)", len(alice), func() (int, error) { return s.RevokeUser(ctx, "alice") })
		for _, tk := range alice {
			expectGone(t, s, tk.Hash, "alice's")
		}
		for _, tk := range others {
			expectLive(t, s, tk.Hash, "someone else's")
		}
		mustRevoke(t, "RevokeUser(alice) again", 0, func() (int, error) { return s.RevokeUser(ctx, "alice") })
		mustRevoke(t, "RevokeClient(c1) afterwards", len(others), func() (int, error) { return s.RevokeClient(ctx, "c1") })
	})

	t.Run("revoking the empty user revokes nothing", func(t *testing.T) {
		s := h.store(t)
		ctx := t.Context()
		cc := tok{client: "c1", family: "F"}.build()
		mustErr(t, "SaveToken", s.SaveToken(ctx, cc), nil)
		mustRevoke(t, `RevokeUser("")`, 0, func() (int, error) { return s.RevokeUser(ctx, "") })
		expectLive(t, s, cc.Hash, "client_credentials token")
	})

	t.Run("revoking a client deletes exactly that client's tokens", func(t *testing.T) {
		s := h.store(t)
		ctx := t.Context()
		c1 := []*store.Token{
			tok{user: "alice", client: "c1", family: "F1"}.build(),
			tok{user: "bob", client: "c1", family: "F2"}.build(),
			tok{client: "c1", family: "F3"}.build(),
			tok{kind: store.KindOAuth1Request, client: "c1", family: "F4"}.build(),
		}
		c2 := tok{user: "alice", client: "c2", family: "F5"}.build()
		mustErr(t, "SaveTokens", s.SaveTokens(ctx, append(c1, c2)...), nil)

		mustRevoke(t, "RevokeClient(c1)", len(c1), func() (int, error) { return s.RevokeClient(ctx, "c1") })
		for _, tk := range c1 {
			expectGone(t, s, tk.Hash, "c1's")
		}
		expectLive(t, s, c2.Hash, "c2's")
		mustRevoke(t, "RevokeClient(unknown)", 0, func() (int, error) { return s.RevokeClient(ctx, "unknown") })
	})

	t.Run("names containing slashes or escapes do not collide", func(t *testing.T) {
		s := h.store(t)
		ctx := t.Context()
		plain := tok{user: "a", client: "x", family: "f"}.build()
		slash := tok{user: "a/b", client: "x/y", family: "f/g"}.build()
		escaped := tok{user: "a%2Fb", client: "x%2Fy", family: "f%2Fg"}.build()
		trailing := tok{user: "a/", client: "x/", family: "f/"}.build()
		all := []*store.Token{plain, slash, escaped, trailing}
		mustErr(t, "SaveTokens", s.SaveTokens(ctx, all...), nil)

		mustRevoke(t, "RevokeUser(a)", 1, func() (int, error) { return s.RevokeUser(ctx, "a") })
		expectGone(t, s, plain.Hash, "a's")
		mustRevoke(t, "RevokeClient(x/y)", 1, func() (int, error) { return s.RevokeClient(ctx, "x/y") })
		expectGone(t, s, slash.Hash, "x/y's")
		mustRevoke(t, "RevokeFamily(f%2Fg)", 1, func() (int, error) { return s.RevokeFamily(ctx, "f%2Fg") })
		expectGone(t, s, escaped.Hash, "f%2Fg's")
		expectLive(t, s, trailing.Hash, "a/'s")
		mustRevoke(t, "RevokeUser(a/)", 1, func() (int, error) { return s.RevokeUser(ctx, "a/") })
	})

	t.Run("revoking a large family deletes every token", func(t *testing.T) {
		s := h.store(t)
		ctx := t.Context()
		const total, perCall = 3000, 150
		var hashes [][]byte
		for range total / perCall {
			batch := make([]*store.Token, perCall)
			for i := range batch {
				batch[i] = tok{user: "alice", family: "big"}.build()
				hashes = append(hashes, batch[i].Hash)
			}
			mustErr(t, "SaveTokens", s.SaveTokens(ctx, batch...), nil)
		}
		other := tok{user: "alice", family: "small"}.build()
		mustErr(t, "SaveToken", s.SaveToken(ctx, other), nil)

		mustRevoke(t, "RevokeFamily(big)", total, func() (int, error) { return s.RevokeFamily(ctx, "big") })
		for _, h := range hashes {
			expectGone(t, s, h, "big family member")
		}
		expectLive(t, s, other.Hash, "other family")
		mustRevoke(t, "RevokeUser(alice)", 1, func() (int, error) { return s.RevokeUser(ctx, "alice") })
	})
}
