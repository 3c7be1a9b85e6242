package caddyoauth

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2/clientcredentials"
)

const (
	dcrAuth  = "http://127.0.0.1:9600"
	dcrAPI   = "http://127.0.0.1:9601"
	dcrToken = "e2e-initial-access-token-0123456789"
)

// TestDynamicClientRegistrationEndToEnd registers a client over HTTP
// (RFC 7591), gets a token for it with golang.org/x/oauth2, reaches a
// require_oauth route with it, sees it in the admin API, and deletes it
// with its registration access token (RFC 7592), which revokes its token.
func TestDynamicClientRegistrationEndToEnd(t *testing.T) {
	be := newBackend(t)
	startCaddy(t, e2eGlobal(`oauth {
		server {
			issuer `+dcrAuth+`
			storage badger `+t.TempDir()+`
			scopes read write
			grants authorization_code refresh_token client_credentials
			registration {
				initial_access_token `+dcrToken+`
			}
		}
	}`)+`
`+dcrAuth+` {
	oauth_server
}
`+dcrAPI+` {
	require_oauth read
	reverse_proxy `+be.addr()+`
}
`)
	httpc := noRedirect()

	resp, body := do(t, httpc, newRequest(t, http.MethodGet, dcrAuth+"/.well-known/oauth-authorization-server", nil))
	var md struct {
		RegistrationEndpoint string `json:"registration_endpoint"`
	}
	if err := json.Unmarshal([]byte(body), &md); err != nil || md.RegistrationEndpoint != dcrAuth+"/oauth2/register" {
		t.Fatalf("metadata %d %s: want registration_endpoint", resp.StatusCode, body)
	}

	register := func(token string) (*http.Response, map[string]any) {
		req := newRequest(t, http.MethodPost, md.RegistrationEndpoint, strings.NewReader(`{"client_name":"Registered service","grant_types":["client_credentials"],"scope":"read"}`))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, body := do(t, httpc, req)
		var out map[string]any
		json.Unmarshal([]byte(body), &out)
		return resp, out
	}
	if resp, out := register(""); resp.StatusCode != http.StatusUnauthorized || out["error"] != "invalid_token" {
		t.Fatalf("registration without the initial access token: %d %v", resp.StatusCode, out)
	}
	resp, reg := register(dcrToken)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("registration: %d %v (Cache-Control %q)", resp.StatusCode, reg, resp.Header.Get("Cache-Control"))
	}
	id, secret := reg["client_id"].(string), reg["client_secret"].(string)

	cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: dcrAuth + "/oauth2/token", Scopes: []string{"read"}}
	tok, err := cc.Token(t.Context())
	if err != nil {
		t.Fatalf("client_credentials for the registered client: %v", err)
	}
	api := func() int {
		req := newRequest(t, http.MethodGet, dcrAPI+"/x", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, _ := do(t, httpc, req)
		return resp.StatusCode
	}
	if s := api(); s != http.StatusOK || be.last(t).Header.Get("X-OAuth-Client-Id") != id {
		t.Fatalf("protected route with the registered client's token: %d", s)
	}

	// An ordinary client: the admin API lists it.
	aresp, err := http.Get("http://localhost:2999/oauth/default/clients")
	if err != nil {
		t.Fatal(err)
	}
	list, _ := io.ReadAll(aresp.Body)
	aresp.Body.Close()
	if !strings.Contains(string(list), `"`+id+`"`) {
		t.Fatalf("admin API clients %s: the registered client is missing", list)
	}

	// RFC 7592: read, then delete with the registration access token.
	manage := func(method string) *http.Response {
		req := newRequest(t, method, reg["registration_client_uri"].(string), nil)
		req.Header.Set("Authorization", "Bearer "+reg["registration_access_token"].(string))
		resp, _ := do(t, httpc, req)
		return resp
	}
	if r := manage(http.MethodGet); r.StatusCode != http.StatusOK {
		t.Fatalf("read the registration: %d", r.StatusCode)
	}
	if r := manage(http.MethodDelete); r.StatusCode != http.StatusNoContent {
		t.Fatalf("delete the registration: %d", r.StatusCode)
	}
	if s := api(); s != http.StatusUnauthorized {
		t.Errorf("token of a deleted registration: %d, want 401", s)
	}
	if r := manage(http.MethodGet); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("read after delete: %d, want 401", r.StatusCode)
	}
}
