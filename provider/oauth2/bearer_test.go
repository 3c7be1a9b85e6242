package oauth2

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
)

func TestVerifyBearer(t *testing.T) {
	e := newEnv(t, nil)
	_, tj := e.exchange("web", webSecret, e.code("web", "alice", url.Values{"scope": {"read write"}}), nil)
	ctx := context.Background()

	id, err := e.srv.VerifyBearer(ctx, tj.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	want := provider.Identity{User: "alice", ClientID: "web", Scopes: []string{"read", "write"}, Protocol: provider.ProtocolOAuth2,
		ExpiresAt: e.clock.Now().Add(time.Hour)}
	if id.User != want.User || id.ClientID != want.ClientID || strings.Join(id.Scopes, " ") != "read write" ||
		id.Protocol != want.Protocol || !id.ExpiresAt.Equal(want.ExpiresAt) {
		t.Fatalf("got %+v", id)
	}

	o1 := &store.Token{Hash: provider.HashToken("o1"), Kind: store.KindOAuth1Access, ClientID: "web", User: "alice",
		IssuedAt: e.clock.Now(), ExpiresAt: e.clock.Now().Add(time.Hour)}
	o1req := &store.Token{Hash: provider.HashToken("o1req"), Kind: store.KindOAuth1Request, ClientID: "web",
		IssuedAt: e.clock.Now(), ExpiresAt: e.clock.Now().Add(time.Hour)}
	if err := e.db.SaveTokens(ctx, o1, o1req); err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{
		"a refresh token":                   tj.RefreshToken,
		"an OAuth 1 access token":           "o1",
		"an OAuth 1 temporary credential":   "o1req",
		"an unknown token":                  "nope",
		"an empty token":                    "",
		"an absurdly long token":            strings.Repeat("a", 10000),
		"the access token's hash as string": string(provider.HashToken(tj.AccessToken)),
	} {
		if _, err := e.srv.VerifyBearer(ctx, tok); err == nil || err.Code != "invalid_token" || err.Status != 401 {
			t.Errorf("%s: %v", name, err)
		}
	}

	e.clock.Advance(time.Hour - time.Second)
	if _, err := e.srv.VerifyBearer(ctx, tj.AccessToken); err != nil {
		t.Fatal("valid until expiry")
	}
	e.clock.Advance(time.Second)
	if _, err := e.srv.VerifyBearer(ctx, tj.AccessToken); err == nil || err.Code != "invalid_token" {
		t.Fatalf("expired: %v", err)
	}
}
