package badger_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/badger"
)

// hashInShard returns a random token hash whose per-hash counter is
// shard's (the counter is picked by the first two bytes).
func hashInShard(shard uint16) []byte {
	h := randomBytes(32)
	h[0], h[1] = byte(shard), byte(shard>>8)
	return h
}

// TestTokenVersionCountsEveryChange checks that every store method that can
// revoke, delete or replace a token changes that token's version once it
// returned, and that issuing new tokens changes nothing, so a cache that
// compares versions forgets exactly what it must.
func TestTokenVersionCountsEveryChange(t *testing.T) {
	ctx := context.Background()
	db := openOrFail(t, badger.Options{InMemory: true})
	t.Cleanup(func() { db.Close() })

	// save stores a token of kind in shard 1 for user u and client c and
	// reads its version then, as a cache would before a lookup.
	var before uint64
	save := func(kind store.TokenKind, u, c string) *store.Token {
		t.Helper()
		tok := newToken(kind)
		tok.Hash = hashInShard(1)
		tok.User, tok.ClientID = u, c
		if err := db.SaveToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		before = db.TokenVersion(tok.Hash)
		return tok
	}
	// other is a token in another shard; single-token changes in shard 1
	// must leave its version alone.
	other := hashInShard(2)

	for _, c := range []struct {
		name string
		// change returns the token whose version must change, and
		// whether other's must change too.
		change func() (tok *store.Token, all bool)
	}{
		{"RevokeToken", func() (*store.Token, bool) {
			tok := save(store.KindOAuth1Access, "u", "c")
			if err := db.RevokeToken(ctx, tok.Hash); err != nil {
				t.Fatal(err)
			}
			return tok, false
		}},
		{"ConsumeToken", func() (*store.Token, bool) {
			tok := save(store.KindOAuth1Request, "u", "c")
			if _, err := db.ConsumeToken(ctx, tok.Hash, store.KindOAuth1Request); err != nil {
				t.Fatal(err)
			}
			return tok, false
		}},
		{"UpdateToken", func() (*store.Token, bool) {
			tok := save(store.KindOAuth1Access, "u", "c")
			tok.Scopes = []string{"read"}
			if err := db.UpdateToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			return tok, false
		}},
		{"SaveToken over a stored token", func() (*store.Token, bool) {
			tok := save(store.KindOAuth1Access, "u", "c")
			again := *tok
			again.User = "someone-else"
			if err := db.SaveToken(ctx, &again); err != nil {
				t.Fatal(err)
			}
			return tok, false
		}},
		{"RotateRefresh (the old token)", func() (*store.Token, bool) {
			tok := save(store.KindRefresh, "u", "c")
			if _, err := db.RotateRefresh(ctx, tok.Hash, newToken(store.KindRefresh)); err != nil {
				t.Fatal(err)
			}
			return tok, false
		}},
		{"RotateRefresh (a token it overwrites)", func() (*store.Token, bool) {
			old := newToken(store.KindRefresh)
			if err := db.SaveToken(ctx, old); err != nil {
				t.Fatal(err)
			}
			tok := save(store.KindAccess, "u", "c")
			again := *tok
			if _, err := db.RotateRefresh(ctx, old.Hash, &again); err != nil {
				t.Fatal(err)
			}
			return tok, false
		}},
		{"RevokeFamily", func() (*store.Token, bool) {
			tok := save(store.KindOAuth1Access, "u", "c")
			if n, err := db.RevokeFamily(ctx, tok.Family); err != nil || n != 1 {
				t.Fatalf("RevokeFamily = %d, %v", n, err)
			}
			return tok, true
		}},
		{"RevokeUser", func() (*store.Token, bool) {
			tok := save(store.KindOAuth1Access, "user-x", "c")
			if n, err := db.RevokeUser(ctx, "user-x"); err != nil || n != 1 {
				t.Fatalf("RevokeUser = %d, %v", n, err)
			}
			return tok, true
		}},
		{"RevokeClient", func() (*store.Token, bool) {
			tok := save(store.KindOAuth1Access, "u", "client-x")
			if n, err := db.RevokeClient(ctx, "client-x"); err != nil || n != 1 {
				t.Fatalf("RevokeClient = %d, %v", n, err)
			}
			return tok, true
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			otherBefore := db.TokenVersion(other)
			tok, all := c.change()
			if got := db.TokenVersion(tok.Hash); got == before {
				t.Errorf("TokenVersion unchanged (%d) after %s", got, c.name)
			}
			if changed := db.TokenVersion(other) != otherBefore; changed != all {
				t.Errorf("the version of a token in another shard changed = %v, want %v", changed, all)
			}
		})
	}

	t.Run("issuing new tokens changes no version", func(t *testing.T) {
		before := db.TokenVersion(other)
		shard1 := db.TokenVersion(hashInShard(1))
		a, b := newToken(store.KindAccess), newToken(store.KindRefresh)
		a.Hash, b.Hash = hashInShard(1), hashInShard(2)
		if err := db.SaveTokens(ctx, a, b); err != nil {
			t.Fatal(err)
		}
		if db.TokenVersion(other) != before || db.TokenVersion(a.Hash) != shard1 {
			t.Error("saving new tokens changed a version: caches would forget live entries for nothing")
		}
	})

	t.Run("a revocation that finds nothing changes no version", func(t *testing.T) {
		before := db.TokenVersion(other)
		if n, err := db.RevokeUser(ctx, "nobody"); err != nil || n != 0 {
			t.Fatalf("RevokeUser(nobody) = %d, %v", n, err)
		}
		if db.TokenVersion(other) != before {
			t.Error("RevokeUser of a user without tokens changed the versions")
		}
	})

	t.Run("a failed change counts too", func(t *testing.T) {
		h := hashInShard(3)
		before := db.TokenVersion(h)
		if err := db.RevokeToken(ctx, h); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RevokeToken(unknown) = %v", err)
		}
		if db.TokenVersion(h) == before {
			t.Error("RevokeToken that failed left the version alone")
		}
	})
}

// TestTokenVersionAfterCommit checks the order a cache relies on: by the
// time a changed version can be read, the change is visible to GetToken.
// Without it a verifier could read the new version, then the old token,
// and keep the old token under the new version.
func TestTokenVersionAfterCommit(t *testing.T) {
	ctx := context.Background()
	db := openOrFail(t, badger.Options{InMemory: true})
	t.Cleanup(func() { db.Close() })
	for range 200 {
		tok := newToken(store.KindOAuth1Access)
		if err := db.SaveToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		before := db.TokenVersion(tok.Hash)
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := db.RevokeToken(ctx, tok.Hash); err != nil {
				t.Error(err)
			}
		}()
		// Wait for the new version, checking at once what it shows.
		for changed := false; !changed; {
			select {
			case <-done:
				changed = true
			default:
				changed = db.TokenVersion(tok.Hash) != before
				runtime.Gosched()
			}
		}
		if db.TokenVersion(tok.Hash) == before {
			t.Fatal("RevokeToken returned without changing the version")
		}
		if _, err := db.GetToken(ctx, tok.Hash); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the version changed before the revocation was visible: GetToken = %v", err)
		}
		<-done
	}
}

// TestClientVersion checks that updating or deleting a client changes the
// client version and creating one does not.
func TestClientVersion(t *testing.T) {
	ctx := context.Background()
	db := openOrFail(t, badger.Options{InMemory: true})
	t.Cleanup(func() { db.Close() })
	c := &store.Client{ID: "app", CreatedAt: time.Now()}
	v0 := db.ClientVersion("app")
	if err := db.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	if db.ClientVersion("app") != v0 {
		t.Error("CreateClient changed the client version")
	}
	c.Name = "renamed"
	if err := db.UpdateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	v1 := db.ClientVersion("app")
	if v1 == v0 {
		t.Error("UpdateClient left the client version alone")
	}
	if err := db.DeleteClient(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if db.ClientVersion("app") == v1 {
		t.Error("DeleteClient left the client version alone")
	}
}
