package dcr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/caddy-oauth/caddy-oauth/provider"
	"github.com/caddy-oauth/caddy-oauth/provider/registry"
	"github.com/caddy-oauth/caddy-oauth/store"
	"github.com/caddy-oauth/caddy-oauth/store/badger"
)

const initialToken = "initial-access-token-for-tests"

type env struct {
	t       testing.TB
	srv     *Server
	db      *badger.DB
	clients *provider.Clients
	events  []provider.Event
}

func newEnv(t testing.TB, open bool) *env {
	t.Helper()
	db, err := badger.Open(badger.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sealer, err := provider.NewSealer(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db}
	audit := provider.Auditor(func(ev provider.Event) { e.events = append(e.events, ev) })
	static := &store.Client{ID: "static-app", Name: "Static", SecretHash: provider.HashToken("s"), RedirectURIs: []string{"https://static.example/cb"}}
	m := registry.NewManager(db, sealer, db, registry.Policy{
		Scopes:             []string{"read", "write"},
		KnownGrants:        []string{"authorization_code", "refresh_token", "client_credentials", "password"},
		EnabledGrants:      []string{"authorization_code", "refresh_token", "client_credentials"},
		ConfidentialGrants: []string{"client_credentials"},
		IDTokenAlgorithms:  []string{"RS256", "ES256"},
	}, audit)
	m.AddStaticClientRecord(static)
	e.clients = provider.NewClients(db, static)
	cfg := Config{Issuer: "https://auth.example.com", Prefix: "/auth", Key: bytes.Repeat([]byte("d"), 32),
		Manager: m, Clients: e.clients, Audit: audit}
	if open {
		cfg.Open = true
	} else {
		cfg.InitialAccessToken = initialToken
	}
	if e.srv, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	return e
}

// do sends a request to the endpoint and decodes a JSON answer.
func (e *env) do(method, query, token, body string) (*httptest.ResponseRecorder, map[string]any) {
	e.t.Helper()
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, Path+query, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	} else {
		r = httptest.NewRequest(method, Path+query, nil)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	e.srv.Endpoints()[0].Serve(w, r)
	var out map[string]any
	if w.Body.Len() > 0 {
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			e.t.Fatalf("%s %s: %d, not JSON: %q", method, query, w.Code, w.Body)
		}
	}
	if w.Code >= 500 {
		e.t.Fatalf("%s %s: %d %v", method, query, w.Code, out)
	}
	return w, out
}

func (e *env) register(body string) map[string]any {
	e.t.Helper()
	w, out := e.do(http.MethodPost, "", initialToken, body)
	if w.Code != http.StatusCreated {
		e.t.Fatalf("register: %d %v", w.Code, out)
	}
	return out
}

func TestRegisterConfidentialClient(t *testing.T) {
	e := newEnv(t, false)
	out := e.register(`{"redirect_uris":["https://app.example/cb"],"client_name":"My app","scope":"read","grant_types":["authorization_code","refresh_token"],"logo_uri":"https://app.example/logo.png","trusted":true,"introspect":true}`)
	id, _ := out["client_id"].(string)
	secret, _ := out["client_secret"].(string)
	if id == "" || secret == "" || out["client_secret_expires_at"] != float64(0) || out["client_id_issued_at"] == nil {
		t.Fatalf("response %v: want client_id, client_secret, client_secret_expires_at 0, client_id_issued_at", out)
	}
	if out["token_endpoint_auth_method"] != authBasic || out["client_name"] != "My app" || out["scope"] != "read" {
		t.Errorf("response metadata %v", out)
	}
	if rt, _ := out["response_types"].([]any); len(rt) != 1 || rt[0] != "code" {
		t.Errorf("response_types %v, want [code]", out["response_types"])
	}
	if _, ok := out["logo_uri"]; ok {
		t.Error("an ignored field was echoed back")
	}
	if out["registration_client_uri"] != "https://auth.example.com/auth/oauth2/register?client_id="+id || out["registration_access_token"] == "" {
		t.Errorf("registration_client_uri / token: %v", out)
	}
	// An ordinary client now: its secret authenticates, its metadata is
	// what was asked for, and it is neither trusted nor an introspector.
	c, err := e.clients.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if string(c.SecretHash) != string(provider.HashToken(secret)) || c.Public || c.Trusted || c.Introspect ||
		len(c.RedirectURIs) != 1 || c.RedirectURIs[0] != "https://app.example/cb" {
		t.Errorf("stored client %+v", c)
	}
	if len(e.events) == 0 || e.events[len(e.events)-1].Name != "client_registered" {
		t.Errorf("events %v", e.events)
	}
}

func TestRegisterPublicClientAndDefaults(t *testing.T) {
	e := newEnv(t, true) // open registration: no initial access token
	w, out := e.do(http.MethodPost, "", "", `{"redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none"}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("open registration: %d %v", w.Code, out)
	}
	if _, ok := out["client_secret"]; ok || out["token_endpoint_auth_method"] != authNone {
		t.Errorf("public client %v: want no secret, auth none", out)
	}
	if g, _ := out["grant_types"].([]any); len(g) != 1 || g[0] != "authorization_code" {
		t.Errorf("default grant_types %v", out["grant_types"])
	}
	if !strings.HasPrefix(out["client_name"].(string), "Unnamed application") {
		t.Errorf("default name %v", out["client_name"])
	}
	if _, ok := out["id_token_signed_response_alg"]; ok {
		t.Errorf("id_token_signed_response_alg %v without asking for one", out["id_token_signed_response_alg"])
	}
	w, out = e.do(http.MethodPost, "", "", `{"redirect_uris":["https://a.example/cb"],"id_token_signed_response_alg":"ES256"}`)
	if w.Code != http.StatusCreated || out["id_token_signed_response_alg"] != "ES256" {
		t.Fatalf("ES256 ID tokens: %d %v", w.Code, out)
	}
}

func TestRegistrationRefusals(t *testing.T) {
	e := newEnv(t, false)
	for _, tc := range []struct {
		name, token, body string
		status            int
		code              string
	}{
		{"no initial access token", "", `{"redirect_uris":["https://a.example/cb"]}`, 401, "invalid_token"},
		{"wrong initial access token", initialToken + "x", `{"redirect_uris":["https://a.example/cb"]}`, 401, "invalid_token"},
		{"not JSON", initialToken, `redirect_uris=x`, 400, "invalid_client_metadata"},
		{"wrong type", initialToken, `{"redirect_uris":"https://a.example/cb"}`, 400, "invalid_client_metadata"},
		{"no redirect URI for the code grant", initialToken, `{}`, 400, "invalid_redirect_uri"},
		{"http redirect URI", initialToken, `{"redirect_uris":["http://a.example/cb"]}`, 400, "invalid_redirect_uri"},
		{"fragment in the redirect URI", initialToken, `{"redirect_uris":["https://a.example/cb#x"]}`, 400, "invalid_redirect_uri"},
		{"implicit response type", initialToken, `{"redirect_uris":["https://a.example/cb"],"response_types":["token"]}`, 400, "invalid_client_metadata"},
		{"code grant without code response", initialToken, `{"redirect_uris":["https://a.example/cb"],"grant_types":["authorization_code"],"response_types":[]}`, 201, ""},
		{"code response without code grant", initialToken, `{"grant_types":["client_credentials"],"response_types":["code"]}`, 400, "invalid_client_metadata"},
		{"unknown auth method", initialToken, `{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"private_key_jwt"}`, 400, "invalid_client_metadata"},
		{"scope beyond the server's", initialToken, `{"redirect_uris":["https://a.example/cb"],"scope":"admin"}`, 400, "invalid_client_metadata"},
		{"grant the server does not enable", initialToken, `{"grant_types":["password"]}`, 400, "invalid_client_metadata"},
		{"http post-logout redirect URI", initialToken, `{"redirect_uris":["https://a.example/cb"],"post_logout_redirect_uris":["http://a.example/bye"]}`, 400, "invalid_client_metadata"},
		{"fragment in a post-logout redirect URI", initialToken, `{"redirect_uris":["https://a.example/cb"],"post_logout_redirect_uris":["https://a.example/bye#x"]}`, 400, "invalid_client_metadata"},
		{"relative post-logout redirect URI", initialToken, `{"redirect_uris":["https://a.example/cb"],"post_logout_redirect_uris":["/bye"]}`, 400, "invalid_client_metadata"},
		{"public client with client_credentials", initialToken, `{"grant_types":["client_credentials"],"token_endpoint_auth_method":"none"}`, 400, "invalid_client_metadata"},
		{"ID token algorithm not served", initialToken, `{"redirect_uris":["https://a.example/cb"],"id_token_signed_response_alg":"EdDSA"}`, 400, "invalid_client_metadata"},
		{"ID token algorithm none", initialToken, `{"redirect_uris":["https://a.example/cb"],"id_token_signed_response_alg":"none"}`, 400, "invalid_client_metadata"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, out := e.do(http.MethodPost, "", tc.token, tc.body)
			if w.Code != tc.status || (tc.code != "" && out["error"] != tc.code) {
				t.Fatalf("%d %v, want %d %s", w.Code, out, tc.status, tc.code)
			}
			if tc.status == 401 && !strings.Contains(w.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("401 without a Bearer challenge: %q", w.Header().Get("WWW-Authenticate"))
			}
		})
	}
	// The code grant with an explicit empty response_types gets code
	// (the defaults fill it) — covered above as 201.
}

func TestManageRegistration(t *testing.T) {
	e := newEnv(t, false)
	out := e.register(`{"redirect_uris":["https://app.example/cb"],"client_name":"App","scope":"read write"}`)
	id, rat := out["client_id"].(string), out["registration_access_token"].(string)
	secret := out["client_secret"].(string)
	q := "?client_id=" + id

	w, got := e.do(http.MethodGet, q, rat, "")
	if w.Code != http.StatusOK || got["client_id"] != id || got["scope"] != "read write" {
		t.Fatalf("read: %d %v", w.Code, got)
	}
	if _, ok := got["client_secret"]; ok {
		t.Error("read shows the secret again")
	}
	// Every failure to prove the token is the same 401.
	other := e.register(`{"redirect_uris":["https://other.example/cb"]}`)
	for name, tc := range map[string][2]string{
		"no token":                     {q, ""},
		"another client's token":       {q, other["registration_access_token"].(string)},
		"unknown client":               {"?client_id=nope", rat},
		"static client":                {"?client_id=static-app", rat},
		"no client_id":                 {"", rat},
		"the initial token is not one": {q, initialToken},
	} {
		if w, _ := e.do(http.MethodGet, tc[0], tc[1], ""); w.Code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, w.Code)
		}
	}

	// Update: fields left out are reset; the id must match; a secret, if
	// sent, must be the current one.
	if w, got := e.do(http.MethodPut, q, rat, `{"client_id":"`+id+`","redirect_uris":["https://app.example/new"],"client_name":"App 2"}`); w.Code != http.StatusOK ||
		got["client_name"] != "App 2" || got["scope"] != nil {
		t.Fatalf("update: %d %v", w.Code, got)
	}
	c, _ := e.clients.Get(t.Context(), id)
	if len(c.RedirectURIs) != 1 || c.RedirectURIs[0] != "https://app.example/new" || len(c.Scopes) != 0 {
		t.Errorf("stored after update: %+v", c)
	}
	for name, body := range map[string]string{
		"another client_id": `{"client_id":"` + other["client_id"].(string) + `","redirect_uris":["https://app.example/new"]}`,
		"wrong secret":      `{"client_id":"` + id + `","client_secret":"guess","redirect_uris":["https://app.example/new"]}`,
		"to public":         `{"client_id":"` + id + `","token_endpoint_auth_method":"none","redirect_uris":["https://app.example/new"]}`,
	} {
		if w, got := e.do(http.MethodPut, q, rat, body); w.Code != http.StatusBadRequest {
			t.Errorf("update with %s: %d %v, want 400", name, w.Code, got)
		}
	}
	if w, got := e.do(http.MethodPut, q, rat, `{"client_id":"`+id+`","client_secret":"`+secret+`","redirect_uris":["https://app.example/new"]}`); w.Code != http.StatusOK {
		t.Errorf("update with the current secret: %d %v", w.Code, got)
	}

	// Delete: 204, then the client and its registration token are gone.
	if w, _ := e.do(http.MethodDelete, q, rat, ""); w.Code != http.StatusNoContent {
		t.Fatalf("delete: %d", w.Code)
	}
	if _, err := e.clients.Get(t.Context(), id); err == nil {
		t.Error("deleted client still found")
	}
	if w, _ := e.do(http.MethodGet, q, rat, ""); w.Code != http.StatusUnauthorized {
		t.Errorf("read after delete: %d, want 401", w.Code)
	}
}

func TestRegistrationKeepsPostLogoutRedirectURIs(t *testing.T) {
	e := newEnv(t, false)
	out := e.register(`{"redirect_uris":["https://rp.example/cb"],"post_logout_redirect_uris":["https://rp.example/bye","http://127.0.0.1:9/bye"]}`)
	id, rat := out["client_id"].(string), out["registration_access_token"].(string)
	if got := fmt.Sprint(out["post_logout_redirect_uris"]); got != "[https://rp.example/bye http://127.0.0.1:9/bye]" {
		t.Fatalf("registration echoes post_logout_redirect_uris %s", got)
	}
	c, err := e.clients.Get(t.Context(), id)
	if err != nil || !slices.Equal(c.PostLogoutRedirectURIs, []string{"https://rp.example/bye", "http://127.0.0.1:9/bye"}) {
		t.Fatalf("stored %+v %v", c, err)
	}
	// RFC 7592 §2.2: an update replaces them, and leaving them out clears them.
	if w, got := e.do(http.MethodPut, "?client_id="+id, rat, `{"client_id":"`+id+`","redirect_uris":["https://rp.example/cb"],"post_logout_redirect_uris":["https://rp.example/new"]}`); w.Code != http.StatusOK {
		t.Fatalf("update: %d %v", w.Code, got)
	}
	if c, _ = e.clients.Get(t.Context(), id); !slices.Equal(c.PostLogoutRedirectURIs, []string{"https://rp.example/new"}) {
		t.Fatalf("after update %q", c.PostLogoutRedirectURIs)
	}
	if w, got := e.do(http.MethodPut, "?client_id="+id, rat, `{"client_id":"`+id+`","redirect_uris":["https://rp.example/cb"]}`); w.Code != http.StatusOK {
		t.Fatalf("update: %d %v", w.Code, got)
	}
	if c, _ = e.clients.Get(t.Context(), id); len(c.PostLogoutRedirectURIs) != 0 {
		t.Fatalf("an update without them kept %q", c.PostLogoutRedirectURIs)
	}
}

func TestNewRefusesAmbiguousConfig(t *testing.T) {
	e := newEnv(t, true)
	base := e.srv.cfg
	for name, mutate := range map[string]func(*Config){
		"open and a token": func(c *Config) { c.InitialAccessToken = "x" },
		"neither":          func(c *Config) { c.Open = false },
		"short key":        func(c *Config) { c.Key = []byte("short") },
		"no manager":       func(c *Config) { c.Manager = nil },
	} {
		c := base
		mutate(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

// FuzzRegister: no body, however malformed, makes the endpoint answer 5xx
// or panic.
func FuzzRegister(f *testing.F) {
	for _, s := range []string{`{}`, `{"redirect_uris":["https://a.example/cb"]}`, `{"grant_types":[1]}`, `[]`, `null`, `{"scope":"read\u0000"}`,
		`{"redirect_uris":["https://a.example/cb"],"response_types":["code","code"],"client_name":"\u202e"}`} {
		f.Add(s)
	}
	e := newEnv(f, true) // one store for all inputs: registrations only add clients
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		e.srv.Endpoints()[0].Serve(w, r)
		if w.Code >= 500 {
			t.Fatalf("%q: %d %s", body, w.Code, w.Body)
		}
	})
}
