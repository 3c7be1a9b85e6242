package caddyoauth

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const (
	mountStripped = "http://127.0.0.1:9574"
	mountPrefixed = "http://127.0.0.1:9575"
)

// mountCaddyfile: the default server mounted the wrong way, under
// handle_path (which strips /auth before oauth_server sees the request),
// and a second server mounted the supported way, with prefix.
func mountCaddyfile(t *testing.T) string {
	h := testPasswordHash(t)
	return e2eGlobal(`oauth {
		server {
			issuer `+mountStripped+`
			storage badger `+t.TempDir()+`
			user `+testUser+` `+h+`
			client web-app {
				secret web-secret
				redirect_uri `+loginRedirect+`
				trusted
			}
		}
		server prefixed {
			issuer `+mountPrefixed+`
			storage badger `+t.TempDir()+`
			user `+testUser+` `+h+`
			client web-app {
				secret web-secret
				redirect_uri `+loginRedirect+`
				trusted
			}
		}
	}`) + `
` + mountStripped + ` {
	handle_path /auth/* {
		oauth_server
		respond "not an oauth endpoint" 404
	}
}

` + mountPrefixed + ` {
	oauth_server prefixed {
		prefix /auth
	}
}
`
}

// TestMountedUnderHandlePath: under handle_path the endpoints answer, but
// every URL the server builds (login redirects, form actions, metadata)
// lacks the stripped /auth; the server must say so instead of sending the
// browser to a login page that does not exist.
func TestMountedUnderHandlePath(t *testing.T) {
	startCaddy(t, mountCaddyfile(t))
	authorize := "/auth/oauth2/authorize?" + url.Values{
		"response_type": {"code"}, "client_id": {"web-app"}, "redirect_uri": {loginRedirect},
		"state": {"st-1"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"},
	}.Encode()

	for _, tc := range []struct {
		name string
		req  *http.Request
	}{
		{"the authorize endpoint", newRequest(t, http.MethodGet, mountStripped+authorize, nil)},
		{"the login page", newRequest(t, http.MethodGet, mountStripped+"/auth/oauth/login", nil)},
		{"the token endpoint", postForm(t, mountStripped+"/auth/oauth2/token", url.Values{"grant_type": {"client_credentials"}})},
	} {
		t.Run("handle_path: "+tc.name+" names prefix instead of redirecting", func(t *testing.T) {
			resp, body := do(t, noRedirect(), tc.req)
			if loc := resp.Header.Get("Location"); loc != "" {
				t.Fatalf("status %d, redirected to %s; want the mounting error", resp.StatusCode, loc)
			}
			if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "prefix /auth") || !strings.Contains(body, "handle_path") {
				t.Fatalf("status %d, body %q; want 500 naming handle_path and `prefix /auth`", resp.StatusCode, body)
			}
		})
	}

	t.Run("handle_path: other paths still go to the next handler", func(t *testing.T) {
		resp, body := do(t, noRedirect(), newRequest(t, http.MethodGet, mountStripped+"/auth/elsewhere", nil))
		if resp.StatusCode != http.StatusNotFound || body != "not an oauth endpoint" {
			t.Fatalf("status %d, body %q", resp.StatusCode, body)
		}
	})

	t.Run("prefix: the authorize endpoint sends the browser to the prefixed login page", func(t *testing.T) {
		wc := newWebClient(t)
		resp, body := wc.get(t, mountPrefixed+authorize)
		loginURL := toLogin(t, resp, body, "/auth/oauth/login")
		resp, page := wc.get(t, loginURL.String())
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `action="/auth/oauth/login"`) {
			t.Fatalf("login page: %d\n%s", resp.StatusCode, page)
		}
		resp, body = signedInAt(t, wc, mountPrefixed+authorize, "/auth/oauth/login")
		codeRedirect(t, resp, body, "st-1")
	})
}
