package caddyoauth

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/caddy-oauth/caddy-oauth/store/redis/redistest"
)

// recordLines are a dump's lines but the header (which has the time),
// sorted: the order of tokens is the backend's.
func recordLines(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], `{"format":"caddy-oauth-dump","version":1,`) {
		t.Fatalf("%s is not a dump: %.200s", file, b)
	}
	lines = lines[1:]
	slices.Sort(lines)
	return lines
}

// TestCLIExportImportOffline moves a Badger storage, offline, into Redis
// named by a Caddyfile and back into another Badger directory.
func TestCLIExportImportOffline(t *testing.T) {
	fastPasswordHashing(t)
	work := t.TempDir()
	src := filepath.Join(work, "src")
	mustCLI(t, "", "client", "add", "--name", "App", "--id", "app", "--grant", "client_credentials", "--storage", src)
	mustCLI(t, "dora password\n", "user", "add", "dora", "--storage", src)

	file := filepath.Join(work, "backup.jsonl")
	t.Run("export writes the dump 0600 and says what it holds", func(t *testing.T) {
		_, errOut, err := runCLI(t, "", "export", "--storage", src, "--tokens", "-o", file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(errOut, "Exported 1 key, 1 client, 1 user, 0 consents, 0 tokens to "+file) {
			t.Errorf("stderr %q", errOut)
		}
		fi, err := os.Stat(file)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("dump file: %v, %v; want mode 0600", fi.Mode(), err)
		}
		if lines := recordLines(t, file); len(lines) != 4 || !strings.HasPrefix(lines[len(lines)-1], `{"type":"user","record":{"username":"dora","password_hash":"$2a$`) {
			t.Errorf("dump lines %q", lines)
		}
		stray, _ := filepath.Glob(filepath.Join(work, ".caddy-oauth-export-*"))
		if len(stray) != 0 {
			t.Errorf("temporary files left: %v", stray)
		}
	})

	t.Run("export of a directory with no storage fails and writes nothing", func(t *testing.T) {
		out := filepath.Join(work, "none.jsonl")
		_, _, err := runCLI(t, "", "export", "--storage", filepath.Join(work, "nothing"), "-o", out)
		if err == nil || !strings.Contains(err.Error(), "no storage in") {
			t.Errorf("export of nothing: %v", err)
		}
		if _, err := os.Stat(out); err == nil {
			t.Error("a failed export left its file")
		}
	})

	dst := filepath.Join(work, "dst")
	t.Run("import into a new Badger directory, and again", func(t *testing.T) {
		out := mustCLI(t, "", "import", "--storage", dst, file)
		if !strings.Contains(out, "created:   1 key, 1 client, 1 user, 0 consents, 0 tokens") {
			t.Errorf("import printed %q", out)
		}
		out = mustCLI(t, "", "import", "--storage", dst, file)
		if !strings.Contains(out, "unchanged: 1 key, 1 client, 1 user, 0 consents, 0 tokens") {
			t.Errorf("second import printed %q", out)
		}
	})

	t.Run("import refuses what is not a dump, and reads standard input", func(t *testing.T) {
		_, _, err := runCLI(t, "hello\n", "import", "--storage", dst, "-")
		if err == nil || !strings.Contains(err.Error(), "not a caddy-oauth dump") {
			t.Errorf("import of garbage: %v", err)
		}
		b, _ := os.ReadFile(file)
		changed := strings.Replace(string(b), `"name":"App"`, `"name":"Changed"`, 1)
		out, errOut, err := runCLI(t, changed, "import", "--storage", dst, "-")
		if err == nil || !strings.Contains(err.Error(), "1 lines of the dump were not imported") ||
			!strings.Contains(errOut, `refused: line 3: client "app": exists with other content`) || !strings.Contains(out, "unchanged: 1 key, 0 clients, 1 user") {
			t.Errorf("import of a changed client: %v\nstdout %s\nstderr %s", err, out, errOut)
		}
		if out := mustCLI(t, changed, "import", "--storage", dst, "--replace", "-"); !strings.Contains(out, "replaced:  0 keys, 1 client,") {
			t.Errorf("import --replace printed %q", out)
		}
	})

	t.Run("through a config whose server uses Redis, offline, and back", func(t *testing.T) {
		srv := redistest.StartServer(t)
		cf := filepath.Join(work, "Caddyfile")
		caddyfile := "{\n\toauth {\n\t\tserver {\n\t\t\tissuer https://auth.example.com\n\t\t\tstorage redis " + srv.Addr + " {\n\t\t\t\tkey_prefix cli-dump:\n\t\t\t}\n\t\t}\n\t}\n}\n"
		if err := os.WriteFile(cf, []byte(caddyfile), 0o600); err != nil {
			t.Fatal(err)
		}
		out := mustCLI(t, "", "import", "--offline", "--config", cf, file)
		if !strings.Contains(out, "created:   1 key, 1 client, 1 user") {
			t.Errorf("import into Redis printed %q", out)
		}
		fromRedis := filepath.Join(work, "redis.jsonl")
		mustCLI(t, "", "export", "--offline", "--config", cf, "--tokens", "-o", fromRedis)
		if got, want := recordLines(t, fromRedis), recordLines(t, file); !slices.Equal(got, want) {
			t.Errorf("Redis' dump differs from Badger's:\n got  %q\n want %q", got, want)
		}
		back := filepath.Join(work, "back")
		mustCLI(t, "", "import", "--storage", back, fromRedis)
		again := filepath.Join(work, "back.jsonl")
		mustCLI(t, "", "export", "--storage", back, "--tokens", "-o", again)
		if got, want := recordLines(t, again), recordLines(t, file); !slices.Equal(got, want) {
			t.Errorf("after Badger -> Redis -> Badger the dump differs:\n got  %q\n want %q", got, want)
		}
	})

	t.Run("flag mistakes are explained", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"export", "--offline"}, "give --config too"},
			{[]string{"export", "--offline", "--storage", src, "--config", "x"}, "not both"},
			{[]string{"export", "--storage", src, "--address", "localhost:1"}, "do not combine them with --address"},
		} {
			_, _, err := runCLI(t, "", tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
			}
		}
	})
}
