package caddyoauth

import (
	"context"
	"encoding/json"
	"github.com/caddy-oauth/caddy-oauth/provider/registry"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
)

func newTestOAuthServer(t *testing.T, srv *Server, h *OAuthServer) *OAuthServer {
	t.Helper()
	h.logger = zap.NewNop()
	if err := h.provision(srv); err != nil {
		t.Fatalf("provisioning oauth_server: %v", err)
	}
	return h
}

func TestOAuthServerRouting(t *testing.T) {
	off := false
	srv := newTestServer(t, &ServerConfig{Issuer: "https://auth.example.com/tenant"})
	noOAuth1 := newTestServer(t, &ServerConfig{OAuth1: &off})
	tmpl := t.TempDir()
	if err := os.WriteFile(filepath.Join(tmpl, "error.html"), []byte(`{{define "error.html"}}custom error page: {{.Title}}{{end}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	prefixed := newTestOAuthServer(t, srv, &OAuthServer{Prefix: "/auth", Templates: tmpl})
	plain := newTestOAuthServer(t, noOAuth1, &OAuthServer{})

	tests := []struct {
		name       string
		h          *OAuthServer
		method     string
		path       string
		wantStatus int // 0: passed to next
		wantAllow  string
		wantBody   string
	}{
		{"metadata stays at the root under a prefix", prefixed, http.MethodGet, "/.well-known/oauth-authorization-server", 200, "", `"token_endpoint":"https://auth.example.com/tenant/auth/oauth2/token"`},
		{"metadata is also at the issuer's path (RFC 8414 §3)", prefixed, http.MethodGet, "/.well-known/oauth-authorization-server/tenant", 200, "", `"issuer":"https://auth.example.com/tenant"`},
		{"endpoints move under the prefix", prefixed, http.MethodGet, "/auth/oauth2/token", 405, "POST", ""},
		{"unprefixed endpoint paths go on", prefixed, http.MethodPost, "/oauth2/token", 0, "", ""},
		{"OAuth 1 endpoints are served under the prefix", prefixed, http.MethodGet, "/auth/oauth1/request_token", 405, "POST", ""},
		{"the authorize endpoint accepts GET and POST", prefixed, http.MethodDelete, "/auth/oauth2/authorize", 405, "GET, POST", ""},
		{"template overrides render pages", prefixed, http.MethodPost, "/auth/oauth2/authorize", 401, "", "custom error page"},
		{"the login page is served under the prefix", prefixed, http.MethodGet, "/auth/oauth/login", 200, "", `action="/auth/oauth/login"`},
		{"the logout page is served under the prefix", prefixed, http.MethodGet, "/auth/oauth/logout", 200, "", "Signed out"},
		{"the login page refuses PUT", plain, http.MethodPut, "/oauth/login", 405, "GET, HEAD, POST", ""},
		{"an anonymous authorization request goes to the login page", plain, http.MethodGet, "/oauth2/authorize?client_id=x", 303, "", ""},
		{"metadata refuses POST", plain, http.MethodPost, "/.well-known/oauth-authorization-server", 405, "GET, HEAD", ""},
		{"disabled OAuth 1 endpoints go on", plain, http.MethodPost, "/oauth1/request_token", 0, "", ""},
		{"other paths go on", plain, http.MethodGet, "/", 0, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, next, _ := serve(t, tc.h, httptest.NewRequest(tc.method, "https://auth.example.com"+tc.path, nil))
			if tc.wantStatus == 0 {
				if !next.called {
					t.Fatalf("not passed on: status %d %s", w.Code, w.Body)
				}
				return
			}
			if next.called || w.Code != tc.wantStatus {
				t.Fatalf("status %d (next called %v), want %d; body %s", w.Code, next.called, tc.wantStatus, w.Body)
			}
			if w.Header().Get("Allow") != tc.wantAllow {
				t.Errorf("Allow %q, want %q", w.Header().Get("Allow"), tc.wantAllow)
			}
			if !strings.Contains(w.Body.String(), tc.wantBody) {
				t.Errorf("body %s, want it to contain %s", w.Body, tc.wantBody)
			}
		})
	}
}

func TestOAuthServerProvisionErrors(t *testing.T) {
	srv := newTestServer(t, &ServerConfig{})
	for name, h := range map[string]*OAuthServer{
		"user_from without a placeholder": {UserFrom: "alice"},
		"prefix without a slash":          {Prefix: "auth"},
		"prefix with a trailing slash":    {Prefix: "/auth/"},
		"templates not a directory":       {Templates: "/nonexistent/templates"},
	} {
		t.Run(name, func(t *testing.T) {
			h.logger = zap.NewNop()
			if err := h.provision(srv); err == nil {
				t.Fatal("provisioned, want an error")
			}
		})
	}
}

func TestOAuthServerUserFrom(t *testing.T) {
	srv := newTestServer(t, &ServerConfig{})
	h := newTestOAuthServer(t, srv, &OAuthServer{UserFrom: "{http.request.header.Remote-User}"})
	r := httptest.NewRequest(http.MethodGet, "https://auth.example.com/", nil)
	r.Header.Set("Remote-User", "alice")
	r, _ = withReplacer(r)
	if got := h.user(r); got != "alice" {
		t.Errorf("user = %q, want alice", got)
	}
	def := newTestOAuthServer(t, srv, &OAuthServer{})
	r, repl := withReplacer(httptest.NewRequest(http.MethodGet, "https://auth.example.com/", nil))
	if got := def.user(r); got != "" {
		t.Errorf("user without authentication = %q, want empty", got)
	}
	repl.Set("http.auth.user.id", "bob")
	if got := def.user(r); got != "bob" {
		t.Errorf("user = %q, want bob from {http.auth.user.id}", got)
	}
}

func TestRequestURL(t *testing.T) {
	mk := func(trusted bool, clientIP string, target string, hdr map[string]string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, target, nil)
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		ctx := context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{
			caddyhttp.TrustedProxyVarKey: trusted, caddyhttp.ClientIPVarKey: clientIP,
		})
		ctx = context.WithValue(ctx, caddy.ReplacerCtxKey, caddy.NewReplacer())
		return r.WithContext(ctx)
	}
	fwd := map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.com"}

	u := requestURL(mk(false, "203.0.113.9", "http://10.0.0.5:8080/oauth1/x", fwd))
	if u.Scheme != "http" || u.Host != "10.0.0.5:8080" || u.Secure || u.Loopback {
		t.Errorf("untrusted proxy headers were honored: %+v", u)
	}
	u = requestURL(mk(true, "203.0.113.9", "http://10.0.0.5:8080/oauth1/x", fwd))
	if u.Scheme != "https" || u.Host != "api.example.com" || !u.Secure || u.Loopback {
		t.Errorf("trusted proxy headers were not honored: %+v", u)
	}
	u = requestURL(mk(true, "127.0.0.1", "http://localhost/x", nil))
	if !u.Loopback || u.Secure {
		t.Errorf("loopback client: %+v", u)
	}
	r := mk(false, "127.0.0.1", "http://localhost/stripped", nil)
	origURL := *r.URL
	origURL.Path = "/prefix/stripped"
	orig := http.Request{Method: r.Method, URL: &origURL}
	r = r.WithContext(context.WithValue(r.Context(), caddyhttp.OriginalRequestCtxKey, orig))
	if u := requestURL(r); u.Path != "/prefix/stripped" {
		t.Errorf("path after a rewrite = %q, want the client's", u.Path)
	}
}

func TestOAuthServerMountsOneEngine(t *testing.T) {
	srv := newTestServer(t, &ServerConfig{Clients: []ClientConfig{
		{ClientMetadata: registry.ClientMetadata{ClientID: "svc", Grants: []string{"client_credentials"}, Scopes: []string{"read"}}, Secret: "svc-secret"},
	}, DefaultScopes: []string{"read"}})
	// require_oauth provisioned before the oauth_server that mounts the
	// engines under a prefix, as the config order may have it.
	gate := newTestRequire(t, srv, &RequireOAuth{Scopes: []string{"read"}})
	as := newTestOAuthServer(t, srv, &OAuthServer{Prefix: "/auth"})

	t.Run("a second oauth_server with another prefix is refused", func(t *testing.T) {
		h := &OAuthServer{Prefix: "/other", logger: zap.NewNop()}
		if err := h.provision(srv); err == nil || !strings.Contains(err.Error(), "same prefix") {
			t.Fatalf("err %v, want a conflicting prefix error", err)
		}
		if err := (&OAuthServer{Prefix: "/auth", logger: zap.NewNop()}).provision(srv); err != nil {
			t.Fatalf("a second handler with the same prefix: %v", err)
		}
	})

	t.Run("a token revoked at the endpoint is refused by the gateway at once", func(t *testing.T) {
		post := func(path string, form url.Values) *httptest.ResponseRecorder {
			r := httptest.NewRequest(http.MethodPost, "https://auth.example.com"+path, strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.SetBasicAuth("svc", "svc-secret")
			w, _, _ := serve(t, as, r)
			return w
		}
		w := post("/auth/oauth2/token", url.Values{"grant_type": {"client_credentials"}})
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &tok) != nil {
			t.Fatalf("token: %d %s", w.Code, w.Body)
		}
		call := func() int {
			r := httptest.NewRequest(http.MethodGet, "https://api.example.com/x", nil)
			r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			w, _, _ := serve(t, gate, r)
			return w.Code
		}
		if c := call(); c != http.StatusOK { // now in the verification cache
			t.Fatalf("gateway: %d", c)
		}
		if w := post("/auth/oauth2/revoke", url.Values{"token": {tok.AccessToken}}); w.Code != http.StatusOK {
			t.Fatalf("revoke: %d %s", w.Code, w.Body)
		}
		if c := call(); c != http.StatusUnauthorized {
			t.Fatalf("gateway after revocation: %d, want 401", c)
		}
	})
}
