package redis

import (
	"testing"

	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/redis/redistest"
)

// A key prefix with glob characters must list its own items only: SCAN's
// MATCH would otherwise read "*" in "app*:" as any prefix starting "app".
func TestListingQuotesThePrefix(t *testing.T) {
	srv := redistest.StartServer(t)
	ctx := t.Context()
	base := freshPrefix(t)
	glob := open(t, Options{Addresses: []string{srv.Addr}, KeyPrefix: base + "app*?[x]:"})
	defer glob.Close()
	other := open(t, Options{Addresses: []string{srv.Addr}, KeyPrefix: base + "appzzx:"})
	defer other.Close()
	if err := other.PutConsent(ctx, &store.Consent{User: "mallory", ClientID: "c"}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.LoadOrCreateKey(ctx, "k", func() ([]byte, error) { return []byte("v"), nil }); err != nil {
		t.Fatal(err)
	}
	if err := other.SaveToken(ctx, &store.Token{Hash: make([]byte, 32), Kind: store.KindAccess, ClientID: "c"}); err != nil {
		t.Fatal(err)
	}
	consents, err := glob.ListConsents(ctx)
	if err != nil || len(consents) != 0 {
		t.Errorf("ListConsents of another prefix: %v, %v", consents, err)
	}
	keys, err := glob.ListKeys(ctx)
	if err != nil || len(keys) != 0 {
		t.Errorf("ListKeys of another prefix: %v, %v", keys, err)
	}
	n := 0
	if err := glob.ListTokens(ctx, func(*store.Token) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("ListTokens of another prefix: %d tokens, %v", n, err)
	}
}
