package storetest

import (
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// RunPersistence checks that a store reopened on the same directory keeps
// everything: open returns a store over dir (the suite closes it).
func RunPersistence(t *testing.T, open func(t *testing.T, dir string) store.Store) {
	t.Run("everything survives closing and reopening the store", func(t *testing.T) {
		dir := t.TempDir()
		ctx := t.Context()
		first := open(t, dir)
		closed := false
		t.Cleanup(func() {
			if !closed {
				first.Close()
			}
		})

		client := sampleClient("app")
		user := sampleUser("alice")
		access := tok{user: "alice", client: "app", family: "F"}.build()
		refresh := tok{kind: store.KindRefresh, user: "alice", client: "app", family: "F"}.build()
		next := tok{kind: store.KindRefresh, user: "alice", client: "app", family: "F"}.build()
		code := sampleCode(time.Hour)
		session := sampleSession(time.Hour)
		consent := sampleConsent("alice", "app", "read")
		mustErr(t, "CreateClient", first.CreateClient(ctx, client), nil)
		mustErr(t, "CreateUser", first.CreateUser(ctx, user), nil)
		mustErr(t, "SaveTokens", first.SaveTokens(ctx, access, refresh), nil)
		_, err := first.RotateRefresh(ctx, refresh.Hash, next)
		mustErr(t, "RotateRefresh", err, nil)
		mustErr(t, "SaveCode", first.SaveCode(ctx, code), nil)
		_, err = first.ConsumeCode(ctx, code.Hash)
		mustErr(t, "ConsumeCode", err, nil)
		mustErr(t, "SaveSession", first.SaveSession(ctx, session), nil)
		mustErr(t, "PutConsent", first.PutConsent(ctx, consent), nil)
		key, err := first.LoadOrCreateKey(ctx, "seal", func() ([]byte, error) { return newHash(), nil })
		mustErr(t, "LoadOrCreateKey", err, nil)
		_, err = first.UseNonce(ctx, "nonce", time.Hour)
		mustErr(t, "UseNonce", err, nil)

		closed = true
		mustErr(t, "Close", first.Close(), nil)
		s := open(t, dir)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})

		gotClient, err := s.GetClient(ctx, "app")
		mustErr(t, "GetClient", err, nil)
		mustEqual(t, "client", gotClient, client)
		gotUser, err := s.GetUser(ctx, "alice")
		mustErr(t, "GetUser", err, nil)
		mustEqual(t, "user", gotUser, user)
		for _, want := range []*store.Token{access, next} {
			got, err := s.GetToken(ctx, want.Hash)
			mustErr(t, "GetToken", err, nil)
			mustEqual(t, "token", got, want)
		}
		_, err = s.RotateRefresh(ctx, refresh.Hash, tok{kind: store.KindRefresh}.build())
		mustErr(t, "RotateRefresh of the rotated token", err, store.ErrRotated)
		_, err = s.ConsumeCode(ctx, code.Hash)
		mustErr(t, "ConsumeCode of the consumed code", err, store.ErrConsumed)
		gotSession, err := s.GetSession(ctx, session.Hash)
		mustErr(t, "GetSession", err, nil)
		mustEqual(t, "session", gotSession, session)
		gotConsent, err := s.GetConsent(ctx, "alice", "app")
		mustErr(t, "GetConsent", err, nil)
		mustEqual(t, "consent", gotConsent, consent)
		gotKey, err := s.LoadOrCreateKey(ctx, "seal", func() ([]byte, error) {
			t.Error("LoadOrCreateKey generated a new key after reopening")
			return newHash(), nil
		})
		mustErr(t, "LoadOrCreateKey", err, nil)
		mustEqual(t, "key", gotKey, key)
		fresh, err := s.UseNonce(ctx, "nonce", time.Hour)
		mustErr(t, "UseNonce", err, nil)
		if fresh {
			t.Fatal("a nonce used before the restart is fresh again: replay accepted")
		}
		// The indexes survived too.
		mustRevoke(t, "RevokeFamily(F)", 3, func() (int, error) { return s.RevokeFamily(ctx, "F") })
	})
}
