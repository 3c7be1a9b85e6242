package caddyoauth

import (
	"bytes"
	"encoding/json"
	"github.com/caddy-oauth/caddy-oauth/provider/registry"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

const (
	cliAuth       = "http://127.0.0.1:9502"
	cliGateway    = "http://127.0.0.1:9503"
	offlineAuth   = "http://127.0.0.1:9504"
	offlineAPI    = "http://127.0.0.1:9505"
	testAdminAddr = "localhost:2999"
)

// runCLI runs `caddy oauth <args>` in-process with stdin, as Caddy's main
// would, and returns what it printed and its error.
func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := &cobra.Command{Use: "oauth", SilenceUsage: true}
	buildOAuthCommand(cmd)
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err = cmd.Execute()
	return out.String(), errOut.String(), err
}

// mustCLI is runCLI that wants success.
func mustCLI(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := runCLI(t, stdin, args...)
	if err != nil {
		t.Fatalf("caddy oauth %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

var (
	clientIDLine     = regexp.MustCompile(`(?m)^client_id:\s+(\S+)$`)
	clientSecretLine = regexp.MustCompile(`(?m)^client_secret:\s+(\S+)$`)
	revokedCount     = regexp.MustCompile(`\b(\d+) tokens?\b`)
)

// addedClient parses `client add`'s plain output.
func addedClient(t *testing.T, out string) (id, secret string) {
	t.Helper()
	m, s := clientIDLine.FindStringSubmatch(out), clientSecretLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no client_id in %q", out)
	}
	if s != nil {
		secret = s[1]
	}
	return m[1], secret
}

// revokedIn returns the token count a command printed.
func revokedIn(t *testing.T, out string) string {
	t.Helper()
	m := revokedCount.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no token count in %q", out)
	}
	return m[1]
}

func TestCLIThroughAdminAPI(t *testing.T) {
	be := newBackend(t)
	startCaddy(t, adminCaddyfile(t, cliAuth, cliGateway, t.TempDir(), be.addr(), ""))
	fastPasswordHashing(t)
	addr := []string{"--address", testAdminAddr}
	cli := func(t *testing.T, stdin string, args ...string) string {
		t.Helper()
		return mustCLI(t, stdin, append(args, addr...)...)
	}

	var secret string
	t.Run("client add prints the client_id and secret, which work at once", func(t *testing.T) {
		out := cli(t, "", "client", "add", "--name", "CLI app", "--id", "cli-app", "--scope", "read",
			"--grant", "client_credentials", "--grant", "password", "--grant", "refresh_token")
		var id string
		id, secret = addedClient(t, out)
		if id != "cli-app" || len(secret) != 43 {
			t.Fatalf("client add printed %q", out)
		}
		tok := clientToken(t, cliAuth, "cli-app", secret)
		if s := apiStatus(t, cliGateway, tok.AccessToken); s != http.StatusOK {
			t.Errorf("API status %d", s)
		}
	})

	t.Run("client add --json prints the admin API's answer", func(t *testing.T) {
		out := cli(t, "", "client", "add", "--name", "JSON app", "--public", "--redirect-uri", "http://127.0.0.1:8080/cb",
			"--post-logout-redirect-uri", "http://127.0.0.1:8080/bye", "--json")
		var c registry.ClientView
		if err := json.Unmarshal([]byte(out), &c); err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
		if len(c.ClientID) != generatedIDSize || !c.Public || c.ClientSecret != "" || c.Name != "JSON app" ||
			len(c.RedirectURIs) != 1 || c.RedirectURIs[0] != "http://127.0.0.1:8080/cb" ||
			len(c.PostLogoutRedirectURIs) != 1 || c.PostLogoutRedirectURIs[0] != "http://127.0.0.1:8080/bye" {
			t.Errorf("client add --json: %s", out)
		}
	})

	t.Run("client list shows static and registered clients", func(t *testing.T) {
		out := cli(t, "", "client", "list")
		if !regexp.MustCompile(`(?m)^cli-app\s+CLI app\s+confidential\s+read\s+client_credentials password refresh_token\s+stored$`).MatchString(out) ||
			!regexp.MustCompile(`(?m)^static-app\s+-\s+confidential\s+read\s+client_credentials\s+config$`).MatchString(out) {
			t.Errorf("client list:\n%s", out)
		}
		var list []registry.ClientView
		if err := json.Unmarshal([]byte(cli(t, "", "client", "list", "--json")), &list); err != nil {
			t.Fatal(err)
		}
		if len(list) != 3 || findClient(list, "cli-app") == nil || !findClient(list, "static-app").Static {
			t.Errorf("client list --json: %+v", list)
		}
	})

	var userTokens []tokenAnswer
	t.Run("user add reads the password from stdin and passwd changes it", func(t *testing.T) {
		if out := cli(t, "first password\n", "user", "add", "erin"); !strings.Contains(out, "Added user erin") {
			t.Errorf("user add printed %q", out)
		}
		tok, ok := passwordToken(t, cliAuth, "cli-app", secret, "erin", "first password")
		if !ok {
			t.Fatal("erin cannot log in")
		}
		userTokens = append(userTokens, tok)
		if out := cli(t, "second password\r\n", "user", "passwd", "erin"); !strings.Contains(out, "Changed the password of user erin") {
			t.Errorf("user passwd printed %q", out)
		}
		if _, ok := passwordToken(t, cliAuth, "cli-app", secret, "erin", "first password"); ok {
			t.Error("the old password still works")
		}
		tok, ok = passwordToken(t, cliAuth, "cli-app", secret, "erin", "second password")
		if !ok {
			t.Fatal("the new password (read without its CR LF) does not work")
		}
		userTokens = append(userTokens, tok)
		cli(t, "", "user", "add", "frank", "--password", "frank's password")
		out := cli(t, "", "user", "list")
		for _, re := range []string{`(?m)^carol\s+config\s+-$`, `(?m)^erin\s+stored\s+\d{4}-`, `(?m)^frank\s+stored\s+\d{4}-`} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("user list does not match %s:\n%s", re, out)
			}
		}
	})

	t.Run("token revoke --user revokes the user's tokens", func(t *testing.T) {
		want := 0
		for _, tok := range userTokens {
			want += tok.count()
			if s := apiStatus(t, cliGateway, tok.AccessToken); s != http.StatusOK {
				t.Fatalf("before: API status %d", s)
			}
		}
		out := cli(t, "", "token", "revoke", "--user", "erin")
		if got := revokedIn(t, out); got != strconv.Itoa(want) || !strings.Contains(out, "of user erin") {
			t.Errorf("token revoke printed %q, want %d tokens", out, want)
		}
		for _, tok := range userTokens {
			if s := apiStatus(t, cliGateway, tok.AccessToken); s != http.StatusUnauthorized {
				t.Errorf("after: API status %d, want 401", s)
			}
		}
	})

	t.Run("token revoke --client revokes the client's tokens", func(t *testing.T) {
		// The first subtest's token is the only live one of cli-app.
		tok := clientToken(t, cliAuth, "cli-app", secret)
		out := cli(t, "", "token", "revoke", "--client", "cli-app")
		if got := revokedIn(t, out); got != strconv.Itoa(1+tok.count()) {
			t.Errorf("token revoke printed %q, want %d tokens", out, 1+tok.count())
		}
		if s := apiStatus(t, cliGateway, tok.AccessToken); s != http.StatusUnauthorized {
			t.Errorf("after: API status %d, want 401", s)
		}
	})

	t.Run("client secret replaces the secret; --revoke also revokes the client's tokens", func(t *testing.T) {
		tok := clientToken(t, cliAuth, "cli-app", secret)
		id, rotated := addedClient(t, cli(t, "", "client", "secret", "cli-app"))
		if id != "cli-app" || len(rotated) != 43 || rotated == secret {
			t.Fatalf("client secret printed %s / %q", id, rotated)
		}
		if status, _, _ := tokenRequest(t, cliAuth, "cli-app", secret, url.Values{"grant_type": {"client_credentials"}}); status != http.StatusUnauthorized {
			t.Errorf("the old secret: status %d, want 401", status)
		}
		tok2 := clientToken(t, cliAuth, "cli-app", rotated)
		if s := apiStatus(t, cliGateway, tok.AccessToken); s != http.StatusOK {
			t.Errorf("a token issued before the rotation: API status %d, want 200", s)
		}
		_, again := addedClient(t, cli(t, "", "client", "secret", "cli-app", "--revoke"))
		if again == rotated || len(again) != 43 {
			t.Fatalf("second rotation printed %q", again)
		}
		for _, tk := range []tokenAnswer{tok, tok2} {
			if s := apiStatus(t, cliGateway, tk.AccessToken); s != http.StatusUnauthorized {
				t.Errorf("after --revoke: API status %d, want 401", s)
			}
		}
		secret = again
	})

	t.Run("removing users and clients", func(t *testing.T) {
		if out := cli(t, "", "user", "remove", "erin"); out != "Removed user erin (0 tokens revoked)\n" {
			t.Errorf("user remove printed %q", out)
		}
		tok := clientToken(t, cliAuth, "cli-app", secret)
		if out := cli(t, "", "client", "remove", "cli-app"); out != "Removed client cli-app (1 token revoked)\n" {
			t.Errorf("client remove printed %q", out)
		}
		if s := apiStatus(t, cliGateway, tok.AccessToken); s != http.StatusUnauthorized {
			t.Errorf("token of the removed client: API status %d", s)
		}
	})

	t.Run("refusals are errors that say why", func(t *testing.T) {
		tests := []struct {
			name  string
			stdin string
			args  []string
			want  string
		}{
			{"removing a static client", "", []string{"client", "remove", "static-app"}, "client static-app is defined in the Caddyfile/config"},
			{"removing a static user", "", []string{"user", "remove", "carol"}, "user carol is defined in the Caddyfile/config"},
			{"removing an unknown client", "", []string{"client", "remove", "cli-app"}, "no client cli-app"},
			{"rotating a static client's secret", "", []string{"client", "secret", "static-app"}, "client static-app is defined in the Caddyfile/config"},
			{"rotating an unknown client's secret", "", []string{"client", "secret", "cli-app"}, "no client cli-app"},
			{"an unknown server", "", []string{"client", "list", "--server", "nope"}, `oauth server "nope" is not configured`},
			{"a client without a name", "", []string{"client", "add"}, "--name is required"},
			{"an unknown scope", "", []string{"client", "add", "--name", "x", "--scope", "admin"}, `scope "admin" is not among the server's scopes`},
			{"an ID token algorithm on a server without OpenID", "", []string{"client", "add", "--name", "x", "--id-token-alg", "RS256"}, "OpenID Connect is off"},
			{"a user without a password", "", []string{"user", "add", "gina"}, "no password"},
			{"a short password", "short\n", []string{"user", "add", "gina"}, "at least 8"},
			{"revoking neither a user nor a client", "", []string{"token", "revoke"}, "exactly one of --user or --client"},
			{"revoking both", "", []string{"token", "revoke", "--user", "a", "--client", "b"}, "exactly one of --user or --client"},
			{"a missing argument", "", []string{"client", "remove"}, "accepts 1 arg"},
			{"--storage with --address", "", []string{"client", "list", "--storage", t.TempDir()}, "do not combine it with --address"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				out, _, err := runCLI(t, tc.stdin, append(tc.args, addr...)...)
				if err == nil {
					t.Fatalf("succeeded, printing %q", out)
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("error %q does not mention %q", err, tc.want)
				}
			})
		}
	})
}

func offlineCaddyfile(t *testing.T, dir, backendAddr, serverKey string) string {
	key := ""
	if serverKey != "" {
		key = "server_key " + serverKey
	}
	return adminCaddyfile(t, offlineAuth, offlineAPI, dir, backendAddr, key)
}

func TestCLIOffline(t *testing.T) {
	be := newBackend(t)
	fastPasswordHashing(t)
	dir := filepath.Join(t.TempDir(), "oauth")
	off := func(args ...string) []string { return append(args, "--storage", dir) }

	var secret, pwSecret string
	t.Run("before Caddy runs, clients and users go straight into the storage", func(t *testing.T) {
		out, errOut, err := runCLI(t, "", off("client", "add", "--name", "Offline app", "--id", "off-app", "--scope", "read", "--grant", "client_credentials")...)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(errOut, "Created new storage in "+dir) {
			t.Errorf("stderr %q does not say the storage was created", errOut)
		}
		_, secret = addedClient(t, out)
		_, pwSecret = addedClient(t, mustCLI(t, "", off("client", "add", "--name", "Password app", "--id", "pw-app", "--grant", "password")...))
		// Rotated offline: the running server must take the new secret.
		id, rotated := addedClient(t, mustCLI(t, "", off("client", "secret", "pw-app")...))
		if id != "pw-app" || rotated == pwSecret || len(rotated) != 43 {
			t.Fatalf("client secret printed %s / %q", id, rotated)
		}
		pwSecret = rotated
		mustCLI(t, "harry's password\n", off("user", "add", "harry")...)
		out = mustCLI(t, "", off("client", "list")...)
		if !strings.Contains(out, "off-app") || !strings.Contains(out, "pw-app") {
			t.Errorf("client list:\n%s", out)
		}
		// Offline without the config, any grant the server might enable
		// is accepted, but a public client still cannot use
		// client_credentials.
		if _, _, err := runCLI(t, "", off("client", "add", "--name", "x", "--public", "--grant", "client_credentials")...); err == nil || !strings.Contains(err.Error(), "public client") {
			t.Errorf("public client with client_credentials: %v", err)
		}
	})
	if secret == "" || pwSecret == "" {
		t.FailNow()
	}

	startCaddy(t, offlineCaddyfile(t, dir, be.addr(), ""))
	var tok, harryTok tokenAnswer
	t.Run("the running server uses what was stored offline", func(t *testing.T) {
		tok = clientToken(t, offlineAuth, "off-app", secret)
		if s := apiStatus(t, offlineAPI, tok.AccessToken); s != http.StatusOK {
			t.Errorf("API status %d", s)
		}
		// The OAuth 1 secret was sealed with the key the server uses.
		if s := requestToken(t, offlineAuth, "off-app", secret); s != http.StatusOK {
			t.Errorf("OAuth 1 request_token signed with the offline client's secret: %d", s)
		}
		var ok bool
		if harryTok, ok = passwordToken(t, offlineAuth, "pw-app", pwSecret, "harry", "harry's password"); !ok {
			t.Error("the user added offline cannot log in")
		}
	})

	t.Run("while Caddy holds the storage, offline mode refuses clearly", func(t *testing.T) {
		_, _, err := runCLI(t, "", off("client", "list")...)
		if err == nil || !strings.Contains(err.Error(), "leave out --storage to go through its admin API") {
			t.Errorf("offline while running: %v", err)
		}
	})

	unloadCaddy(t)
	t.Run("after Caddy stopped, removal revokes the tokens issued meanwhile", func(t *testing.T) {
		// An access token and the OAuth 1 temporary credentials.
		if out := mustCLI(t, "", off("client", "remove", "off-app")...); out != "Removed client off-app (2 tokens revoked)\n" {
			t.Errorf("client remove printed %q", out)
		}
		out := mustCLI(t, "", off("token", "revoke", "--user", "harry")...)
		if got, want := revokedIn(t, out), strconv.Itoa(harryTok.count()); got != want || harryTok.AccessToken == "" {
			t.Errorf("token revoke printed %q, want %s tokens", out, want)
		}
		if out := mustCLI(t, "", off("user", "remove", "harry")...); out != "Removed user harry (0 tokens revoked)\n" {
			t.Errorf("user remove printed %q", out)
		}
		var users []registry.UserView
		if err := json.Unmarshal([]byte(mustCLI(t, "", off("user", "list", "--json")...)), &users); err != nil || len(users) != 0 {
			t.Errorf("users after the removal: %+v %v", users, err)
		}
	})
}

// TestCLIOfflineWithConfig: with --config, offline mode seals with the
// config's server_key and applies the config's scopes and static clients.
func TestCLIOfflineWithConfig(t *testing.T) {
	be := newBackend(t)
	dir := t.TempDir()
	caddyfile := offlineCaddyfile(t, dir, be.addr(), "0123456789abcdef0123456789abcdef-test-key")
	cfgFile := filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(cfgFile, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	off := func(args ...string) []string { return append(args, "--storage", dir, "--config", cfgFile) }

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"a static client's ID", off("client", "add", "--name", "x", "--id", "static-app"), "defined in the Caddyfile/config"},
		{"a scope the server does not know", off("client", "add", "--name", "x", "--scope", "admin"), `scope "admin" is not among the server's scopes`},
		{"a static user", off("user", "remove", staticUser), "user carol is defined in the Caddyfile/config"},
		{"an unknown server", off("client", "list", "--server", "other"), `configures no oauth server "other"`},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			_, _, err := runCLI(t, "", tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
	out := mustCLI(t, "", off("client", "add", "--name", "Keyed", "--id", "keyed", "--scope", "read")...)
	_, secret := addedClient(t, out)
	out = mustCLI(t, "", off("client", "list")...)
	if !regexp.MustCompile(`(?m)^static-app\s.*\sconfig$`).MatchString(out) || !strings.Contains(out, "keyed") {
		t.Errorf("client list with the config:\n%s", out)
	}

	startCaddy(t, caddyfile)
	if s := requestToken(t, offlineAuth, "keyed", secret); s != http.StatusOK {
		t.Errorf("OAuth 1 request_token of a client sealed with the config's server_key: %d", s)
	}
	clientToken(t, offlineAuth, "keyed", secret)
}
