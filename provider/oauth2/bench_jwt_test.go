package oauth2

import (
	"context"
	"math/rand/v2"
	"net/url"
	"testing"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/jwt"
)

// BenchmarkVerifyBearerFormats compares VerifyBearer on opaque and JWT
// access tokens (1,000 live ones, one caller): "cached" answers from the
// verification cache, "uncached" has it disabled, so an opaque token costs
// a Badger read and a JWT a signature check plus the same read. "forged"
// is a JWT with a valid header and a wrong signature, refused before the
// store; "opaque/unknown", a random token the store lacks, for comparison.
func BenchmarkVerifyBearerFormats(b *testing.B) {
	for _, bc := range []struct {
		name   string
		format string
		alg    jwt.Algorithm
		size   int
	}{
		{"opaque/cached", TokenFormatOpaque, "", 0},
		{"opaque/uncached", TokenFormatOpaque, "", -1},
		{"jwt-EdDSA/cached", TokenFormatJWT, jwt.EdDSA, 0},
		{"jwt-EdDSA/uncached", TokenFormatJWT, jwt.EdDSA, -1},
		{"jwt-ES256/uncached", TokenFormatJWT, jwt.ES256, -1},
		{"jwt-RS256/uncached", TokenFormatJWT, jwt.RS256, -1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEnv(b, func(c *Config) {
				c.CacheSize, c.Clock = bc.size, nil
				c.TokenFormat, c.JWTAlgorithm = bc.format, bc.alg
			})
			tokens := benchTokens(b, e, 1000)
			ctx := context.Background()
			for _, tok := range tokens { // warm the cache
				if _, err := e.srv.VerifyBearer(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
			r := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.srv.VerifyBearer(ctx, tokens[r.IntN(len(tokens))]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("opaque/unknown", func(b *testing.B) {
		e := newEnv(b, func(c *Config) { c.Clock = nil })
		benchTokens(b, e, 1000)
		unknown, err := provider.NewToken(nil)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.srv.VerifyBearer(ctx, unknown); err == nil {
				b.Fatal("unknown token accepted")
			}
		}
	})
	b.Run("jwt-EdDSA/forged", func(b *testing.B) {
		e := newEnv(b, func(c *Config) { c.TokenFormat, c.Clock = TokenFormatJWT, nil })
		tok := benchTokens(b, e, 1)[0]
		forged := tok[:len(tok)-4] + "AAAA"
		if forged == tok {
			forged = tok[:len(tok)-4] + "BBBA"
		}
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.srv.VerifyBearer(ctx, forged); err == nil {
				b.Fatal("forged token accepted")
			}
		}
	})
}

// benchTokens issues n client_credentials access tokens.
func benchTokens(b *testing.B, e *env, n int) []string {
	b.Helper()
	tokens := make([]string, 0, n)
	for range n {
		tj := e.decode(e.post(e.srv.Token, url.Values{"grant_type": {"client_credentials"}}, "svc", svcSecret))
		if tj.AccessToken == "" {
			b.Fatalf("no token: %+v", tj)
		}
		tokens = append(tokens, tj.AccessToken)
	}
	return tokens
}
