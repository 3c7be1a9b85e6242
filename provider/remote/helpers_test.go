package remote

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/oauth2"
	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/badger"
)

// ourIssuer is our own OAuth 2 engine served over real HTTP on loopback,
// as a remote issuer to the gateway under test; it can be stopped and
// started again on the same address.
type ourIssuer struct {
	t      testing.TB
	addr   string
	url    string
	srv    *oauth2.Server
	http   *http.Server
	ln     net.Listener
	served atomic.Int64 // introspection requests
}

func newOurIssuer(t testing.TB, format string) *ourIssuer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	oi := &ourIssuer{t: t, addr: ln.Addr().String(), ln: ln}
	oi.url = "http://" + oi.addr
	db, err := badger.Open(badger.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clients := provider.NewClients(db,
		&store.Client{ID: "svc", Name: "Service", SecretHash: provider.HashToken("svc-secret"), Grants: []string{oauth2.GrantClientCredentials}},
		&store.Client{ID: "gateway", Name: "Gateway", SecretHash: provider.HashToken("gw-secret"), Introspect: true, Grants: []string{oauth2.GrantClientCredentials}},
	)
	oi.srv, err = oauth2.New(oauth2.Config{Issuer: oi.url, TokenFormat: format, Scopes: []string{"read", "write"}}, db, clients)
	if err != nil {
		t.Fatal(err)
	}
	oi.start()
	t.Cleanup(oi.stop)
	return oi
}

func (oi *ourIssuer) start() {
	mux := http.NewServeMux()
	for _, e := range oi.srv.Endpoints() {
		if e.Serve != nil {
			serve := e.Serve
			if e.Path == oauth2.PathIntrospect {
				serve = func(w http.ResponseWriter, r *http.Request) { oi.served.Add(1); e.Serve(w, r) }
			}
			mux.HandleFunc(e.Path, serve)
		}
	}
	if oi.ln == nil {
		var err error
		for range 50 { // the port was just freed; take it back
			if oi.ln, err = net.Listen("tcp", oi.addr); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			oi.t.Fatal(err)
		}
	}
	oi.http = &http.Server{Handler: mux}
	go oi.http.Serve(oi.ln)
}

func (oi *ourIssuer) stop() {
	if oi.http != nil {
		oi.http.Close()
		oi.http, oi.ln = nil, nil
	}
}

// token gets a client_credentials access token for svc.
func (oi *ourIssuer) token(scope string) string {
	oi.t.Helper()
	resp, err := http.PostForm(oi.url+oauth2.PathToken, url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"svc"}, "client_secret": {"svc-secret"}, "scope": {scope},
	})
	if err != nil {
		oi.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tj struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tj); err != nil || tj.AccessToken == "" {
		oi.t.Fatalf("no token: %v", err)
	}
	return tj.AccessToken
}

func (oi *ourIssuer) revoke(tok string) {
	oi.t.Helper()
	resp, err := http.PostForm(oi.url+oauth2.PathRevoke, url.Values{"token": {tok}, "client_id": {"svc"}, "client_secret": {"svc-secret"}})
	if err != nil {
		oi.t.Fatal(err)
	}
	resp.Body.Close()
}

// startGateway returns a started Issuer for url, stopped at cleanup.
func startGateway(t *testing.T, cfg Config) *Issuer {
	t.Helper()
	is, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	is.Start()
	t.Cleanup(is.Stop)
	return is
}

// waitReady waits for the background fetch of metadata (and keys).
func waitReady(t testing.TB, is *Issuer, keys bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !is.Ready() || (keys && is.keys.Load() == nil) {
		if time.Now().After(deadline) {
			t.Fatal("the issuer's metadata never arrived")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func verify(is *Issuer, tok string) (*provider.Identity, *provider.Error) {
	return is.VerifyToken(context.Background(), tok)
}

func wantCode(t *testing.T, what string, e *provider.Error, code string) {
	t.Helper()
	if e == nil || e.Code != code {
		t.Fatalf("%s: %v, want %s", what, e, code)
	}
}
