package caddyoauth

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

const (
	reloadAuth = "http://127.0.0.1:9490"
	reloadAPI  = "http://127.0.0.1:9491"
)

func reloadCaddyfile(t *testing.T, dir, backendAddr, scopes string) string {
	return e2eGlobal(`oauth {
		server {
			issuer `+reloadAuth+`
			storage badger `+dir+`
			scopes `+scopes+`
			default_scopes read
			client service {
				secret service-secret
				scopes read
				grants client_credentials
			}
		}
	}`) + `
` + reloadAuth + ` {
	oauth_server
}

` + reloadAPI + ` {
	require_oauth read
	reverse_proxy ` + backendAddr + `
}
`
}

// forceLoad posts a Caddyfile to the admin API, reloading even when the
// config is unchanged (Cache-Control: must-revalidate), as `caddy reload
// --force` does.
func forceLoad(t *testing.T, caddyfile string) {
	t.Helper()
	req := newRequest(t, http.MethodPost, "http://localhost:2999/load", strings.NewReader(caddyfile))
	req.Header.Set("Content-Type", "text/caddyfile")
	req.Header.Set("Cache-Control", "must-revalidate")
	resp, body := do(t, noRedirect(), req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reload: %d %s", resp.StatusCode, body)
	}
	// The old servers closed their connections: a kept-alive one reused
	// by the next request would fail with EOF.
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
}

// TestReloadSharesDatabase reloads a running config, unchanged and then
// changed: the new config must open the same Badger directory while the
// old one still holds it, so it has to share the open database (Badger's
// directory lock would refuse a second open), and tokens issued before the
// reload stay valid after it.
func TestReloadSharesDatabase(t *testing.T) {
	be := newBackend(t)
	dir := t.TempDir()
	cfg := reloadCaddyfile(t, dir, be.addr(), "read write")
	startCaddy(t, cfg)
	httpc := noRedirect()

	token := func(t *testing.T) string {
		t.Helper()
		req := postForm(t, reloadAuth+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}})
		req.SetBasicAuth("service", "service-secret")
		resp, body := do(t, httpc, req)
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &tok) != nil || tok.AccessToken == "" {
			t.Fatalf("token: %d %s", resp.StatusCode, body)
		}
		return tok.AccessToken
	}
	apiStatus := func(t *testing.T, tok string) int {
		t.Helper()
		req := newRequest(t, http.MethodGet, reloadAPI+"/api", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, _ := do(t, httpc, req)
		return resp.StatusCode
	}
	references := func() int {
		abs, _ := filepath.Abs(dir)
		n, _ := stores.References("badger:" + filepath.Clean(abs))
		return n
	}

	before := token(t)
	if s := apiStatus(t, before); s != http.StatusOK {
		t.Fatalf("API before reload: %d", s)
	}

	for _, step := range []struct{ name, cfg string }{
		{"the same config", cfg},
		{"a changed config", reloadCaddyfile(t, dir, be.addr(), "read write admin")},
	} {
		t.Run("reloading "+step.name+" keeps the database usable", func(t *testing.T) {
			forceLoad(t, step.cfg)
			if s := apiStatus(t, before); s != http.StatusOK {
				t.Errorf("token issued before the reload: API status %d", s)
			}
			after := token(t)
			if s := apiStatus(t, after); s != http.StatusOK {
				t.Errorf("token issued after the reload: API status %d", s)
			}
			if n := references(); n != 1 {
				t.Errorf("%d references to the database after the reload, want 1 (the old config's was released)", n)
			}
		})
	}

	t.Run("unloading the config closes the database", func(t *testing.T) {
		unloadCaddy(t)
		if n := references(); n != 0 {
			t.Errorf("%d references after unloading, want 0", n)
		}
	})
}
