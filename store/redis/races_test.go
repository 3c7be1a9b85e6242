package redis

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/redis/redistest"
)

// A rotation racing a revocation of its family, on two nodes: if the
// rotation succeeded, it happened before the revocation (after it, the old
// token would be gone), so its successors must be revoked too. In a
// cluster the successors live in other slots than the old token and the
// family index, which is what the write ordering is for.
func TestRotationRacingFamilyRevocationLeavesNoSurvivor(t *testing.T) {
	for _, mode := range []string{"standalone", "cluster"} {
		t.Run(mode, func(t *testing.T) {
			var addrs []string
			if mode == "cluster" {
				addrs = redistest.StartCluster(t).Addrs()
			} else {
				addrs = []string{redistest.StartServer(t).Addr}
			}
			a, b := pair(t, Options{Addresses: addrs, KeyPrefix: freshPrefix(t)})
			ctx := t.Context()
			rotated := 0
			for i := range 200 {
				family := fmt.Sprint("F", i)
				old := newToken(store.KindRefresh, "alice", "app", family)
				if err := a.SaveToken(ctx, old); err != nil {
					t.Fatal(err)
				}
				access := newToken(store.KindAccess, "alice", "app", family)
				next := newToken(store.KindRefresh, "alice", "app", family)
				var wg sync.WaitGroup
				var rotErr, revErr error
				wg.Go(func() { _, rotErr = a.RotateRefresh(ctx, old.Hash, access, next) })
				wg.Go(func() { _, revErr = b.RevokeFamily(ctx, family) })
				wg.Wait()
				if revErr != nil {
					t.Fatal(revErr)
				}
				switch {
				case rotErr == nil:
					rotated++
					for _, tk := range []*store.Token{old, access, next} {
						if _, err := a.GetToken(ctx, tk.Hash); !errors.Is(err, store.ErrNotFound) {
							t.Fatalf("round %d: a token of the revoked family survived: %v", i, err)
						}
					}
				case errors.Is(rotErr, store.ErrNotFound):
					for _, tk := range []*store.Token{access, next} {
						if _, err := a.GetToken(ctx, tk.Hash); !errors.Is(err, store.ErrNotFound) {
							t.Fatalf("round %d: a failed rotation's successor exists: %v", i, err)
						}
					}
				default:
					t.Fatalf("RotateRefresh: %v", rotErr)
				}
			}
			t.Logf("%d of 200 rotations won the race", rotated)
		})
	}
}

// Saves into a family racing its revocation: whatever the interleaving,
// once both have returned a token is either revoked or was saved after the
// revocation's last round; a second revocation then finds exactly the
// survivors, and nothing resurfaces afterwards.
func TestSavesRacingRevocationNeverResurrect(t *testing.T) {
	c := redistest.StartCluster(t)
	a, b := pair(t, Options{Addresses: c.Addrs(), KeyPrefix: freshPrefix(t)})
	ctx := t.Context()
	for i := range 50 {
		family := fmt.Sprint("G", i)
		ts := make([]*store.Token, 20)
		for j := range ts {
			ts[j] = newToken(store.KindAccess, "bob", "app", family)
		}
		var wg sync.WaitGroup
		for _, tk := range ts {
			wg.Go(func() {
				if err := a.SaveToken(ctx, tk); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Go(func() {
			if _, err := b.RevokeFamily(ctx, family); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		live := 0
		for _, tk := range ts {
			if _, err := a.GetToken(ctx, tk.Hash); err == nil {
				live++
			}
		}
		n, err := b.RevokeFamily(ctx, family)
		if err != nil || n != live {
			t.Fatalf("round %d: second RevokeFamily = %d, %v; %d were live", i, n, err, live)
		}
		for _, tk := range ts {
			if _, err := a.GetToken(ctx, tk.Hash); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("round %d: token alive after the second revocation: %v", i, err)
			}
		}
	}
}
