package caddyoauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/caddy-oauth/caddy-oauth/provider/oauth1"
)

func TestRequireOAuthIdentity(t *testing.T) {
	srv := newTestServer(t, &ServerConfig{})
	user := issueAccess(t, srv, "web", "alice", "read", "write")
	service := issueAccess(t, srv, "svc", "", "read")

	t.Run("every spelling of an injected header is dropped before the real one is set", func(t *testing.T) {
		h := newTestRequire(t, srv, &RequireOAuth{Scopes: []string{"read"}})
		r := httptest.NewRequest(http.MethodGet, "http://api.example.com/x", nil)
		r.Header.Set("Authorization", "Bearer "+user)
		// Caddy drops underscore and dot names by default, but not when
		// a server allowlists them; CGI backends fold them onto one name.
		for _, k := range []string{"X-OAuth-User", "X_OAuth_User", "x.oauth.user", "X-OAUTH_USER", "X_oauth_client_id", "X.OAuth.Scope"} {
			r.Header[k] = []string{"mallory"}
		}
		w, next, _ := serve(t, h, r)
		if w.Code != http.StatusOK || !next.called {
			t.Fatalf("status %d, next called %v", w.Code, next.called)
		}
		for name, want := range map[string]string{"X-OAuth-User": "alice", "X-OAuth-Client-Id": "web", "X-OAuth-Scope": "read write"} {
			if got := headerValues(next.req.Header, name); len(got) != 1 || got[0] != want {
				t.Errorf("%s (any spelling) = %q, want exactly %q", name, got, want)
			}
		}
	})

	t.Run("placeholders carry the identity", func(t *testing.T) {
		h := newTestRequire(t, srv, &RequireOAuth{})
		r := httptest.NewRequest(http.MethodGet, "http://api.example.com/x", nil)
		r.Header.Set("Authorization", "Bearer "+user)
		_, next, repl := serve(t, h, r)
		if !next.called {
			t.Fatal("next not called")
		}
		for k, want := range map[string]string{
			"http.auth.user.id": "alice", "oauth.user": "alice", "oauth.client_id": "web",
			"oauth.scope": "read write", "oauth.protocol": "oauth2",
		} {
			if got, _ := repl.GetString(k); got != want {
				t.Errorf("{%s} = %q, want %q", k, got, want)
			}
		}
	})

	t.Run("a token without a user is the client, with no user header", func(t *testing.T) {
		h := newTestRequire(t, srv, &RequireOAuth{})
		r := httptest.NewRequest(http.MethodGet, "http://api.example.com/x", nil)
		r.Header.Set("Authorization", "Bearer "+service)
		r.Header.Set("X-OAuth-User", "root")
		_, next, repl := serve(t, h, r)
		if got := headerValues(next.req.Header, "X-OAuth-User"); len(got) != 0 {
			t.Errorf("X-OAuth-User = %q, want none", got)
		}
		if got, _ := repl.GetString("http.auth.user.id"); got != "svc" {
			t.Errorf("{http.auth.user.id} = %q, want the client id", got)
		}
		if got, _ := repl.GetString("oauth.user"); got != "" {
			t.Errorf("{oauth.user} = %q, want empty", got)
		}
	})

	t.Run("header names are configurable and can be disabled", func(t *testing.T) {
		h := newTestRequire(t, srv, &RequireOAuth{HeaderUser: "Remote-User", HeaderClient: "-", HeaderScope: "x-scopes"})
		r := httptest.NewRequest(http.MethodGet, "http://api.example.com/x", nil)
		r.Header.Set("Authorization", "Bearer "+user)
		r.Header.Set("Remote_User", "mallory")
		r.Header.Set("X-OAuth-Client-Id", "spoofed")
		_, next, _ := serve(t, h, r)
		if got := headerValues(next.req.Header, "Remote-User"); len(got) != 1 || got[0] != "alice" {
			t.Errorf("Remote-User = %q", got)
		}
		if got := headerValues(next.req.Header, "X-OAuth-Client-Id"); len(got) != 0 {
			t.Errorf("disabled client header still reaches next: %q", got)
		}
		if got := next.req.Header.Get("X-Scopes"); got != "read write" {
			t.Errorf("X-Scopes = %q", got)
		}
	})

	t.Run("a large form body passes intact with a header token", func(t *testing.T) {
		h := newTestRequire(t, srv, &RequireOAuth{})
		body := "data=" + strings.Repeat("x", 1<<20+10) /* past the engine's 1 MiB body limit */ + "&access_token=ignored"
		r := httptest.NewRequest(http.MethodPost, "http://api.example.com/x", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Authorization", "Bearer "+user)
		w, next, _ := serve(t, h, r)
		if w.Code != http.StatusOK || next.body != body {
			t.Fatalf("status %d, next got %d bytes, want the %d-byte body unchanged", w.Code, len(next.body), len(body))
		}
	})

	t.Run("a percent-encoded access_token name in a PUT body is found and removed", func(t *testing.T) {
		h := newTestRequire(t, srv, &RequireOAuth{})
		r := httptest.NewRequest(http.MethodPut, "http://api.example.com/x", strings.NewReader("a=1&access%5Ftoken="+url.QueryEscape(user)+"&b=2"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		w, next, _ := serve(t, h, r)
		if w.Code != http.StatusOK || next.body != "a=1&b=2" {
			t.Fatalf("status %d, next body %q", w.Code, next.body)
		}
		if next.req.ContentLength != 7 || next.req.Header.Get("Content-Length") != strconv.Itoa(7) {
			t.Errorf("Content-Length %d / %q, want 7", next.req.ContentLength, next.req.Header.Get("Content-Length"))
		}
	})

	t.Run("an allowed query token is removed from the URL", func(t *testing.T) {
		h := newTestRequire(t, srv, &RequireOAuth{AllowQueryToken: true})
		r := httptest.NewRequest(http.MethodGet, "http://api.example.com/x?a=1&access_token="+url.QueryEscape(user)+"&b=2", nil)
		w, next, _ := serve(t, h, r)
		if w.Code != http.StatusOK || next.req.URL.RawQuery != "a=1&b=2" || strings.Contains(next.req.RequestURI, "access_token") {
			t.Fatalf("status %d, next query %q, RequestURI %q", w.Code, next.req.URL.RawQuery, next.req.RequestURI)
		}
	})
}

func TestRequireOAuthRefusals(t *testing.T) {
	srv := newTestServer(t, &ServerConfig{})
	user := issueAccess(t, srv, "web", "alice", "read")
	o1token, _ := issueOAuth1(t, srv, "web", "alice", "read")

	tests := []struct {
		name      string
		handler   RequireOAuth
		prepare   func(r *http.Request)
		status    int
		challenge string
		error     string
	}{
		{
			name: "two Authorization headers are invalid_request", status: http.StatusBadRequest,
			prepare:   func(r *http.Request) { r.Header["Authorization"] = []string{"Bearer " + user, "Bearer " + user} },
			challenge: `Bearer realm="api.example.com", error="invalid_request"`, error: "invalid_request",
		},
		{
			name: "an empty bearer token is invalid_request", status: http.StatusBadRequest,
			prepare: func(r *http.Request) { r.Header.Set("Authorization", "Bearer ") }, error: "invalid_request",
			challenge: `error="invalid_request"`,
		},
		{
			name: "the configured realm is used", status: http.StatusUnauthorized, handler: RequireOAuth{Realm: `my "api"`},
			prepare: func(r *http.Request) {}, challenge: `Bearer realm="my api"`,
		},
		{
			name: "an OAuth 1 token is not a bearer token", status: http.StatusUnauthorized,
			prepare:   func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+o1token) },
			challenge: `error="invalid_token"`, error: "invalid_token",
		},
		{
			name: "OAuth 1 requests are refused when only OAuth 2 is accepted", status: http.StatusUnauthorized,
			handler:   RequireOAuth{Protocols: []string{"oauth2"}},
			prepare:   func(r *http.Request) { r.Header.Set("Authorization", `OAuth oauth_consumer_key="web"`) },
			challenge: `Bearer realm="api.example.com"`,
		},
		{
			name: "bearer tokens are refused when only OAuth 1 is accepted", status: http.StatusUnauthorized,
			handler:   RequireOAuth{Protocols: []string{"oauth1"}},
			prepare:   func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+user) },
			challenge: `OAuth realm="api.example.com"`,
		},
		{
			name: "a malformed OAuth 1 request is 400", status: http.StatusBadRequest,
			prepare: func(r *http.Request) {
				r.Header.Set("Authorization", `OAuth oauth_consumer_key="web", oauth_consumer_key="web"`)
			},
		},
		{
			name: "an OAuth 1 request with a bad signature is 401 with the OAuth challenge", status: http.StatusUnauthorized,
			prepare: func(r *http.Request) {
				_ = oauth1.Sign(r, oauth1.ClientCreds{ConsumerKey: "nobody", ConsumerSecret: "x", Token: o1token, TokenSecret: "wrong"})
			},
			challenge: `OAuth realm="api.example.com"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestRequire(t, srv, &tc.handler)
			r := httptest.NewRequest(http.MethodGet, "http://api.example.com/x", nil)
			tc.prepare(r)
			w, next, _ := serve(t, h, r)
			if next.called {
				t.Fatal("next handler called on a refusal")
			}
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tc.status, w.Body)
			}
			if got := strings.Join(w.Header().Values("WWW-Authenticate"), " | "); !strings.Contains(got, tc.challenge) {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
			if tc.error != "" {
				var body struct{ Error string }
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error != tc.error {
					t.Errorf("body %s, want error %s", w.Body, tc.error)
				}
			}
		})
	}
}

func TestRequireOAuthProvisionErrors(t *testing.T) {
	srv := newTestServer(t, &ServerConfig{OAuth1: new(bool)})
	for name, h := range map[string]*RequireOAuth{
		"unknown protocol":              {Protocols: []string{"saml"}},
		"oauth1 only on an oauth2-only": {Protocols: []string{"oauth1"}},
		"invalid scope":                 {Scopes: []string{`a"b`}},
		"invalid header name":           {HeaderUser: "X User"},
	} {
		t.Run(name, func(t *testing.T) {
			if err := h.provision(srv); err == nil {
				t.Fatal("provisioned, want an error")
			}
		})
	}
}
