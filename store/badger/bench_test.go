package badger_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
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
	saveTokensInto(b, db, callers, perCommit, save)
}

// saveTokensInto is benchmarkSaveTokens on a given database.
func saveTokensInto(b *testing.B, db *badger.DB, callers, perCommit int, save func(*badger.DB, context.Context, ...*store.Token) error) {
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

// BenchmarkUseNonce measures UseNonce, on the path of every OAuth 1 request
// (every signed request makes one), from 1 and 32 concurrent callers, on
// disk, in both durability modes. The ops/s metric is what matters.
func BenchmarkUseNonce(b *testing.B) {
	for _, callers := range []int{1, 32} {
		for name, mode := range map[string]badger.NonceDurability{"durable": badger.NoncesDurable, "page_cache": badger.NoncesPageCache} {
			b.Run(fmt.Sprintf("callers=%d/%s", callers, name), func(b *testing.B) {
				benchmarkUseNonce(b, callers, badger.Options{Dir: b.TempDir(), Nonces: mode})
			})
		}
	}
}

func benchmarkUseNonce(b *testing.B, callers int, opts badger.Options) {
	db := openOrFail(b, opts)
	defer db.Close()
	ctx := b.Context()
	// Keys as the OAuth 1 engine builds them: client, token, timestamp,
	// nonce; unique across the runs of one benchmark.
	prefix := "client-1\x00" + rand.Text() + "\x00" + strconv.FormatInt(time.Now().Unix(), 10) + "\x00"
	var next atomic.Uint64
	useOne := func() bool {
		key := prefix + strconv.FormatUint(next.Add(1), 36)
		fresh, err := db.UseNonce(ctx, key, 10*time.Minute)
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

// BenchmarkLiveTokens measures reads and durable writes with 1,000 and
// 1,000,000 live tokens in the store, for the default memory budgets and
// (at 1,000,000) for the smallest and a larger Badger budget and without
// the mapped memory trimmer, so one can see that latency stays flat as the
// store grows and what each budget buys. "get" looks up uniformly random
// tokens of the whole set (no verification cache in front: the worst
// case, and with a million tokens most lookups need a table page the
// trimmer handed back); "save" issues one token per call from 32 callers,
// group-committed. rssfile-MiB is the process's file-backed RSS after the
// lookups (Linux), which the trimmer bounds. The 1,000,000 sizes take a
// few minutes to fill and run only with BADGER_BENCH_1M=1.
func BenchmarkLiveTokens(b *testing.B) {
	const mib = 1 << 20
	cases := []struct {
		live           int
		memory, mapped int64
	}{
		{1_000, badger.DefaultMemory, 0},
		{1_000_000, badger.DefaultMemory, 0},
		{1_000_000, badger.DefaultMemory, -1},
		{1_000_000, badger.MinMemory, 0},
		{1_000_000, 256 * mib, 0},
	}
	for _, c := range cases {
		mapped := "off"
		if c.mapped >= 0 {
			mapped = fmt.Sprintf("%dMiB", cmp.Or(c.mapped, badger.DefaultMappedMemory)/mib)
		}
		b.Run(fmt.Sprintf("live=%d/memory=%dMiB/mapped=%s", c.live, c.memory/mib, mapped), func(b *testing.B) {
			if c.live > 1_000 && os.Getenv("BADGER_BENCH_1M") == "" {
				b.Skip("set BADGER_BENCH_1M=1 to run the 1,000,000-token sizes")
			}
			db := openOrFail(b, badger.Options{Dir: b.TempDir(), Memory: c.memory, MappedMemory: c.mapped})
			defer db.Close()
			hashes := fillTokens(b, db, c.live)
			b.Run("get", func(b *testing.B) {
				var seed atomic.Uint64
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					r := mrand.New(mrand.NewPCG(seed.Add(1), 0))
					for pb.Next() {
						if _, err := db.GetToken(b.Context(), hashes[r.IntN(len(hashes))]); err != nil {
							b.Error(err)
							return
						}
					}
				})
				if kib, ok := procStatusKiB("RssFile"); ok {
					b.ReportMetric(float64(kib)/1024, "rssfile-MiB")
				}
			})
			b.Run("save", func(b *testing.B) {
				saveTokensInto(b, db, 32, 1, (*badger.DB).SaveTokens)
			})
		})
	}
}

// procStatusKiB reads a "Name: N kB" line of /proc/self/status (Linux).
func procStatusKiB(name string) (int64, bool) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// fillTokens saves n tokens in batches, as a store that issued them over
// time would hold them, and returns their hashes. A batch of 100 fits the
// largest transaction of the smallest memory budget.
func fillTokens(b *testing.B, db *badger.DB, n int) [][]byte {
	const perCall = 100
	hashes := make([][]byte, 0, n)
	for len(hashes) < n {
		batch := make([]*store.Token, min(perCall, n-len(hashes)))
		for i := range batch {
			batch[i] = newToken(store.KindAccess)
			hashes = append(hashes, batch[i].Hash)
		}
		if err := db.SaveTokens(b.Context(), batch...); err != nil {
			b.Fatal(err)
		}
	}
	return hashes
}

// BenchmarkUseNonceUnderLoad models a loaded server's requests: 32
// callers, each spending about 100 µs of CPU (hashing) before every
// UseNonce, so the processors are busy. The ops/s of each durability
// mode against "none" (the same work without a nonce) is what durability
// costs a loaded server: a sync's wait delays requests and the syncing
// goroutine competes for the processors, which BenchmarkUseNonce, with
// idle processors, does not show.
func BenchmarkUseNonceUnderLoad(b *testing.B) {
	for _, mode := range []string{"none", "page_cache", "durable"} {
		b.Run(mode, func(b *testing.B) {
			opts := badger.Options{Dir: b.TempDir(), Nonces: badger.NoncesDurable}
			if mode == "page_cache" {
				opts.Nonces = badger.NoncesPageCache
			}
			db := openOrFail(b, opts)
			defer db.Close()
			ctx := b.Context()
			prefix := "client-1\x00" + rand.Text() + "\x00" + strconv.FormatInt(time.Now().Unix(), 10) + "\x00"
			var next atomic.Uint64
			b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var buf [1024]byte
				for pb.Next() {
					for range 150 { // ~100 µs
						sum := sha256.Sum256(buf[:])
						buf[0] ^= sum[0]
					}
					if mode == "none" {
						continue
					}
					fresh, err := db.UseNonce(ctx, prefix+strconv.FormatUint(next.Add(1), 36), 10*time.Minute)
					if err != nil || !fresh {
						b.Errorf("UseNonce = %v, %v; want fresh", fresh, err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}
