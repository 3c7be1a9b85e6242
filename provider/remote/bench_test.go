package remote

import (
	"context"
	"testing"
	"time"
)

// BenchmarkVerifyToken is the cost of a repeated token: a JWT from the
// verified cache and an opaque token from the introspection cache.
func BenchmarkVerifyToken(b *testing.B) {
	for _, format := range []string{"jwt", "opaque"} {
		b.Run(format, func(b *testing.B) {
			oi := newOurIssuer(b, format)
			is, err := New(Config{Issuer: oi.url, Introspection: &Introspection{ClientID: "gateway", ClientSecret: "gw-secret", Cache: time.Minute}})
			if err != nil {
				b.Fatal(err)
			}
			is.Start()
			defer is.Stop()
			waitReady(b, is, format == "jwt")
			tok := oi.token("read")
			ctx := context.Background()
			if _, e := is.VerifyToken(ctx, tok); e != nil {
				b.Fatal(e)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, e := is.VerifyToken(ctx, tok); e != nil {
					b.Fatal(e)
				}
			}
		})
	}
}
