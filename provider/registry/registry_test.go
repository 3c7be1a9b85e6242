package registry

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/badger"
)

var testPolicy = Policy{
	Scopes:             []string{"read", "write"},
	KnownGrants:        []string{"authorization_code", "refresh_token", "client_credentials", "password"},
	EnabledGrants:      []string{"authorization_code", "refresh_token", "client_credentials"},
	ConfidentialGrants: []string{"client_credentials"},
	IDTokenAlgorithms:  []string{"RS256", "EdDSA"},
}

func testSealer(t *testing.T) *provider.Sealer {
	t.Helper()
	s, err := provider.NewSealer([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openDB(t *testing.T) *badger.DB {
	t.Helper()
	db, err := badger.Open(badger.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newTestManager(t *testing.T) (*Manager, *badger.DB) {
	db := openDB(t)
	m := NewManager(db, testSealer(t), db, testPolicy, nil)
	m.PasswordCost = bcrypt.MinCost
	return m, db
}

// The config, the admin API and the CLI reach the same verdict on the
// same metadata, because they call the same validator: each case is tried
// as a static client and as a registration.
func TestOneValidatorForConfigAndRegistration(t *testing.T) {
	tests := []struct {
		name string
		md   ClientMetadata
		want string // in the error; "" accepts
	}{
		{"a plain client", ClientMetadata{ClientID: "app", Name: "App", RedirectURIs: []string{"https://app.example.com/cb"}}, ""},
		{"unreserved characters", ClientMetadata{ClientID: "a-b.c_d~e", Name: "x"}, ""},
		{"a colon in the client_id", ClientMetadata{ClientID: "app:1", Name: "x"}, "client_id"},
		{"a slash in the client_id", ClientMetadata{ClientID: "a/b", Name: "x"}, "client_id"},
		{"a client_id too long", ClientMetadata{ClientID: strings.Repeat("a", 129), Name: "x"}, "at most 128"},
		{"a control character in the name", ClientMetadata{ClientID: "app", Name: "a\nb"}, "name"},
		{"an http redirect URI", ClientMetadata{ClientID: "app", Name: "x", RedirectURIs: []string{"http://app.example.com/cb"}}, "redirect_uris"},
		{"a callback with a fragment", ClientMetadata{ClientID: "app", Name: "x", CallbackURIs: []string{"https://app.example.com/cb#f"}}, "callback_uris"},
		{"a callback with an empty fragment", ClientMetadata{ClientID: "app", Name: "x", CallbackURIs: []string{"https://app.example.com/cb#"}}, "callback_uris"},
		{"a relative callback", ClientMetadata{ClientID: "app", Name: "x", CallbackURIs: []string{"/cb"}}, "callback_uris"},
		{"an unknown scope", ClientMetadata{ClientID: "app", Name: "x", Scopes: []string{"admin"}}, `scope "admin"`},
		{"an invalid scope", ClientMetadata{ClientID: "app", Name: "x", Scopes: []string{`a"b`}}, "not a valid scope"},
		{"an unknown grant", ClientMetadata{ClientID: "app", Name: "x", Grants: []string{"implicit"}}, `unknown grant type "implicit"`},
		{"a grant not enabled", ClientMetadata{ClientID: "app", Name: "x", Grants: []string{"password"}}, "not enabled"},
		{"a public client with client_credentials", ClientMetadata{ClientID: "app", Name: "x", Public: true, Grants: []string{"client_credentials"}}, "public client cannot use client_credentials"},
		{"a served ID token algorithm", ClientMetadata{ClientID: "app", Name: "x", IDTokenSignedResponseAlg: "EdDSA"}, ""},
		{"an ID token algorithm not served", ClientMetadata{ClientID: "app", Name: "x", IDTokenSignedResponseAlg: "ES256"}, `id_token_signed_response_alg: "ES256" is not served here`},
		{"an ID token algorithm that is no algorithm", ClientMetadata{ClientID: "app", Name: "x", IDTokenSignedResponseAlg: "none"}, "id_token_signed_response_alg"},
		{"a post-logout redirect URI", ClientMetadata{ClientID: "app", Name: "x", PostLogoutRedirectURIs: []string{"https://app.example.com/bye", "http://127.0.0.1:8080/bye?x=1"}}, ""},
		{"an http post-logout redirect URI", ClientMetadata{ClientID: "app", Name: "x", PostLogoutRedirectURIs: []string{"http://app.example.com/bye"}}, "post_logout_redirect_uris"},
		{"a post-logout redirect URI with a fragment", ClientMetadata{ClientID: "app", Name: "x", PostLogoutRedirectURIs: []string{"https://app.example.com/bye#x"}}, "post_logout_redirect_uris"},
		{"a relative post-logout redirect URI", ClientMetadata{ClientID: "app", Name: "x", PostLogoutRedirectURIs: []string{"/bye"}}, "post_logout_redirect_uris"},
		{"too many redirect URIs", ClientMetadata{ClientID: "app", Name: "x", RedirectURIs: manyURIs(33)}, "at most 32"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cred := Credentials{Secret: "s3cret"}
			if tc.md.Public {
				cred = Credentials{}
			}
			_, staticErr := testPolicy.StaticClient(tc.md, cred, testSealer(t))
			m, _ := newTestManager(t)
			_, regErr := m.CreateClient(context.Background(), tc.md)
			for how, err := range map[string]error{"static": staticErr, "registered": regErr} {
				if tc.want == "" {
					if err != nil {
						t.Errorf("%s: refused: %v", how, err)
					}
					continue
				}
				var re *Error
				if !errors.As(err, &re) || re.Kind != Invalid || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: error %v, want an Invalid error containing %q", how, err, tc.want)
				}
			}
		})
	}
}

func TestAnIDTokenAlgorithmNeedsOpenIDConnect(t *testing.T) {
	p := testPolicy
	p.IDTokenAlgorithms = nil
	_, err := p.StaticClient(ClientMetadata{ClientID: "app", Name: "x", IDTokenSignedResponseAlg: "RS256"}, Credentials{Secret: "s"}, testSealer(t))
	if err == nil || !strings.Contains(err.Error(), "OpenID Connect is off") {
		t.Fatalf("error %v", err)
	}
}

func manyURIs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "https://app.example.com/cb" + strings.Repeat("x", i)
	}
	return out
}

func TestStaticClientCredentials(t *testing.T) {
	md := ClientMetadata{ClientID: "app"}
	sealer := testSealer(t)
	if _, err := testPolicy.StaticClient(md, Credentials{}, sealer); err == nil || !strings.Contains(err.Error(), "secret is required") {
		t.Errorf("a confidential client without secret: %v", err)
	}
	pub := md
	pub.Public = true
	if _, err := testPolicy.StaticClient(pub, Credentials{Secret: "s"}, sealer); err == nil || !strings.Contains(err.Error(), "public client has no secret") {
		t.Errorf("a public client with a secret: %v", err)
	}
	if _, err := testPolicy.StaticClient(md, Credentials{RSAPublicKeyPEM: "not PEM"}, sealer); err == nil || !strings.Contains(err.Error(), "rsa_public_key") {
		t.Errorf("a bad RSA key: %v", err)
	}
	c, err := testPolicy.StaticClient(md, Credentials{Secret: "s3cret"}, sealer)
	if err != nil {
		t.Fatal(err)
	}
	if string(c.SecretHash) != string(provider.HashToken("s3cret")) {
		t.Error("the secret is not kept as its SHA-256")
	}
	if strings.Contains(string(c.SealedSecret), "s3cret") {
		t.Error("the sealed secret holds the plaintext")
	}
	if open, err := sealer.Open("oauth1-client-secret", c.SealedSecret); err != nil || string(open) != "s3cret" {
		t.Errorf("the sealed secret does not open to the secret: %q, %v", open, err)
	}
}

func TestCreateClientNormalizesAndNeedsAName(t *testing.T) {
	m, db := newTestManager(t)
	ctx := context.Background()
	if _, err := m.CreateClient(ctx, ClientMetadata{ClientID: "noname"}); err == nil || !strings.Contains(err.Error(), "name is required") {
		t.Errorf("no name: %v", err)
	}
	v, err := m.CreateClient(ctx, ClientMetadata{Name: "App", Scopes: []string{"read", "read"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.ClientID) != 26 || v.ClientSecret == "" || !v.HasSecret {
		t.Errorf("generated client: %+v", v)
	}
	c, err := db.GetClient(ctx, v.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Scopes) != 1 || string(c.SecretHash) != string(provider.HashToken(v.ClientSecret)) {
		t.Errorf("stored client: scopes %v, secret hash matches: %v", c.Scopes, string(c.SecretHash) == string(provider.HashToken(v.ClientSecret)))
	}
	if _, err := m.CreateClient(ctx, ClientMetadata{ClientID: v.ClientID, Name: "again"}); kindOf(err) != Conflict {
		t.Errorf("a taken client_id: %v", err)
	}
	m.AddStaticClient(ClientView{ClientMetadata: ClientMetadata{ClientID: "static-app"}})
	if _, err := m.CreateClient(ctx, ClientMetadata{ClientID: "static-app", Name: "x"}); kindOf(err) != Conflict {
		t.Errorf("a static client's client_id: %v", err)
	}
	if _, err := m.UpdateClient(ctx, "static-app", func(*ClientMetadata) error { return nil }); kindOf(err) != Conflict {
		t.Errorf("changing a static client: %v", err)
	}
}

func kindOf(err error) Kind {
	var re *Error
	if errors.As(err, &re) {
		return re.Kind
	}
	return 0
}

func TestUpdateClientKeepsCredentialsAndRefusesIdentityChanges(t *testing.T) {
	m, db := newTestManager(t)
	ctx := context.Background()
	v, err := m.CreateClient(ctx, ClientMetadata{ClientID: "app", Name: "App"})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := db.GetClient(ctx, "app")
	if _, err := m.UpdateClient(ctx, "app", func(md *ClientMetadata) error { md.ClientID = "other"; return nil }); err == nil || !strings.Contains(err.Error(), "client_id cannot be changed") {
		t.Errorf("renaming: %v", err)
	}
	if _, err := m.UpdateClient(ctx, "app", func(md *ClientMetadata) error { md.Public = true; return nil }); err == nil || !strings.Contains(err.Error(), "public cannot be changed") {
		t.Errorf("making it public: %v", err)
	}
	if _, err := m.UpdateClient(ctx, "app", func(md *ClientMetadata) error { md.Scopes = []string{"admin"}; return nil }); kindOf(err) != Invalid {
		t.Errorf("an unknown scope: %v", err)
	}
	if _, err := m.UpdateClient(ctx, "app", func(md *ClientMetadata) error { md.Name = "Renamed"; return nil }); err != nil {
		t.Fatal(err)
	}
	after, _ := db.GetClient(ctx, "app")
	if after.Name != "Renamed" || string(after.SecretHash) != string(before.SecretHash) || !after.CreatedAt.Equal(before.CreatedAt) {
		t.Errorf("after the update: %+v (secret kept: %v)", after, string(after.SecretHash) == string(provider.HashToken(v.ClientSecret)))
	}
	if _, err := m.UpdateClient(ctx, "nope", func(*ClientMetadata) error { return nil }); kindOf(err) != NotFound {
		t.Errorf("an unknown client: %v", err)
	}
}

// Removing a user or a client revokes their tokens and forgets the
// consents, so that a later registration of the same name inherits none.
func TestRemovalRevokesAndForgetsConsents(t *testing.T) {
	m, db := newTestManager(t)
	ctx := context.Background()
	if _, err := m.CreateClient(ctx, ClientMetadata{ClientID: "app", Name: "App"}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateUser(ctx, "alice", "alice password", store.Claims{}); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"user", "client"} {
		if err := db.PutConsent(ctx, &store.Consent{User: "alice", ClientID: "app", Scopes: []string{"read"}, GrantedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		tok := &store.Token{Hash: provider.HashToken("tok-" + who), Kind: store.KindAccess, ClientID: "app", User: "alice", Family: who, IssuedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
		if err := db.SaveToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		var res *RevokeResult
		var err error
		if who == "user" {
			res, err = m.DeleteUser(ctx, "alice")
		} else {
			res, err = m.DeleteClient(ctx, "app")
		}
		if err != nil || res.Revoked != 1 {
			t.Fatalf("removing the %s: %+v, %v", who, res, err)
		}
		if _, err := db.GetToken(ctx, tok.Hash); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("removing the %s left its token: %v", who, err)
		}
		if _, err := db.GetConsent(ctx, "alice", "app"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("removing the %s left the consent: %v", who, err)
		}
		if who == "user" {
			// The client's removal below needs a user to find the consent by.
			if _, err := m.CreateUser(ctx, "alice", "alice password", store.Claims{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := m.DeleteClient(ctx, "app"); kindOf(err) != NotFound {
		t.Errorf("removing a removed client: %v", err)
	}
}

func TestUsersAndPasswords(t *testing.T) {
	m, db := newTestManager(t)
	ctx := context.Background()
	for _, tc := range []struct{ name, password, want string }{
		{"da ve", "long enough", "username"},
		{"", "long enough", "username is required"},
		{"erin", "short", "at least 8"},
		{"erin", strings.Repeat("p", 73), "at most 72"},
	} {
		if _, err := m.CreateUser(ctx, tc.name, tc.password, store.Claims{}); kindOf(err) != Invalid || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("user %q password %q: %v, want %q", tc.name, tc.password, err, tc.want)
		}
	}
	if _, err := m.CreateUser(ctx, "erin", "erin password", store.Claims{}); err != nil {
		t.Fatal(err)
	}
	if err := m.SetPassword(ctx, "erin", "new password"); err != nil {
		t.Fatal(err)
	}
	u, _ := db.GetUser(ctx, "erin")
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte("new password")) != nil {
		t.Error("the new password does not match the stored hash")
	}
	m.AddStaticUser("root")
	if err := m.SetPassword(ctx, "root", "whatever1"); kindOf(err) != Conflict {
		t.Errorf("a static user's password: %v", err)
	}
	if _, err := m.Revoke(ctx, "a", "b"); kindOf(err) != Invalid {
		t.Errorf("revoking both: %v", err)
	}
}

// The view shows every metadata field, empty lists as [], and never a
// secret's hash.
func TestClientViewJSON(t *testing.T) {
	v := viewOf(&store.Client{ID: "app", SecretHash: []byte("h")})
	b, err := v.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"client_id":"app","name":"","redirect_uris":[],"callback_uris":[],"post_logout_redirect_uris":[],"scopes":[],"grants":[],"public":false,"trusted":false,"introspect":false,"id_token_signed_response_alg":"","has_secret":true,"static":false}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}
