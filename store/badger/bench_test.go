package badger_test

import (
	"fmt"
	"testing"

	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/badger"
)

// BenchmarkSaveTokensDurable measures durable token issuance from many
// concurrent callers (as concurrent token requests): one token per
// SaveTokens, and an access/refresh pair per SaveTokens as the token
// endpoint issues them. Badger groups concurrent commits into one write,
// but v4 still syncs its WAL once per transaction, so the syncs, not the
// CPU, bound this; the tokens/s metric is what matters.
func BenchmarkSaveTokensDurable(b *testing.B) {
	for _, perCommit := range []int{1, 2} {
		b.Run(fmt.Sprintf("%d_tokens_per_commit", perCommit), func(b *testing.B) {
			db := openOrFail(b, badger.Options{Dir: b.TempDir()})
			defer db.Close()
			b.ReportAllocs()
			b.SetParallelism(32) // callers per core: they wait on syncs, not CPU
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ts := make([]*store.Token, perCommit)
				for pb.Next() {
					for i := range ts {
						ts[i] = newToken(store.KindAccess)
					}
					if err := db.SaveTokens(b.Context(), ts...); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*perCommit)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
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
