package redis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/redis/redistest"
	"github.com/caddy-oauth/caddy-oauth/store/storetest"
)

var prefixes atomic.Int64

// freshPrefix gives every store of a test a key space of its own, which
// also checks that prefixes keep servers sharing one Redis apart.
func freshPrefix(t testing.TB) string {
	return fmt.Sprintf("test%d-%d:", time.Now().UnixNano(), prefixes.Add(1))
}

func open(t testing.TB, o Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformanceStandalone(t *testing.T) {
	srv := redistest.StartServer(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, Options{Addresses: []string{srv.Addr}, KeyPrefix: freshPrefix(t)})
	})
}

func TestConformanceCluster(t *testing.T) {
	c := redistest.StartCluster(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, Options{Addresses: c.Addrs(), KeyPrefix: freshPrefix(t)})
	})
}

// TestConformanceSentinel finds the primary through a Sentinel
// (Options.MasterName), as a Sentinel-managed deployment does.
func TestConformanceSentinel(t *testing.T) {
	srv := redistest.StartServer(t)
	sentinel := redistest.StartSentinel(t, srv, "mymaster")
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, Options{Addresses: []string{sentinel.Addr}, MasterName: "mymaster", KeyPrefix: freshPrefix(t)})
	})
}

// TestPersistence reopens a Store on the same prefix against the same
// server: everything the first Store wrote is Redis', not the Store's.
func TestPersistence(t *testing.T) {
	srv := redistest.StartServer(t)
	storetest.RunPersistence(t, func(t *testing.T, dir string) store.Store {
		sum := sha256.Sum256([]byte(dir))
		return open(t, Options{Addresses: []string{srv.Addr}, KeyPrefix: "persist-" + hex.EncodeToString(sum[:8]) + ":"})
	})
}
