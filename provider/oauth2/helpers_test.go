package oauth2

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/caddy-oauth/caddy-oauth/provider/providertest"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/badger"
)

const (
	testIssuer   = "https://auth.example.com"
	webSecret    = "web s3cret:with+special&chars%"
	svcSecret    = "svc-secret"
	rsSecret     = "rs-secret"
	webRedirect  = "https://app.example.com/cb"
	spaRedirect  = "http://127.0.0.1/callback"
	testVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)

// testClock is the shared settable clock.
type testClock = providertest.Clock

// events records audit events.
type events struct {
	mu  sync.Mutex
	all []provider.Event
}

func (e *events) add(ev provider.Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
}

func (e *events) names() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.all {
		out = append(out, ev.Name)
	}
	return out
}

func (e *events) has(name string) bool {
	for _, n := range e.names() {
		if n == name {
			return true
		}
	}
	return false
}

// env is a server over a real in-memory Badger store.
type env struct {
	t      testing.TB
	srv    *Server
	db     *badger.DB
	clock  *testClock
	events *events
	// secrets are every secret value the test saw, to check they never
	// reach an event.
	secrets []string
}

func staticClients() []*store.Client {
	return []*store.Client{
		{ID: "web", Name: "Web App", SecretHash: provider.HashToken(webSecret),
			RedirectURIs: []string{webRedirect}, Scopes: []string{"read", "write", "profile"}},
		{ID: "multi", Name: "Two URIs", SecretHash: provider.HashToken(webSecret),
			RedirectURIs: []string{"https://a.example.com/cb", "https://b.example.com/cb"}},
		{ID: "spa", Name: "Single Page", Public: true,
			RedirectURIs: []string{spaRedirect, "http://[::1]/callback", "http://localhost/callback", "com.example.app:/oauth"}},
		{ID: "svc", Name: "Service", SecretHash: provider.HashToken(svcSecret), Grants: []string{GrantClientCredentials}},
		{ID: "svc:two ü", Name: "Odd ID", SecretHash: provider.HashToken(svcSecret), Grants: []string{GrantClientCredentials}},
		{ID: "rs", Name: "Resource Server", SecretHash: provider.HashToken(rsSecret), Introspect: true, Grants: []string{GrantClientCredentials}},
		{ID: "first", Name: "First Party", SecretHash: provider.HashToken(webSecret), Trusted: true,
			RedirectURIs: []string{"https://first.example.com/cb"}},
		{ID: "norefresh", Name: "No Refresh", SecretHash: provider.HashToken(webSecret),
			RedirectURIs: []string{webRedirect}, Grants: []string{GrantAuthorizationCode}},
		{ID: "loopweb", Name: "Confidential Loopback", SecretHash: provider.HashToken(webSecret),
			RedirectURIs: []string{"http://127.0.0.1/oauth2/callback", "http://[::1]:8000/cb"}},
		{ID: "tv", Name: "Living Room TV", Public: true, Grants: []string{GrantDeviceCode, GrantRefreshToken}},
		{ID: "console", Name: "Game Console", SecretHash: provider.HashToken(webSecret), Scopes: []string{"read", "profile"},
			Grants: []string{GrantDeviceCode}},
		{ID: "plainhttp", Name: "Bad Registration", SecretHash: provider.HashToken(webSecret),
			RedirectURIs: []string{"http://app.example.com/cb"}},
	}
}

func newEnv(t testing.TB, mutate func(*Config)) *env {
	t.Helper()
	db, err := badger.Open(badger.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return newEnvOn(t, db, mutate)
}

func newEnvOn(t testing.TB, db *badger.DB, mutate func(*Config)) *env {
	t.Helper()
	clk := providertest.NewClock(time.Now().Truncate(time.Second))
	ev := &events{}
	cfg := Config{
		Issuer:        testIssuer,
		Scopes:        []string{"read", "write", "profile", "admin"},
		DefaultScopes: []string{"read"},
		Clock:         clk.Now,
		Audit:         ev.add,
		Pages:         &provider.Pages{Key: []byte("test key test key test key 12345"), Clock: clk.Now},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	// A dynamically registered client, found through the store.
	if err := db.CreateClient(context.Background(), &store.Client{ID: "dyn", Name: "Dynamic",
		SecretHash: provider.HashToken(webSecret), RedirectURIs: []string{"https://dyn.example.com/cb"}}); err != nil && !errors.Is(err, store.ErrExists) {
		t.Fatal(err)
	}
	srv, err := New(cfg, db, provider.NewClients(db, staticClients()...))
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, srv: srv, db: db, clock: clk, events: ev, secrets: []string{webSecret, svcSecret, rsSecret, testVerifier}}
}

// authorize runs the authorization endpoint for user with the given query.
func (e *env) authorize(method string, params url.Values, user string) *httptest.ResponseRecorder {
	var r *http.Request
	if method == http.MethodGet {
		r = httptest.NewRequest(method, PathAuthorize+"?"+params.Encode(), nil)
	} else {
		r = httptest.NewRequest(method, PathAuthorize, strings.NewReader(params.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	rec := httptest.NewRecorder()
	e.srv.Authorize(rec, r, user)
	return rec
}

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// approve renders the consent page for params and posts approve (or
// deny), returning the redirect.
func (e *env) consent(params url.Values, user, decision string) *httptest.ResponseRecorder {
	e.t.Helper()
	page := e.authorize(http.MethodGet, params, user)
	m := csrfRe.FindStringSubmatch(page.Body.String())
	if page.Code != http.StatusOK || m == nil {
		e.t.Fatalf("no consent page: %d %s %s", page.Code, page.Header().Get("Location"), page.Body.String())
	}
	post := url.Values{}
	for k, v := range params {
		post[k] = v
	}
	post.Set("csrf_token", m[1])
	post.Set("decision", decision)
	return e.authorize(http.MethodPost, post, user)
}

// location parses the redirect of rec.
func location(t testing.TB, rec *httptest.ResponseRecorder) *url.URL {
	t.Helper()
	loc := rec.Header().Get("Location")
	if loc == "" {
		t.Fatalf("no redirect: %d %s", rec.Code, rec.Body.String())
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// code gets a code for client, approving the consent page if shown.
func (e *env) code(client, user string, extra url.Values) string {
	e.t.Helper()
	params := url.Values{"response_type": {"code"}, "client_id": {client}, "state": {"st"}}
	for k, v := range extra {
		params[k] = v
	}
	rec := e.authorize(http.MethodGet, params, user)
	if rec.Code == http.StatusOK {
		rec = e.consent(params, user, "approve")
	}
	u := location(e.t, rec)
	code := u.Query().Get("code")
	if code == "" {
		e.t.Fatalf("no code in %s", u)
	}
	e.secrets = append(e.secrets, code)
	return code
}

// post sends a urlencoded POST to handler with optional Basic credentials
// (already form-encoded as RFC 6749 §2.3.1 requires).
func (e *env) post(handler http.HandlerFunc, form url.Values, basicID, basicSecret string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		r.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	rec := httptest.NewRecorder()
	handler(rec, r)
	return rec
}

type tokenJSON struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int64  `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	Scope            string `json:"scope"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

func (e *env) decode(rec *httptest.ResponseRecorder) tokenJSON {
	e.t.Helper()
	var tj tokenJSON
	if err := json.Unmarshal(rec.Body.Bytes(), &tj); err != nil {
		e.t.Fatalf("bad JSON %q: %v", rec.Body.String(), err)
	}
	if tj.AccessToken != "" {
		e.secrets = append(e.secrets, tj.AccessToken)
	}
	if tj.RefreshToken != "" {
		e.secrets = append(e.secrets, tj.RefreshToken)
	}
	return tj
}

// exchange redeems code for the web client with client_secret_basic.
func (e *env) exchange(client, secret, code string, extra url.Values) (*httptest.ResponseRecorder, tokenJSON) {
	e.t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}}
	for k, v := range extra {
		form[k] = v
	}
	rec := e.post(e.srv.Token, form, client, secret)
	return rec, e.decode(rec)
}

// wantError checks an RFC 6749 §5.2 error answer.
func (e *env) wantError(rec *httptest.ResponseRecorder, status int, code string) {
	e.t.Helper()
	if rec.Code != status {
		e.t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body.String())
	}
	tj := e.decode(rec)
	if tj.Error != code {
		e.t.Fatalf("error %q, want %q (%s)", tj.Error, code, tj.ErrorDescription)
	}
	if rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("Pragma") != "no-cache" {
		e.t.Fatalf("error response cacheable: %v", rec.Header())
	}
}

// active reports whether VerifyBearer accepts tok.
func (e *env) active(tok string) bool {
	id, err := e.srv.VerifyBearer(context.Background(), tok)
	return err == nil && id != nil
}

// checkNoSecretsLogged fails if any event field carries a secret value.
func (e *env) checkNoSecretsLogged() {
	e.t.Helper()
	e.events.mu.Lock()
	defer e.events.mu.Unlock()
	for _, ev := range e.events.all {
		fields := append([]string{ev.Name, ev.ClientID, ev.User, ev.Grant, ev.Reason}, ev.Scopes...)
		for _, f := range fields {
			for _, s := range e.secrets {
				if s != "" && strings.Contains(f, s) {
					e.t.Fatalf("event %+v contains a secret", ev)
				}
			}
		}
	}
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func hashOf(v string) []byte { return provider.HashToken(v) }

// on returns e reporting to the subtest t.
func (e *env) on(t testing.TB) *env {
	c := *e
	c.t = t
	return &c
}
