package oauth1

import (
	"context"
	"github.com/caddy-oauth/caddy-oauth/provider/providertest"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/badger"
)

// testClock is the shared settable clock.
type testClock = providertest.Clock

// env is a Server over a real in-memory Badger store.
type env struct {
	t       *testing.T
	db      *badger.DB
	srv     *Server
	clock   *testClock
	sealer  *provider.Sealer
	clients *provider.Clients

	evMu   sync.Mutex
	events []provider.Event
}

var testServerKey = []byte("0123456789abcdef0123456789abcdef-test-key")

func newEnv(t testing.TB, mutate func(*Config), static ...*store.Client) *env {
	t.Helper()
	db, err := badger.Open(badger.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return newEnvOn(t, db, mutate, static...)
}

func newEnvOn(t testing.TB, db *badger.DB, mutate func(*Config), static ...*store.Client) *env {
	t.Helper()
	sealer, err := provider.NewSealer(testServerKey)
	if err != nil {
		t.Fatal(err)
	}
	// Real time by default: the store expires items by the wall clock.
	clk := providertest.NewClock(time.Now().Truncate(time.Second))
	e := &env{db: db, clock: clk, sealer: sealer}
	if tt, ok := t.(*testing.T); ok {
		e.t = tt
	}
	cfg := Config{
		Realm:  "Test",
		Sealer: sealer,
		Clock:  clk.Now,
		Pages:  &provider.Pages{Key: []byte("pages-key-0123456789abcdef012345"), Clock: clk.Now},
		Audit: func(ev provider.Event) {
			e.evMu.Lock()
			e.events = append(e.events, ev)
			e.evMu.Unlock()
		},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	e.clients = provider.NewClients(db, static...)
	e.srv, err = New(cfg, db, e.clients)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// sealed seals a client secret the way the glue does.
func (e *env) sealed(t testing.TB, purpose, secret string) []byte {
	t.Helper()
	b, err := e.sealer.Seal(purpose, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// addClient registers a client in the store with a sealed secret.
func (e *env) addClient(t testing.TB, id, secret string, mutate func(*store.Client)) *store.Client {
	t.Helper()
	c := &store.Client{ID: id, Name: "Client " + id, CreatedAt: time.Now()}
	if secret != "" {
		c.SealedSecret = e.sealed(t, PurposeClientSecret, secret)
	}
	if mutate != nil {
		mutate(c)
	}
	if err := e.db.CreateClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

// seedToken stores credentials with a known identifier and secret (the
// RFC's examples), as the endpoints would have.
func (e *env) seedToken(t testing.TB, kind store.TokenKind, clientID, value, secret string, mutate func(*store.Token)) *store.Token {
	t.Helper()
	tok := &store.Token{
		Hash:         provider.HashToken(value),
		Kind:         kind,
		ClientID:     clientID,
		Family:       "fam-" + value,
		IssuedAt:     time.Now(),
		SealedSecret: e.sealed(t, PurposeTokenSecret, secret),
	}
	if mutate != nil {
		mutate(tok)
	}
	if err := e.db.SaveToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	return tok
}

func (e *env) eventsCopy() []provider.Event {
	e.evMu.Lock()
	defer e.evMu.Unlock()
	return append([]provider.Event(nil), e.events...)
}

// plainURL is how a loopback plain-HTTP client saw a request.
func plainURL(r *http.Request) RequestURL {
	return RequestURL{Scheme: "http", Host: r.Host, Loopback: true}
}

// tlsURL is how a TLS client saw a request.
func tlsURL(r *http.Request) RequestURL {
	return RequestURL{Scheme: "https", Host: r.Host, Secure: true}
}

// problemOf parses an oauth_problem body.
func problemOf(t testing.TB, rec *httptest.ResponseRecorder) string {
	t.Helper()
	v, err := url.ParseQuery(rec.Body.String())
	if err != nil {
		t.Fatalf("error body %q is not form-encoded: %v", rec.Body.String(), err)
	}
	return v.Get("oauth_problem")
}

// wantProblem checks status, oauth_problem and, for 401, the challenge.
func wantProblem(t testing.TB, rec *httptest.ResponseRecorder, status int, problem string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %q", rec.Code, status, rec.Body.String())
	}
	if got := problemOf(t, rec); got != problem {
		t.Fatalf("oauth_problem = %q, want %q; body %q", got, problem, rec.Body.String())
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Fatalf("Content-Type = %q", ct)
	}
	wa := rec.Header().Get("WWW-Authenticate")
	if status == http.StatusUnauthorized && wa != `OAuth realm="Test"` {
		t.Fatalf("WWW-Authenticate = %q, want OAuth realm=\"Test\"", wa)
	}
	if status != http.StatusUnauthorized && wa != "" {
		t.Fatalf("unexpected WWW-Authenticate %q on %d", wa, status)
	}
}

// verifyErr writes Verify's error like the glue would.
func (e *env) verifyRec(r *http.Request, u RequestURL) (*provider.Identity, *httptest.ResponseRecorder) {
	id, perr := e.srv.Verify(r, u)
	rec := httptest.NewRecorder()
	if perr != nil {
		e.srv.WriteError(rec, perr)
	}
	return id, rec
}

// oneLine joins a folded RFC header example into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func bigOne() *big.Int { return big.NewInt(1) }
