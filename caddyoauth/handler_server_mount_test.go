package caddyoauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestOAuthServerStrippedPrefix: a request whose original path had a
// prefix stripped (handle_path, uri strip_prefix) gets the mounting error,
// logged once; a request whose path was not stripped is served.
func TestOAuthServerStrippedPrefix(t *testing.T) {
	srv := newTestServer(t, &ServerConfig{})
	core, logs := observer.New(zapcore.ErrorLevel)
	h := newTestOAuthServer(t, srv, &OAuthServer{})
	h.logger = zap.New(core)
	prefixed := newTestOAuthServer(t, newTestServer(t, &ServerConfig{}), &OAuthServer{Prefix: "/auth"})

	// from is r as a handler sees it after a rewrite from the original
	// path, which Caddy's server recorded before any handler ran.
	from := func(r *http.Request, original string) *http.Request {
		r, _ = withReplacer(r)
		orig := *r
		u := *r.URL
		u.Path = original
		orig.URL = &u
		return r.WithContext(context.WithValue(r.Context(), caddyhttp.OriginalRequestCtxKey, orig))
	}
	for _, tc := range []struct {
		name     string
		h        *OAuthServer
		path     string
		original string
		refused  string // the prefix the error suggests; "" if served
	}{
		{"handle_path /auth/*", h, "/oauth2/token", "/auth/oauth2/token", "prefix /auth }"},
		{"the metadata under handle_path", h, "/.well-known/oauth-authorization-server", "/api/.well-known/oauth-authorization-server", "prefix /api }"},
		{"a stripped prefix above a configured one", prefixed, "/auth/oauth2/token", "/tenant/auth/oauth2/token", "prefix /tenant/auth }"},
		{"no rewrite", h, "/oauth2/token", "/oauth2/token", ""},
		{"the prefix option", prefixed, "/auth/oauth2/token", "/auth/oauth2/token", ""},
		{"only slashes cleaned away", h, "/oauth2/token", "//oauth2/token", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := from(httptest.NewRequest(http.MethodPost, "http://auth.example.com"+tc.path, nil), tc.original)
			w := httptest.NewRecorder()
			if err := tc.h.ServeHTTP(w, r, &nextRecorder{}); err != nil {
				t.Fatal(err)
			}
			isErr := w.Code == http.StatusInternalServerError && strings.Contains(w.Body.String(), "handle_path")
			if tc.refused == "" {
				if isErr {
					t.Fatalf("refused: %s", w.Body)
				}
				return
			}
			if !isErr || !strings.Contains(w.Body.String(), tc.refused) || w.Header().Get("Location") != "" {
				t.Fatalf("status %d, body %q; want 500 naming %q", w.Code, w.Body, tc.refused)
			}
		})
	}
	if n := logs.FilterMessageSnippet("handle_path").Len(); n != 1 {
		t.Errorf("the mounting error was logged %d times, want once", n)
	}
}
