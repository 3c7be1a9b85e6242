package jwt

import (
	"context"
	"testing"
	"time"
)

func BenchmarkSign(b *testing.B) {
	for _, alg := range algorithms {
		b.Run(string(alg), func(b *testing.B) {
			clk := newTestClock(start)
			k := fixedKeys(b, openMem(b), alg, clk)
			c := testClaims(clk)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.Sign(ctx, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, alg := range algorithms {
		b.Run(string(alg), func(b *testing.B) {
			clk := newTestClock(start)
			k := fixedKeys(b, openMem(b), alg, clk)
			tok := mustSign(b, k, testClaims(clk))
			now := clk.at(time.Minute)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.Verify(tok, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyRefusal is the cost of turning away a forged token, what
// an attacker can make the server do for free.
func BenchmarkVerifyRefusal(b *testing.B) {
	clk := newTestClock(start)
	k := fixedKeys(b, openMem(b), EdDSA, clk)
	tok := hs256(`{"typ":"at+jwt","alg":"HS256","kid":"x"}`, `{"iss":"x"}`, []byte("k"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Verify(tok, start); err == nil {
			b.Fatal("accepted")
		}
	}
}
