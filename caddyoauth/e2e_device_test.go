package caddyoauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	xoauth2 "golang.org/x/oauth2"
)

// The device flow tests listen on 127.0.0.1:9590-9599.
const (
	deviceAuth  = "http://127.0.0.1:9590"
	deviceAPI   = "http://127.0.0.1:9591"
	deviceShort = "http://127.0.0.1:9592"
)

// deviceCaddyfile: a server enabling the device grant by its Caddyfile
// short name (1s interval, so the real client polls fast), a gateway in
// front of the backend, and a second server whose device codes live 2s.
func deviceCaddyfile(t *testing.T, dir, shortDir, backendAddr string) string {
	h := testPasswordHash(t)
	return e2eGlobal(`oauth {
		server {
			issuer `+deviceAuth+`
			storage badger `+dir+`
			scopes read profile
			default_scopes read
			grants authorization_code refresh_token device_code
			device_interval 1s
			user `+testUser+` `+h+`
			client tv {
				name "Living room TV"
				public
				scopes read profile
				grants device_code refresh_token
			}
		}
		server short {
			issuer `+deviceShort+`
			storage badger `+shortDir+`
			grants device_code
			device_code_ttl 2s
			device_interval 1s
			client tv {
				public
				grants device_code
			}
		}
	}`) + `
` + deviceAuth + ` {
	oauth_server
}

` + deviceAPI + ` {
	require_oauth profile
	reverse_proxy ` + backendAddr + `
}

` + deviceShort + ` {
	oauth_server short
}
`
}

func deviceConfig(issuer string) *xoauth2.Config {
	return &xoauth2.Config{
		ClientID: "tv",
		Scopes:   []string{"read", "profile"},
		Endpoint: xoauth2.Endpoint{
			DeviceAuthURL: issuer + "/oauth2/device_authorization",
			TokenURL:      issuer + "/oauth2/token",
			AuthStyle:     xoauth2.AuthStyleInParams,
		},
	}
}

// polled is what DeviceAccessToken returned.
type polled struct {
	tok *xoauth2.Token
	err error
}

// pollInBackground runs the real client's polling loop.
func pollInBackground(ctx context.Context, cfg *xoauth2.Config, da *xoauth2.DeviceAuthResponse) <-chan polled {
	ch := make(chan polled, 1)
	go func() {
		tok, err := cfg.DeviceAccessToken(ctx, da)
		ch <- polled{tok, err}
	}()
	return ch
}

func waitPolled(t *testing.T, ch <-chan polled) polled {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(30 * time.Second):
		t.Fatal("DeviceAccessToken did not return within 30s")
		return polled{}
	}
}

// approveOnDevicePage is the user: open verification_uri_complete, sign
// in, submit the prefilled code, answer the consent page. It returns the
// final page.
func approveOnDevicePage(t *testing.T, wc *webClient, da *xoauth2.DeviceAuthResponse, decision string) string {
	t.Helper()
	resp, body := wc.get(t, da.VerificationURIComplete)
	if resp.StatusCode == http.StatusSeeOther {
		loginURL := toLogin(t, resp, body, "/oauth/login")
		resp, body = signIn(t, wc, deviceAuth+loginURL.RequestURI(), testUser, testPassword)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("login: %d %s", resp.StatusCode, body)
		}
		back := location(t, resp)
		if back.RequestURI() != strings.TrimPrefix(da.VerificationURIComplete, deviceAuth) {
			t.Fatalf("login returned to %s, want the verification page", back.RequestURI())
		}
		resp, body = wc.get(t, deviceAuth+back.RequestURI())
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `value="`+da.UserCode+`"`) {
		t.Fatalf("user-code page: %d, prefilled with %s?\n%s", resp.StatusCode, da.UserCode, body)
	}
	framingDenied(t, resp)
	action, form := consentForm(t, body)
	// The user types the code the device shows, sloppily.
	form.Set("user_code", strings.ToLower(strings.ReplaceAll(da.UserCode, "-", " ")))
	resp, body = wc.post(t, deviceAuth+action, form)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Living room TV") || !strings.Contains(body, "<code>profile</code>") {
		t.Fatalf("consent page: %d\n%s", resp.StatusCode, body)
	}
	framingDenied(t, resp)
	action, form = consentForm(t, body)
	form.Set("decision", decision)
	resp, body = wc.post(t, deviceAuth+action, form)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("decision: %d\n%s", resp.StatusCode, body)
	}
	return body
}

func TestDeviceFlowEndToEnd(t *testing.T) {
	be := newBackend(t)
	startCaddy(t, deviceCaddyfile(t, t.TempDir(), t.TempDir(), be.addr()))
	ctx := t.Context()
	cfg := deviceConfig(deviceAuth)

	t.Run("the metadata advertises the device endpoint and grant", func(t *testing.T) {
		_, body := do(t, noRedirect(), newRequest(t, http.MethodGet, deviceAuth+"/.well-known/oauth-authorization-server", nil))
		var m struct {
			Device string   `json:"device_authorization_endpoint"`
			Grants []string `json:"grant_types_supported"`
		}
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatal(err)
		}
		if m.Device != cfg.Endpoint.DeviceAuthURL || !strings.Contains(strings.Join(m.Grants, " "), "urn:ietf:params:oauth:grant-type:device_code") {
			t.Fatalf("metadata %s", body)
		}
	})

	wc := newWebClient(t)
	t.Run("approved on the page, the device gets a token the gateway accepts", func(t *testing.T) {
		da, err := cfg.DeviceAuth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if da.VerificationURI != deviceAuth+"/oauth2/device" || da.Interval != 1 {
			t.Fatalf("device authorization %+v", da)
		}
		ch := pollInBackground(ctx, cfg, da)
		page := approveOnDevicePage(t, wc, da, "approve")
		if !strings.Contains(page, "Device connected") {
			t.Fatalf("after approval:\n%s", page)
		}
		p := waitPolled(t, ch)
		if p.err != nil || p.tok.AccessToken == "" || p.tok.RefreshToken == "" {
			t.Fatalf("DeviceAccessToken: %+v, %v", p.tok, p.err)
		}
		req := newRequest(t, http.MethodGet, deviceAPI+"/api/me", nil)
		req.Header.Set("Authorization", "Bearer "+p.tok.AccessToken)
		resp, body := do(t, noRedirect(), req)
		if resp.StatusCode != http.StatusOK || body != "backend ok" {
			t.Fatalf("API: %d %s", resp.StatusCode, body)
		}
		got := be.last(t)
		if got.Header.Get("X-OAuth-User") != testUser || got.Header.Get("X-OAuth-Client-Id") != "tv" || got.Header.Get("Authorization") != "" {
			t.Fatalf("backend saw %v", got.Header)
		}
		// The device code was used once; polling it again is refused.
		resp, body = do(t, noRedirect(), postForm(t, cfg.Endpoint.TokenURL, url.Values{
			"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {da.DeviceCode}, "client_id": {"tv"},
		}))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"invalid_grant"`) {
			t.Fatalf("second redemption: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("denied on the page, the device gets access_denied", func(t *testing.T) {
		da, err := cfg.DeviceAuth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ch := pollInBackground(ctx, cfg, da)
		if page := approveOnDevicePage(t, wc, da, "deny"); !strings.Contains(page, "Request denied") {
			t.Fatalf("after denial:\n%s", page)
		}
		p := waitPolled(t, ch)
		if re, ok := errors.AsType[*xoauth2.RetrieveError](p.err); !ok || re.ErrorCode != "access_denied" {
			t.Fatalf("DeviceAccessToken after denial: %+v, %v", p.tok, p.err)
		}
	})

	t.Run("polling faster than the interval is slow_down", func(t *testing.T) {
		da, err := cfg.DeviceAuth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		poll := func() string {
			resp, body := do(t, noRedirect(), postForm(t, cfg.Endpoint.TokenURL, url.Values{
				"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {da.DeviceCode}, "client_id": {"tv"},
			}))
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("poll: %d %v %s", resp.StatusCode, resp.Header, body)
			}
			var e struct{ Error string }
			_ = json.Unmarshal([]byte(body), &e)
			return e.Error
		}
		if got := poll(); got != "authorization_pending" {
			t.Fatalf("first poll: %s", got)
		}
		if got := poll(); got != "slow_down" {
			t.Fatalf("immediate second poll: %s, want slow_down", got)
		}
	})

	t.Run("the page sends a browser that is not signed in to the login", func(t *testing.T) {
		resp, body := newWebClient(t).get(t, deviceAuth+"/oauth2/device?user_code=BCDF-GHJK")
		loc := toLogin(t, resp, body, "/oauth/login")
		if rt := loc.Query().Get("return_to"); rt != "/oauth2/device?user_code=BCDF-GHJK" {
			t.Fatalf("return_to %q", rt)
		}
	})

	t.Run("an expired device code is expired_token", func(t *testing.T) {
		short := deviceConfig(deviceShort)
		short.Scopes = nil
		da, err := short.DeviceAuth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if da.Interval != 1 {
			t.Fatalf("interval %d", da.Interval)
		}
		// Without the client's own deadline, the server's answer ends
		// the polling.
		da.Expiry = time.Time{}
		p := waitPolled(t, pollInBackground(ctx, short, da))
		if re, ok := errors.AsType[*xoauth2.RetrieveError](p.err); !ok || re.ErrorCode != "expired_token" {
			t.Fatalf("DeviceAccessToken after expiry: %+v, %v", p.tok, p.err)
		}
	})
}
