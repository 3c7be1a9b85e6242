package dump_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/dump"
	"github.com/caddy-oauth/caddy-oauth/store/redis"
	"github.com/caddy-oauth/caddy-oauth/store/redis/redistest"
)

func openRedis(t *testing.T, addrs ...string) store.Store {
	t.Helper()
	st, err := redis.Open(context.Background(), redis.Options{Addresses: addrs, KeyPrefix: fmt.Sprintf("dump%d:", time.Now().UnixNano())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// roundTrip moves a Badger store to st and on to a second Badger store,
// and compares every record at each step, tokens included.
func roundTrip(t *testing.T, st store.Store) {
	ctx := context.Background()
	src := memStore(t)
	fill(t, src)
	want := snapshot(t, src, true)

	first := export(t, src)
	sum, err := dump.Import(ctx, st, bytes.NewReader(first), dump.ImportOptions{})
	if err != nil {
		t.Fatalf("Import into Redis: %v", err)
	}
	if sum.Created != (dump.Counts{Keys: 3, Clients: 3, Users: 2, Consents: 2, Tokens: 15}) {
		t.Errorf("Import into Redis: %+v", sum)
	}
	if got := snapshot(t, st, true); got != want {
		t.Fatalf("Redis differs from the Badger source:\n got  %s\n want %s", got, want)
	}

	second := export(t, st)
	back := memStore(t)
	if _, err := dump.Import(ctx, back, bytes.NewReader(second), dump.ImportOptions{}); err != nil {
		t.Fatalf("Import back into Badger: %v", err)
	}
	if got := snapshot(t, back, true); got != want {
		t.Fatalf("Badger after the round trip differs:\n got  %s\n want %s", got, want)
	}
	// The tokens work in the new store as they did: a rotated refresh
	// token is still a replay, a live one still rotates.
	err = st.ListTokens(ctx, func(tk *store.Token) error {
		if tk.Kind != store.KindRefresh {
			return nil
		}
		_, err := back.RotateRefresh(ctx, tk.Hash)
		if tk.Rotated && err != store.ErrRotated || !tk.Rotated && err != nil {
			t.Errorf("RotateRefresh of a moved refresh token (rotated %v): %v", tk.Rotated, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRoundTripBadgerRedisBadger(t *testing.T) {
	srv := redistest.StartServer(t)
	roundTrip(t, openRedis(t, srv.Addr))
}

func TestRoundTripBadgerRedisClusterBadger(t *testing.T) {
	c := redistest.StartCluster(t)
	roundTrip(t, openRedis(t, c.Addrs()...))
}
