package caddyoauth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-oauth/caddy-oauth/provider/oauth1"
	"github.com/caddy-oauth/caddy-oauth/provider/registry"
	"github.com/caddy-oauth/caddy-oauth/store"
)

// The admin API and CLI tests use the shared test Caddy (admin on
// localhost:2999) and listen on 127.0.0.1:9500-9519.
const (
	adminURL     = "http://localhost:2999"
	adminAuth    = "http://127.0.0.1:9500"
	adminGateway = "http://127.0.0.1:9501"
	staticUser   = "carol"
)

// adminCaddyfile: an authorization server with a static client and user,
// and a gateway requiring "read" in front of the recording backend.
func adminCaddyfile(t *testing.T, auth, api, dir, backendAddr, extra string) string {
	return e2eGlobal(`oauth {
		server {
			issuer `+auth+`
			storage badger `+dir+`
			scopes read write profile
			default_scopes read
			grants authorization_code refresh_token client_credentials password
			user `+staticUser+` `+testPasswordHash(t)+`
			client static-app {
				secret static-secret
				scopes read
				grants client_credentials
			}
			`+extra+`
		}
	}`) + `
` + auth + ` {
	oauth_server
}

` + api + ` {
	require_oauth read
	reverse_proxy ` + backendAddr + `
}
`
}

// fastPasswordHashing lowers the bcrypt cost of passwords set during the
// test: the default (14) takes a second per hash.
func fastPasswordHashing(t *testing.T) {
	old := passwordCost
	passwordCost = bcrypt.MinCost
	t.Cleanup(func() { passwordCost = old })
}

// adminCall sends a request to the admin endpoint and returns the status,
// the headers and the body.
func adminCall(t *testing.T, method, path, body string) (int, http.Header, string) {
	t.Helper()
	var req *http.Request
	if body != "" {
		req = newRequest(t, method, adminURL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	} else {
		req = newRequest(t, method, adminURL+path, nil)
	}
	resp, b := do(t, noRedirect(), req)
	return resp.StatusCode, resp.Header, b
}

// adminJSON is adminCall that wants status and decodes the body into out.
func adminJSON(t *testing.T, method, path, body string, status int, out any) string {
	t.Helper()
	got, _, b := adminCall(t, method, path, body)
	if got != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, path, got, status, b)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(b), out); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, b, err)
		}
	}
	return b
}

// apiErrorOf checks that an error answer is {"error": "..."} JSON and
// returns the message.
func apiErrorOf(t *testing.T, h http.Header, body string) string {
	t.Helper()
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error Content-Type %q, want application/json", ct)
	}
	var e struct {
		Error *string `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == nil || *e.Error == "" {
		t.Fatalf("error body %q is not {\"error\": \"...\"}", body)
	}
	return *e.Error
}

// tokenAnswer is the token endpoint's successful answer.
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// count is how many tokens the answer issued.
func (a tokenAnswer) count() int {
	if a.RefreshToken != "" {
		return 2
	}
	return 1
}

// tokenRequest posts form to the token endpoint of auth as the client and
// returns the status and answer.
func tokenRequest(t *testing.T, auth, clientID, secret string, form url.Values) (int, tokenAnswer, string) {
	t.Helper()
	req := postForm(t, auth+"/oauth2/token", form)
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	resp, body := do(t, noRedirect(), req)
	var a tokenAnswer
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &a); err != nil || a.AccessToken == "" {
			t.Fatalf("token answer %q: %v", body, err)
		}
	}
	return resp.StatusCode, a, body
}

// clientToken runs the client_credentials grant and wants a token.
func clientToken(t *testing.T, auth, clientID, secret string, scope ...string) tokenAnswer {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if len(scope) > 0 {
		form.Set("scope", strings.Join(scope, " "))
	}
	status, a, body := tokenRequest(t, auth, clientID, secret, form)
	if status != http.StatusOK {
		t.Fatalf("client_credentials for %s: %d %s", clientID, status, body)
	}
	return a
}

// passwordToken runs the password grant; ok reports a 200.
func passwordToken(t *testing.T, auth, clientID, secret, user, password string) (tokenAnswer, bool) {
	t.Helper()
	status, a, body := tokenRequest(t, auth, clientID, secret, url.Values{
		"grant_type": {"password"}, "username": {user}, "password": {password},
	})
	if status != http.StatusOK && status != http.StatusBadRequest {
		t.Fatalf("password grant: %d %s", status, body)
	}
	return a, status == http.StatusOK
}

// apiStatus calls the protected API with an access token.
func apiStatus(t *testing.T, api, token string) int {
	t.Helper()
	req := newRequest(t, http.MethodGet, api+"/data", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, _ := do(t, noRedirect(), req)
	return resp.StatusCode
}

// requestToken runs an OAuth 1 temporary credentials request signed with
// the client's secret and returns the status.
func requestToken(t *testing.T, auth, clientID, secret string) int {
	t.Helper()
	req := signedRequest(t, http.MethodPost, auth+"/oauth1/request_token", "", oauth1.ClientCreds{
		ConsumerKey: clientID, ConsumerSecret: secret, SignatureMethod: oauth1.HMACSHA1, Callback: "oob",
	})
	resp, _ := do(t, noRedirect(), req)
	return resp.StatusCode
}

func findClient(list []registry.ClientView, id string) *registry.ClientView {
	for i := range list {
		if list[i].ClientID == id {
			return &list[i]
		}
	}
	return nil
}

func TestAdminAPI(t *testing.T) {
	be := newBackend(t)
	cfg := adminCaddyfile(t, adminAuth, adminGateway, t.TempDir(), be.addr(), "")
	startCaddy(t, cfg)
	fastPasswordHashing(t)
	const base = "/oauth/default"

	var svcSecret string
	t.Run("registering a client answers its secret once and never again", func(t *testing.T) {
		var c registry.ClientView
		raw := adminJSON(t, http.MethodPost, base+"/clients",
			`{"client_id":"svc","name":"Service","scopes":["read"],"grants":["client_credentials"]}`, http.StatusCreated, &c)
		if c.ClientID != "svc" || c.Name != "Service" || c.Static || !c.HasSecret || c.CreatedAt == nil {
			t.Errorf("created client %s", raw)
		}
		if len(c.ClientSecret) != 43 { // 256 bits, base64url
			t.Fatalf("client_secret %q: want 43 characters of a 256-bit value", c.ClientSecret)
		}
		svcSecret = c.ClientSecret
		for _, path := range []string{base + "/clients/svc", base + "/clients"} {
			_, _, body := adminCall(t, http.MethodGet, path, "")
			for _, leak := range []string{svcSecret, "client_secret", "secret_hash", "sealed_secret"} {
				if strings.Contains(body, leak) {
					t.Errorf("GET %s shows %q: %s", path, leak, body)
				}
			}
		}
	})
	if svcSecret == "" {
		t.FailNow()
	}

	t.Run("a registered client gets tokens that the gateway accepts", func(t *testing.T) {
		tok := clientToken(t, adminAuth, "svc", svcSecret)
		if s := apiStatus(t, adminGateway, tok.AccessToken); s != http.StatusOK {
			t.Fatalf("API status %d", s)
		}
		if got := be.last(t).Header.Get("X-OAuth-Client-Id"); got != "svc" {
			t.Errorf("backend saw client %q", got)
		}
		if status, _, _ := tokenRequest(t, adminAuth, "svc", svcSecret+"x", url.Values{"grant_type": {"client_credentials"}}); status != http.StatusUnauthorized {
			t.Errorf("a wrong secret: status %d, want 401", status)
		}
	})

	t.Run("a registered client's secret signs OAuth 1 requests", func(t *testing.T) {
		if s := requestToken(t, adminAuth, "svc", svcSecret); s != http.StatusOK {
			t.Errorf("request_token signed with the secret: %d", s)
		}
		if s := requestToken(t, adminAuth, "svc", "not-the-secret"); s != http.StatusUnauthorized {
			t.Errorf("request_token signed with another secret: %d, want 401", s)
		}
	})

	var generated string
	t.Run("a client without client_id gets a generated one, a public client no secret", func(t *testing.T) {
		var c registry.ClientView
		raw := adminJSON(t, http.MethodPost, base+"/clients",
			`{"name":"Native app","public":true,"redirect_uris":["http://127.0.0.1/cb","http://127.0.0.1/cb"]}`, http.StatusCreated, &c)
		if len(c.ClientID) != generatedIDSize || c.ClientSecret != "" || c.HasSecret || !c.Public {
			t.Errorf("public client %s", raw)
		}
		if !slices.Equal(c.RedirectURIs, []string{"http://127.0.0.1/cb"}) {
			t.Errorf("redirect_uris %v, want the one URI once", c.RedirectURIs)
		}
		generated = c.ClientID
	})

	t.Run("the list shows static and registered clients without secrets", func(t *testing.T) {
		var list []registry.ClientView
		raw := adminJSON(t, http.MethodGet, base+"/clients", "", http.StatusOK, &list)
		st, svc, gen := findClient(list, "static-app"), findClient(list, "svc"), findClient(list, generated)
		if st == nil || svc == nil || gen == nil || len(list) != 3 {
			t.Fatalf("list %s", raw)
		}
		if !st.Static || !st.HasSecret || svc.Static || gen.Static {
			t.Errorf("static flags wrong: %s", raw)
		}
		if strings.Contains(raw, "client_secret") || strings.Contains(raw, svcSecret) {
			t.Errorf("list shows a secret: %s", raw)
		}
	})

	t.Run("patching changes only the fields sent, and the server uses the change", func(t *testing.T) {
		if status, _, _ := tokenRequest(t, adminAuth, "svc", svcSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {"write"}}); status != http.StatusBadRequest {
			t.Fatalf("scope write before the patch: status %d, want 400", status)
		}
		var c registry.ClientView
		adminJSON(t, http.MethodPatch, base+"/clients/svc", `{"name":"Service v2","scopes":["read","write"]}`, http.StatusOK, &c)
		if c.Name != "Service v2" || !slices.Equal(c.Scopes, []string{"read", "write"}) || !slices.Equal(c.Grants, []string{"client_credentials"}) || c.ClientSecret != "" {
			t.Errorf("patched client %+v", c)
		}
		var again registry.ClientView
		adminJSON(t, http.MethodGet, base+"/clients/svc", "", http.StatusOK, &again)
		if again.Name != "Service v2" || !slices.Equal(again.Scopes, c.Scopes) {
			t.Errorf("GET after PATCH %+v", again)
		}
		if tok := clientToken(t, adminAuth, "svc", svcSecret, "write"); tok.Scope != "write" {
			t.Errorf("scope after the patch %q", tok.Scope)
		}
	})

	t.Run("post-logout redirect URIs are set at creation and by a patch", func(t *testing.T) {
		var c registry.ClientView
		raw := adminJSON(t, http.MethodPost, base+"/clients",
			`{"name":"RP","redirect_uris":["https://rp.example/cb"],"post_logout_redirect_uris":["https://rp.example/bye"]}`, http.StatusCreated, &c)
		if !slices.Equal(c.PostLogoutRedirectURIs, []string{"https://rp.example/bye"}) {
			t.Fatalf("created %s", raw)
		}
		adminJSON(t, http.MethodPatch, base+"/clients/"+c.ClientID, `{"post_logout_redirect_uris":["https://rp.example/a","https://rp.example/b"]}`, http.StatusOK, &c)
		var again registry.ClientView
		raw = adminJSON(t, http.MethodGet, base+"/clients/"+c.ClientID, "", http.StatusOK, &again)
		if !slices.Equal(again.PostLogoutRedirectURIs, []string{"https://rp.example/a", "https://rp.example/b"}) {
			t.Fatalf("after the patch %s", raw)
		}
		adminJSON(t, http.MethodDelete, base+"/clients/"+c.ClientID, "", http.StatusOK, nil)
	})

	t.Run("static clients cannot be changed or deleted", func(t *testing.T) {
		for _, method := range []string{http.MethodDelete, http.MethodPatch} {
			status, h, body := adminCall(t, method, base+"/clients/static-app", `{"name":"x"}`)
			if status != http.StatusConflict {
				t.Errorf("%s static-app: %d %s", method, status, body)
				continue
			}
			if msg := apiErrorOf(t, h, body); msg != "client static-app is defined in the Caddyfile/config and cannot be changed through the API" {
				t.Errorf("%s static-app: error %q", method, msg)
			}
		}
		var c registry.ClientView
		adminJSON(t, http.MethodGet, base+"/clients/static-app", "", http.StatusOK, &c)
		if !c.Static || c.Name != "" {
			t.Errorf("static-app after the refusals: %+v", c)
		}
		clientToken(t, adminAuth, "static-app", "static-secret")
	})

	t.Run("rotating a secret: the new one works at once, the old one nowhere, issued tokens stay", func(t *testing.T) {
		before := clientToken(t, adminAuth, "svc", svcSecret)
		if s := apiStatus(t, adminGateway, before.AccessToken); s != http.StatusOK {
			t.Fatalf("before the rotation: API status %d", s)
		}
		var c registry.ClientView
		raw := adminJSON(t, http.MethodPost, base+"/clients/svc/secret", "", http.StatusOK, &c)
		if c.ClientID != "svc" || len(c.ClientSecret) != 43 || c.ClientSecret == svcSecret || !c.HasSecret {
			t.Fatalf("rotated client %s", raw)
		}
		old := svcSecret
		svcSecret = c.ClientSecret
		if status, _, _ := tokenRequest(t, adminAuth, "svc", old, url.Values{"grant_type": {"client_credentials"}}); status != http.StatusUnauthorized {
			t.Errorf("the old secret at the token endpoint: status %d, want 401", status)
		}
		if s := requestToken(t, adminAuth, "svc", old); s != http.StatusUnauthorized {
			t.Errorf("an OAuth 1 request signed with the old secret: %d, want 401", s)
		}
		clientToken(t, adminAuth, "svc", svcSecret)
		if s := requestToken(t, adminAuth, "svc", svcSecret); s != http.StatusOK {
			t.Errorf("an OAuth 1 request signed with the new secret: %d", s)
		}
		if s := apiStatus(t, adminGateway, before.AccessToken); s != http.StatusOK {
			t.Errorf("a token issued before the rotation: API status %d, want 200", s)
		}
		_, _, body := adminCall(t, http.MethodGet, base+"/clients/svc", "")
		if strings.Contains(body, svcSecret) || strings.Contains(body, "client_secret") {
			t.Errorf("GET after the rotation shows the secret: %s", body)
		}
	})

	t.Run("rotating refuses static, public and unknown clients", func(t *testing.T) {
		for _, c := range []struct {
			path   string
			method string
			status int
			msg    string
		}{
			{base + "/clients/static-app/secret", http.MethodPost, http.StatusConflict, "client static-app is defined in the Caddyfile/config and cannot be changed through the API"},
			{base + "/clients/" + generated + "/secret", http.MethodPost, http.StatusBadRequest, "client " + generated + " is public and has no secret"},
			{base + "/clients/nobody/secret", http.MethodPost, http.StatusNotFound, "no client nobody"},
			{base + "/clients/svc/secret", http.MethodGet, http.StatusMethodNotAllowed, ""},
		} {
			status, h, body := adminCall(t, c.method, c.path, "")
			if status != c.status {
				t.Errorf("%s %s: %d %s, want %d", c.method, c.path, status, body, c.status)
				continue
			}
			if c.msg != "" {
				if msg := apiErrorOf(t, h, body); msg != c.msg {
					t.Errorf("%s %s: error %q, want %q", c.method, c.path, msg, c.msg)
				}
			}
		}
		clientToken(t, adminAuth, "static-app", "static-secret")
	})

	var (
		svc2Secret string
		svc2Tokens int // issued to svc2 and not yet revoked
	)
	t.Run("revoking a client's tokens counts them and the gateway refuses them at once", func(t *testing.T) {
		var c registry.ClientView
		adminJSON(t, http.MethodPost, base+"/clients", `{"client_id":"svc2","name":"Service 2","grants":["client_credentials"]}`, http.StatusCreated, &c)
		svc2Secret = c.ClientSecret
		a, b := clientToken(t, adminAuth, "svc2", svc2Secret), clientToken(t, adminAuth, "svc2", svc2Secret)
		for _, tok := range []string{a.AccessToken, b.AccessToken} {
			if s := apiStatus(t, adminGateway, tok); s != http.StatusOK { // also caches the verification
				t.Fatalf("before the revocation: API status %d", s)
			}
		}
		var res registry.RevokeResult
		adminJSON(t, http.MethodPost, base+"/revoke", `{"client_id":"svc2"}`, http.StatusOK, &res)
		if res.Revoked != a.count()+b.count() {
			t.Errorf("revoked %d, want %d", res.Revoked, a.count()+b.count())
		}
		for _, tok := range []string{a.AccessToken, b.AccessToken} {
			if s := apiStatus(t, adminGateway, tok); s != http.StatusUnauthorized {
				t.Errorf("after the revocation: API status %d, want 401", s)
			}
		}
		after := clientToken(t, adminAuth, "svc2", svc2Secret)
		svc2Tokens += after.count()
		if s := apiStatus(t, adminGateway, after.AccessToken); s != http.StatusOK {
			t.Errorf("a token issued after the revocation: API status %d", s)
		}
	})

	t.Run("deleting a client revokes its tokens first", func(t *testing.T) {
		var c registry.ClientView
		adminJSON(t, http.MethodPost, base+"/clients", `{"client_id":"svc3","name":"Service 3","grants":["client_credentials"]}`, http.StatusCreated, &c)
		tok := clientToken(t, adminAuth, "svc3", c.ClientSecret)
		if s := apiStatus(t, adminGateway, tok.AccessToken); s != http.StatusOK {
			t.Fatalf("before the deletion: API status %d", s)
		}
		var res registry.RevokeResult
		adminJSON(t, http.MethodDelete, base+"/clients/svc3", "", http.StatusOK, &res)
		if res.ClientID != "svc3" || res.Revoked != tok.count() {
			t.Errorf("delete answered %+v, want %d revoked", res, tok.count())
		}
		if s := apiStatus(t, adminGateway, tok.AccessToken); s != http.StatusUnauthorized {
			t.Errorf("after the deletion: API status %d, want 401", s)
		}
		if status, _, _ := tokenRequest(t, adminAuth, "svc3", c.ClientSecret, url.Values{"grant_type": {"client_credentials"}}); status != http.StatusUnauthorized {
			t.Errorf("token request of the deleted client: %d, want 401", status)
		}
		for _, method := range []string{http.MethodGet, http.MethodDelete} {
			if status, h, body := adminCall(t, method, base+"/clients/svc3", ""); status != http.StatusNotFound {
				t.Errorf("%s of the deleted client: %d", method, status)
			} else {
				apiErrorOf(t, h, body)
			}
		}
	})

	var (
		pwSecret   string
		daveTokens int // issued to dave and not yet revoked
	)
	t.Run("users are added, listed without hashes, and log in", func(t *testing.T) {
		var u registry.UserView
		adminJSON(t, http.MethodPost, base+"/users", `{"username":"dave","password":"first password"}`, http.StatusCreated, &u)
		if u.Username != "dave" || u.Static || u.CreatedAt == nil {
			t.Errorf("created user %+v", u)
		}
		for body, want := range map[string]int{
			`{"username":"dave","password":"other password"}`:           http.StatusConflict,
			`{"username":"` + staticUser + `","password":"a password"}`: http.StatusConflict,
		} {
			if status, h, b := adminCall(t, http.MethodPost, base+"/users", body); status != want {
				t.Errorf("POST users %s: %d, want %d", body, status, want)
			} else {
				apiErrorOf(t, h, b)
			}
		}
		var list []registry.UserView
		raw := adminJSON(t, http.MethodGet, base+"/users", "", http.StatusOK, &list)
		if len(list) != 2 || list[0].Username != staticUser || !list[0].Static || list[1].Username != "dave" || list[1].Static {
			t.Errorf("users %s", raw)
		}
		if strings.Contains(raw, "$2") || strings.Contains(raw, "password") {
			t.Errorf("user list shows a hash: %s", raw)
		}
		adminJSON(t, http.MethodGet, base+"/users/dave", "", http.StatusOK, &u)
		if status, _, _ := adminCall(t, http.MethodGet, base+"/users/nobody", ""); status != http.StatusNotFound {
			t.Errorf("GET an unknown user: %d", status)
		}

		var c registry.ClientView
		adminJSON(t, http.MethodPost, base+"/clients", `{"client_id":"pw-app","name":"Password app","grants":["password","refresh_token"]}`, http.StatusCreated, &c)
		pwSecret = c.ClientSecret
		if tok, ok := passwordToken(t, adminAuth, "pw-app", pwSecret, "dave", "first password"); !ok {
			t.Error("dave cannot log in with his password")
		} else {
			daveTokens += tok.count()
		}
		if _, ok := passwordToken(t, adminAuth, "pw-app", pwSecret, "dave", "wrong password"); ok {
			t.Error("dave logs in with a wrong password")
		}
	})

	t.Run("a password change takes effect; static users' cannot be changed", func(t *testing.T) {
		if status, _, body := adminCall(t, http.MethodPut, base+"/users/dave/password", `{"password":"second password"}`); status != http.StatusNoContent {
			t.Fatalf("PUT password: %d %s", status, body)
		}
		if _, ok := passwordToken(t, adminAuth, "pw-app", pwSecret, "dave", "first password"); ok {
			t.Error("the old password still works")
		}
		if tok, ok := passwordToken(t, adminAuth, "pw-app", pwSecret, "dave", "second password"); !ok {
			t.Error("the new password does not work")
		} else {
			daveTokens += tok.count()
		}
		for path, want := range map[string]int{
			base + "/users/" + staticUser + "/password": http.StatusConflict,
			base + "/users/nobody/password":             http.StatusNotFound,
		} {
			if status, h, body := adminCall(t, http.MethodPut, path, `{"password":"third password"}`); status != want {
				t.Errorf("PUT %s: %d, want %d", path, status, want)
			} else {
				apiErrorOf(t, h, body)
			}
		}
	})

	t.Run("revoking a user's tokens counts them and the gateway refuses them at once", func(t *testing.T) {
		// dave already holds the tokens of the successful logins above.
		var res registry.RevokeResult
		adminJSON(t, http.MethodPost, base+"/revoke", `{"user":"dave"}`, http.StatusOK, &res)
		if res.Revoked != daveTokens || daveTokens != 4 { // two logins, each an access and a refresh token
			t.Errorf("first revocation: %d revoked, want %d (4)", res.Revoked, daveTokens)
		}
		a, _ := passwordToken(t, adminAuth, "pw-app", pwSecret, "dave", "second password")
		b, _ := passwordToken(t, adminAuth, "pw-app", pwSecret, "dave", "second password")
		for _, tok := range []string{a.AccessToken, b.AccessToken} {
			if s := apiStatus(t, adminGateway, tok); s != http.StatusOK {
				t.Fatalf("before the revocation: API status %d", s)
			}
		}
		adminJSON(t, http.MethodPost, base+"/revoke", `{"user":"dave"}`, http.StatusOK, &res)
		if res.Revoked != a.count()+b.count() || res.User != "dave" {
			t.Errorf("revocation answered %+v, want %d revoked", res, a.count()+b.count())
		}
		for _, tok := range []string{a.AccessToken, b.AccessToken} {
			if s := apiStatus(t, adminGateway, tok); s != http.StatusUnauthorized {
				t.Errorf("after the revocation: API status %d, want 401", s)
			}
		}
		status, _, body := tokenRequest(t, adminAuth, "pw-app", pwSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {a.RefreshToken}})
		if status != http.StatusBadRequest {
			t.Errorf("refreshing a revoked refresh token: %d %s", status, body)
		}
	})

	t.Run("deleting a user revokes their tokens and ends their logins", func(t *testing.T) {
		tok, ok := passwordToken(t, adminAuth, "pw-app", pwSecret, "dave", "second password")
		if !ok || apiStatus(t, adminGateway, tok.AccessToken) != http.StatusOK {
			t.Fatal("dave's new token does not work")
		}
		var res registry.RevokeResult
		adminJSON(t, http.MethodDelete, base+"/users/dave", "", http.StatusOK, &res)
		if res.User != "dave" || res.Revoked != tok.count() {
			t.Errorf("delete answered %+v, want %d revoked", res, tok.count())
		}
		if s := apiStatus(t, adminGateway, tok.AccessToken); s != http.StatusUnauthorized {
			t.Errorf("after the deletion: API status %d, want 401", s)
		}
		if _, ok := passwordToken(t, adminAuth, "pw-app", pwSecret, "dave", "second password"); ok {
			t.Error("a deleted user still logs in")
		}
		for path, want := range map[string]int{
			base + "/users/dave":          http.StatusNotFound,
			base + "/users/" + staticUser: http.StatusConflict,
		} {
			if status, h, body := adminCall(t, http.MethodDelete, path, ""); status != want {
				t.Errorf("DELETE %s: %d, want %d", path, status, want)
			} else {
				apiErrorOf(t, h, body)
			}
		}
	})

	t.Run("bad input is refused with a 4xx JSON error", func(t *testing.T) {
		big := `{"name":"` + strings.Repeat("x", maxAdminBody) + `"}`
		tests := []struct {
			name, method, path, body string
			status                   int
			want                     string // in the error message
		}{
			{"bad JSON", "POST", base + "/clients", `{"name":`, 400, "invalid request body"},
			{"an unknown field", "POST", base + "/clients", `{"name":"x","secret":"mine"}`, 400, `unknown field "secret"`},
			{"a wrong type", "POST", base + "/clients", `{"name":"x","public":"yes"}`, 400, "invalid request body"},
			{"an empty body", "POST", base + "/clients", ``, 400, "empty"},
			{"two JSON objects", "POST", base + "/clients", `{"name":"x"}{"name":"y"}`, 400, "after the JSON object"},
			{"a body too large", "POST", base + "/clients", big, 413, "larger than"},
			{"no name", "POST", base + "/clients", `{"client_id":"noname"}`, 400, "name is required"},
			{"a non-loopback http redirect URI", "POST", base + "/clients", `{"name":"x","redirect_uris":["http://example.com/cb"]}`, 400, "loopback"},
			{"a redirect URI with a fragment", "POST", base + "/clients", `{"name":"x","redirect_uris":["https://example.com/cb#f"]}`, 400, "fragment"},
			{"a relative callback URI", "POST", base + "/clients", `{"name":"x","callback_uris":["/cb"]}`, 400, "callback_uris"},
			{"an http post-logout redirect URI", "POST", base + "/clients", `{"name":"x","post_logout_redirect_uris":["http://example.com/bye"]}`, 400, "post_logout_redirect_uris"},
			{"an unknown scope", "POST", base + "/clients", `{"name":"x","scopes":["admin"]}`, 400, `"admin"`},
			{"an invalid scope", "POST", base + "/clients", `{"name":"x","scopes":["a b"]}`, 400, "not a valid scope"},
			{"an unknown grant", "POST", base + "/clients", `{"name":"x","grants":["implicit"]}`, 400, `unknown grant type "implicit"`},
			{"a public client with client_credentials", "POST", base + "/clients", `{"name":"x","public":true,"grants":["client_credentials"]}`, 400, "public client"},
			{"a duplicate client_id", "POST", base + "/clients", `{"client_id":"svc","name":"x"}`, 409, "already exists"},
			{"a static client's client_id", "POST", base + "/clients", `{"client_id":"static-app","name":"x"}`, 409, "Caddyfile/config"},
			{"a client_id with a slash", "POST", base + "/clients", `{"client_id":"a/b","name":"x"}`, 400, "client_id"},
			{"a patch with an unknown scope", "PATCH", base + "/clients/svc", `{"scopes":["admin"]}`, 400, `"admin"`},
			{"a patch making a client public", "PATCH", base + "/clients/svc", `{"public":true}`, 400, "public cannot be changed"},
			{"a patch of an unknown client", "PATCH", base + "/clients/nope", `{"name":"x"}`, 404, "no client nope"},
			{"a username with a space", "POST", base + "/users", `{"username":"da ve","password":"long enough"}`, 400, "username"},
			{"a short password", "POST", base + "/users", `{"username":"erin","password":"short"}`, 400, "at least 8"},
			{"a password too long for bcrypt", "POST", base + "/users", `{"username":"erin","password":"` + strings.Repeat("p", 73) + `"}`, 400, "at most 72"},
			{"a revocation naming both", "POST", base + "/revoke", `{"user":"a","client_id":"b"}`, 400, "exactly one"},
			{"a revocation naming neither", "POST", base + "/revoke", `{}`, 400, "exactly one"},
			{"an unknown server", "GET", "/oauth/nope/clients", ``, 404, `"nope" is not configured`},
			{"an unknown resource", "GET", base + "/tokens", ``, 404, "not found"},
			{"no resource", "GET", base, ``, 404, "not found"},
			{"a wrong method on the clients", "PUT", base + "/clients", `{}`, 405, "not allowed"},
			{"a wrong method on a client", "POST", base + "/clients/svc", `{}`, 405, "not allowed"},
			{"a wrong method on revoke", "GET", base + "/revoke", ``, 405, "not allowed"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				status, h, body := adminCall(t, tc.method, tc.path, tc.body)
				if status != tc.status {
					t.Fatalf("status %d, want %d; body %s", status, tc.status, body)
				}
				if msg := apiErrorOf(t, h, body); !strings.Contains(msg, tc.want) {
					t.Errorf("error %q does not mention %q", msg, tc.want)
				}
				if status == http.StatusMethodNotAllowed && h.Get("Allow") == "" {
					t.Error("405 without an Allow header")
				}
			})
		}
		var list []registry.ClientView
		adminJSON(t, http.MethodGet, base+"/clients", "", http.StatusOK, &list)
		if len(list) != 5 { // static-app, svc, the generated one, svc2, pw-app
			t.Errorf("%d clients after the refused requests, want 5", len(list))
		}
	})

	t.Run("registered clients survive a config reload", func(t *testing.T) {
		forceLoad(t, cfg)
		tok := clientToken(t, adminAuth, "svc2", svc2Secret)
		svc2Tokens += tok.count()
		if s := apiStatus(t, adminGateway, tok.AccessToken); s != http.StatusOK {
			t.Errorf("after the reload: API status %d", s)
		}
		var res registry.RevokeResult
		adminJSON(t, http.MethodPost, base+"/revoke", `{"client_id":"svc2"}`, http.StatusOK, &res)
		if res.Revoked != svc2Tokens {
			t.Errorf("revocation after the reload: %d revoked, want %d", res.Revoked, svc2Tokens)
		}
		if s := apiStatus(t, adminGateway, tok.AccessToken); s != http.StatusUnauthorized {
			t.Errorf("after the revocation: API status %d, want 401", s)
		}
	})
}

// TestAdminAPIWithoutOAuthApp: a running config without the oauth app
// answers 404, not a 500.
func TestAdminAPIWithoutOAuthApp(t *testing.T) {
	startCaddy(t, e2eGlobal("")+`
http://127.0.0.1:9506 {
	respond "hello"
}
`)
	status, h, body := adminCall(t, http.MethodGet, "/oauth/default/clients", "")
	if status != http.StatusNotFound {
		t.Fatalf("status %d, body %s", status, body)
	}
	if msg := apiErrorOf(t, h, body); !strings.Contains(msg, "no oauth app") {
		t.Errorf("error %q", msg)
	}
}

// TestPasswordsHashedLikeHashPassword: passwords set through the API get
// the bcrypt cost `caddy hash-password` uses by default, the cost of the
// dummy hash unknown users are compared against, and log in.
func TestPasswordsHashedLikeHashPassword(t *testing.T) {
	srv := newTestServer(t, &ServerConfig{})
	ctx := context.Background()
	if _, err := managerFor(srv).CreateUser(ctx, "gus", "gus password", store.Claims{}); err != nil {
		t.Fatal(err)
	}
	u, err := srv.Store().GetUser(ctx, "gus")
	if err != nil {
		t.Fatal(err)
	}
	cost, err := bcrypt.Cost([]byte(u.PasswordHash))
	if err != nil || cost != 14 {
		t.Errorf("bcrypt cost %d (%v), want 14", cost, err)
	}
	if dummy, _ := bcrypt.Cost(srv.passwords.dummyHash()); dummy != cost {
		t.Errorf("dummy hash cost %d, stored users' %d: logins would reveal which users exist", dummy, cost)
	}
	if ok, err := srv.Passwords().CheckPassword(ctx, "gus", "gus password"); err != nil || !ok {
		t.Errorf("CheckPassword = %v, %v", ok, err)
	}
}
