package dump_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/badger"
	"github.com/caddy-oauth/caddy-oauth/store/dump"
)

func memStore(t testing.TB) store.Store {
	t.Helper()
	db, err := badger.Open(badger.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// ms is now at millisecond precision, which every backend keeps exactly.
func ms() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// fill stores one of everything a dump carries, and things it must not
// carry (codes, sessions, nonces, gone tokens).
func fill(t testing.TB, st store.Store) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	now := ms()
	for _, name := range []string{"server_key", "jwt/EdDSA/86400/20000", "jwt/EdDSA/86400/20001"} {
		_, err := st.LoadOrCreateKey(ctx, name, func() ([]byte, error) { return random(32), nil })
		must(err)
	}
	must(st.CreateClient(ctx, &store.Client{ID: "confidential", Name: "App", SecretHash: random(32), SealedSecret: random(60),
		RedirectURIs: []string{"https://app.example.com/cb"}, CallbackURIs: []string{"https://app.example.com/cb1"},
		PostLogoutRedirectURIs: []string{"https://app.example.com/bye"},
		Scopes:                 []string{"read", "write"}, Grants: []string{"authorization_code", "refresh_token"}, Trusted: true, Introspect: true, CreatedAt: now}))
	must(st.CreateClient(ctx, &store.Client{ID: "public/ä", Public: true, RedirectURIs: []string{"http://127.0.0.1/cb"}, CreatedAt: now}))
	must(st.CreateClient(ctx, &store.Client{ID: "rsa", RSAPublicKeyPEM: "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n", CreatedAt: now}))
	must(st.CreateUser(ctx, &store.User{Username: "alice", PasswordHash: "$2a$04$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0",
		Subject: "0wN8mJ3kS1xY5tQ2vR7pLg", CreatedAt: now, UpdatedAt: now.Add(time.Second),
		Claims: store.Claims{Name: "Alice Ä", Email: "alice@example.com", EmailVerified: true, Birthdate: "1990",
			PhoneNumber: "+15551234567", Address: store.Address{Locality: "Köln", Country: "DE"}}}))
	must(st.CreateUser(ctx, &store.User{Username: "bob/x", PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA", CreatedAt: now}))
	must(st.PutConsent(ctx, &store.Consent{User: "alice", ClientID: "confidential", Scopes: []string{"read"}, GrantedAt: now}))
	must(st.PutConsent(ctx, &store.Consent{User: "bob/x", ClientID: "public/ä", Scopes: []string{"read", "write"}, GrantedAt: now}))

	tok := func(kind store.TokenKind, client, user, family string, ttl time.Duration) *store.Token {
		t := &store.Token{Hash: random(32), Kind: kind, ClientID: client, User: user, Scopes: []string{"read"},
			Family: family, IssuedAt: now, ExpiresAt: now.Add(ttl)}
		if ttl == 0 {
			t.ExpiresAt = time.Time{}
		}
		return t
	}
	for i := range 5 {
		must(st.SaveTokens(ctx, tok(store.KindAccess, "confidential", "alice", fmt.Sprint("f", i), time.Hour),
			tok(store.KindRefresh, "confidential", "alice", fmt.Sprint("f", i), 24*time.Hour)))
	}
	old := tok(store.KindRefresh, "public/ä", "bob/x", "rot", time.Hour)
	must(st.SaveToken(ctx, old))
	_, err := st.RotateRefresh(ctx, old.Hash, tok(store.KindRefresh, "public/ä", "bob/x", "rot", time.Hour))
	must(err)
	o1 := tok(store.KindOAuth1Access, "confidential", "alice", "o1", 0)
	o1.SealedSecret = random(60)
	must(st.SaveToken(ctx, o1))
	req := tok(store.KindOAuth1Request, "confidential", "", "o1r", 10*time.Minute)
	req.SealedSecret, req.Callback, req.VerifierHash = random(60), "oob", random(32)
	must(st.SaveToken(ctx, req))
	must(st.SaveToken(ctx, tok(store.KindAccess, "rsa", "", "cc", 30*time.Second)))
	// Not carried by a dump.
	gone := tok(store.KindAccess, "confidential", "alice", "gone", time.Hour)
	must(st.SaveToken(ctx, gone))
	must(st.RevokeToken(ctx, gone.Hash))
	must(st.SaveToken(ctx, tok(store.KindAccess, "confidential", "alice", "expired", -time.Minute)))
	must(st.SaveCode(ctx, &store.Code{Hash: random(32), ClientID: "confidential", User: "alice", Family: "c", IssuedAt: now, ExpiresAt: now.Add(time.Minute)}))
	must(st.SaveSession(ctx, &store.Session{Hash: random(32), User: "alice", CSRF: "x", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}))
	_, err = st.UseNonce(ctx, "nonce", time.Minute)
	must(err)
}

// snapshot is everything a dump carries, as JSON, tokens sorted by hash.
func snapshot(t testing.TB, st store.Store, tokens bool) string {
	t.Helper()
	ctx := context.Background()
	var s struct {
		Keys     []*store.Key
		Clients  []*store.Client
		Users    []*store.User
		Consents []*store.Consent
		Tokens   []*store.Token
	}
	var err error
	if s.Keys, err = st.ListKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Clients, err = st.ListClients(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Users, err = st.ListUsers(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Consents, err = st.ListConsents(ctx); err != nil {
		t.Fatal(err)
	}
	if tokens {
		seen := map[string]bool{}
		err = st.ListTokens(ctx, func(tk *store.Token) error {
			if !seen[string(tk.Hash)] {
				seen[string(tk.Hash)] = true
				s.Tokens = append(s.Tokens, tk)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(s.Tokens, func(a, b *store.Token) int { return bytes.Compare(a.Hash, b.Hash) })
	}
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// export dumps st with tokens.
func export(t testing.TB, st store.Store) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := dump.Export(context.Background(), st, &buf, dump.ExportOptions{Server: "default", Tokens: true}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
