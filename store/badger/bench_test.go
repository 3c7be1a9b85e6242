package badger_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/badger"
)

// BenchmarkSaveTokensDurable measures durable token issuance from 1, 32 and
// 64 concurrent callers (as concurrent token requests): one token per
// SaveTokens (client_credentials), and an access/refresh pair per
// SaveTokens as the token endpoint issues them. "group" is SaveTokens;
// "alone" bypasses the group commit (one Badger transaction per call, as
// before it existed), for comparison in the same run. Badger v4 syncs its
// WAL once per transaction, so "alone" is bound by the fsync rate; the
// tokens/s metric is what matters.
func BenchmarkSaveTokensDurable(b *testing.B) {
	modes := []struct {
		name string
		save func(*badger.DB, context.Context, ...*store.Token) error
	}{
		{"group", (*badger.DB).SaveTokens},
		{"alone", badger.SaveTokensAlone},
	}
	for _, perCommit := range []int{1, 2} {
		for _, callers := range []int{1, 32, 64} {
			for _, mode := range modes {
				name := fmt.Sprintf("tokens=%d/callers=%d/%s", perCommit, callers, mode.name)
				b.Run(name, func(b *testing.B) {
					benchmarkSaveTokens(b, callers, perCommit, mode.save)
				})
			}
		}
	}
}

func benchmarkSaveTokens(b *testing.B, callers, perCommit int, save func(*badger.DB, context.Context, ...*store.Token) error) {
	db := openOrFail(b, badger.Options{Dir: b.TempDir()})
	defer db.Close()
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	if callers == 1 {
		ts := make([]*store.Token, perCommit)
		for range b.N {
			for i := range ts {
				ts[i] = newToken(store.KindAccess)
			}
			if err := save(db, ctx, ts...); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		// RunParallel starts parallelism × GOMAXPROCS goroutines.
		b.SetParallelism(max(1, callers/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			ts := make([]*store.Token, perCommit)
			for pb.Next() {
				for i := range ts {
					ts[i] = newToken(store.KindAccess)
				}
				if err := save(db, ctx, ts...); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.ReportMetric(float64(b.N*perCommit)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkGetToken measures token lookups in a store of 100,000 tokens.
func BenchmarkGetToken(b *testing.B) {
	db := openOrFail(b, badger.Options{Dir: b.TempDir()})
	defer db.Close()
	const n, perCall = 100_000, 1000
	hashes := make([][]byte, 0, n)
	for range n / perCall {
		batch := make([]*store.Token, perCall)
		for i := range batch {
			batch[i] = newToken(store.KindAccess)
			hashes = append(hashes, batch[i].Hash)
		}
		if err := db.SaveTokens(b.Context(), batch...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i = (i + 7919) % n
			if _, err := db.GetToken(b.Context(), hashes[i]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkUseNonceDurable measures OAuth 1 nonce checks of unique keys
// (every signed request makes one) from 1 and 32 concurrent callers, on
// disk. "cached" is UseNonce (nonce cache, group-committed check-and-set);
// "alone" is the previous one-transaction-per-call path, for comparison
// in the same run. The ops/s metric is what matters.
func BenchmarkUseNonceDurable(b *testing.B) {
	modes := []struct {
		name string
		use  func(*badger.DB, context.Context, string, time.Duration) (bool, error)
	}{
		{"cached", (*badger.DB).UseNonce},
		{"alone", badger.UseNonceAlone},
	}
	for _, callers := range []int{1, 32} {
		for _, mode := range modes {
			b.Run(fmt.Sprintf("callers=%d/%s", callers, mode.name), func(b *testing.B) {
				benchmarkUseNonce(b, callers, mode.use)
			})
		}
	}
}

func benchmarkUseNonce(b *testing.B, callers int, use func(*badger.DB, context.Context, string, time.Duration) (bool, error)) {
	db := openOrFail(b, badger.Options{Dir: b.TempDir()})
	defer db.Close()
	ctx := b.Context()
	// Keys as the OAuth 1 engine builds them: client, token, timestamp,
	// nonce; unique across the runs of one benchmark.
	prefix := "client-1\x00" + rand.Text() + "\x00" + strconv.FormatInt(time.Now().Unix(), 10) + "\x00"
	var next atomic.Uint64
	useOne := func() bool {
		key := prefix + strconv.FormatUint(next.Add(1), 36)
		fresh, err := use(db, ctx, key, 10*time.Minute)
		if err != nil || !fresh {
			b.Errorf("UseNonce = %v, %v; want fresh", fresh, err)
			return false
		}
		return true
	}
	b.ReportAllocs()
	b.ResetTimer()
	if callers == 1 {
		for range b.N {
			if !useOne() {
				return
			}
		}
	} else {
		// RunParallel starts parallelism × GOMAXPROCS goroutines.
		b.SetParallelism(max(1, callers/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if !useOne() {
					return
				}
			}
		})
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
