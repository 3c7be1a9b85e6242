package oidc_test

import (
	"context"
	"crypto"
	"encoding/json"
	"github.com/caddy-oauth/caddy-oauth/provider/providertest"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/login"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
	"github.com/caddy-oauth/caddy-oauth/provider/oidc"
	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/badger"
)

const (
	testIssuer  = "https://id.example.com"
	webSecret   = "web-secret"
	webRedirect = "https://app.example.com/cb"
	otherSecret = "other-secret"
	otherRedir  = "https://other.example.com/cb"
	webBye      = "https://app.example.com/bye"
	webByeQuery = "https://app.example.com:8443/signed-out?from=op"
	otherBye    = "https://other.example.com/bye"
)

// testClock is the shared settable clock.
type testClock = providertest.Clock

// env is an OAuth 2 server with OpenID Connect over in-memory Badger.
type env struct {
	t      testing.TB
	db     *badger.DB
	srv    *oauth2.Server
	op     *oidc.Provider
	clock  *testClock
	mux    *http.ServeMux
	login  *login.Manager
	events *events
}

// events records what the engines audit.
type events struct {
	mu   sync.Mutex
	list []provider.Event
}

func (ev *events) add(e provider.Event) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	ev.list = append(ev.list, e)
}

// reset forgets the events so far.
func (ev *events) reset() {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	ev.list = nil
}

// named returns the events with one of names, in order.
func (ev *events) named(names ...string) []provider.Event {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	var out []provider.Event
	for _, e := range ev.list {
		if slices.Contains(names, e.Name) {
			out = append(out, e)
		}
	}
	return out
}

// has reports whether an event named name was audited.
func (ev *events) has(name string) bool {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for _, e := range ev.list {
		if e.Name == name {
			return true
		}
	}
	return false
}

// noPasswords signs nobody in with a password: the tests make sessions
// directly in the store.
type noPasswords struct{}

func (noPasswords) CheckPassword(context.Context, string, string) (bool, error) { return false, nil }

func newEnv(t testing.TB, tokenFormat string) *env {
	t.Helper()
	return newEnvWith(t, envOptions{tokenFormat: tokenFormat})
}

// envOptions change the test server: its scopes (default openid profile
// read offline_access), where users are looked up (default the Badger
// store), and the algorithms ID tokens are also signed with, on the
// request of client "ed" (id_token_signed_response_alg EdDSA).
type envOptions struct {
	tokenFormat string
	scopes      []string
	users       oidc.Users
	algs        []string
}

// newEnvSigning is newEnv with ID tokens also signed with algs.
func newEnvSigning(t testing.TB, tokenFormat string, algs []string) *env {
	t.Helper()
	return newEnvWith(t, envOptions{tokenFormat: tokenFormat, algs: algs})
}

func newEnvWith(t testing.TB, o envOptions) *env {
	t.Helper()
	db, err := badger.Open(badger.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if o.scopes == nil {
		o.scopes = []string{"openid", "profile", "read", "offline_access"}
	}
	tokenFormat := o.tokenFormat
	clk := providertest.NewClock(time.Now().Truncate(time.Second))
	ev := &events{}
	pages := &provider.Pages{Key: []byte("test key test key test key 12345"), Clock: clk.Now}
	clients := provider.NewClients(db,
		&store.Client{ID: "web", Name: "Web app", SecretHash: provider.HashToken(webSecret), Trusted: true, RedirectURIs: []string{webRedirect},
			PostLogoutRedirectURIs: []string{webBye, webByeQuery}},
		&store.Client{ID: "other", SecretHash: provider.HashToken(otherSecret), Trusted: true, RedirectURIs: []string{otherRedir},
			PostLogoutRedirectURIs: []string{otherBye}},
		&store.Client{ID: "svc", SecretHash: provider.HashToken(webSecret), Grants: []string{oauth2.GrantClientCredentials}},
		&store.Client{ID: "ed", SecretHash: provider.HashToken(webSecret), Trusted: true, RedirectURIs: []string{webRedirect},
			IDTokenSignedResponseAlg: "EdDSA"},
	)
	lm, err := login.New(login.Config{Pages: pages, Sessions: db, Attempts: db, Passwords: noPasswords{}, Clock: clk.Now, Audit: ev.add})
	if err != nil {
		t.Fatal(err)
	}
	op, err := oidc.New(oidc.Config{Issuer: testIssuer, TokenTTL: time.Hour, Clock: clk.Now, Users: o.users, Algorithms: o.algs, Audit: ev.add,
		Logout: &oidc.Logout{Sessions: lm, Clients: clients, Pages: pages, Audit: ev.add}}, db)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := oauth2.New(oauth2.Config{
		Issuer:        testIssuer,
		Scopes:        o.scopes,
		DefaultScopes: []string{"read"},
		Clock:         clk.Now,
		TokenFormat:   tokenFormat,
		OpenID:        op,
		Pages:         pages,
		Audit:         ev.add,
	}, db, clients)
	if err != nil {
		t.Fatal(err)
	}
	eps, err := op.Endpoints(srv)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, ep := range append(srv.Endpoints(), eps...) {
		if ep.Serve != nil {
			mux.HandleFunc(ep.Path, ep.Serve)
		}
	}
	return &env{t: t, db: db, srv: srv, op: op, clock: clk, mux: mux, login: lm, events: ev}
}

// get serves a GET of path (with an optional bearer token).
func (e *env) get(path, bearer string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, r)
	return rec
}

// code runs the authorization endpoint for alice (signed in at authTime
// when not zero) and returns the code.
func (e *env) code(client, redirect, scope, nonce string, authTime time.Time) string {
	return e.codeFor("alice", client, redirect, scope, nonce, authTime)
}

// codeFor is code for user.
func (e *env) codeFor(user, client, redirect, scope, nonce string, authTime time.Time) string {
	e.t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {client}, "redirect_uri": {redirect}, "scope": {scope}, "state": {"s"}}
	if nonce != "" {
		q.Set("nonce", nonce)
	}
	r := httptest.NewRequest(http.MethodGet, oauth2.PathAuthorize+"?"+q.Encode(), nil)
	if !authTime.IsZero() {
		// As the glue does for the built-in login.
		r = r.WithContext(oauth2.WithAuthMethods(oauth2.WithAuthTime(r.Context(), authTime), "pwd"))
	}
	rec := httptest.NewRecorder()
	e.srv.Authorize(rec, r, user)
	loc, err := url.Parse(rec.Header().Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		e.t.Fatalf("no code: %d %s %s", rec.Code, rec.Header().Get("Location"), rec.Body.String())
	}
	return loc.Query().Get("code")
}

type tokenJSON struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Scope        string `json:"scope"`
	Error        string `json:"error"`
}

// token posts a token request with client_secret_basic.
func (e *env) token(client, secret string, form url.Values) tokenJSON {
	e.t.Helper()
	r := httptest.NewRequest(http.MethodPost, oauth2.PathToken, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(client, secret)
	rec := httptest.NewRecorder()
	e.srv.Token(rec, r)
	var tj tokenJSON
	if err := json.Unmarshal(rec.Body.Bytes(), &tj); err != nil || rec.Code != http.StatusOK {
		e.t.Fatalf("token: %d %s", rec.Code, rec.Body.String())
	}
	return tj
}

func (e *env) exchange(client, secret, redirect, code string) tokenJSON {
	e.t.Helper()
	return e.token(client, secret, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}})
}

// verifier checks ID tokens for clientID with the keys of the JWK Set the
// server publishes, as a relying party does.
func (e *env) verifier(clientID string) *gooidc.IDTokenVerifier {
	e.t.Helper()
	rec := e.get(oauth2.PathJWKS, "")
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil {
		e.t.Fatalf("JWKS %d %s: %v", rec.Code, rec.Body.String(), err)
	}
	var pubs []crypto.PublicKey
	for _, k := range set.Keys {
		pubs = append(pubs, k.Key)
	}
	return gooidc.NewVerifier(testIssuer, &gooidc.StaticKeySet{PublicKeys: pubs},
		&gooidc.Config{ClientID: clientID, Now: e.clock.Now, SupportedSigningAlgs: e.op.Algorithms()})
}

func (e *env) verify(clientID, raw string) (*gooidc.IDToken, error) {
	return e.verifier(clientID).Verify(context.Background(), raw)
}

// idClaims are the claims the tests read.
type idClaims struct {
	Azp      string   `json:"azp"`
	AuthTime int64    `json:"auth_time"`
	AtHash   string   `json:"at_hash"`
	Nonce    *string  `json:"nonce"`
	AMR      []string `json:"amr"`
}
