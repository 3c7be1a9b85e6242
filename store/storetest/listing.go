package storetest

import (
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// listTokens collects what ListTokens passes, by hex hash; a backend may
// pass a token twice, which must then be the same token.
func listTokens(t *testing.T, s store.Store) map[string]*store.Token {
	t.Helper()
	got := map[string]*store.Token{}
	err := s.ListTokens(t.Context(), func(tk *store.Token) error {
		k := hex.EncodeToString(tk.Hash)
		if prev, ok := got[k]; ok {
			mustEqual(t, "token passed twice", tk, prev)
		}
		got[k] = tk
		return nil
	})
	mustErr(t, "ListTokens", err, nil)
	return got
}

// The listings are what a backup (store/dump) reads: they must return
// everything that is live, exactly as stored, and nothing that is gone.
func (h harness) testListing(t *testing.T) {
	t.Run("an empty store lists nothing", func(t *testing.T) {
		s := h.store(t)
		consents, err := s.ListConsents(t.Context())
		mustErr(t, "ListConsents", err, nil)
		keys, err := s.ListKeys(t.Context())
		mustErr(t, "ListKeys", err, nil)
		if len(consents) != 0 || len(keys) != 0 || len(listTokens(t, s)) != 0 {
			t.Fatalf("empty store lists %d consents, %d keys", len(consents), len(keys))
		}
	})

	t.Run("every consent is listed, sorted by user and client, deleted ones not", func(t *testing.T) {
		s := h.store(t)
		ctx := t.Context()
		put := []*store.Consent{
			sampleConsent("bob", "c1", "read"),
			sampleConsent("a/b", "c", "two"),
			sampleConsent("a", "b/c", "one"),
			sampleConsent("a", "b%c", "pct"),
			sampleConsent("alice", "gone", "read"),
			sampleConsent("alice", "c1", "read", "write"),
		}
		for _, c := range put {
			mustErr(t, "PutConsent", s.PutConsent(ctx, c), nil)
		}
		mustErr(t, "DeleteConsent", s.DeleteConsent(ctx, "alice", "gone"), nil)
		got, err := s.ListConsents(ctx)
		mustErr(t, "ListConsents", err, nil)
		want := []*store.Consent{put[3], put[2], put[1], put[5], put[0]} // '%' < '/'
		mustEqual(t, "ListConsents", got, want)
	})

	t.Run("every key is listed with its exact value, sorted by name", func(t *testing.T) {
		s := h.store(t)
		ctx := t.Context()
		want := []*store.Key{
			{Name: "jwt/EdDSA/86400/1", Value: []byte{0, 1, 2, 0xff}},
			{Name: "jwt/EdDSA/86400/2", Value: newHash()},
			{Name: "server_key", Value: newHash()},
		}
		for _, k := range []int{2, 0, 1} {
			_, err := s.LoadOrCreateKey(ctx, want[k].Name, func() ([]byte, error) { return want[k].Value, nil })
			mustErr(t, "LoadOrCreateKey", err, nil)
		}
		// Other items must not show up as keys.
		mustErr(t, "PutConsent", s.PutConsent(ctx, sampleConsent("alice", "c1", "read")), nil)
		mustErr(t, "CreateClient", s.CreateClient(ctx, sampleClient("key")), nil)
		got, err := s.ListKeys(ctx)
		mustErr(t, "ListKeys", err, nil)
		mustEqual(t, "ListKeys", got, want)
	})

	t.Run("every live token of every kind is listed as stored, and no gone one", func(t *testing.T) {
		s := h.store(t)
		ctx := t.Context()
		want := map[string]*store.Token{}
		save := func(tk *store.Token) *store.Token {
			mustErr(t, "SaveToken", s.SaveToken(ctx, tk), nil)
			return tk
		}
		live := func(tk *store.Token) { want[hex.EncodeToString(tk.Hash)] = tk }
		// More than one batch of any backend's listing.
		for i := range 700 {
			tk := tok{user: fmt.Sprintf("u%d", i%7), family: fmt.Sprintf("f%d", i)}.build()
			tk.Kind = store.TokenKind(1 + i%4)
			if tk.Kind == store.KindOAuth1Access || tk.Kind == store.KindOAuth1Request {
				tk.SealedSecret = newHash()
			}
			if tk.Kind == store.KindOAuth1Request {
				tk.Callback = "https://app.example.com/cb"
				tk.VerifierHash = newHash()
			}
			live(save(tk))
		}
		forever := tok{kind: store.KindOAuth1Access, user: "alice", family: "forever"}.build()
		forever.ExpiresAt = time.Time{}
		live(save(forever))

		// A rotated refresh token stays listed, rotated.
		old := save(tok{kind: store.KindRefresh, user: "alice", family: "rot"}.build())
		next := tok{kind: store.KindRefresh, user: "alice", family: "rot"}.build()
		_, err := s.RotateRefresh(ctx, old.Hash, next)
		mustErr(t, "RotateRefresh", err, nil)
		old.Rotated = true
		live(old)
		live(next)

		// Gone: revoked one by one, by family, consumed, expired.
		revoked := save(tok{user: "bob"}.build())
		mustErr(t, "RevokeToken", s.RevokeToken(ctx, revoked.Hash), nil)
		save(tok{family: "doomed"}.build())
		save(tok{family: "doomed", kind: store.KindRefresh}.build())
		if _, err := s.RevokeFamily(ctx, "doomed"); err != nil {
			t.Fatal(err)
		}
		consumed := save(tok{kind: store.KindOAuth1Request}.build())
		_, err = s.ConsumeToken(ctx, consumed.Hash, store.KindOAuth1Request)
		mustErr(t, "ConsumeToken", err, nil)
		save(tok{ttl: -time.Minute}.build())

		got := listTokens(t, s)
		if len(got) != len(want) {
			t.Fatalf("ListTokens passed %d tokens, want %d", len(got), len(want))
		}
		for k, w := range want {
			g, ok := got[k]
			if !ok {
				t.Fatalf("ListTokens left out token %s (%+v)", k, w)
			}
			mustEqual(t, "listed token", g, w)
		}
	})

	t.Run("an error from the callback stops the listing and is returned", func(t *testing.T) {
		s := h.store(t)
		ctx := t.Context()
		for range 3 {
			mustErr(t, "SaveToken", s.SaveToken(ctx, tok{}.build()), nil)
		}
		stop := errors.New("stop")
		calls := 0
		err := s.ListTokens(ctx, func(*store.Token) error { calls++; return stop })
		mustErr(t, "ListTokens", err, stop)
		if calls != 1 {
			t.Fatalf("callback called %d times after returning an error", calls)
		}
	})
}
