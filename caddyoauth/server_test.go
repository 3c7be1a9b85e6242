package caddyoauth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"github.com/caddy-oauth/caddy-oauth/provider/registry"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/caddyauth"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth1"
	"github.com/caddy-oauth/caddy-oauth/store"
)

func TestServerConfigErrors(t *testing.T) {
	badPEM := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(badPEM, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CADDY_OAUTH_TEST_EMPTY", "")
	refresh := caddy.Duration(-1)
	tests := []struct {
		name string
		cfg  ServerConfig
		want string
	}{
		{"no issuer", ServerConfig{Issuer: "-"}, "issuer"},
		{"relative issuer", ServerConfig{Issuer: "auth.example.com"}, "absolute http(s) URL"},
		{"unknown jwt algorithm", ServerConfig{TokenFormat: "jwt", JWTAlgorithm: "HS256"}, "jwt_algorithm"},
		{"unknown token format", ServerConfig{TokenFormat: "paseto"}, "token_format"},
		{"negative refresh ttl", ServerConfig{RefreshTokenTTL: &refresh}, "refresh_token_ttl"},
		{"unknown grant", ServerConfig{Grants: []string{"implicit"}}, "unknown grant"},
		{"default scope not known", ServerConfig{Scopes: []string{"read"}, DefaultScopes: []string{"write"}}, "default_scopes"},
		{"short server key", ServerConfig{ServerKey: "short"}, "server_key must be at least 32 bytes"},
		{"empty server key placeholder", ServerConfig{ServerKey: "{env.CADDY_OAUTH_TEST_EMPTY}"}, "server_key"},
		{"user without hash", ServerConfig{Users: []UserConfig{{Username: "a"}}}, "password_hash"},
		{"user with a plaintext password", ServerConfig{Users: []UserConfig{{Username: "a", PasswordHash: "secret"}}}, "bcrypt or argon2id"},
		{"user twice", ServerConfig{Users: []UserConfig{{Username: "a", PasswordHash: string(caddyauth.Argon2idHash{}.FakeHash())}, {Username: "a", PasswordHash: string(caddyauth.Argon2idHash{}.FakeHash())}}}, "defined twice"},
		{"user with a bad claim", ServerConfig{Users: []UserConfig{{Username: "a", PasswordHash: string(caddyauth.Argon2idHash{}.FakeHash()), Claims: store.Claims{Picture: "ftp://example.com/a.png"}}}}, `user "a": picture "ftp://example.com/a.png": must be an absolute http or https URL`},
		{"client without id", ServerConfig{Clients: []ClientConfig{{Secret: "s"}}}, "client_id is required"},
		{"client without secret", ServerConfig{Clients: []ClientConfig{{ClientMetadata: registry.ClientMetadata{ClientID: "c"}}}}, "secret is required"},
		{"public client with secret", ServerConfig{Clients: []ClientConfig{{ClientMetadata: registry.ClientMetadata{ClientID: "c", Public: true}, Secret: "s"}}}, "public client has no secret"},
		{"client secret from an empty variable", ServerConfig{Clients: []ClientConfig{{ClientMetadata: registry.ClientMetadata{ClientID: "c"}, Secret: "{env.CADDY_OAUTH_TEST_EMPTY}"}}}, "secret"},
		{"client twice", ServerConfig{Clients: []ClientConfig{{ClientMetadata: registry.ClientMetadata{ClientID: "c"}, Secret: "s"}, {ClientMetadata: registry.ClientMetadata{ClientID: "c"}, Secret: "t"}}}, "defined twice"},
		{"client scope unknown", ServerConfig{Scopes: []string{"read"}, Clients: []ClientConfig{{ClientMetadata: registry.ClientMetadata{ClientID: "c", Scopes: []string{"admin"}}, Secret: "s"}}}, `scope "admin"`},
		{"client grant not enabled", ServerConfig{Grants: []string{"authorization_code"}, Clients: []ClientConfig{{ClientMetadata: registry.ClientMetadata{ClientID: "c", Grants: []string{"client_credentials"}}, Secret: "s"}}}, "not enabled"},
		{"public client with client_credentials", ServerConfig{Clients: []ClientConfig{{ClientMetadata: registry.ClientMetadata{ClientID: "c", Public: true, Grants: []string{"client_credentials"}}}}}, "public client cannot use client_credentials"},
		{"http redirect URI", ServerConfig{Clients: []ClientConfig{{ClientMetadata: registry.ClientMetadata{ClientID: "c", RedirectURIs: []string{"http://app.example.com/cb"}}, Secret: "s"}}}, "redirect_uri"},
		{"relative callback URI", ServerConfig{Clients: []ClientConfig{{ClientMetadata: registry.ClientMetadata{ClientID: "c", CallbackURIs: []string{"/cb"}}, Secret: "s"}}}, "callback_uri"},
		{"missing RSA key file", ServerConfig{Clients: []ClientConfig{{ClientMetadata: registry.ClientMetadata{ClientID: "c"}, RSAPublicKey: "/nonexistent/key.pem"}}}, "rsa_public_key"},
		{"ID token algorithm not served", ServerConfig{Scopes: []string{"openid"}, TokenFormat: "jwt", JWTAlgorithm: "ES256", Clients: []ClientConfig{{ClientMetadata: registry.ClientMetadata{ClientID: "c", IDTokenSignedResponseAlg: "EdDSA"}, Secret: "s"}}}, `"EdDSA" is not served here (served: RS256, ES256)`},
		{"ID token algorithm without OpenID", ServerConfig{Clients: []ClientConfig{{ClientMetadata: registry.ClientMetadata{ClientID: "c", IDTokenSignedResponseAlg: "RS256"}, Secret: "s"}}}, "OpenID Connect is off"},
		{"bad RSA key file", ServerConfig{Clients: []ClientConfig{{ClientMetadata: registry.ClientMetadata{ClientID: "c"}, RSAPublicKey: badPEM}}}, "rsa_public_key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			switch cfg.Issuer {
			case "":
				cfg.Issuer = "https://auth.example.com"
			case "-":
				cfg.Issuer = ""
			}
			cfg.StorageDir = t.TempDir()
			srv, err := provisionTestServer(&cfg)
			if err == nil {
				srv.close()
				t.Fatalf("provisioned, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to contain %q", err, tc.want)
			}
			// Nothing stays open after a failed provision: the directory
			// can be opened again.
			cfg = ServerConfig{Issuer: "https://auth.example.com", StorageDir: cfg.StorageDir}
			srv, err = provisionTestServer(&cfg)
			if err != nil {
				t.Fatalf("reopening after a failed provision: %v", err)
			}
			srv.close()
		})
	}
}

func TestStaticClients(t *testing.T) {
	t.Setenv("CADDY_OAUTH_TEST_SECRET", "from-the-environment")
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemFile := filepath.Join(t.TempDir(), "key.pem")
	der := x509.MarshalPKCS1PublicKey(&key.PublicKey)
	if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := newTestServer(t, &ServerConfig{Clients: []ClientConfig{
		{ClientMetadata: registry.ClientMetadata{ClientID: "env", Trusted: true}, Secret: "{env.CADDY_OAUTH_TEST_SECRET}"},
		{ClientMetadata: registry.ClientMetadata{ClientID: "file", Introspect: true}, Secret: "{file." + secretFile + "}"},
		{ClientMetadata: registry.ClientMetadata{ClientID: "rsa"}, RSAPublicKey: pemFile},
		{ClientMetadata: registry.ClientMetadata{ClientID: "native", Public: true, RedirectURIs: []string{"http://127.0.0.1/cb"}}},
	}})
	for id, secret := range map[string]string{"env": "from-the-environment", "file": "from-a-file"} {
		c, err := srv.Clients().Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if !provider.EqualBytes(c.SecretHash, provider.HashToken(secret)) {
			t.Errorf("client %s: the secret hash is not SHA-256 of the resolved secret", id)
		}
		opened, err := srv.Sealer().Open(oauth1.PurposeClientSecret, c.SealedSecret)
		if err != nil || string(opened) != secret {
			t.Errorf("client %s: sealed secret opens to %q, %v", id, opened, err)
		}
		if strings.Contains(string(c.SealedSecret), secret) {
			t.Errorf("client %s: the sealed secret contains the plaintext", id)
		}
	}
	c, _ := srv.Clients().Get(context.Background(), "rsa")
	if !strings.Contains(c.RSAPublicKeyPEM, "RSA PUBLIC KEY") || len(c.SecretHash) != 0 {
		t.Errorf("rsa client: %+v", c)
	}
	if !srv.Clients().IsStatic("native") {
		t.Error("native is not static")
	}
}

func TestServerKeyPersists(t *testing.T) {
	dir := t.TempDir()
	seal := func() []byte {
		srv := newTestServer(t, &ServerConfig{StorageDir: dir})
		defer srv.close()
		sealed, err := srv.Sealer().Seal("test", []byte("hello"))
		if err != nil {
			t.Fatal(err)
		}
		return sealed
	}
	open := func(sealed []byte) error {
		srv := newTestServer(t, &ServerConfig{StorageDir: dir})
		defer srv.close()
		_, err := srv.Sealer().Open("test", sealed)
		return err
	}
	if err := open(seal()); err != nil {
		t.Fatalf("a generated server key did not survive a restart: %v", err)
	}
	other := newTestServer(t, &ServerConfig{ServerKey: strings.Repeat("k", 32)})
	sealed, _ := other.Sealer().Seal("test", []byte("hello"))
	if err := open(sealed); err == nil {
		t.Fatal("a configured server key and the generated one are the same")
	}
}

func TestPasswordChecker(t *testing.T) {
	argon := string(caddyauth.Argon2idHash{}.FakeHash()) // the hash of "antitiming"
	srv := newTestServer(t, &ServerConfig{Users: []UserConfig{
		{Username: testUser, PasswordHash: testPasswordHash(t)},
		{Username: "bob", PasswordHash: argon},
	}})
	if err := srv.Store().CreateUser(context.Background(), &store.User{Username: "carol", PasswordHash: testPasswordHash(t)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user, password string
		want           bool
	}{
		{testUser, testPassword, true},
		{testUser, "wrong", false},
		{"bob", "antitiming", true},
		{"bob", testPassword, false},
		{"carol", testPassword, true},
		{"carol", "wrong", false},
		{"nobody", testPassword, false},
		{"", "", false},
	}
	for _, tc := range tests {
		got, err := srv.Passwords().CheckPassword(context.Background(), tc.user, tc.password)
		if err != nil || got != tc.want {
			t.Errorf("CheckPassword(%q, %q) = %v, %v; want %v", tc.user, tc.password, got, err, tc.want)
		}
	}
}
