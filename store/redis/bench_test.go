package redis

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/redis/redistest"
)

func benchStore(b *testing.B) *Store {
	srv := redistest.StartServer(b)
	s := open(b, Options{Addresses: []string{srv.Addr}, KeyPrefix: freshPrefix(b)})
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkGetToken is the cold path of a protected request: one HMGET.
func BenchmarkGetToken(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	tk := newToken(store.KindAccess, "alice", "app", "F")
	if err := s.SaveToken(ctx, tk); err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.GetToken(ctx, tk.Hash); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.GetToken(ctx, tk.Hash); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkUseNonce is one SET NX PX per OAuth 1 request.
func BenchmarkUseNonce(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		if _, err := s.UseNonce(ctx, fmt.Sprint("client\x00", i), time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSaveTokens saves an access and a refresh token of one grant:
// the index scripts, then the token scripts (two round trips).
func BenchmarkSaveTokens(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	for b.Loop() {
		a := newToken(store.KindAccess, "alice", "app", "F")
		r := newToken(store.KindRefresh, "alice", "app", "F")
		if err := s.SaveTokens(ctx, a, r); err != nil {
			b.Fatal(err)
		}
	}
}
