package badger_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store/badger"
)

// Many rounds of many goroutines on one key each, on disk (group commit,
// durable): exactly one use per key is fresh.
func TestUseNonceConcurrentOneKey(t *testing.T) {
	db := openOrFail(t, badger.Options{Dir: t.TempDir()})
	defer db.Close()
	const rounds, racers = 20, 32
	for round := range rounds {
		key := fmt.Sprint("client-1\x00", round)
		var fresh atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range racers {
			wg.Go(func() {
				<-start
				ok, err := db.UseNonce(t.Context(), key, time.Hour)
				if err != nil {
					t.Errorf("UseNonce: %v", err)
				}
				if ok {
					fresh.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := fresh.Load(); n != 1 {
			t.Fatalf("round %d: %d fresh uses of one key, want 1", round, n)
		}
	}
}

// Nonces used concurrently (so committed in shared batches) are refused
// after a restart, when the new process's cache knows none of them.
func TestUseNonceReplayRefusedAfterReopen(t *testing.T) {
	dir := t.TempDir()
	db := openOrFail(t, badger.Options{Dir: dir})
	const keys = 300
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			ok, err := db.UseNonce(t.Context(), fmt.Sprint("n", i), time.Hour)
			if err != nil || !ok {
				t.Errorf("UseNonce(n%d) = %v, %v; want fresh", i, ok, err)
			}
		})
	}
	wg.Wait()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openOrFail(t, badger.Options{Dir: dir})
	defer db.Close()
	for i := range keys {
		ok, err := db.UseNonce(t.Context(), fmt.Sprint("n", i), time.Hour)
		if err != nil || ok {
			t.Fatalf("replay of n%d after reopening = %v, %v; want refused", i, ok, err)
		}
	}
	if ok, err := db.UseNonce(t.Context(), "new", time.Hour); err != nil || !ok {
		t.Fatalf("a new nonce after reopening = %v, %v; want fresh", ok, err)
	}
}
