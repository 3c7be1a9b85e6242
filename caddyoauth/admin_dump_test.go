package caddyoauth

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddy-oauth/caddy-oauth/provider/registry"
	"github.com/caddy-oauth/caddy-oauth/store/dump"
)

const (
	dumpAuth    = "http://127.0.0.1:9510"
	dumpGateway = "http://127.0.0.1:9511"
)

func TestAdminAPIExportImport(t *testing.T) {
	be := newBackend(t)
	startCaddy(t, adminCaddyfile(t, dumpAuth, dumpGateway, t.TempDir(), be.addr(), ""))
	const base = "/oauth/default"
	var c registry.ClientView
	adminJSON(t, http.MethodPost, base+"/clients", `{"client_id":"svc","name":"Service","scopes":["read"],"grants":["client_credentials"]}`, http.StatusCreated, &c)
	tok := clientToken(t, dumpAuth, "svc", c.ClientSecret)

	var plain string
	t.Run("export streams the dump as ndjson, tokens only when asked", func(t *testing.T) {
		status, h, body := adminCall(t, http.MethodGet, base+"/export", "")
		if status != http.StatusOK || h.Get("Content-Type") != "application/x-ndjson" || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("GET export: %d %v", status, h)
		}
		if !strings.HasPrefix(body, `{"format":"caddy-oauth-dump","version":1,`) || !strings.Contains(body, `"server":"default"`) ||
			!strings.Contains(body, `{"type":"client","record":{"id":"svc"`) || !strings.Contains(body, `{"type":"key","record":{"name":"server_key"`) ||
			strings.Contains(body, `"type":"token"`) || !strings.HasSuffix(body, `"tokens":0}}`+"\n") {
			t.Errorf("dump:\n%s", body)
		}
		plain = body
		_, _, withTokens := adminCall(t, http.MethodGet, base+"/export?tokens=true", "")
		if !strings.Contains(withTokens, `"type":"token"`) || !strings.Contains(withTokens, `"tokens":1}}`) {
			t.Errorf("dump with tokens:\n%s", withTokens)
		}
		if strings.Contains(withTokens, tok.AccessToken) || strings.Contains(withTokens, c.ClientSecret) {
			t.Error("the dump holds a token or secret in the clear")
		}
	})

	t.Run("bad export requests are refused", func(t *testing.T) {
		if status, _, body := adminCall(t, http.MethodGet, base+"/export?tokens=maybe", ""); status != http.StatusBadRequest {
			t.Errorf("tokens=maybe: %d %s", status, body)
		}
		if status, h, _ := adminCall(t, http.MethodPost, base+"/export", "x"); status != http.StatusMethodNotAllowed || h.Get("Allow") != "GET" {
			t.Errorf("POST export: %d", status)
		}
		if status, _, _ := adminCall(t, http.MethodGet, "/oauth/nope/export", ""); status != http.StatusNotFound {
			t.Errorf("export of an unknown server: %d", status)
		}
	})

	t.Run("importing the dump a server has changes nothing", func(t *testing.T) {
		var sum dump.Summary
		adminJSON(t, http.MethodPost, base+"/import", plain, http.StatusOK, &sum)
		if sum.Failed != 0 || sum.Created.Total() != 0 || sum.Unchanged.Clients != 1 || sum.Unchanged.Keys < 1 {
			t.Errorf("summary %+v", sum)
		}
	})

	t.Run("a deleted client comes back with its secret working", func(t *testing.T) {
		adminJSON(t, http.MethodDelete, base+"/clients/svc", "", http.StatusOK, nil)
		var sum dump.Summary
		adminJSON(t, http.MethodPost, base+"/import", plain, http.StatusOK, &sum)
		if sum.Created.Clients != 1 {
			t.Errorf("summary %+v", sum)
		}
		clientToken(t, dumpAuth, "svc", c.ClientSecret)
	})

	t.Run("refused lines are listed with their numbers; a wrong header is a 400", func(t *testing.T) {
		changed := strings.Replace(plain, `"name":"Service"`, `"name":"Changed"`, 1)
		var sum dump.Summary
		adminJSON(t, http.MethodPost, base+"/import", changed, http.StatusOK, &sum)
		if sum.Failed != 1 || len(sum.Errors) != 1 || !strings.Contains(sum.Errors[0], `client "svc": exists with other content`) || !strings.HasPrefix(sum.Errors[0], "line ") {
			t.Errorf("summary %+v", sum)
		}
		truncated := plain[:strings.LastIndex(strings.TrimSuffix(plain, "\n"), "\n")+1]
		adminJSON(t, http.MethodPost, base+"/import", truncated, http.StatusOK, &sum)
		if sum.Failed != 1 || !strings.Contains(sum.Errors[0], "truncated") {
			t.Errorf("truncated dump: %+v", sum)
		}
		status, h, body := adminCall(t, http.MethodPost, base+"/import", `{"format":"caddy-oauth-dump","version":7}`+"\n")
		if status != http.StatusBadRequest || !strings.Contains(apiErrorOf(t, h, body), "format version 7") {
			t.Errorf("version 7: %d %s", status, body)
		}
		if status, _, body := adminCall(t, http.MethodPost, base+"/import?replace=yes", plain); status != http.StatusBadRequest {
			t.Errorf("replace=yes: %d %s", status, body)
		}
	})

	t.Run("the CLI exports and imports through the admin API", func(t *testing.T) {
		dir := t.TempDir()
		file := filepath.Join(dir, "d.jsonl")
		addr := []string{"--address", testAdminAddr}
		_, errOut, err := runCLI(t, "", append([]string{"export", "--tokens", "-o", file}, addr...)...)
		if err != nil || !strings.Contains(errOut, "1 client, 0 users, 0 consents, 1 token") {
			t.Fatalf("export: %v %s", err, errOut)
		}
		if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("dump file %v %v", fi, err)
		}
		if out := mustCLI(t, "", append([]string{"import", file}, addr...)...); !strings.Contains(out, "unchanged: ") || !strings.Contains(out, "1 client, 0 users, 0 consents, 1 token") {
			t.Errorf("import printed %q", out)
		}
		b, _ := os.ReadFile(file)
		changed := strings.Replace(string(b), `"name":"Service"`, `"name":"Renamed"`, 1)
		_, errOut, err = runCLI(t, changed, append([]string{"import", "-"}, addr...)...)
		if err == nil || !strings.Contains(errOut, `refused: line `) {
			t.Errorf("import of a changed client: %v %s", err, errOut)
		}
		mustCLI(t, changed, append([]string{"import", "--replace", "-"}, addr...)...)
		var got registry.ClientView
		adminJSON(t, http.MethodGet, base+"/clients/svc", "", http.StatusOK, &got)
		if got.Name != "Renamed" {
			t.Errorf("after import --replace the client is named %q", got.Name)
		}
		if _, _, err := runCLI(t, "", append([]string{"export", "--server", "nope"}, addr...)...); err == nil || !strings.Contains(err.Error(), `"nope"`) {
			t.Errorf("export of an unknown server: %v", err)
		}
	})
}
