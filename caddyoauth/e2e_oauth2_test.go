package caddyoauth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	xoauth2 "golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

const (
	o2Auth     = "http://127.0.0.1:9480"
	o2API      = "http://127.0.0.1:9481"
	o2WriteAPI = "http://127.0.0.1:9482"
	o2Redirect = "http://127.0.0.1:9489/callback"
)

// oauth2Caddyfile is an authorization server (basic_auth in front of the
// authorize endpoint names the resource owner) and two gateways in front of
// the recording backend: one needs "read", the other "write".
func oauth2Caddyfile(t *testing.T, backendAddr string) string {
	h := testPasswordHash(t)
	return e2eGlobal(`oauth {
		server {
			issuer `+o2Auth+`
			storage badger `+t.TempDir()+`
			scopes read write profile
			default_scopes read
			user `+testUser+` `+h+`
			client trusted-app {
				name "Trusted app"
				secret trusted-secret
				redirect_uri `+o2Redirect+`
				scopes read write profile
				trusted
			}
			client plain-app {
				name "Plain app"
				secret plain-secret
				redirect_uri `+o2Redirect+`
				scopes read profile
				grants authorization_code refresh_token
			}
			client public-app {
				public
				redirect_uri `+o2Redirect+`
				scopes read
			}
			client service {
				secret service-secret
				scopes read
				grants client_credentials
			}
			client gateway {
				secret gateway-secret
				introspect
				grants client_credentials
			}
		}
	}`) + `
` + o2Auth + ` {
	@authorize path /oauth2/authorize
	basic_auth @authorize {
		` + testUser + ` ` + h + `
	}
	oauth_server
	respond "not an oauth endpoint" 404
}

` + o2API + ` {
	require_oauth read
	reverse_proxy ` + backendAddr + `
}

` + o2WriteAPI + ` {
	require_oauth write
	reverse_proxy ` + backendAddr + `
}
`
}

func TestOAuth2EndToEnd(t *testing.T) {
	be := newBackend(t)
	startCaddy(t, oauth2Caddyfile(t, be.addr()))

	httpc := noRedirect()
	ctx := context.WithValue(context.Background(), xoauth2.HTTPClient, &http.Client{Timeout: 10 * time.Second})
	endpoint := xoauth2.Endpoint{
		AuthURL:   o2Auth + "/oauth2/authorize",
		TokenURL:  o2Auth + "/oauth2/token",
		AuthStyle: xoauth2.AuthStyleInHeader,
	}
	trusted := &xoauth2.Config{
		ClientID: "trusted-app", ClientSecret: "trusted-secret",
		Endpoint: endpoint, RedirectURL: o2Redirect, Scopes: []string{"read", "profile"},
	}

	// authorize runs the front channel as the logged-in user and returns
	// the redirect back to the client.
	authorize := func(t *testing.T, authURL string) *url.URL {
		t.Helper()
		req := newRequest(t, http.MethodGet, authURL, nil)
		req.SetBasicAuth(testUser, testPassword)
		resp, body := do(t, httpc, req)
		if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("authorize: status %d, want a redirect; body:\n%s", resp.StatusCode, body)
		}
		return location(t, resp)
	}
	// codeFlow runs the authorization code flow with PKCE for a trusted client.
	codeFlow := func(t *testing.T, conf *xoauth2.Config) *xoauth2.Token {
		t.Helper()
		verifier := xoauth2.GenerateVerifier()
		loc := authorize(t, conf.AuthCodeURL("st-123", xoauth2.S256ChallengeOption(verifier)))
		q := loc.Query()
		if got := loc.Scheme + "://" + loc.Host + loc.Path; got != o2Redirect {
			t.Fatalf("redirected to %s, want %s", got, o2Redirect)
		}
		if q.Get("state") != "st-123" || q.Get("iss") != o2Auth || q.Get("code") == "" {
			t.Fatalf("authorization response %v: want code, state st-123, iss %s", q, o2Auth)
		}
		tok, err := conf.Exchange(ctx, q.Get("code"), xoauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		return tok
	}
	// callAPI sends a request with a bearer token through a gateway.
	callAPI := func(t *testing.T, base, token string) (*http.Response, string) {
		t.Helper()
		req := newRequest(t, http.MethodGet, base+"/api/me", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return do(t, httpc, req)
	}
	// refused checks a gateway refusal that never reached the backend.
	refused := func(t *testing.T, status int, wantChallenge string, send func() (*http.Response, string)) *http.Response {
		t.Helper()
		before := be.count()
		resp, body := send()
		if resp.StatusCode != status {
			t.Fatalf("status %d, want %d; body: %s", resp.StatusCode, status, body)
		}
		if got := strings.Join(resp.Header.Values("WWW-Authenticate"), " | "); !strings.Contains(got, wantChallenge) {
			t.Fatalf("WWW-Authenticate %q, want it to contain %q", got, wantChallenge)
		}
		if be.count() != before {
			t.Fatal("the backend was called for a refused request")
		}
		return resp
	}

	var userToken *xoauth2.Token
	t.Run("authorization code with PKCE reaches the API as the user", func(t *testing.T) {
		userToken = codeFlow(t, trusted)
		if userToken.RefreshToken == "" || userToken.TokenType != "Bearer" {
			t.Fatalf("token %+v: want a bearer token with a refresh token", userToken)
		}
		resp, body := callAPI(t, o2API, userToken.AccessToken)
		if resp.StatusCode != http.StatusOK || body != "backend ok" {
			t.Fatalf("API: %d %q", resp.StatusCode, body)
		}
		got := be.last(t)
		if v := got.Header.Get("X-OAuth-User"); v != testUser {
			t.Errorf("X-OAuth-User = %q, want %s", v, testUser)
		}
		if v := got.Header.Get("X-OAuth-Client-Id"); v != "trusted-app" {
			t.Errorf("X-OAuth-Client-Id = %q", v)
		}
		if v := got.Header.Get("X-OAuth-Scope"); v != "read profile" {
			t.Errorf("X-OAuth-Scope = %q, want %q", v, "read profile")
		}
		if v := got.Header.Values("Authorization"); len(v) != 0 {
			t.Errorf("the backend got the Authorization header %q", v)
		}
	})

	t.Run("identity headers sent by the client never reach the backend", func(t *testing.T) {
		req := newRequest(t, http.MethodGet, o2API+"/api/me", nil)
		req.Header.Set("Authorization", "Bearer "+userToken.AccessToken)
		req.Header.Set("X-OAuth-User", "mallory")
		req.Header["X_OAuth_User"] = []string{"mallory"}
		req.Header["x_oauth_client_id"] = []string{"evil-app"}
		req.Header.Set("X-OAuth-Scope", "admin")
		if resp, body := do(t, httpc, req); resp.StatusCode != http.StatusOK {
			t.Fatalf("API: %d %s", resp.StatusCode, body)
		}
		got := be.last(t)
		for name, want := range map[string]string{"X-OAuth-User": testUser, "X-OAuth-Client-Id": "trusted-app", "X-OAuth-Scope": "read profile"} {
			if v := headerValues(got.Header, name); len(v) != 1 || v[0] != want {
				t.Errorf("backend saw %s (any spelling) = %q, want exactly %q", name, v, want)
			}
		}
	})

	t.Run("a form-body token is accepted and removed from the body", func(t *testing.T) {
		form := "first=1&access_token=" + url.QueryEscape(userToken.AccessToken) + "&last=%C3%A9+x"
		req := newRequest(t, http.MethodPost, o2API+"/api/items", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if resp, body := do(t, httpc, req); resp.StatusCode != http.StatusOK {
			t.Fatalf("API: %d %s", resp.StatusCode, body)
		}
		got := be.last(t)
		if got.Body != "first=1&last=%C3%A9+x" {
			t.Errorf("backend body %q, want the other fields byte for byte", got.Body)
		}
		if got.Header.Get("X-OAuth-User") != testUser {
			t.Errorf("X-OAuth-User = %q", got.Header.Get("X-OAuth-User"))
		}
	})

	t.Run("a token in the header and in the body is invalid_request", func(t *testing.T) {
		refused(t, http.StatusBadRequest, `error="invalid_request"`, func() (*http.Response, string) {
			req := postForm(t, o2API+"/api/items", url.Values{"access_token": {userToken.AccessToken}})
			req.Header.Set("Authorization", "Bearer "+userToken.AccessToken)
			return do(t, httpc, req)
		})
	})

	t.Run("a query token is refused unless allowed", func(t *testing.T) {
		refused(t, http.StatusBadRequest, `error="invalid_request"`, func() (*http.Response, string) {
			return do(t, httpc, newRequest(t, http.MethodGet, o2API+"/api/me?access_token="+url.QueryEscape(userToken.AccessToken), nil))
		})
	})

	t.Run("no token is 401 with a challenge and no error code", func(t *testing.T) {
		resp := refused(t, http.StatusUnauthorized, `Bearer realm="127.0.0.1"`, func() (*http.Response, string) {
			return callAPI(t, o2API, "")
		})
		if got := strings.Join(resp.Header.Values("WWW-Authenticate"), " "); strings.Contains(got, "error=") {
			t.Errorf("challenge without credentials carries an error code: %q", got)
		}
	})

	t.Run("an unknown token is invalid_token", func(t *testing.T) {
		refused(t, http.StatusUnauthorized, `error="invalid_token"`, func() (*http.Response, string) {
			return callAPI(t, o2API, "not-a-real-token")
		})
	})

	t.Run("a token without the required scope is 403 insufficient_scope", func(t *testing.T) {
		refused(t, http.StatusForbidden, `error="insufficient_scope"`, func() (*http.Response, string) {
			resp, body := callAPI(t, o2WriteAPI, userToken.AccessToken)
			if got := resp.Header.Get("WWW-Authenticate"); !strings.Contains(got, `scope="write"`) {
				t.Errorf("challenge %q does not name the needed scope", got)
			}
			return resp, body
		})
	})

	t.Run("an untrusted client needs the user's consent through the form", func(t *testing.T) {
		plain := &xoauth2.Config{
			ClientID: "plain-app", ClientSecret: "plain-secret",
			Endpoint: endpoint, RedirectURL: o2Redirect, Scopes: []string{"read"},
		}
		verifier := xoauth2.GenerateVerifier()
		req := newRequest(t, http.MethodGet, plain.AuthCodeURL("consent-state", xoauth2.S256ChallengeOption(verifier)), nil)
		req.SetBasicAuth(testUser, testPassword)
		resp, page := do(t, httpc, req)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Plain app") {
			t.Fatalf("consent page: %d\n%s", resp.StatusCode, page)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("consent page X-Frame-Options = %q", resp.Header.Get("X-Frame-Options"))
		}
		action, form := consentForm(t, page)

		// A forged form (wrong CSRF token) is refused, never redirected.
		forged := url.Values{}
		for k, v := range form {
			forged[k] = v
		}
		forged.Set("csrf_token", "1.AAAA")
		forged.Set("decision", "approve")
		req = postForm(t, o2Auth+action, forged)
		req.SetBasicAuth(testUser, testPassword)
		if resp, _ := do(t, httpc, req); resp.StatusCode < 400 || resp.Header.Get("Location") != "" {
			t.Fatalf("forged consent: status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}

		form.Set("decision", "approve")
		req = postForm(t, o2Auth+action, form)
		req.SetBasicAuth(testUser, testPassword)
		resp, body := do(t, httpc, req)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("consent approval: status %d, want 303; body:\n%s", resp.StatusCode, body)
		}
		q := location(t, resp).Query()
		if q.Get("state") != "consent-state" || q.Get("code") == "" {
			t.Fatalf("approval redirect %v", q)
		}
		tok, err := plain.Exchange(ctx, q.Get("code"), xoauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		if resp, _ := callAPI(t, o2API, tok.AccessToken); resp.StatusCode != http.StatusOK {
			t.Fatalf("API with the consented token: %d", resp.StatusCode)
		}
		if got := be.last(t).Header.Get("X-OAuth-Client-Id"); got != "plain-app" {
			t.Errorf("X-OAuth-Client-Id = %q", got)
		}
	})

	t.Run("refresh rotates, and reusing a rotated refresh token revokes the family", func(t *testing.T) {
		first := codeFlow(t, trusted)
		expired := &xoauth2.Token{RefreshToken: first.RefreshToken, Expiry: time.Now().Add(-time.Hour)}
		second, err := trusted.TokenSource(ctx, expired).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if second.AccessToken == first.AccessToken || second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
			t.Fatalf("refresh did not rotate: %+v", second)
		}
		if resp, _ := callAPI(t, o2API, second.AccessToken); resp.StatusCode != http.StatusOK {
			t.Fatalf("API with the refreshed token: %d", resp.StatusCode)
		}
		// Replay of the old refresh token: refused, and the whole family
		// (the refreshed access and refresh tokens) is revoked.
		expired = &xoauth2.Token{RefreshToken: first.RefreshToken, Expiry: time.Now().Add(-time.Hour)}
		if _, err := trusted.TokenSource(ctx, expired).Token(); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("reusing a rotated refresh token: err %v, want invalid_grant", err)
		}
		refused(t, http.StatusUnauthorized, `error="invalid_token"`, func() (*http.Response, string) {
			return callAPI(t, o2API, second.AccessToken)
		})
		expired = &xoauth2.Token{RefreshToken: second.RefreshToken, Expiry: time.Now().Add(-time.Hour)}
		if _, err := trusted.TokenSource(ctx, expired).Token(); err == nil {
			t.Fatal("the refresh token of a revoked family still works")
		}
	})

	var serviceToken string
	t.Run("client credentials reach the API as the client, without a user", func(t *testing.T) {
		cc := &clientcredentials.Config{
			ClientID: "service", ClientSecret: "service-secret",
			TokenURL: endpoint.TokenURL, Scopes: []string{"read"},
		}
		tok, err := cc.Token(ctx)
		if err != nil {
			t.Fatalf("client credentials: %v", err)
		}
		serviceToken = tok.AccessToken
		req := newRequest(t, http.MethodGet, o2API+"/api/jobs", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("X-OAuth-User", "root")
		if resp, body := do(t, httpc, req); resp.StatusCode != http.StatusOK {
			t.Fatalf("API: %d %s", resp.StatusCode, body)
		}
		got := be.last(t)
		if v := headerValues(got.Header, "X-OAuth-User"); len(v) != 0 {
			t.Errorf("a client_credentials request reached the backend with X-OAuth-User %q", v)
		}
		if v := got.Header.Get("X-OAuth-Client-Id"); v != "service" {
			t.Errorf("X-OAuth-Client-Id = %q, want service", v)
		}
	})

	t.Run("introspection answers only authorized clients", func(t *testing.T) {
		introspect := func(id, secret, token string) (int, map[string]any) {
			req := postForm(t, o2Auth+"/oauth2/introspect", url.Values{"token": {token}})
			if id != "" {
				req.SetBasicAuth(id, secret)
			}
			resp, body := do(t, httpc, req)
			var m map[string]any
			_ = json.Unmarshal([]byte(body), &m)
			return resp.StatusCode, m
		}
		if status, m := introspect("gateway", "gateway-secret", userToken.AccessToken); status != http.StatusOK || m["active"] != true || m["username"] != testUser || m["client_id"] != "trusted-app" {
			t.Errorf("gateway introspecting a user token: %d %v", status, m)
		}
		if status, m := introspect("plain-app", "plain-secret", userToken.AccessToken); status != http.StatusOK || m["active"] != false {
			t.Errorf("another client introspecting the token: %d %v, want active false", status, m)
		}
		if status, _ := introspect("", "", userToken.AccessToken); status != http.StatusUnauthorized {
			t.Errorf("anonymous introspection: status %d, want 401", status)
		}
	})

	t.Run("a revoked token is refused by the gateway", func(t *testing.T) {
		req := postForm(t, o2Auth+"/oauth2/revoke", url.Values{"token": {serviceToken}, "token_type_hint": {"access_token"}})
		req.SetBasicAuth("service", "service-secret")
		if resp, body := do(t, httpc, req); resp.StatusCode != http.StatusOK {
			t.Fatalf("revoke: %d %s", resp.StatusCode, body)
		}
		refused(t, http.StatusUnauthorized, `error="invalid_token"`, func() (*http.Response, string) {
			return callAPI(t, o2API, serviceToken)
		})
	})

	t.Run("metadata describes the server", func(t *testing.T) {
		resp, body := do(t, httpc, newRequest(t, http.MethodGet, o2Auth+"/.well-known/oauth-authorization-server", nil))
		var m struct {
			Issuer        string   `json:"issuer"`
			Token         string   `json:"token_endpoint"`
			Authorize     string   `json:"authorization_endpoint"`
			PKCE          []string `json:"code_challenge_methods_supported"`
			IssParameter  bool     `json:"authorization_response_iss_parameter_supported"`
			ResponseTypes []string `json:"response_types_supported"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &m) != nil {
			t.Fatalf("metadata: %d %s", resp.StatusCode, body)
		}
		if m.Issuer != o2Auth || m.Token != o2Auth+"/oauth2/token" || m.Authorize != o2Auth+"/oauth2/authorize" ||
			!strings.Contains(strings.Join(m.PKCE, " "), "S256") || !m.IssParameter || strings.Join(m.ResponseTypes, " ") != "code" {
			t.Errorf("metadata %+v", m)
		}
	})

	t.Run("authorization errors", func(t *testing.T) {
		base := endpoint.AuthURL + "?"
		page := func(t *testing.T, query url.Values) {
			t.Helper()
			req := newRequest(t, http.MethodGet, base+query.Encode(), nil)
			req.SetBasicAuth(testUser, testPassword)
			resp, body := do(t, httpc, req)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("status %d, Location %q, want a 400 error page and no redirect; body:\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
			}
		}
		redirectErr := func(t *testing.T, query url.Values, wantErr string) {
			t.Helper()
			loc := authorize(t, base+query.Encode())
			if got := loc.Scheme + "://" + loc.Host + loc.Path; got != o2Redirect {
				t.Fatalf("error redirected to %s", got)
			}
			if q := loc.Query(); q.Get("error") != wantErr || q.Get("state") != "s" || q.Get("iss") != o2Auth {
				t.Fatalf("error redirect %v, want error=%s with state and iss", q, wantErr)
			}
		}
		t.Run("an unknown client gets an error page, not a redirect", func(t *testing.T) {
			page(t, url.Values{"response_type": {"code"}, "client_id": {"nope"}, "redirect_uri": {"https://evil.example/cb"}, "state": {"s"}})
		})
		t.Run("a redirect URI that does not match gets an error page", func(t *testing.T) {
			page(t, url.Values{"response_type": {"code"}, "client_id": {"trusted-app"}, "redirect_uri": {o2Redirect + "/other"}, "state": {"s"}})
		})
		t.Run("the implicit grant is unsupported_response_type", func(t *testing.T) {
			redirectErr(t, url.Values{"response_type": {"token"}, "client_id": {"trusted-app"}, "redirect_uri": {o2Redirect}, "state": {"s"}}, "unsupported_response_type")
		})
		t.Run("a public client without PKCE is invalid_request", func(t *testing.T) {
			redirectErr(t, url.Values{"response_type": {"code"}, "client_id": {"public-app"}, "redirect_uri": {o2Redirect}, "state": {"s"}}, "invalid_request")
		})
	})

	t.Run("a bad client secret over Basic is 401 with a Basic challenge", func(t *testing.T) {
		req := postForm(t, endpoint.TokenURL, url.Values{"grant_type": {"client_credentials"}})
		req.SetBasicAuth("service", "wrong-secret")
		resp, body := do(t, httpc, req)
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") || !strings.Contains(body, "invalid_client") {
			t.Fatalf("status %d, WWW-Authenticate %q, body %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("token error without Cache-Control: no-store")
		}
	})

	t.Run("endpoints answer 405 to other methods and other paths go on", func(t *testing.T) {
		resp, _ := do(t, httpc, newRequest(t, http.MethodGet, endpoint.TokenURL, nil))
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
			t.Errorf("GET token endpoint: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
		}
		resp, body := do(t, httpc, newRequest(t, http.MethodGet, o2Auth+"/somewhere/else", nil))
		if resp.StatusCode != http.StatusNotFound || body != "not an oauth endpoint" {
			t.Errorf("other path: %d %q, want the next handler's answer", resp.StatusCode, body)
		}
	})

	t.Run("the authorize endpoint needs an authenticated user", func(t *testing.T) {
		resp, _ := do(t, httpc, newRequest(t, http.MethodGet, trusted.AuthCodeURL("s", xoauth2.S256ChallengeOption(xoauth2.GenerateVerifier())), nil))
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Location") != "" {
			t.Errorf("anonymous authorize: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	if t.Failed() {
		t.Log(fmt.Sprintf("backend saw %d requests", be.count()))
	}
}
