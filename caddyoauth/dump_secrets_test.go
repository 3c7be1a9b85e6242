package caddyoauth

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/caddy-oauth/caddy-oauth/provider/oauth1"
	"github.com/caddy-oauth/caddy-oauth/provider/registry"
	"github.com/caddy-oauth/caddy-oauth/store/badger"
	"github.com/caddy-oauth/caddy-oauth/store/dump"
)

// importInto imports a dump into the Badger directory dir before any
// server runs on it, as `caddy oauth import --storage dir` does, after
// prepare (if set) did something to the fresh store.
func importInto(t *testing.T, dir string, d []byte, prepare func(*badger.DB)) (*dump.Summary, error) {
	t.Helper()
	db, err := badger.Open(badger.Options{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if prepare != nil {
		prepare(db)
	}
	return dump.Import(context.Background(), db, bytes.NewReader(d), dump.ImportOptions{})
}

// clientCredentials asks h's token endpoint for a token as clientID.
func clientCredentials(t *testing.T, h *OAuthServer, clientID, secret string) int {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "https://auth.example.com/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	w, _, _ := serve(t, h, r)
	return w.Code
}

// oauth1RequestToken asks h for OAuth 1 temporary credentials, signed
// with the client's secret (HMAC-SHA1, which needs the sealed secret
// opened).
func oauth1RequestToken(t *testing.T, h *OAuthServer, clientID, secret string) int {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "https://auth.example.com/oauth1/request_token", nil)
	if err := oauth1.Sign(r, oauth1.ClientCreds{ConsumerKey: clientID, ConsumerSecret: secret, SignatureMethod: oauth1.HMACSHA1, Callback: "oob"}); err != nil {
		t.Fatal(err)
	}
	w, _, _ := serve(t, h, r)
	return w.Code
}

// After a move to a fresh storage, a registered client's secret still
// authenticates (OAuth 2: its hash moved) and still signs (OAuth 1: its
// sealed copy moved, and the server key that opens it with it).
func TestDumpKeepsClientSecretsWorking(t *testing.T) {
	ctx := context.Background()
	cfg := func(dir string) *ServerConfig {
		return &ServerConfig{StorageDir: dir, Grants: []string{"client_credentials"}}
	}
	src := newTestServer(t, cfg(t.TempDir()))
	c, err := managerFor(src).CreateClient(ctx, registry.ClientMetadata{Name: "Moved", ClientID: "moved", Grants: []string{"client_credentials"}})
	if err != nil {
		t.Fatal(err)
	}
	before := newTestOAuthServer(t, src, &OAuthServer{})
	if clientCredentials(t, before, "moved", c.ClientSecret) != http.StatusOK || oauth1RequestToken(t, before, "moved", c.ClientSecret) != http.StatusOK {
		t.Fatal("the client does not work on the source server")
	}
	var d bytes.Buffer
	if _, err := dump.Export(ctx, src.Store(), &d, dump.ExportOptions{Server: "default", Tokens: true}); err != nil {
		t.Fatal(err)
	}

	t.Run("imported before the target first started, both secrets work", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := importInto(t, dir, d.Bytes(), nil); err != nil {
			t.Fatal(err)
		}
		h := newTestOAuthServer(t, newTestServer(t, cfg(dir)), &OAuthServer{})
		if s := clientCredentials(t, h, "moved", c.ClientSecret); s != http.StatusOK {
			t.Errorf("OAuth 2 client authentication after the move: %d", s)
		}
		if s := oauth1RequestToken(t, h, "moved", c.ClientSecret); s != http.StatusOK {
			t.Errorf("OAuth 1 signature after the move: %d", s)
		}
		if s := clientCredentials(t, h, "moved", "wrong"+c.ClientSecret); s != http.StatusUnauthorized {
			t.Errorf("a wrong secret after the move: %d", s)
		}
	})

	t.Run("a target with a server key of its own keeps it, and OAuth 1 secrets then cannot open", func(t *testing.T) {
		dir := t.TempDir()
		sum, err := importInto(t, dir, d.Bytes(), func(db *badger.DB) {
			if _, err := db.LoadOrCreateKey(ctx, serverKeyName, func() ([]byte, error) { return bytes.Repeat([]byte("x"), 32), nil }); err != nil {
				t.Fatal(err)
			}
		})
		if !errors.Is(err, dump.ErrIncomplete) || sum.Failed != 1 || !strings.Contains(sum.Errors[0], `key "server_key"`) {
			t.Fatalf("import over another server key: %+v, %v", sum, err)
		}
		h := newTestOAuthServer(t, newTestServer(t, cfg(dir)), &OAuthServer{})
		if s := clientCredentials(t, h, "moved", c.ClientSecret); s != http.StatusOK {
			t.Errorf("OAuth 2 client authentication (a hash, no key needed): %d", s)
		}
		if s := oauth1RequestToken(t, h, "moved", c.ClientSecret); s == http.StatusOK {
			t.Error("an OAuth 1 secret sealed with another key signed")
		}
	})
}
